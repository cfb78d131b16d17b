"""The batch lane: a workbook's request batches through the provider's Batch API, half price, checkpointed.

Same prompt, same JSON batch contract, same validation per item as the realtime lane (`contract.parse_reply`).
One `run` call moves the workbook's work as far as it can:

1. open jobs first: a job recorded but never created (the process died in between) is found by the job key in
   its metadata, or submitted then; others are polled; a finished one has its output and error files read,
   every answered line stored the moment it is read (translation memory, checkpoint, call log at batch price);
2. what no open job holds and no earlier round settled is submitted, in files within the provider's limits;
3. failures: error-file lines that may pass (5xx, `batch_expired`, `batch_cancelled`), lines a failed or
   expired job never answered, and items that failed validation are sent again, halved, in a follow-up job,
   or realtime when fewer than `retry_realtime_below` remain, up to `max_attempts` sends per item; then they
   are final, reported as failed like the realtime lane's;
4. with `wait`, polls every `poll_seconds` until nothing is open; without, returns what is still open.

A cycle is the lane's work on a workbook from a run with nothing open until everything is answered or
final; the next run after a finished cycle (a rerun of a failed export, say) starts a new one, as a realtime
rerun sends failed items again. A job still not finished `window_hours` after it was created is cancelled
and treated as expired. Nothing answered is lost and no work is submitted twice: every step is recorded in
the project store before the next one (records.py).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from translation_pipeline.localization.store import MemoryScope
from translation_pipeline.localization.translate.batch.client import FINAL, BatchApiError, BatchClient, JobStatus
from translation_pipeline.localization.translate.batch.jsonl import (
    FileLimits,
    ResultFile,
    batch_from_json,
    batch_to_json,
    read_results,
    request_line,
    split_lines,
)
from translation_pipeline.localization.translate.batch.records import OPEN, BatchRecords, Job, Line
from translation_pipeline.localization.translate.contract import ProviderReply, RequestBatch, parse_reply
from translation_pipeline.localization.translate.engine import EngineResult
from translation_pipeline.localization.translate.providers.base import ChatProvider

if TYPE_CHECKING:
    from translation_pipeline.localization.store import ProjectStore
    from translation_pipeline.localization.translate.pinned import Translator

MAX_FAILED_POLLS = 10  # then the run fails (retryable): the open jobs stay recorded, the next run re-attaches
ItemKey = tuple[str, str, str]  # source language, target language, source text
# record(batch, answers by item id, reply, lane cost): store answered items (memory, checkpoint, call log)
Recorder = Callable[[RequestBatch, dict[str, str], ProviderReply, "float | None"], None]


@dataclass(frozen=True)
class LaneSettings:
    max_attempts: int = 4
    retry_realtime_below: int = 50
    poll_seconds: float = 60.0
    window_hours: float = 24.0
    limits: FileLimits = field(default_factory=FileLimits)


@dataclass
class LaneReport:
    """What one `run` did and what is left."""

    cycle: int = 0
    failures: dict[ItemKey, str] = field(default_factory=dict)  # final in this cycle
    attempts: dict[ItemKey, int] = field(default_factory=dict)
    open_jobs: list[Job] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    jobs_submitted: int = 0
    lines_submitted: int = 0
    items_submitted: int = 0
    lines_read: int = 0
    realtime_items: int = 0

    @property
    def waiting(self) -> bool:
        return bool(self.open_jobs)


def item_keys(batch: RequestBatch) -> dict[str, ItemKey]:
    return {item.id: (batch.source_language, batch.target_language, item.text) for item in batch.items}


def _halves(batch: RequestBatch, ids: set[str]) -> list[RequestBatch]:
    failed = batch.subset(ids, "")
    if len(failed.items) <= 1:
        return [failed]
    half = (len(failed.items) + 1) // 2
    return [
        batch.subset({i.id for i in failed.items[:half]}, ".1"),
        batch.subset({i.id for i in failed.items[half:]}, ".2"),
    ]


class BatchLane:
    def __init__(
        self,
        key: str,
        records: BatchRecords,
        client: BatchClient,
        provider: ChatProvider,
        settings: LaneSettings,
        record: Recorder,
        realtime: Callable[[list[RequestBatch]], EngineResult],
        cost: Callable[[int, int], float | None],
        on_progress: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.key, self.records, self.client, self.provider = key, records, client, provider
        self.settings, self._record, self._realtime, self._cost = settings, record, realtime, cost
        self._progress, self._sleep = on_progress, sleep
        self._failed_polls = 0

    # -- one call ---------------------------------------------------------------------------------------------

    def run(self, pending: list[RequestBatch], *, wait: bool) -> LaneReport:
        """Move the workbook's batch work on (see the module docstring); `pending` are the request batches of
        what the translation memory does not hold."""
        cycle, going = self.records.cycle_of(self.key)
        report = LaneReport(cycle=cycle if going else cycle + 1)
        self._advance_open(report)
        held, final = self._cycle_items(report.cycle)
        new = [b.subset({i for i, k in item_keys(b).items() if k not in held and k not in final}, "") for b in pending]
        self._submit([b for b in new if b.items], 1, report)
        started, first = time.monotonic(), None
        while True:
            self._follow_failures(report)
            open_jobs = self.records.jobs(self.key, open_only=True)
            if not open_jobs or not wait:
                break
            done = sum(job.completed + job.failed for job in open_jobs)
            first = done if first is None else first
            self._say(open_jobs, done - first, time.monotonic() - started)
            self._sleep(self.settings.poll_seconds)
            self._advance_open(report)
        report.open_jobs = self.records.jobs(self.key, open_only=True)
        _, final = self._cycle_items(report.cycle)
        report.failures = final
        return report

    def _say(self, jobs: list[Job], done_here: int, seconds: float) -> None:
        if not self._progress:
            return
        total = sum(job.lines for job in jobs)
        done = sum(job.completed + job.failed for job in jobs)
        rate = done_here / seconds if seconds > 0 else 0.0
        eta = f"ETA {(total - done) / rate / 60:.0f} min" if rate > 0 else "ETA unknown"
        states = ", ".join(f"{job.batch_id or job.job_key}: {job.status}" for job in jobs[:5])
        self._progress(f"batch: {len(jobs)} jobs open ({states}), {done}/{total} lines done, {eta}")

    def cancel(self, wait_seconds: float = 30.0) -> LaneReport:
        """Cancel the workbook's open jobs at the provider, store what they answered, and settle the rest: the
        cycle ends, nothing is sent again until the workbook is run again (a new cycle)."""
        cycle, _ = self.records.cycle_of(self.key)
        report = LaneReport(cycle=cycle)
        deadline = time.monotonic() + wait_seconds
        for job in self.records.jobs(self.key, open_only=True):
            if job.batch_id is None and (found := self.client.find(job.job_key)) is not None:
                self._update(job.job_key, found)
                job = next(j for j in self.records.jobs(self.key, open_only=True) if j.job_key == job.job_key)
            if job.batch_id is None:  # never created: nothing to cancel or read
                self._collect(job, JobStatus("", "cancelled"), "cancelled before it was created", report)
                continue
            status = self.client.cancel(job.batch_id) if job.status not in FINAL else self.client.retrieve(job.batch_id)
            while not status.final and time.monotonic() < deadline:
                self._sleep(min(1.0, self.settings.poll_seconds))
                status = self.client.retrieve(job.batch_id)
            self._update(job.job_key, status)
            if not status.final:  # its answers may still come: read them when it is (the sensor's run will)
                report.problems.append(f"job {job.batch_id} still {status.status} after {wait_seconds:g}s")
                continue
            self._collect(job, status, "cancelled by translation-pipeline cancel", report)
        waiting = [line for line in self.records.lines(self.key, cycle)
                   if line.state == "done" and line.failures and not line.followed]  # fmt: skip
        self.records.follow(waiting, "final")
        report.open_jobs = self.records.jobs(self.key, open_only=True)
        return report

    # -- what this cycle holds --------------------------------------------------------------------------------

    def _cycle_items(self, cycle: int) -> tuple[set[ItemKey], dict[ItemKey, str]]:
        """(items in sent lines, answered, or failures not yet handed on; final failures) of `cycle`."""
        held: set[ItemKey] = set()
        final: dict[ItemKey, str] = {}
        for line in self.records.lines(self.key, cycle):
            keys = item_keys(batch_from_json(line.request))
            held.update(key for item_id, key in keys.items() if item_id not in line.failures)  # sent or answered
            if line.state == "done" and line.followed == "final":
                final.update({keys[i]: reason for i, (reason, _) in line.failures.items() if i in keys})
            elif line.state == "done" and not line.followed:
                held.update(keys[i] for i in line.failures if i in keys)
        return held, final

    # -- submitting -------------------------------------------------------------------------------------------

    def _submit(self, batches: list[RequestBatch], attempt: int, report: LaneReport) -> None:
        lines = [(f"{b.batch_id}~a{attempt}", b) for b in batches]
        encoded = [self._line(custom_id, batch) for custom_id, batch in lines]
        start = 0
        for chunk in split_lines(encoded, self.settings.limits):
            group = lines[start : start + len(chunk)]
            start += len(chunk)
            job_key = self.records.create_job(self.key, report.cycle, self.provider.name, self.provider.model,
                                              [(cid, attempt, batch_to_json(b)) for cid, b in group])  # fmt: skip
            report.jobs_submitted += 1
            report.lines_submitted += len(group)
            report.items_submitted += sum(len(b.items) for _, b in group)
            try:
                self._start(job_key, b"".join(chunk))
            except BatchApiError as error:
                if not error.retryable:
                    raise
                report.problems.append(f"job {job_key} not submitted yet: {error}; tried again next time"[:300])

    def _line(self, custom_id: str, batch: RequestBatch) -> bytes:
        return request_line(custom_id, self.provider.model, self.provider.messages(batch))

    def _start(self, job_key: str, data: bytes, file_id: str | None = None) -> None:
        """Upload (unless done) and create the provider batch of a recorded job, recording each step."""
        if file_id is None:
            file_id = self.client.upload(f"{job_key}.jsonl", data)
            self.records.update_job(job_key, input_file_id=file_id, status="uploaded")
        status = self.client.create(file_id, {"translation_job": job_key, "workbook": self.key[:500]})
        self._update(job_key, status)

    def _update(self, job_key: str, status: JobStatus) -> None:
        self.records.update_job(job_key, batch_id=status.batch_id, status=status.status,
                                output_file_id=status.output_file_id, error_file_id=status.error_file_id,
                                completed=status.completed, failed=status.failed)  # fmt: skip

    # -- open jobs --------------------------------------------------------------------------------------------

    def _advance_open(self, report: LaneReport) -> None:
        """Advance every open job; after `MAX_FAILED_POLLS` polls in a row where every call failed, stop."""
        failed = None
        for job in self.records.jobs(self.key, open_only=True):
            try:
                self._advance(job, report)
                failed = False
            except BatchApiError as error:
                if not error.retryable:
                    raise
                report.problems.append(f"job {job.batch_id or job.job_key}: {error}; tried again next time"[:300])
                failed, last = failed is not False, error
        self._failed_polls = self._failed_polls + 1 if failed else 0
        if self._failed_polls >= MAX_FAILED_POLLS:
            raise BatchApiError(f"{MAX_FAILED_POLLS} polls in a row failed, the last with: {last}", retryable=True)

    def _advance(self, job: Job, report: LaneReport) -> None:
        if job.batch_id is None:  # recorded, maybe uploaded, creation not recorded: re-attach or submit
            found = self.client.find(job.job_key)
            if found is not None:
                self._update(job.job_key, found)
            else:
                data = b"".join(self._line(line.custom_id, batch_from_json(line.request))
                                for line in self.records.job_lines(job.job_key))  # fmt: skip
                self._start(job.job_key, data, job.input_file_id)
            return
        status = self.client.retrieve(job.batch_id)
        self._update(job.job_key, status)
        note = ""
        if not status.final and self._past_window(job):
            status = self.client.cancel(job.batch_id)
            self._update(job.job_key, status)
            note = f"still {status.status} after the {self.settings.window_hours:g} h window: treated as expired"
            report.problems.append(f"job {job.batch_id}: {note}")
        elif not status.final:
            return
        self._collect(job, status, note or status.errors, report)

    def _past_window(self, job: Job) -> bool:
        age = dt.datetime.now(dt.UTC).replace(tzinfo=None) - job.created_at
        return age.total_seconds() > self.settings.window_hours * 3600

    def _collect(self, job: Job, status: JobStatus, note: str, report: LaneReport) -> None:
        """Read the finished job's output and error files; store every answered line as it is read."""
        lines = {line.custom_id: line for line in self.records.job_lines(job.job_key) if line.state == "sent"}
        results = ResultFile()
        for file_id, name in ((status.output_file_id, "output"), (status.error_file_id, "error file")):
            if file_id:
                read_results([self.client.download(file_id)], set(lines), results, f"job {job.batch_id} {name}")
        report.problems.extend(results.problems)
        for custom_id, line in lines.items():
            batch = batch_from_json(line.request)
            result = results.results.get(custom_id)
            failures: dict[str, tuple[str, bool]]
            if result is None:
                failures = dict.fromkeys((i.id for i in batch.items), (f"not answered (job {status.status})", True))
            elif result.reply is None:
                failures = dict.fromkeys((i.id for i in batch.items), (result.error, result.retryable))
            else:
                check = parse_reply(batch, result.reply, last_attempt=line.attempt >= self.settings.max_attempts)
                if check.translations:
                    usage = result.reply.usage
                    self._record(
                        batch,
                        check.translations,
                        result.reply,
                        self._cost(usage.prompt_tokens, usage.completion_tokens),
                    )
                failures = {item_id: (reason, True) for item_id, reason in check.failures.items()}
            self.records.finish_line(job.job_key, custom_id, failures)
            report.lines_read += 1
        summary = f"{status.status}: {status.completed} answered, {status.failed} failed"
        self.records.update_job(job.job_key, status=OPEN, note=f"{summary}; {note}"[:300] if note else summary)

    # -- failures ---------------------------------------------------------------------------------------------

    def _follow_failures(self, report: LaneReport) -> None:
        """Hand on the failures of done lines: resent (batch or realtime) or final."""
        waiting = [line for line in self.records.lines(self.key, report.cycle)
                   if line.state == "done" and line.failures and not line.followed]  # fmt: skip
        if not waiting:
            return
        again: list[tuple[Line, RequestBatch]] = []
        final: list[Line] = []
        for line in waiting:
            keys = item_keys(batch_from_json(line.request))
            for item_id in line.failures:
                report.attempts[keys[item_id]] = line.attempt
            # a whole line's error is retryable or not; validation failures always are
            if line.attempt < self.settings.max_attempts and all(retryable for _, retryable in line.failures.values()):
                again.append((line, batch_from_json(line.request).subset(set(line.failures), "")))
            else:
                final.append(line)
        self.records.follow(final, "final")
        if not again:
            return
        count = sum(len(batch.items) for _, batch in again)
        if count < self.settings.retry_realtime_below:
            self._send_realtime([batch for _, batch in again], report)
        else:
            attempt = max(line.attempt for line, _ in again) + 1
            self._submit([half for _, batch in again for half in _halves(batch, {i.id for i in batch.items})],
                         attempt, report)  # fmt: skip
        self.records.follow([line for line, _ in again], "resent")

    def _send_realtime(self, batches: list[RequestBatch], report: LaneReport) -> None:
        """Few items left: the realtime lane answers them (stored by its own checkpoints); what fails there is
        final, recorded as a collected job of its own so a later run of this cycle knows."""
        result = self._realtime(batches)
        report.realtime_items += sum(len(b.items) for b in batches)
        lines = [(f"{b.batch_id}~rt", self.settings.max_attempts, batch_to_json(b)) for b in batches]
        job_key = self.records.create_job(self.key, report.cycle, self.provider.name, self.provider.model, lines)
        for custom_id, _, request in lines:
            batch = batch_from_json(request)
            failures = {i.id: (result.failures[i.id], False) for i in batch.items if i.id in result.failures}
            self.records.finish_line(job_key, custom_id, failures)
        self.records.follow(self.records.job_lines(job_key), "final")
        self.records.update_job(job_key, status=OPEN, note=f"realtime retry of {report.realtime_items} items")


