"""The project store on SQLite and on a real MariaDB server: memory, checkpoints, call log, concurrency."""

from __future__ import annotations

import multiprocessing
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.mysql_server import MySQLDatabase
from translation_pipeline.localization.store import MemoryScope, ProjectStore, llm_calls, metadata, translation_memory

SCOPE = MemoryScope("zh-CN", "en", "gpt-4o-mini", "p1")


@pytest.fixture(params=["sqlite", "mariadb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProjectStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    else:
        url = request.getfixturevalue("mysql_database").url
    project_store = ProjectStore(url)
    yield project_store
    project_store.dispose()


def record(store: ProjectStore, answers: dict[str, str], batch_id: str = "b1", key: str = "wb-1") -> None:
    store.record_batch(
        key, batch_id, SCOPE, answers, provider="openai", items=len(answers), prompt_tokens=100,
        completion_tokens=40, latency_ms=850,
    )  # fmt: skip


def test_memory_round_trip_is_scoped_by_languages_model_and_prompt(store: ProjectStore) -> None:
    record(store, {"你好": "Hello", "勇者，欢迎！": "Welcome, hero! 🎉", "确定": "OK"})
    assert store.lookup(SCOPE, ["你好", "确定", "未知"]) == {"你好": "Hello", "确定": "OK"}
    assert store.lookup(SCOPE, ["勇者，欢迎！"]) == {"勇者，欢迎！": "Welcome, hero! 🎉"}
    for other in (
        MemoryScope("zh-CN", "ja", "gpt-4o-mini", "p1"),
        MemoryScope("zh-CN", "en", "qwen-plus", "p1"),
        MemoryScope("zh-CN", "en", "gpt-4o-mini", "p2"),
    ):
        assert store.lookup(other, ["你好"]) == {}


def test_writes_are_idempotent_and_the_first_answer_wins(store: ProjectStore) -> None:
    record(store, {"你好": "Hello"})
    record(store, {"你好": "Hi there"})  # a rerun that was paid for anyway must not break or flip the memory
    assert store.lookup(SCOPE, ["你好"]) == {"你好": "Hello"}
    with store.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(translation_memory)) == 1
        calls = conn.execute(sa.select(llm_calls.c.prompt_tokens, llm_calls.c.latency_ms)).all()
    assert calls == [(100, 850), (100, 850)]  # the call log keeps every request


def test_long_texts_and_many_lookups(store: ProjectStore) -> None:
    long_text = "长" * 5000
    answers = {f"文本{i}": f"text {i}" for i in range(1200)} | {long_text: "long"}
    record(store, answers)
    found = store.lookup(SCOPE, [*answers, "missing"])
    assert len(found) == 1201 and found[long_text] == "long"


def test_a_full_cell_of_cjk_text_is_stored_whole(store: ProjectStore) -> None:
    """32,767 CJK characters are 98 KB of UTF-8: more than MySQL's TEXT holds."""
    source, text = "源" * 32_767, "訳" * 32_767
    record(store, {source: text})
    assert store.lookup(SCOPE, [source]) == {source: text}


def test_stored_texts_keep_no_utf8_copy(store: ProjectStore) -> None:
    """The driver binds a string by its UTF-8 form, which Python keeps inside that string object: the texts a run
    stores (answers, source texts, a version's cells) are bound as copies, so the run's own strings stay their size."""
    source, text = "".join(["勇者，", "欢迎！"]), "".join(["Wélcome, ", "héro!"])
    cell = {"sheet": "S", "row_key": "k1", "target_language": "en", "cell": "C2", "source_text": source,
            "text": text, "origin": "machine"}  # fmt: skip
    sizes = sys.getsizeof(source), sys.getsizeof(text)
    record(store, {source: text})
    version = store.register_version("L", "wb-1", "L.xlsx")
    store.record_version(version, [cell])
    assert (sys.getsizeof(source), sys.getsizeof(text)) == sizes
    assert store.lookup(SCOPE, [source]) == {source: text}
    assert store.version_cells(version) == [cell]


def test_concurrent_writers_of_overlapping_batches(store: ProjectStore) -> None:
    """Two runs at once on the same store: every answer lands once, nobody fails."""
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for batch in range(20):
                record(store, {f"句子{batch * 5 + i}": f"{name} {batch * 5 + i}" for i in range(5)}, f"b{batch}", name)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(f"run{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    found = store.lookup(SCOPE, [f"句子{i}" for i in range(100)])
    assert len(found) == 100
    with store.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(translation_memory)) == 100
        assert conn.scalar(sa.select(sa.func.count()).select_from(llm_calls)) == 60


PROCESSES, ROUNDS = 4, 5


@pytest.fixture(params=["sqlite", "mariadb"])
def new_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes URLs of brand-new, empty stores (a new SQLite file or a new MariaDB database) on one backend."""
    made: list[str] = []

    def make() -> str:
        if request.param == "sqlite":
            made.append(f"store{len(made)}")
            return f"sqlite:///{tmp_path / made[-1]}.sqlite"
        server = request.getfixturevalue("mysql_server")
        made.append(server.create_database())
        return server.sqlalchemy_url(made[-1])

    yield make
    if request.param == "mariadb":
        for name in made:
            request.getfixturevalue("mysql_server").drop_database(name)


def _schema(url: str) -> dict[str, tuple[set[str], set[str | None], set[str | None]]]:
    """Per table: column names, index names, unique-constraint names."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {
            table: (
                {c["name"] for c in inspector.get_columns(table)},
                {i["name"] for i in inspector.get_indexes(table)},
                {u["name"] for u in inspector.get_unique_constraints(table)},
            )
            for table in inspector.get_table_names()
        }
    finally:
        engine.dispose()


