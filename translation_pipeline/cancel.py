"""Cancel a workbook's runs: what the UI's Terminate does, also for runs a `translation-pipeline translate` process
is executing, which no run launcher knows about.

- A queued run is dequeued (marked cancelled before it starts).
- A run launched by the daemon, a sensor, a schedule or the UI goes through the instance's run coordinator, as
  the UI's Terminate: the run launcher marks it CANCELING and asks the code server to interrupt its process.
- A run of a `translate` process on this machine (tags `translation/pid`, `translation/host`) is marked CANCELING,
  then its process gets SIGINT. Dagster raises the interrupt inside the running step and, finding the run
  CANCELING, ends it CANCELED. A run whose process is gone is marked CANCELED at once.

The interrupted `translations` step stops sending at once; every batch already answered was checkpointed when it
arrived, so a later run of the workbook requests only what is still missing. A cancelled run is not FAILURE: the
rerun schedule and `retry-failed` leave it alone until someone runs the workbook again.

A workbook in batch mode may have Batch API jobs open with no run at all: `cancel_batch_jobs` cancels them at the
provider, reads what they answered and settles the rest, so the batch sensor requests nothing more.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import dagster as dg
from dagster import DagsterRunStatus

from translation_pipeline.localization.store import ProjectStore
from translation_pipeline.localization.translate.contract import RequestBatch
from translation_pipeline.localization.translate.engine import EngineResult
from translation_pipeline.localization.translate.pinned import TranslatorSettings, build_translator
from translation_pipeline.processes import PID_TAG, interrupt, is_run_process, run_process

PARTITION_TAG = "dagster/partition"
CANCELLED_TAG = "translation/cancelled"
ACTIVE = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


@dataclass(frozen=True)
class Cancellation:
    """One run asked to stop: how, and the status it had when `cancel_workbook` stopped waiting."""

    run_id: str
    how: str
    status: DagsterRunStatus

    @property
    def done(self) -> bool:
        return self.status == DagsterRunStatus.CANCELED


def active_runs(instance: dg.DagsterInstance, key: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(dg.RunsFilter(tags={PARTITION_TAG: key}, statuses=ACTIVE)))


def reap_dead_runs(instance: dg.DagsterInstance, key: str) -> list[str]:
    """Runs of `key` that a `translate` process on this machine was executing when it died (SIGKILL, a crash):
    marked FAILURE, with their concurrency slots freed, so the next run of the workbook does not wait for the
    `llm` pool slot a dead process holds (until the daemon's run monitoring would). Returns their ids."""
    reaped = []
    for run in active_runs(instance, key):
        pid = run_process(run)
        if pid is None or pid == os.getpid() or is_run_process(pid):
            continue
        instance.report_run_failed(run, message=f"its translate process {pid} is gone (killed or crashed)")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(run.run_id)
    return reaped


def cancel_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    """Ask one active run to stop; returns how."""
    instance.add_run_tags(run.run_id, {CANCELLED_TAG: "by translation-pipeline cancel"})
    if run.status in (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED):
        instance.report_run_canceled(run, message="cancelled before it started")
        return "dequeued"
    if PID_TAG in run.tags:
        return interrupt(instance, run, "cancel requested by translation-pipeline cancel")
    if instance.run_coordinator.cancel_run(run.run_id):
        return "terminated through the run launcher"
    return "asked to stop (the run launcher could not reach its process)"


def cancel_workbook(instance: dg.DagsterInstance, key: str, wait_seconds: float = 30.0) -> list[Cancellation]:
    """Cancel every active run of partition `key`, then wait up to `wait_seconds` for them to end."""
    hows = {run.run_id: cancel_run(instance, run) for run in active_runs(instance, key)}
    deadline = time.monotonic() + wait_seconds
    statuses: dict[str, DagsterRunStatus] = {}
    while True:
        for run_id in hows:
            run = instance.get_run_by_id(run_id)
            statuses[run_id] = run.status if run else DagsterRunStatus.CANCELED
        if all(status in (DagsterRunStatus.CANCELED, DagsterRunStatus.FAILURE, DagsterRunStatus.SUCCESS)
               for status in statuses.values()) or time.monotonic() >= deadline:  # fmt: skip
            break
        time.sleep(0.2)
    return [Cancellation(run_id, how, statuses[run_id]) for run_id, how in hows.items()]


def cancel_batch_jobs(store: ProjectStore, key: str, current: TranslatorSettings, wait_seconds: float = 30.0) -> str:
    """Cancel the workbook's open Batch API jobs (its pinned provider's), keeping every line they answered;
    returns one line saying what happened, "" when it had none."""
    from translation_pipeline.localization.translate.batch.lane import build_lane
    from translation_pipeline.localization.translate.batch.records import BatchRecords

    jobs = BatchRecords(store).jobs(key, open_only=True)
    if not jobs:
        return ""
    pinned = store.pinned_settings(key)
    translator = build_translator(current.with_pinned(pinned) if pinned else current)

    def no_realtime(batches: list[RequestBatch]) -> EngineResult:
        raise AssertionError("cancelling sends nothing")

    report = build_lane(translator, key, store, no_realtime).cancel(wait_seconds)
    kept = f"{report.lines_read} answered lines read and kept"
    left = f"; {len(report.open_jobs)} still open: {'; '.join(report.problems)}" if report.open_jobs else ""
    return f"cancelled {len(jobs)} batch jobs ({kept}){left}"
