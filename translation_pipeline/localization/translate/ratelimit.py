"""Client-side rate limits: requests per minute and tokens per minute over a sliding 60 s window.

The engine awaits `acquire(estimate_tokens(batch))` before every send, so a run stays under the provider
account's limits instead of learning them from 429s. A limit of 0 means unlimited. Tokens are estimated
before sending (the real count is only known from the reply): see `estimate_tokens`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime

from translation_pipeline.localization.translate.contract import RequestBatch, user_message

WINDOW_SECONDS = 60.0
CHARS_PER_TOKEN = 3  # conservative for CJK and Latin text alike: real tokenizers give 1-4 chars per token
SYSTEM_PROMPT_TOKENS = 400  # the instructions sent with every request


def estimate_tokens(batch: RequestBatch) -> int:
    """Tokens a request will use: the system prompt, the JSON user message (chars / 3) and a reply about
    as long as the items' text (chars / 3)."""
    return SYSTEM_PROMPT_TOKENS + math.ceil((len(user_message(batch)) + batch.source_chars) / CHARS_PER_TOKEN)


class RateLimiter:
    """Waits until a request of `tokens` fits the last minute's request and token budgets.

    A single request larger than the whole token budget is let through when the window is empty, so it
    is delayed, never blocked forever.
    """

    def __init__(
        self,
        requests_per_minute: int = 0,
        tokens_per_minute: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if requests_per_minute < 0 or tokens_per_minute < 0:
            raise ValueError("rate limits must be 0 (unlimited) or positive")
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[tuple[float, int]] = deque()  # (time, tokens) of requests in the window
        self._lock = asyncio.Lock()

    @property
    def unlimited(self) -> bool:
        return not self.requests_per_minute and not self.tokens_per_minute

    def _wait_needed(self, tokens: int, now: float) -> float:
        while self._sent and now - self._sent[0][0] >= WINDOW_SECONDS:
            self._sent.popleft()
        if not self._sent:
            return 0.0
        full = self.requests_per_minute and len(self._sent) >= self.requests_per_minute
        used = sum(t for _, t in self._sent)
        over = self.tokens_per_minute and used + tokens > self.tokens_per_minute
        if not full and not over:
            return 0.0
        return self._sent[0][0] + WINDOW_SECONDS - now  # until the oldest request leaves the window

    async def acquire(self, tokens: int) -> None:
        """Return when a request of `tokens` may be sent, and count it."""
        if self.unlimited:
            return
        async with self._lock:  # first come, first served
            while (wait := self._wait_needed(tokens, self._clock())) > 0:
                await self._sleep(wait)
            self._sent.append((self._clock(), tokens))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta seconds or an HTTP date; None when absent or
    unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