def memory_recorder(store: ProjectStore, key: str, provider: str, model: str, prompt_version: str) -> Recorder:
    """Stores a batch line's answers as the realtime lane's checkpoints do (memory, checkpoint, call log), on the
    batch lane at its price."""

    def record(batch: RequestBatch, answers: dict[str, str], reply: ProviderReply, cost: float | None) -> None:
        store.record_batch(
            key, batch.batch_id, MemoryScope(batch.source_language, batch.target_language, model, prompt_version),
            {item.text: answers[item.id] for item in batch.items if item.id in answers},
            provider=provider, items=len(batch.items), prompt_tokens=reply.usage.prompt_tokens,
            completion_tokens=reply.usage.completion_tokens, latency_ms=0, cost_usd=cost, lane="batch",
        )  # fmt: skip

    return record


def build_lane(
    translator: Translator,
    key: str,
    store: ProjectStore,
    realtime: Callable[[list[RequestBatch]], EngineResult],
    on_progress: Callable[[str], None] | None = None,
) -> BatchLane:
    """The batch lane of workbook `key` from the run's translator (its pinned provider and model, this process's
    batch settings). BatchApiError when the provider has no Batch API or no key."""
    s, provider = translator.settings, translator.provider
    if s.provider not in ("openai", "qwen") or not isinstance(provider, ChatProvider):
        raise BatchApiError(f"mode batch needs provider openai or qwen, not {s.provider}", retryable=False)
    base_url = s.openai_base_url if s.provider == "openai" else s.dashscope_base_url
    client = BatchClient(s.provider, base_url=base_url, timeout=s.request_timeout)
    limits = FileLimits(s.batch_file_max_lines, s.batch_file_max_mb * 1024 * 1024)
    settings = LaneSettings(s.max_attempts, s.batch_retry_realtime_below, s.batch_poll_seconds, s.batch_window_hours,
                            limits)  # fmt: skip

    def cost(prompt_tokens: int, completion_tokens: int) -> float | None:
        return translator.prices.cost_usd(provider.model, prompt_tokens, completion_tokens, lane="batch")

    record = memory_recorder(store, key, provider.name, provider.model, s.prompt_version)
    return BatchLane(key, BatchRecords(store), client, provider, settings, record, realtime, cost, on_progress)
