"""`rerun_failed_workbooks` evaluated with `build_schedule_context` on an instance holding failed runs."""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import threading
import types
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster import DagsterEventType, DagsterRunStatus
from dagster._core.events import DagsterEvent, JobFailureData, StepFailureData
from dagster._core.storage.runs.schema import RunsTable, RunTagsTable
from dagster._core.storage.runs.sql_run_storage import SqlRunStorage
from dagster_shared.serdes import serialize_value

from tests.conftest import register
from translation_pipeline.definitions import build_definitions
from translation_pipeline.localization.translate.providers.base import ProviderError
from translation_pipeline.localization.translate.providers.pseudo import PseudoProvider
from translation_pipeline.partitions import workbooks
from translation_pipeline.schedules import rerun_failed
from translation_pipeline.schedules.rerun_failed import (
    ATTEMPT_TAG,
    FAILURE_LOOKBACK,
    GAVE_UP_TAG,
    PARTITION_TAG,
    failed_workbook_states,
)


def run_job(defs: dg.Definitions, instance: dg.DagsterInstance, key: str, tags: dict | None = None) -> bool:
    job = defs.resolve_job_def("translate_workbook_job")
    return job.execute_in_process(instance=instance, partition_key=key, tags=tags, raise_on_error=False).success


def evaluate(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.SkipReason | list[dg.RunRequest]:
    schedule = defs.resolve_schedule_def("rerun_failed_workbooks")
    return schedule(dg.build_schedule_context(instance=instance))


@pytest.fixture
def provider_down(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fail(self: PseudoProvider, batch: object) -> None:
        raise ProviderError("503 service unavailable", retryable=True)

    monkeypatch.setattr(PseudoProvider, "translate", fail)
    monkeypatch.setenv("TRANSLATION_MAX_ATTEMPTS", "1")


def test_failed_translation_is_rerun_until_the_attempts_run_out(
    instance: dg.DagsterInstance, data_dir: Path, sample_workbook: Path, provider_down: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("TRANSLATION_RERUN_MAX_ATTEMPTS", "2")
    defs = build_definitions()
    key = register(instance, sample_workbook, data_dir)
    assert not run_job(defs, instance, key)

    for attempt in (1, 2):
        requests = evaluate(defs, instance)
        assert [(r.run_key, r.partition_key, r.tags[ATTEMPT_TAG]) for r in requests] == [
            (f"{key}:rerun-{attempt}", key, str(attempt))
        ]
        assert not run_job(defs, instance, key, tags=requests[0].tags)

    skipped = evaluate(defs, instance)
    assert isinstance(skipped, dg.SkipReason) and f"gave up on {key}" in skipped.skip_message
    latest = instance.get_runs(limit=1)[0]
    assert latest.tags[GAVE_UP_TAG] == "gave up after 2 of 2 reruns"


def test_success_clears_the_partition_and_bad_input_is_not_rerun(
    instance: dg.DagsterInstance, data_dir: Path, sample_workbook: Path, tmp_path: Path
) -> None:
    defs = build_definitions()
    good = register(instance, sample_workbook, data_dir)
    assert run_job(defs, instance, good)
    corrupt = tmp_path / "corrupt.xlsx"
    corrupt.write_bytes(b"not a workbook")
    bad = register(instance, corrupt, data_dir)
    assert not run_job(defs, instance, bad)  # fails in source_workbook: rerunning cannot help
    skipped = evaluate(defs, instance)
    assert isinstance(skipped, dg.SkipReason) and skipped.skip_message == "no failed workbook to rerun"


def test_rerun_after_recovery_sends_only_what_is_missing(
    instance: dg.DagsterInstance, data_dir: Path, sample_workbook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """First run: the provider answers the en batch only. Rerun: only ja and ko are requested."""
    defs = build_definitions()
    key = register(instance, sample_workbook, data_dir)
    original = PseudoProvider.translate
    sent: list[str] = []

    async def only_en(self: PseudoProvider, batch):  # type: ignore[no-untyped-def]
        sent.append(batch.target_language)
        if batch.target_language != "en":
            raise ProviderError("500 internal error", retryable=True)
        return await original(self, batch)

    monkeypatch.setenv("TRANSLATION_MAX_ATTEMPTS", "1")
    monkeypatch.setattr(PseudoProvider, "translate", only_en)
    assert not run_job(build_definitions(), instance, key)
    assert sorted(sent) == ["en", "ja", "ko"]

    sent.clear()
    monkeypatch.setattr(
        PseudoProvider, "translate", lambda self, batch: (sent.append(batch.target_language), original(self, batch))[1]
    )
    requests = evaluate(defs, instance)
    assert run_job(defs, instance, key, tags=requests[0].tags)
    assert sorted(sent) == ["ja", "ko"]


@contextlib.contextmanager
def count_storage_calls(instance: dg.DagsterInstance) -> Iterator[Counter[str]]:
    """Count calls into the run and event log storages of the instance's kind, by method, in this process:
    the classes are patched, since a schedule or sensor context opens its own instance from the ref. A call
    one storage method makes to another is part of the outer call, not counted again."""
    calls: Counter[str] = Counter()
    depth = threading.local()

    def counted(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            level = getattr(depth, "level", 0)
            if level == 0:
                calls[name] += 1
            depth.level = level + 1
            try:
                return method(*args, **kwargs)
            finally:
                depth.level = level

        return wrapper

    with pytest.MonkeyPatch.context() as patch:
        for storage in (instance.run_storage, instance.event_log_storage):
            cls = type(storage)
            for name in dir(cls):
                method = inspect.getattr_static(cls, name)
                if not name.startswith("_") and isinstance(method, types.FunctionType):
                    patch.setattr(cls, name, counted(f"{cls.__name__}.{name}", method))
        yield calls


def add_run(
    instance: dg.DagsterInstance,
    key: str,
    status: DagsterRunStatus,
    failed_step: str | None = None,
    tags: dict[str, str] | None = None,
) -> dg.DagsterRun:
    """A run of the partition with its final status set directly; with `failed_step`, the STEP_FAILURE and
    RUN_FAILURE events a run failing in that step stores."""
    run = instance.add_run(
        dg.DagsterRun(job_name="translate_workbook_job", status=status, tags={PARTITION_TAG: key, **(tags or {})})
    )
    if failed_step:
        failure = StepFailureData(error=None, user_failure_data=None)
        event = DagsterEvent(DagsterEventType.STEP_FAILURE.value, run.job_name, step_key=failed_step,
                             event_specific_data=failure)  # fmt: skip
        instance.report_dagster_event(event, run.run_id, log_level=logging.ERROR)
        instance.report_run_failed(run, job_failure_data=JobFailureData(None, first_step_failure_event=event))
    return run


def add_successful_runs(instance: dg.DagsterInstance, keys: list[str]) -> None:
    """One successful run per partition, with the columns and tags `add_run` writes, in one transaction (ten
    thousand in a second rather than in minutes)."""
    storage = instance.run_storage
    assert isinstance(storage, SqlRunStorage)
    now = datetime.now(UTC).replace(tzinfo=None)
    runs = [
        dg.DagsterRun(job_name="translate_workbook_job", status=DagsterRunStatus.SUCCESS, tags={PARTITION_TAG: key})
        for key in keys
    ]
    rows = [
        {"run_id": run.run_id, "pipeline_name": run.job_name, "status": run.status.value,
         "run_body": serialize_value(run), "partition": run.tags[PARTITION_TAG], "create_timestamp": now,
         "update_timestamp": now}
        for run in runs
    ]  # fmt: skip
    with storage.connect() as conn:
        conn.execute(RunsTable.insert(), rows)
        tags = [{"run_id": run.run_id, "key": k, "value": v} for run in runs for k, v in run.tags_for_storage().items()]
        conn.execute(RunTagsTable.insert(), tags)


def add_workbooks(
    instance: dg.DagsterInstance, keys: list[str], status: DagsterRunStatus, failed_step: str | None = None
) -> None:
    """Register the partitions, each with one run (successful ones in bulk)."""
    instance.add_dynamic_partitions(workbooks.name, keys)
    if status == DagsterRunStatus.SUCCESS:
        add_successful_runs(instance, keys)
    else:
        for key in keys:
            add_run(instance, key, status, failed_step)


def rerun_keys(result: dg.SkipReason | list[dg.RunRequest]) -> list[str]:
    return [] if isinstance(result, dg.SkipReason) else [request.partition_key for request in result]


def test_a_tick_reads_the_failed_workbooks_only(instance: dg.DagsterInstance, data_dir: Path) -> None:
    """Storage calls per tick depend on the failed workbooks, not on how many others the instance holds."""
    defs = build_definitions()
    add_workbooks(instance, ["failed-1", "failed-2"], DagsterRunStatus.FAILURE, "translations")
    add_workbooks(instance, [f"ok-{i}" for i in range(3)], DagsterRunStatus.SUCCESS)
    evaluate(defs, instance)  # once per process, the instance checks its storage
    with count_storage_calls(instance) as few:
        assert rerun_keys(evaluate(defs, instance)) == ["failed-2", "failed-1"]

    add_workbooks(instance, [f"ok-{i}" for i in range(3, 300)], DagsterRunStatus.SUCCESS)
    with count_storage_calls(instance) as many:
        assert rerun_keys(evaluate(defs, instance)) == ["failed-2", "failed-1"]
    assert many == few
    # opening the instance (3), failed runs, registered partitions, latest runs, failure events; 1 per failed one
    assert sum(many.values()) <= 7 + 2, many


def test_only_a_latest_run_that_failed_in_a_rerun_step_is_rerun(instance: dg.DagsterInstance, data_dir: Path) -> None:
    defs = build_definitions()
    add_workbooks(instance, ["export-failed"], DagsterRunStatus.FAILURE, "translated_workbook")
    add_workbooks(instance, ["bad-input"], DagsterRunStatus.FAILURE, "source_workbook")
    add_workbooks(instance, ["crashed"], DagsterRunStatus.FAILURE)  # no step failed: no failure event either
    add_workbooks(instance, ["recovered", "rerunning", "forgotten"], DagsterRunStatus.FAILURE, "translations")
    add_run(instance, "recovered", DagsterRunStatus.SUCCESS)
    add_run(instance, "rerunning", DagsterRunStatus.STARTED)
    instance.delete_dynamic_partition(workbooks.name, "forgotten")
    assert rerun_keys(evaluate(defs, instance)) == ["export-failed"]
    assert failed_workbook_states(instance, now=datetime.now(UTC) + FAILURE_LOOKBACK) == []  # too old


def test_workbooks_given_up_on_do_not_crowd_out_the_others(
    instance: dg.DagsterInstance, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = build_definitions()
    add_workbooks(instance, ["older"], DagsterRunStatus.FAILURE, "translations")
    instance.add_dynamic_partitions(workbooks.name, ["given-up"])
    for attempt in range(4):  # the first run and three reruns, the last one marked
        tags = {ATTEMPT_TAG: str(attempt)} if attempt else {}
        add_run(instance, "given-up", DagsterRunStatus.FAILURE, "translations",
                {**tags, GAVE_UP_TAG: "gave up after 3 of 3 reruns"} if attempt == 3 else tags)  # fmt: skip
    assert [state.key for state in failed_workbook_states(instance)] == ["older", "given-up"]

    monkeypatch.setattr(rerun_failed, "MAX_CANDIDATES", 1)
    assert rerun_keys(evaluate(defs, instance)) == ["older"]
