"""Cost of one tick of the rerun schedule and of the drop sensor against the number of workbook partitions.

    .venv/bin/python -m benchmarks.ticks [--partitions 100 1000 10000] [--inbox 5]

For each N: a fresh Dagster instance on a temp dir (SQLite, as `dagster dev` keeps it), N partitions of
`workbooks` with one `translate_workbook_job` run each: every hundredth failed in `translations` (its
STEP_FAILURE and RUN_FAILURE events stored as a real run stores them), the others successful, all within
the rerun lookback (the schedule's worst case). Then one
tick of `rerun_failed_workbooks` and the tick of `workbook_drop_sensor` that registers `--inbox` new
workbooks (the one before it only sees them), each through `evaluate_tick` as the daemon's code server
calls it, with an instance opened from the ref. Storage calls are the calls into the run and event log
storages (tests/test_schedules.py `count_storage_calls`); SQL statements are all statements sent.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy
from dagster import DagsterRunStatus

from tests.test_schedules import add_run, add_successful_runs, count_storage_calls
from translation_pipeline.definitions import build_definitions
from translation_pipeline.partitions import workbooks
from translation_pipeline.resources.files import DataDirResource
from translation_pipeline.resources.llm import TranslationResource
from translation_pipeline.sample import write_sample_workbook

FAILED_EVERY = 100


def populate(instance: dg.DagsterInstance, partitions: int) -> None:
    keys = [f"Workbook_{i:05d}-{i:08x}" for i in range(partitions)]
    instance.add_dynamic_partitions(workbooks.name, keys)
    failed = keys[FAILED_EVERY - 1 :: FAILED_EVERY]
    add_successful_runs(instance, sorted(set(keys) - set(failed)))
    for key in failed:
        add_run(instance, key, DagsterRunStatus.FAILURE, "translations")


@contextmanager
def count_sql_statements() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", record)


@dataclass(frozen=True)
class Tick:
    seconds: float
    runs: int
    storage_calls: int
    sql_statements: int


def measured(instance: dg.DagsterInstance, tick: Callable[[], Any]) -> tuple[Any, Tick]:
    """The tick's execution data, and what it cost."""
    with count_storage_calls(instance) as calls, count_sql_statements() as statements:
        started = time.perf_counter()
        data = tick()
        seconds = time.perf_counter() - started
    return data, Tick(seconds, len(data.run_requests or []), sum(calls.values()), len(statements))


def run_one(partitions: int, inbox_files: int, workdir: Path) -> tuple[Tick, Tick]:
    """One schedule tick and one registering sensor tick on a fresh instance holding `partitions` workbooks."""
    data_dir = DataDirResource(data_dir=str(workdir / "data"))
    data_dir.ensure()
    defs = build_definitions({**os.environ, "TRANSLATION_DATA_DIR": data_dir.data_dir})
    repository = defs.get_repository_def()
    (workdir / "home").mkdir(parents=True)
    schedule = defs.resolve_schedule_def("rerun_failed_workbooks")
    sensor = defs.resolve_sensor_def("workbook_drop_sensor")
    resources = {"data_dir": data_dir, "translation": TranslationResource()}
    for i in range(inbox_files):
        write_sample_workbook(data_dir.inbox / f"Dialog {i}.xlsx")
    with dg.DagsterInstance.local_temp(str(workdir / "home"), overrides={"telemetry": {"enabled": False}}) as instance:
        populate(instance, partitions)

        def schedule_tick() -> Any:
            return schedule.evaluate_tick(dg.build_schedule_context(instance=instance, repository_def=repository))

        def sensor_tick(cursor: str | None) -> Any:
            with dg.build_sensor_context(instance=instance, instance_ref=instance.get_ref(), cursor=cursor,
                                         definitions=defs, resources=resources) as context:  # fmt: skip
                return sensor.evaluate_tick(context)

        schedule_tick()  # once per process, opening an instance checks its storage
        _, rerun = measured(instance, schedule_tick)
        seen = sensor_tick(None)
        _, register = measured(instance, lambda: sensor_tick(seen.cursor))
    return rerun, register


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--partitions", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--inbox", type=int, default=5, help="new workbooks in the inbox for the sensor tick")
    args = parser.parse_args()
    print(f"{'partitions':>10} | {'schedule s':>10} {'reruns':>6} {'calls':>5} {'SQL':>5} | "
          f"{'sensor s':>8} {'runs':>4} {'calls':>5} {'SQL':>5}")  # fmt: skip
    # one folder for all: loading definitions reads the state storage of the process's first instance
    with tempfile.TemporaryDirectory(prefix="tp-ticks-") as tmp:
        for partitions in args.partitions:
            rerun, register = run_one(partitions, args.inbox, Path(tmp) / str(partitions))
            print(f"{partitions:>10,} | {rerun.seconds:>10.2f} {rerun.runs:>6} {rerun.storage_calls:>5} "
                  f"{rerun.sql_statements:>5} | {register.seconds:>8.2f} {register.runs:>4} "
                  f"{register.storage_calls:>5} {register.sql_statements:>5}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
