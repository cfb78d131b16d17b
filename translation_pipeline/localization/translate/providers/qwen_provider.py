"""Qwen through the official `dashscope` SDK, native text-generation endpoint (`AioGeneration`), JSON mode.

The key comes from `DASHSCOPE_API_KEY` unless given; the endpoint is the SDK's `base_http_api_url`
(`DASHSCOPE_HTTP_BASE_URL`, read by the SDK at import), replaced by `base_url` when one is configured.
DashScope reports a failed request as a response with `status_code`, `code` and `message`, not as an
exception; a timeout or a dropped connection does raise.
"""

from __future__ import annotations

import os

import aiohttp
import dashscope
from dashscope.api_entities.aio_session import close_shared_aio_session
from dashscope.common.api_key import get_default_api_key
from dashscope.common.error import AuthenticationError

from translation_pipeline.localization.check.glossary import Glossary
from translation_pipeline.localization.translate.contract import ProviderReply, RequestBatch, Usage
from translation_pipeline.localization.translate.prompt import GameInfo
from translation_pipeline.localization.translate.providers.base import ChatProvider, ProviderError
from translation_pipeline.localization.translate.providers.openai_provider import status_error


class QwenProvider(ChatProvider):
    name = "qwen"

    def __init__(
        self,
        model: str = "qwen-plus",
        *,
        game: GameInfo | None = None,
        glossary: Glossary | None = None,
        timeout: float = 60.0,
        api_key: str | None = None,
        base_url: str | None = None,
    ) -> None:
        super().__init__(model, game=game, glossary=glossary, timeout=timeout)
        if base_url:
            dashscope.base_http_api_url = base_url
        try:  # the env var first: the SDK reads it only once, at import
            self._api_key = api_key or os.environ.get("DASHSCOPE_API_KEY") or get_default_api_key()
        except AuthenticationError as error:
            raise ProviderError("qwen: no API key: set DASHSCOPE_API_KEY", retryable=False) from error

    async def translate(self, batch: RequestBatch) -> ProviderReply:
        try:
            response = await dashscope.AioGeneration.call(
                model=self.model,
                messages=self.messages(batch),
                api_key=self._api_key,
                result_format="message",
                response_format={"type": "json_object"},
                request_timeout=self.timeout,
            )
        except TimeoutError as error:
            raise ProviderError(f"timed out after {self.timeout:g}s", retryable=True) from error
        except aiohttp.ClientError as error:
            raise ProviderError(f"connection failed: {error}", retryable=True) from error
        if response.status_code != 200:
            headers = {name.lower(): value for name, value in (response.headers or {}).items()}
            detail = f"{response.code}: {response.message}" if response.code else str(response.message)
            raise status_error(int(response.status_code), detail, headers.get("retry-after"))
        choices = (response.output or {}).get("choices") or []
        if not choices:
            raise ProviderError("reply without choices", retryable=True)
        choice = choices[0]
        usage = response.usage or {}
        return ProviderReply(
            content=choice["message"].get("content") or "",
            finish_reason=choice.get("finish_reason") or "stop",
            usage=Usage(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))),
        )

    async def aclose(self) -> None:
        await close_shared_aio_session()
