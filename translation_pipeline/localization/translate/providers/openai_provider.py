"""OpenAI chat completions through the official `openai` SDK (`AsyncOpenAI`), JSON mode.

Key and endpoint come from the SDK's own `OPENAI_API_KEY` / `OPENAI_BASE_URL` unless given explicitly.
The SDK's own retries are off: the engine retries, with backoff that honors `Retry-After`.
"""

from __future__ import annotations

from translation_pipeline.localization.check.glossary import Glossary
from translation_pipeline.localization.translate.contract import ProviderReply, RequestBatch, Usage
from translation_pipeline.localization.translate.prompt import GameInfo
from translation_pipeline.localization.translate.providers.base import ChatProvider, ProviderError
from translation_pipeline.localization.translate.providers.openai_sdk import openai
from translation_pipeline.localization.translate.ratelimit import parse_retry_after

# what a non-retryable status means, for the message that stops the run
STATUS_MEANING = {
    400: "bad request",
    401: "invalid api key",
    403: "permission denied",
    404: "not found (check the model name and the base URL)",
    422: "unprocessable request",
}


def status_error(status: int, detail: str, retry_after: str | None) -> ProviderError:
    """429 and 5xx may pass (retryable, after `Retry-After`); any other status will not."""
    meaning = STATUS_MEANING.get(status, "request rejected")
    if status == 429:
        meaning = "rate limited"
    elif status >= 500:
        meaning = "server error"
    retryable = status == 429 or status >= 500
    return ProviderError(
        f"{status} {meaning}: {detail}",
        retryable=retryable,
        retry_after=parse_retry_after(retry_after) if retryable else None,
    )


class OpenAIProvider(ChatProvider):
    name = "openai"

    def __init__(
        self,
        model: str = "gpt-4o-mini",
        *,
        game: GameInfo | None = None,
        glossary: Glossary | None = None,
        timeout: float = 60.0,
        api_key: str | None = None,
        base_url: str | None = None,
    ) -> None:
        super().__init__(model, game=game, glossary=glossary, timeout=timeout)
        try:  # api_key / base_url None: the SDK reads OPENAI_API_KEY / OPENAI_BASE_URL
            self._client = openai.AsyncOpenAI(
                api_key=api_key or None, base_url=base_url or None, timeout=timeout, max_retries=0
            )
        except openai.OpenAIError as error:
            raise ProviderError(f"openai: {error}", retryable=False) from error

    async def translate(self, batch: RequestBatch) -> ProviderReply:
        try:
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=self.messages(batch),  # type: ignore[arg-type]
                response_format={"type": "json_object"},
            )
        except openai.APIStatusError as error:
            body = error.body if isinstance(error.body, dict) else {}
            detail = str(body.get("message") or error.message)
            raise status_error(error.status_code, detail, error.response.headers.get("retry-after")) from error
        except openai.APITimeoutError as error:
            raise ProviderError(f"timed out after {self.timeout:g}s", retryable=True) from error
        except openai.APIConnectionError as error:
            raise ProviderError(f"connection failed: {error}", retryable=True) from error
        if not completion.choices:
            raise ProviderError("reply without choices", retryable=True)
        choice = completion.choices[0]
        usage = completion.usage
        return ProviderReply(
            content=choice.message.content or "",
            finish_reason=choice.finish_reason or "stop",
            usage=Usage(usage.prompt_tokens, usage.completion_tokens) if usage else Usage(),
        )

    async def aclose(self) -> None:
        await self._client.close()
