"""The provider interface: one request batch in, one reply out. Providers know their wire protocol;
validation, retries, splitting and checkpoints live in the engine, the same for every provider."""

from __future__ import annotations

from abc import ABC, abstractmethod

from translation_pipeline.localization.check.glossary import Glossary
from translation_pipeline.localization.translate.contract import ProviderReply, RequestBatch, user_message
from translation_pipeline.localization.translate.prompt import GameInfo, system_prompt


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


class ChatProvider(TranslationProvider):
    """A provider that sends the batch contract as chat messages: the system prompt (game info, rules,
    JSON only) and one JSON object as the user message, with the glossary terms the batch's sources use."""

    def __init__(self, model: str, *, game: GameInfo | None, glossary: Glossary | None, timeout: float) -> None:
        self.model = model
        self.game = game or GameInfo()
        self.glossary = glossary
        self.timeout = timeout

    def messages(self, batch: RequestBatch) -> list[dict[str, str]]:
        texts = [item.text for item in batch.items]
        terms = self.glossary.terms_for(texts, batch.target_language) if self.glossary else []
        return [
            {"role": "system", "content": system_prompt(batch.source_language, batch.target_language, self.game)},
            {"role": "user", "content": user_message(batch, terms)},
        ]
