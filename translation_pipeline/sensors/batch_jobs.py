"""`batch_jobs_sensor`: follows the batch lane's open provider jobs; when all of a workbook's are finished (or one
needs re-attaching), requests the run that collects them and completes the partition.

A run in batch mode without waiting submits its jobs and ends (`translations` is then not materialized, the
export waits). This sensor asks the provider about each open job (one call per job, at most `MAX_JOBS` per
tick), records the status and counts, and reports every changed workbook as an observation of `translations`
(jobs, ids, counts) where the UI shows it. It never reads results: the run does, and stores each line as it is
read. It ticks every `TRANSLATION_BATCH_POLL_SECONDS` (at least `MIN_INTERVAL_SECONDS`), as often as a waiting
`translate` asks the provider.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import dagster as dg

from translation_pipeline.cancel import active_runs
from translation_pipeline.localization.translate.batch.client import FINAL, BatchApiError, BatchClient
from translation_pipeline.localization.translate.batch.records import BatchRecords, jobs_markdown
from translation_pipeline.resources.llm import TranslationResource
from translation_pipeline.resources.store import ProjectStoreResource

MAX_JOBS = 200
MIN_INTERVAL_SECONDS = 5
SOURCE_TAG = "translation/source"


def _client(clients: dict[str, BatchClient | BatchApiError], provider: str, translation: TranslationResource
            ) -> BatchClient | BatchApiError:  # fmt: skip
    if provider not in clients:
        base_url = translation.openai_base_url if provider == "openai" else translation.dashscope_base_url
        try:
            clients[provider] = BatchClient(provider, base_url=base_url, timeout=translation.request_timeout)
        except BatchApiError as error:
            clients[provider] = error
    return clients[provider]


def build_batch_jobs_sensor(poll_seconds: float) -> dg.SensorDefinition:
    """The sensor, ticking every `poll_seconds` (at least MIN_INTERVAL_SECONDS)."""

    @dg.sensor(
        job_name="translate_workbook_job",
        minimum_interval_seconds=max(MIN_INTERVAL_SECONDS, round(poll_seconds)),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Follows open Batch API jobs; requests the run that completes a workbook when its jobs are done.",
    )
    def batch_jobs_sensor(
        context: dg.SensorEvaluationContext, store: ProjectStoreResource, translation: TranslationResource
    ) -> dg.SensorResult | dg.SkipReason:
        return follow_jobs(context, store, translation)

    return batch_jobs_sensor


def follow_jobs(
    context: dg.SensorEvaluationContext, store: ProjectStoreResource, translation: TranslationResource
) -> dg.SensorResult | dg.SkipReason:
    """One tick: ask about each open job, report changes, request the runs of workbooks whose jobs are done."""
    records = BatchRecords(store.get_store())
    open_jobs = records.open_workbooks(limit=MAX_JOBS)
    if not open_jobs:
        return dg.SkipReason("no open batch job")
    clients: dict[str, BatchClient | BatchApiError] = {}
    requests, events = [], []
    for key, jobs in open_jobs.items():
        if active_runs(context.instance, key):
            continue  # its run follows them itself
        changed, ready = False, True
        for job in jobs:
            if job.batch_id is None:
                continue  # recorded, never created: the run re-attaches or submits it
            client = _client(clients, job.provider, translation)
            if isinstance(client, BatchApiError):
                context.log.warning(f"{key}: cannot follow job {job.batch_id}: {client}")
                ready = False
                continue
            try:
                status = client.retrieve(job.batch_id)
            except BatchApiError as error:
                context.log.warning(f"{key}: job {job.batch_id}: {error}")
                ready = False
                continue
            if (status.status, status.completed, status.failed) != (job.status, job.completed, job.failed):
                changed = True
                records.update_job(job.job_key, status=status.status, completed=status.completed,
                                   failed=status.failed, output_file_id=status.output_file_id,
                                   error_file_id=status.error_file_id)  # fmt: skip
            age = datetime.now(UTC).replace(tzinfo=None) - job.created_at
            past_window = age > timedelta(hours=translation.batch_window_hours)  # the run cancels it
            ready = ready and (status.status in FINAL or past_window)
        jobs = records.jobs(key, open_only=True)
        if changed:
            done = sum(j.completed + j.failed for j in jobs)
            events.append(dg.AssetObservation(
                asset_key="translations", partition=key,
                metadata={"batch_state": "ready" if ready else "waiting",
                          "batch_jobs": dg.MetadataValue.md(jobs_markdown(jobs)), "open_jobs": len(jobs),
                          "lines": sum(j.lines for j in jobs), "lines_done": done},
            ))  # fmt: skip
        if ready:
            digest = hashlib.sha256("|".join(sorted(j.job_key for j in jobs)).encode()).hexdigest()[:12]
            context.log.info(f"{key}: {len(jobs)} batch jobs finished; requesting the run that completes it")
            requests.append(dg.RunRequest(run_key=f"{key}:batch:{digest}", partition_key=key,
                                          tags={SOURCE_TAG: "batch jobs sensor"}))  # fmt: skip
    for client in clients.values():
        if isinstance(client, BatchClient):
            client.close()
    if not requests and not events:
        return dg.SkipReason(f"{sum(map(len, open_jobs.values()))} batch jobs open, none finished")
    return dg.SensorResult(run_requests=requests, asset_events=events)
