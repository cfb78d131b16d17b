"""The job's executor: Dagster's in-process executor, with what a run in one process needs.

The instance's SQLite storage keeps its connections for the run (`sqlite_storage_kept_open`).

Dagster's SQLite storages create an engine and open a connection for every read and write (`NullPool`), about 480
of them in a run of the 12,000-cell benchmark. When the last connection to a WAL database closes, SQLite also
checkpoints the log into the database and deletes it, so each write paid that too. For the run, the event log
storage reuses one engine per file instead (a pool of one connection), and the run database is held open by an idle
connection: the 12,000-cell benchmark took 33.7-33.9 s instead of 34.0-34.1 (with the files only held open, as
before). A connection left open takes no lock and keeps no snapshot, so other processes' writers and checkpoints go
on as before.

The UI follows a running run by watching its event file (`watch_event_logs`: a file-system watch on `<run>.db`),
and while a connection stays open, new events only reach the log, not that file. So the run's own event file is
checkpointed after every write (`wal_autocheckpoint` of one page): the watch sees each event as it is stored, as
with Dagster's own connections. With storage on MySQL or Postgres nothing changes.

Memory freed by a step is given back to the operating system before the next one (not after the run's last step:
the run's end frees it all, and giving back costs 20-30 ms that the end of the run would wait for). glibc keeps
freed heap pages that lie below live ones, so without that a step's peak was added to what the steps before it left:
the export of 200,000 rows peaked at 624 MiB in the run and at 565 MiB on its own; with the pages given back (and
what lives at the run's start frozen for the collector) the whole run peaks at 530 MiB. And for the run, glibc maps
each large block (a table's column) apart from the heap (`fix_mmap_threshold`), so the heap does not grow with them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import sqlalchemy as sa
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS

if TYPE_CHECKING:
    from dagster._core.execution.context.system import PlanOrchestrationContext
    from dagster._core.execution.plan.plan import ExecutionPlan
    from dagster._core.execution.retries import RetryMode
    from dagster._core.execution.step_dependency_config import StepDependencyConfig


@contextmanager
def sqlite_storage_kept_open(instance: dg.DagsterInstance) -> Iterator[bool]:
    """Keep the instance's SQLite connections for the block (see the module's docstring); whether they are kept here
    (False: not SQLite, or already kept by an enclosing block)."""
    storage = instance.event_log_storage
    if not isinstance(storage, SqliteEventLogStorage) or "_connect" in vars(storage):
        yield False
        return
    engines: dict[str, sa.Engine] = {}

    @contextmanager
    def connect(shard: str) -> Iterator[sa.Connection]:  # SqliteEventLogStorage._connect, an engine kept per file
        with storage._db_lock:
            engine = engines.get(shard)
            if engine is None:
                engine = engines[shard] = _kept_engine(storage.conn_string_for_shard(shard), shard != INDEX_SHARD_NAME)
                if shard not in storage._initialized_dbs:
                    storage._initdb(engine)
                    storage._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    storage._connect = connect  # this storage object only, for the block
    try:
        with sqlite_files_held(instance):
            yield True
    finally:
        del storage._connect
        for engine in engines.values():
            engine.dispose()  # the last connection to each file: SQLite checkpoints and removes its log


def _kept_engine(url: str, watched: bool) -> sa.Engine:
    """An engine keeping one connection to a SQLite file; `watched`: a run's event file, checkpointed after every
    write so that a watch on the file sees it."""
    engine = sa.create_engine(
        url, poolclass=sa.pool.QueuePool, pool_size=1, max_overflow=2,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
    )  # fmt: skip
    if watched:
        sa.event.listen(engine, "connect", _checkpoint_every_write)
    return engine


def _checkpoint_every_write(connection: sqlite3.Connection, _record: object) -> None:
    connection.execute("PRAGMA wal_autocheckpoint=1")


@contextmanager
def sqlite_files_held(instance: dg.DagsterInstance) -> Iterator[list[Path]]:
    """Hold the run database open while the block runs (SQLite run storage only); yields the files held. A file
    that is not there is skipped, never created."""
    with ExitStack() as stack:
        held = []
        for path in sqlite_files(instance):
            try:
                connection = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, check_same_thread=False)
                stack.enter_context(closing(connection))
                # one read maps the log's index: from then on this connection counts as open on the log
                connection.execute("SELECT count(*) FROM sqlite_master").fetchall()
            except sqlite3.Error:  # not there (yet) or unreadable: Dagster's own connections report that
                continue
            held.append(path)
        yield held


def sqlite_files(instance: dg.DagsterInstance) -> list[Path]:
    """The SQLite file run status is written to; none when the run storage is not SQLite."""
    connect = getattr(instance.run_storage, "connect", None)  # the SQL run storages
    if connect is None:
        return []
    with connect() as connection:
        url = connection.engine.url
        if url.get_backend_name() == "sqlite" and url.database:
            return [Path(url.database)]
    return []


def _libc_function(name: str) -> Callable[..., int] | None:
    """A function of glibc (`malloc_trim`, `mallopt`); None where the C library has none (musl, macOS)."""
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None


MALLOC_TRIM = _libc_function("malloc_trim")
MALLOPT = _libc_function("mallopt")
M_MMAP_THRESHOLD = -3  # mallopt's parameter (malloc.h)
MMAP_THRESHOLD_BYTES = 256 << 10


def fix_mmap_threshold() -> bool:
    """Have glibc map every block of MMAP_THRESHOLD_BYTES or more on its own, for good; whether it could.

    glibc starts at 128 KiB and raises the threshold to the size of each mapped block freed, up to 32 MiB. Once a
    step frees a column (a million cells: 8-16 MiB), the arrays made after it are carved from the heap, among small
    objects that live on, and the heap keeps its pages after they are freed: each transient table of a step adds to
    its high-water mark. With the threshold fixed, each large block is mapped on its own and goes back to the system
    when freed. 1,000,000 rows, the same code either way: the run peaked at 925-934 MiB instead of 988 (the
    translations step 804 instead of 959, the export 917-927 instead of 988); 100,000 rows: 275 instead of 288-289
    MiB in the same time (benchmarks/pipeline.py)."""
    if MALLOPT is None:
        return False
    return bool(MALLOPT(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def give_back_freed_memory() -> bool:
    """Collect unreachable cycles (pandas' tables hold some), then return the heap's free pages to the operating
    system (glibc); whether pages could be given back."""
    gc.collect()
    if MALLOC_TRIM is None:
        return False
    MALLOC_TRIM(0)
    return True


class InProcessRunExecutor(dg.Executor):
    """Executes the plan with `inner`, the instance's SQLite connections kept meanwhile (`sqlite_storage_kept_open`) and
    freed memory given back after each step that another step follows (`give_back_freed_memory`)."""

    def __init__(self, inner: dg.Executor) -> None:
        self._inner = inner

    @property
    def retries(self) -> RetryMode:
        return self._inner.retries

    @property
    def step_dependency_config(self) -> StepDependencyConfig:
        return self._inner.step_dependency_config

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[dg.DagsterEvent]:
        # what lives at the start of the run (definitions, the instance) lives through it: frozen, the collection
        # after each step walks only what the steps made (30-40 ms a step otherwise, most of a small run's steps)
        gc.freeze()
        fix_mmap_threshold()  # the steps' large arrays mapped apart from the heap, and given back when freed
        steps_left = len(execution_plan.step_keys_to_execute)
        with sqlite_storage_kept_open(plan_context.instance):
            for event in self._inner.execute(plan_context, execution_plan):
                yield event
                if event.is_step_success or event.is_step_failure:
                    steps_left -= 1
                elif not event.is_step_up_for_retry:
                    continue
                if steps_left > 0:  # a step runs after this one (or this one again)
                    give_back_freed_memory()


@dg.executor(name="in_process", config_schema=dg.in_process_executor.config_schema.as_field().config_type)
def in_process_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's in_process executor (every step in the run's own process, same config), with the instance's SQLite
    connections kept for the run and freed memory given back between steps."""
    return InProcessRunExecutor(dg.in_process_executor.executor_creation_fn(init_context))