def _open_together(urls: list[str], barrier: threading.Barrier, results: multiprocessing.Queue) -> None:
    """Child process: per URL, wait for all the others, then open the store at the same instant."""
    sa.create_engine(urls[0]).dispose()  # import the DB driver before the first barrier
    for url in urls:
        try:
            barrier.wait(timeout=120)
            ProjectStore(url).dispose()
            results.put((url, None))
        except BaseException as error:
            results.put((url, f"{type(error).__name__}: {error}"))


def _make_old_release_store(url: str) -> None:
    """A store as the first release made it: llm_calls without cost_usd and outcome."""
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        for column in ("cost_usd", "outcome"):
            conn.execute(sa.text(f"ALTER TABLE llm_calls DROP COLUMN {column}"))
    engine.dispose()


@pytest.mark.parametrize("start", ["brand-new", "old-release"])
def test_processes_opening_one_new_store_at_once_all_succeed(new_store_url: Callable[[], str], start: str) -> None:
    """Several processes creating (or migrating) the same store at the same instant: nobody fails, and the
    schema ends up complete. `checkfirst` is check-then-create, so without a retry the losers of the race
    fail with "table ... already exists" / "duplicate column name" (MySQL 1050 / 1060)."""
    reference = new_store_url()
    ProjectStore(reference).dispose()
    urls = [new_store_url() for _ in range(ROUNDS)]
    if start == "old-release":
        for url in urls:
            _make_old_release_store(url)
        assert {"cost_usd", "outcome"}.isdisjoint(_schema(urls[0])["llm_calls"][0])

    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    processes = [context.Process(target=_open_together, args=(urls, barrier, results)) for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=180) for _ in range(PROCESSES * ROUNDS)]
    except queue.Empty:
        pytest.fail("a store-opening process hung or died")
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    errors = [f"{url.rsplit('/', 1)[-1]}: {error}" for url, error in outcomes if error]
    failed_rounds = len({error.split(":", 1)[0] for error in errors})
    assert not errors, f"{failed_rounds}/{ROUNDS} rounds had errors:\n" + "\n".join(errors)
    assert [process.exitcode for process in processes] == [0] * PROCESSES
    expected = _schema(reference)
    assert set(expected) == {table.name for table in metadata.sorted_tables}
    for url in urls:
        assert _schema(url) == expected


def test_unrelated_schema_errors_are_not_retried_away(tmp_path: Path) -> None:
    with pytest.raises(sa.exc.OperationalError, match="unable to open database file"):
        ProjectStore(f"sqlite:///{tmp_path / 'missing-dir' / 'store.sqlite'}")


class _DeadlockError(Exception):
    errno = 1213


def test_a_batch_that_lost_a_deadlock_is_written_once_on_retry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MariaDB rolls a deadlocked transaction back whole; the write is run again, and stored exactly once."""
    store = ProjectStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    real_begin, calls = store.engine.begin, []

    def begin_losing_once() -> object:
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.OperationalError("INSERT ...", {}, _DeadlockError("Deadlock found"))
        return real_begin()

    monkeypatch.setattr(store.engine, "begin", begin_losing_once)
    scope = MemoryScope("zh-CN", "en", "m", "p1")
    store.record_batch("wb", "b1", scope, {"确定": "OK"}, provider="openai", items=1, prompt_tokens=1,
                       completion_tokens=1, latency_ms=1)  # fmt: skip
    assert len(calls) == 2
    assert store.lookup(scope, ["确定"]) == {"确定": "OK"}
    assert store.workbook_usage("wb")[0] == 1, "one call-log row, not two"


def test_other_write_errors_are_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ProjectStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    calls = []

    def begin_failing() -> object:
        calls.append(1)
        raise sa.exc.OperationalError("INSERT ...", {}, Exception("disk I/O error"))

    monkeypatch.setattr(store.engine, "begin", begin_failing)
    with pytest.raises(sa.exc.OperationalError, match="disk I/O error"):
        store.record_batch("wb", "b1", MemoryScope("zh-CN", "en", "m", "p1"), {"确定": "OK"}, provider="openai",
                           items=1, prompt_tokens=1, completion_tokens=1, latency_ms=1)  # fmt: skip
    assert len(calls) == 1


def test_a_mysql_store_made_with_text_columns_is_widened_when_opened(mysql_database: MySQLDatabase) -> None:
    """Stores created before cell texts were MEDIUMTEXT: opening one widens the columns, so a full cell fits."""
    engine = sa.create_engine(mysql_database.url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE translation_memory (id INTEGER PRIMARY KEY AUTO_INCREMENT, source_hash VARCHAR(64) NOT NULL, "
            "source_language VARCHAR(16) NOT NULL, target_language VARCHAR(16) NOT NULL, model VARCHAR(100) NOT NULL, "
            "prompt_version VARCHAR(32) NOT NULL, source_text TEXT NOT NULL, text TEXT NOT NULL, "
            "workbook_key VARCHAR(100) NOT NULL, created_at DATETIME NOT NULL, CONSTRAINT uq_memory_entry "
            "UNIQUE (source_hash, source_language, target_language, model, prompt_version))"
        ))  # fmt: skip
    engine.dispose()
    store = ProjectStore(mysql_database.url)
    kinds = {c["name"]: type(c["type"]).__name__ for c in sa.inspect(store.engine).get_columns("translation_memory")}
    assert kinds["source_text"] == kinds["text"] == "MEDIUMTEXT"
    source, text = "源" * 32_767, "訳" * 32_767
    record(store, {source: text})
    assert store.lookup(SCOPE, [source]) == {source: text}
