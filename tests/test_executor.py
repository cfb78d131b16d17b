"""The job's executor (translation_pipeline/executor.py) keeps the instance's SQLite connections for the run: the
write-ahead log of a kept file survives between Dagster's writes, nothing is locked meanwhile, a watch on the run's
event file (the UI following the run) sees every event as it is stored, and the log is checkpointed and removed once
the run lets go. Between steps it gives freed memory back to the system."""

import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import dagster as dg
import pytest

from translation_pipeline import executor
from translation_pipeline.definitions import defs, translate_workbook_job
from translation_pipeline.executor import (
    MALLOC_TRIM,
    MALLOPT,
    fix_mmap_threshold,
    give_back_freed_memory,
    in_process_executor,
    sqlite_files,
    sqlite_files_held,
    sqlite_storage_kept_open,
)


def _log(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def _shard(instance: dg.DagsterInstance, run_id: str) -> Path:
    return Path(instance.event_log_storage.path_for_shard(run_id))


@dg.op
def logs_open(context: dg.OpExecutionContext) -> bool:
    """Whether the run's event file still has its log after Dagster stored (and closed) this op's events."""
    context.log.info("an event, written on a connection of its own")
    return _log(_shard(context.instance, context.run_id)).exists()


@dg.job(executor_def=in_process_executor)
def held_job() -> None:
    logs_open()


@dg.job(executor_def=dg.in_process_executor)
def dagster_job() -> None:
    logs_open()


@dg.op
def first_step() -> int:
    return 1


@dg.op
def second_step(value: int) -> int:
    return value + 1


@dg.job(executor_def=in_process_executor)
def two_step_job() -> None:
    second_step(first_step())


def _run(job_def: dg.JobDefinition, instance: dg.DagsterInstance) -> tuple[str, bool]:
    # the job's own executor (execute_in_process puts its own in place)
    with dg.execute_job(dg.reconstructable(job_def), instance) as result:
        assert result.success
        return result.run_id, result.output_for_node("logs_open")


def test_the_job_runs_with_its_files_held_and_lets_go_after(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert translate_workbook_job.executor_def is in_process_executor
    assert defs.executor is in_process_executor  # assets materialized on their own too
    steps_ended = []
    monkeypatch.setattr(executor, "give_back_freed_memory", lambda: steps_ended.append(True))

    run_id, held = _run(held_job, instance)
    assert steps_ended == []  # the run's one step is its last: the run's end frees what it made
    assert held  # the log stayed open between the run's events
    assert not _log(_shard(instance, run_id)).exists()  # checkpointed into the file and removed at the end
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS

    run_id, held = _run(dagster_job, instance)
    assert not held  # Dagster's own executor: each event's connection was the last one, and removed the log


def test_memory_is_given_back_after_each_step_but_the_last(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps_ended = []
    monkeypatch.setattr(executor, "give_back_freed_memory", lambda: steps_ended.append(True))
    with dg.execute_job(dg.reconstructable(two_step_job), instance) as result:
        assert result.success
    assert steps_ended == [True]  # after first_step, before second_step


def test_kept_connections_block_no_writer_and_no_checkpoint(instance: dg.DagsterInstance) -> None:
    run_id = held_job.execute_in_process(instance=instance).run_id
    shard = _shard(instance, run_id)
    runs = Path(instance.root_directory) / "history" / "runs.db"
    assert sqlite_files(instance) == [runs]

    with sqlite_storage_kept_open(instance) as kept:
        assert kept
        with sqlite_storage_kept_open(instance) as again:
            assert not again  # an enclosing block keeps them already
        # Dagster writes meanwhile: an event (the run's file and the index, on kept connections), a tag (runs.db)
        instance.report_engine_event("while kept", instance.get_run_by_id(run_id))
        instance.add_run_tags(run_id, {"kept": "yes"})
        assert _log(shard).exists()  # the kept connection keeps the run's log
        for path in [shard, shard.with_name("index.db"), runs]:
            # a full checkpoint of each file waits on no reader: a kept connection pins no snapshot
            with closing(sqlite3.connect(path)) as other:
                busy, _pages, _moved = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert busy == 0
    assert not _log(shard).exists()  # the last connection closed: checkpointed into the file and removed
    assert "_connect" not in vars(instance.event_log_storage)  # Dagster's own connections again
    assert instance.get_run_by_id(run_id).tags["kept"] == "yes"
    messages = [entry.message for entry in instance.all_logs(run_id)]
    assert "while kept" in messages


def test_a_run_followed_in_the_ui_sees_each_event_as_it_is_stored(instance: dg.DagsterInstance) -> None:
    # the UI follows a running run with watch_event_logs, a file-system watch on the run's event file
    run = held_job.execute_in_process(instance=instance).dagster_run
    seen: list[str] = []

    def follow(entry: dg.EventLogEntry, _cursor: str) -> None:
        seen.append(entry.message)

    instance.watch_event_logs(run.run_id, None, follow)
    try:
        time.sleep(0.5)  # the watch starts on its own thread
        with sqlite_storage_kept_open(instance):
            instance.report_engine_event("stored while kept", run)
            deadline = time.monotonic() + 10
            while "stored while kept" not in seen and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "stored while kept" in seen  # before the connections are let go
    finally:
        instance.end_watch_event_logs(run.run_id, follow)
        instance.event_log_storage.dispose()


def test_a_missing_file_is_skipped_never_created(
    instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such.db"
    monkeypatch.setattr(executor, "sqlite_files", lambda _instance: [missing])
    with sqlite_files_held(instance) as held:
        assert held == []
    assert not missing.exists()


def _rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(MALLOC_TRIM is None, reason="the C library has no malloc_trim (not glibc)")
def test_memory_a_step_freed_goes_back_to_the_system() -> None:
    # blocks of 2 KiB come from the C heap (not Python's small-object arenas); one in 500 kept keeps the heap from
    # shrinking on its own when the others are freed: the pages between them stay resident until given back
    blocks = [bytes(2048) for _ in range(100_000)]  # about 200 MiB
    kept = blocks[::500]
    del blocks
    before = _rss_mib()
    assert give_back_freed_memory()
    assert before - _rss_mib() > 100
    assert len(kept) == 200


@pytest.mark.skipif(MALLOPT is None, reason="the C library has no mallopt (not glibc)")
def test_large_blocks_go_back_to_the_system_as_they_are_freed() -> None:
    # blocks of 512 KiB (a column of 64,000 cells) made after a larger one was freed, as a step makes its tables
    # after the one before freed its own, with blocks of 2 KiB (C heap, not Python's arenas) made between them and
    # kept: without a fixed threshold they are carved from the heap and stay resident when freed
    assert fix_mmap_threshold()
    freed = bytearray(8 << 20)
    del freed  # without the fix, glibc now raises its threshold to 8 MiB
    blocks, kept = [], []
    for _ in range(400):  # about 200 MiB
        blocks.append(bytearray(512 << 10))
        kept.append(bytes(2048))
    before = _rss_mib()
    del blocks
    assert before - _rss_mib() > 150
    assert len(kept) == 400
