"""Send request batches with bounded concurrency; validate, retry, halve, checkpoint.

- Transport failures that may pass (429, 5xx, timeouts) are retried with exponential backoff and jitter,
  never sooner than the server's Retry-After. Other failures stop the whole run at once (a bad key must
  not cost one failed request per batch).
- When the primary provider used up its transport retries for a batch, the optional fallback provider
  gets the batch (with retries of its own). Every answer records which provider and model made it.
- Items that fail validation are re-sent in halved batches down to one item, up to `max_attempts`
  sends per item; then they are recorded as failed with the reason.
- Every validated answer is handed to `on_answer` as soon as its reply arrives (the checkpoint), on one
  writer thread, and counts as done only once written, so nothing answered is lost when the process dies; a
  write already queued when a fatal error stops the run still happens. The worker that got the reply sends
  its next request meanwhile: replies arriving together do not wait for each other's writes. When the write
  of a reply's answers fails, each answer is written alone: one the store refuses fails its item alone. When
  it refuses every answer of several, the store itself is failing, and its error stops the run.
- An error that stops the run reaches the caller as itself (the first one, when concurrent requests
  failed at once), never wrapped in an `ExceptionGroup`.
- Every request is recorded (provider, model, tokens, latency, cost) and waits for the optional rate
  limiter first. With a `BatchSizer`, the engine cuts the pending items of each language pair into
  batches itself, as large as the sizer says at that moment.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from translation_pipeline.localization.translate.contract import (
    BatchItem,
    ProviderReply,
    ReplyCheck,
    RequestBatch,
    Usage,
    parse_reply,
)
from translation_pipeline.localization.translate.pricing import PriceTable
from translation_pipeline.localization.translate.providers.base import ProviderError, TranslationProvider
from translation_pipeline.localization.translate.ratelimit import RateLimiter, estimate_tokens

# validation failures that say the batch as a whole went wrong (as opposed to one bad item)
WRITES_AHEAD = 2  # replies per request slot in flight or waiting for the checkpoint writer; more requests wait
STRUCTURAL_FAILURES = ("reply cut off", "reply is not the expected JSON", "missing from the reply",
                       "answered more than once")  # fmt: skip


class ProviderStopped(RuntimeError):
    """A non-retryable provider error: the run stops; answers already checkpointed are kept."""


@dataclass(frozen=True)
class RequestRecord:
    """One request sent: who answered, how it went, what it used and cost (None = model without price)."""

    batch_id: str
    provider: str
    model: str
    items: int
    outcome: str  # "answered", "rejected" (no item passed validation) or the transport error
    latency: float
    usage: Usage
    cost_usd: float | None


@dataclass
class EngineStats:
    requests: int = 0
    transport_retries: int = 0
    resent_items: int = 0
    fallback_batches: int = 0  # batches the fallback provider was asked for
    usage: Usage = field(default_factory=Usage)
    records: list[RequestRecord] = field(default_factory=list)
    answered_by: Counter[str] = field(default_factory=Counter)  # provider -> items it answered
    cost_usd: float | None = 0.0  # total cost, None once some request used a model without a price

    def add(self, record: RequestRecord) -> None:
        """Account for one request (totals kept as they go: progress reads them after every batch)."""
        self.records.append(record)
        self.usage.add(record.usage)
        if self.cost_usd is not None:
            self.cost_usd = None if record.cost_usd is None else self.cost_usd + record.cost_usd

    def per_batch(self) -> dict[str, dict[str, float | int | None]]:
        """Requests, tokens and cost per planned batch (re-sent halves count for the batch they came from)."""
        totals: dict[str, dict[str, float | int | None]] = {}
        for record in self.records:
            entry = totals.setdefault(
                record.batch_id.split(".")[0],
                {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0},
            )
            entry["requests"] += 1  # type: ignore[operator]
            entry["prompt_tokens"] += record.usage.prompt_tokens  # type: ignore[operator]
            entry["completion_tokens"] += record.usage.completion_tokens  # type: ignore[operator]
            cost = entry["cost_usd"]
            entry["cost_usd"] = None if cost is None or record.cost_usd is None else cost + record.cost_usd
        return totals


@dataclass
class EngineResult:
    translations: dict[str, str]
    failures: dict[str, str]
    # item id -> how many times it was sent, for the items sent more than once; every other item was sent once
    attempts: dict[str, int]
    stats: EngineStats
    # item id -> model that made its translation, where that is not the provider's own model (the fallback's)
    models: dict[str, str] = field(default_factory=dict)


AnswerCallback = Callable[[RequestBatch, dict[str, str], ProviderReply, RequestRecord], None]


@dataclass
class BatchSizer:
    """Items per request, adapted to how requests go: additive growth while replies are fast and clean,
    halving after a slow request (a timeout is one), a cut-off reply or a misaligned one (ids missing,
    doubled, or no JSON). Always within [min_items, max_items]; starts at `start` (default max_items)."""

    min_items: int
    max_items: int
    start: int | None = None
    fast_seconds: float = 10.0
    slow_seconds: float = 30.0
    size: int = field(init=False)

    def __post_init__(self) -> None:
        if not 1 <= self.min_items <= self.max_items:
            raise ValueError(f"batch size bounds must satisfy 1 <= min <= max, got {self.min_items}..{self.max_items}")
        self.size = min(self.max_items, max(self.min_items, self.start or self.max_items))

    def observe(self, seconds: float, *, clean: bool, misaligned: bool) -> None:
        """Account for one request: its latency, whether every item passed, whether the batch went wrong."""
        if misaligned or seconds > self.slow_seconds:
            self.size = max(self.min_items, self.size // 2)
        elif clean and seconds <= self.fast_seconds:
            self.size = min(self.max_items, self.size + max(1, self.size // 4))


@dataclass
class Engine:
    provider: TranslationProvider
    concurrency: int = 8
    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    on_answer: AnswerCallback | None = None
    on_progress: Callable[[int, int], None] | None = None
    fallback: TranslationProvider | None = None
    limiter: RateLimiter | None = None
    prices: PriceTable = field(default_factory=PriceTable.from_settings)
    sizer: BatchSizer | None = None
    max_chars: int = 6000  # source characters per batch when the engine cuts batches (with a sizer)
    # False: the answers reach the caller through `on_answer` alone, and the result's `translations` is empty (a
    # caller that keeps them as they are stored need not have a million of them held twice, by item id)
    keep_answers: bool = True
    _stats: EngineStats = field(default_factory=EngineStats, init=False)

    @property
    def stats(self) -> EngineStats:
        """What was sent so far, also after the run stopped on a fatal error."""
        return self._stats

    def run(self, batches: list[RequestBatch]) -> EngineResult:
        return asyncio.run(self.run_async(batches))

    async def run_async(self, batches: list[RequestBatch]) -> EngineResult:
        self._stats = EngineStats()
        self._translations: dict[str, str] = {}
        self._answered = 0
        self._models: dict[str, str] = {}
        self._failures: dict[str, str] = {}
        self._attempts: dict[str, int] = {}
        self._total = sum(len(b.items) for b in batches)
        self._semaphore = asyncio.Semaphore(self.concurrency)
        # replies in flight or waiting for the checkpoint writer, each holding its text and answers: without a bound,
        # a provider that answers faster than the store writes (the pseudo one) queues every batch of a workbook
        self._writes = asyncio.Semaphore(WRITES_AHEAD * self.concurrency)
        self._stopped: ProviderStopped | None = None
        # checkpoints are written one at a time on their own thread: requests in flight go on meanwhile
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        failed: BaseException | None = None
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                if self.sizer is None:
                    for batch in batches:
                        group.create_task(self._run(batch, 1))
                else:
                    self._queue = _PendingItems(batches)
                    for _ in range(min(self.concurrency, len(batches))):
                        group.create_task(self._worker())
        except BaseExceptionGroup as errors:
            failed = _first_leaf(errors)  # raised below, outside this handler: as itself, its own chain kept
        finally:
            self._writer.shutdown(wait=True)
            await self.provider.aclose()
            if self.fallback:
                await self.fallback.aclose()
        if failed is not None:
            raise failed
        result = EngineResult(self._translations, self._failures, self._attempts, self._stats, self._models)
        # the result is the caller's alone: it can let go of a million answers once it has stored them
        self._translations, self._failures, self._attempts, self._models = {}, {}, {}, {}
        return result

    async def _worker(self) -> None:
        assert self.sizer is not None
        while batch := self._queue.next_batch(self.sizer.size, self.max_chars):
            await self._run(batch, 1)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        computed = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return max(computed * (0.5 + random.random() / 2), retry_after or 0.0)

    def _record(
        self, provider: TranslationProvider, batch: RequestBatch, outcome: str, latency: float, usage: Usage
    ) -> RequestRecord:
        cost = self.prices.cost_usd(provider.model, usage.prompt_tokens, usage.completion_tokens)
        if cost is None and not (usage.prompt_tokens or usage.completion_tokens):
            cost = 0.0  # nothing used, nothing billed, whatever the price
        record = RequestRecord(batch.batch_id, provider.name, provider.model, len(batch.items), outcome, latency,
                               usage, cost)  # fmt: skip
        self._stats.add(record)
        return record

    async def _send_with(
        self, provider: TranslationProvider, batch: RequestBatch
    ) -> tuple[ProviderReply, RequestRecord] | ProviderError:
        """One batch with transport retries; the last error when they are used up."""
        for attempt in range(1, self.max_attempts + 1):
            async with self._semaphore:
                if self._stopped:  # another request already hit a non-retryable error
                    raise self._stopped
                if self.limiter:
                    await self.limiter.acquire(estimate_tokens(batch))
                self._stats.requests += 1
                started = time.perf_counter()
                try:
                    reply = await provider.translate(batch)
                    return reply, self._record(provider, batch, "answered", time.perf_counter() - started, reply.usage)
                except ProviderError as error:
                    latency = time.perf_counter() - started
                    self._record(provider, batch, str(error), latency, Usage())
                    if not error.retryable:
                        self._stopped = ProviderStopped(f"{provider.name}: {error}")
                        raise self._stopped from error
                    if self.sizer:
                        self.sizer.observe(latency, clean=False, misaligned=False)
                    last = error
            if attempt < self.max_attempts:
                self._stats.transport_retries += 1
                await asyncio.sleep(self._delay(attempt, last.retry_after))
        return last

    async def _send(self, batch: RequestBatch) -> tuple[ProviderReply, RequestRecord] | ProviderError:
        sent = await self._send_with(self.provider, batch)
        if isinstance(sent, ProviderError) and self.fallback:
            self._stats.fallback_batches += 1
            fallback = await self._send_with(self.fallback, batch)
            if isinstance(fallback, ProviderError):
                return ProviderError(f"{sent}; fallback {self.fallback.name}: {fallback}", retryable=True)
            return fallback
        return sent

    def _fail(self, batch: RequestBatch, reason: str) -> None:
        for item in batch.items:
            self._failures[item.id] = reason
        self._progress()

    def _progress(self) -> None:
        if self.on_progress:
            self.on_progress(self._answered + len(self._failures), self._total)

    def _observe(self, record: RequestRecord, check: ReplyCheck) -> None:
        if self.sizer is None:
            return
        misaligned = bool(check.ignored_ids) or any(
            reason.startswith(STRUCTURAL_FAILURES) for reason in check.failures.values()
        )
        self.sizer.observe(record.latency, clean=not check.failures, misaligned=misaligned)

    def _checkpoint(
        self, batch: RequestBatch, answers: dict[str, str], reply: ProviderReply, record: RequestRecord
    ) -> dict[str, str]:
        """Hand `answers` to `on_answer` (on the writer thread); returns the failure of each answer not stored.

        One write for the reply; when it fails, one write per answer, so an answer the store refuses costs
        its item alone. The request's usage and cost go with the first answer stored, never twice. When every
        answer of several is refused, the store is failing, not an answer: the first error is raised.
        """
        assert self.on_answer is not None
        try:
            self.on_answer(batch, answers, reply, record)
            return {}
        except Exception as error:
            if len(answers) == 1:
                return {item_id: _not_stored(error) for item_id in answers}
            first = error
        unstored: dict[str, str] = {}
        for item_id, text in answers.items():
            try:
                self.on_answer(batch, {item_id: text}, reply, record)
            except Exception as error:
                unstored[item_id] = _not_stored(error)
            else:  # the request is accounted for
                reply = dataclasses.replace(reply, usage=Usage())
                cost = None if record.cost_usd is None else 0.0  # an unknown price stays unknown
                record = dataclasses.replace(record, usage=Usage(), cost_usd=cost)
        if len(unstored) == len(answers):
            raise first
        return unstored

    async def _run(self, batch: RequestBatch, attempt: int) -> None:
        if attempt > 1:  # a dict entry per item sent once would be 1.6 million entries at 1,000,000 rows
            for item in batch.items:
                self._attempts[item.id] = attempt
        # a place among the replies in flight or waiting for the writer, taken before the request is sent and
        # given back once its answers are stored (by `_settle`) or when there is nothing to store
        holds = self.on_answer is not None
        if holds:
            await self._writes.acquire()
        handed_over = False
        try:
            sent = await self._send(batch)
            if isinstance(sent, ProviderError):
                self._fail(batch, f"request failed after {self.max_attempts} tries: {sent}")
                return
            reply, record = sent
            check = parse_reply(batch, reply, last_attempt=attempt >= self.max_attempts)
            self._observe(record, check)
            if check.translations and holds:
                # the caller (a worker) goes on to its next request while the answers are written: a reply that
                # arrives with several others waits for their writes in its own task, not before the next request
                self._group.create_task(self._settle(batch, attempt, reply, record, check, holds_write=True))
                handed_over = True
                return
        finally:
            if holds and not handed_over:
                self._writes.release()
        # given back before settling: the resends it may start need places of their own
        await self._settle(batch, attempt, reply, record, check)

    async def _settle(
        self,
        batch: RequestBatch,
        attempt: int,
        reply: ProviderReply,
        record: RequestRecord,
        check: ReplyCheck,
        holds_write: bool = False,
    ) -> None:
        """Store the answers of one reply, count them done, and send its failed items again (halved).
        `holds_write`: the reply holds one of the writer's places (`_writes`), given back once it is stored,
        before any resend (which may need a place of its own)."""
        if check.translations:
            unstored: dict[str, str] = {}
            if self.on_answer:  # stored before the answer counts as done
                write = self._writer.submit(self._checkpoint, batch, check.translations, reply, record)
                try:
                    # shielded: when another request stops the run, answers already paid for are still stored
                    unstored = await asyncio.shield(asyncio.wrap_future(write))
                finally:
                    if holds_write:
                        self._writes.release()
            stored = {item_id: text for item_id, text in check.translations.items() if item_id not in unstored}
            self._failures.update(unstored)
            self._answered += len(stored)
            if self.keep_answers:
                self._translations.update(stored)
            if record.model != self.provider.model:
                self._models.update(dict.fromkeys(stored, record.model))
            self._stats.answered_by[record.provider] += len(stored)
            self._progress()
        if not check.failures:
            return
        failed = batch.subset(set(check.failures), "")
        if attempt >= self.max_attempts:
            for item_id, reason in check.failures.items():
                self._failures[item_id] = f"{reason} (after {attempt} tries)"
            self._progress()
            return
        self._stats.resent_items += len(failed.items)
        await asyncio.sleep(self._delay(attempt, None))
        half = (len(failed.items) + 1) // 2
        pieces = [failed.items[:half], failed.items[half:]] if len(failed.items) > 1 else [failed.items]
        await asyncio.gather(
            *(
                self._run(batch.subset({i.id for i in piece}, f".{n}"), attempt + 1)
                for n, piece in enumerate(pieces, start=1)
            )
        )


def _first_leaf(group: BaseExceptionGroup) -> BaseException:
    """The first exception of `group` that is not itself a group."""
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _not_stored(error: Exception) -> str:
    """An item's failure reason for an answer the store refused: the error's first line, kept short (a
    database error goes on with the whole statement and its parameters)."""
    line = (str(error).strip().splitlines() or [""])[0]
    return f"answer not stored: {type(error).__name__}: {line[:200]}"


class _PendingItems:
    """The items of the planned batches, per language pair in plan order, cut into batches on demand.
    A cut batch is named after the planned batch of its first item plus a sequence number. The planned batches
    are queued as they are, with the position of the first item not cut yet: no entry per item (1.6 million at
    1,000,000 rows)."""

    def __init__(self, batches: list[RequestBatch]) -> None:
        self._pairs: dict[tuple[str, str], deque[RequestBatch]] = {}
        self._taken: dict[tuple[str, str], int] = {}  # items of the pair's first queued batch cut already
        for batch in batches:
            queue = self._pairs.setdefault((batch.source_language, batch.target_language), deque())
            if batch.items:
                queue.append(batch)
        self._count = 0

    def next_batch(self, max_items: int, max_chars: int) -> RequestBatch | None:
        for (source, target), queue in self._pairs.items():
            if not queue:
                continue
            origin = queue[0].batch_id
            position = self._taken.get((source, target), 0)
            items: list[BatchItem] = []
            chars = 0
            while queue and len(items) < max_items:
                item = queue[0].items[position]
                if items and chars + len(item.text) > max_chars:
                    break
                items.append(item)
                chars += len(item.text)
                position += 1
                if position == len(queue[0].items):
                    queue.popleft()
                    position = 0
            self._taken[(source, target)] = position
            self._count += 1
            return RequestBatch(f"{origin}-{self._count}", source, target, tuple(items))
        return None
