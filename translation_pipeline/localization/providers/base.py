"""The provider interface: one request batch in, one reply out. Providers know their wire protocol;
validation, retries, splitting and checkpoints live in the engine, the same for every provider."""

from __future__ import annotations

from abc import ABC, abstractmethod

from translation_pipeline.localization.contract import ProviderReply, RequestBatch


class ProviderError(Exception):
    """A request failed. `retryable` says whether sending it again may help (429, 5xx, timeouts)."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class TranslationProvider(ABC):
    """Translates request batches. `name` and `model` identify who made a translation."""

    name: str
    model: str

    @abstractmethod
    async def translate(self, batch: RequestBatch) -> ProviderReply:
        """Send one batch; raise ProviderError when the request itself fails."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
