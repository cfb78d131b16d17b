"""Send request batches with bounded concurrency; validate, retry, halve, checkpoint.

- Transport failures that may pass (429, 5xx, timeouts) are retried with exponential backoff and jitter,
  never sooner than the server's Retry-After. Other failures stop the whole run at once (a bad key must
  not cost one failed request per batch).
- Items that fail validation are re-sent in halved batches down to one item, up to `max_attempts`
  sends per item; then they are recorded as failed with the reason.
- Every validated answer is handed to `on_answer` as soon as its reply arrives (the checkpoint), before
  any other request is awaited, so nothing answered is lost when the process dies.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from translation_pipeline.localization.contract import ProviderReply, RequestBatch, Usage, parse_reply
from translation_pipeline.localization.providers.base import ProviderError, TranslationProvider

AnswerCallback = Callable[[RequestBatch, dict[str, str], ProviderReply, float], None]


class ProviderStopped(RuntimeError):
    """A non-retryable provider error: the run stops; answers already checkpointed are kept."""


@dataclass
class EngineStats:
    requests: int = 0
    transport_retries: int = 0
    resent_items: int = 0
    usage: Usage = field(default_factory=Usage)


@dataclass
class EngineResult:
    translations: dict[str, str]
    failures: dict[str, str]
    attempts: dict[str, int]
    stats: EngineStats


@dataclass
class Engine:
    provider: TranslationProvider
    concurrency: int = 8
    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    on_answer: AnswerCallback | None = None
    on_progress: Callable[[int, int], None] | None = None
    _stats: EngineStats = field(default_factory=EngineStats, init=False)

    def run(self, batches: list[RequestBatch]) -> EngineResult:
        return asyncio.run(self.run_async(batches))

    async def run_async(self, batches: list[RequestBatch]) -> EngineResult:
        self._stats = EngineStats()
        self._translations: dict[str, str] = {}
        self._failures: dict[str, str] = {}
        self._attempts: dict[str, int] = {}
        self._total = sum(len(b.items) for b in batches)
        self._semaphore = asyncio.Semaphore(self.concurrency)
        self._stopped: ProviderStopped | None = None
        try:
            async with asyncio.TaskGroup() as group:
                for batch in batches:
                    group.create_task(self._run(batch, 1))
        except* ProviderStopped as stopped:
            raise stopped.exceptions[0] from None
        finally:
            await self.provider.aclose()
        return EngineResult(self._translations, self._failures, self._attempts, self._stats)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        computed = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return max(computed * (0.5 + random.random() / 2), retry_after or 0.0)

    async def _send(self, batch: RequestBatch) -> tuple[ProviderReply, float] | ProviderError:
        """One batch with transport retries; the last error when they are used up."""
        for attempt in range(1, self.max_attempts + 1):
            async with self._semaphore:
                if self._stopped:  # another request already hit a non-retryable error
                    raise self._stopped
                self._stats.requests += 1
                started = time.perf_counter()
                try:
                    reply = await self.provider.translate(batch)
                    return reply, time.perf_counter() - started
                except ProviderError as error:
                    if not error.retryable:
                        self._stopped = ProviderStopped(f"{self.provider.name}: {error}")
                        raise self._stopped from error
                    last = error
            if attempt < self.max_attempts:
                self._stats.transport_retries += 1
                await asyncio.sleep(self._delay(attempt, last.retry_after))
        return last

    def _fail(self, batch: RequestBatch, reason: str) -> None:
        for item in batch.items:
            self._failures[item.id] = reason
        self._progress()

    def _progress(self) -> None:
        if self.on_progress:
            self.on_progress(len(self._translations) + len(self._failures), self._total)

    async def _run(self, batch: RequestBatch, attempt: int) -> None:
        for item in batch.items:
            self._attempts[item.id] = attempt
        sent = await self._send(batch)
        if isinstance(sent, ProviderError):
            self._fail(batch, f"request failed after {self.max_attempts} tries: {sent}")
            return
        reply, latency = sent
        self._stats.usage.add(reply.usage)
        check = parse_reply(batch, reply)
        if check.translations:
            if self.on_answer:
                self.on_answer(batch, check.translations, reply, latency)
            self._translations.update(check.translations)
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
