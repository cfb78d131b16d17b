"""The OpenAI and Qwen providers through the real SDKs against the fake server: what goes on the wire, how
replies and errors map onto the provider interface, and provider selection from the resource."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import dashscope
import pytest

from tests.fake_llm_server import FakeLLMServer
from translation_pipeline.localization.check.glossary import Glossary, GlossaryEntry
from translation_pipeline.localization.translate.contract import BatchItem, RequestBatch, user_message
from translation_pipeline.localization.translate.engine import Engine
from translation_pipeline.localization.translate.pinned import build_translator
from translation_pipeline.localization.translate.prompt import GameInfo, system_prompt
from translation_pipeline.localization.translate.providers.base import ProviderError, TranslationProvider
from translation_pipeline.localization.translate.providers.openai_provider import OpenAIProvider
from translation_pipeline.localization.translate.providers.pseudo import PseudoProvider
from translation_pipeline.localization.translate.providers.qwen_provider import QwenProvider
from translation_pipeline.resources.llm import TranslationResource

BATCH = RequestBatch(
    "b1", "zh-CN", "en", (BatchItem("t1", "勇者{0}来了", "speaker: 村长", 20), BatchItem("t2", "确定"))
)
GAME = GameInfo(game_type="JRPG", style="warm")
GLOSSARY = Glossary([GlossaryEntry("勇者", "en", "Hero"), GlossaryEntry("魔王", "en", "Demon King")])


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    with FakeLLMServer(retry_after="2", slow_seconds=3) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url_openai)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
        monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-dashscope")
        monkeypatch.setattr(dashscope, "base_http_api_url", dashscope.base_http_api_url)  # restored afterwards
        yield fake


def make(kind: str, server: FakeLLMServer, **kwargs: object) -> TranslationProvider:
    if kind == "openai":
        return OpenAIProvider("gpt-4o-mini", **kwargs)  # type: ignore[arg-type]
    return QwenProvider("qwen-plus", base_url=server.base_url_dashscope, **kwargs)  # type: ignore[arg-type]


def translate(provider: TranslationProvider, batch: RequestBatch = BATCH):
    async def once():
        try:
            return await provider.translate(batch)
        finally:
            await provider.aclose()

    return asyncio.run(once())


def translate_error(provider: TranslationProvider) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        translate(provider)
    return caught.value


def test_openai_request_follows_the_contract(server: FakeLLMServer) -> None:
    reply = translate(make("openai", server, game=GAME, glossary=GLOSSARY))
    [request] = server.requests
    assert request["protocol"] == "openai" and request["model"] == "gpt-4o-mini"
    assert request["headers"]["Authorization"] == "Bearer sk-openai"
    body = request["body"]
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"] == [
        {"role": "system", "content": system_prompt("zh-CN", "en", GAME)},
        {"role": "user", "content": user_message(BATCH, [GLOSSARY.entries[0].term])},  # only the terms used
    ]
    assert json.loads(reply.content) == {
        "translations": [{"id": "t1", "text": "[en] 勇者{0}来了"}, {"id": "t2", "text": "[en] 确定"}]
    }
    assert reply.finish_reason == "stop"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0


def test_qwen_request_follows_the_contract(server: FakeLLMServer) -> None:
    reply = translate(make("qwen", server, game=GAME, glossary=GLOSSARY))
    [request] = server.requests
    assert request["protocol"] == "dashscope" and request["model"] == "qwen-plus"
    assert request["headers"]["Authorization"] == "Bearer sk-dashscope"
    parameters = request["body"]["parameters"]
    assert parameters["result_format"] == "message"
    assert parameters["response_format"] == {"type": "json_object"}
    assert request["body"]["input"]["messages"] == [
        {"role": "system", "content": system_prompt("zh-CN", "en", GAME)},
        {"role": "user", "content": user_message(BATCH, [GLOSSARY.entries[0].term])},
    ]
    assert json.loads(reply.content)["translations"][1] == {"id": "t2", "text": "[en] 确定"}
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0


@pytest.mark.parametrize("kind", ["openai", "qwen"])
def test_truncated_reply_keeps_its_finish_reason(server: FakeLLMServer, kind: str) -> None:
    server.plan(["truncated"])
    assert translate(make(kind, server)).finish_reason == "length"


@pytest.mark.parametrize("kind", ["openai", "qwen"])
@pytest.mark.parametrize(
    ("fault", "retryable", "retry_after", "message"),
    [
        ("429", True, 2.0, "429 rate limited: "),
        ("500", True, None, "500 server error: "),
        ("401", False, None, "401 invalid api key: "),
        ("400", False, None, "400 bad request: "),
    ],
)
def test_http_errors_map_to_provider_errors_after_one_request(
    server: FakeLLMServer, kind: str, fault: str, retryable: bool, retry_after: float | None, message: str
) -> None:
    server.plan([fault])
    error = translate_error(make(kind, server))
    assert server.request_count == 1  # the SDK's own retries are off: the engine decides
    assert error.retryable is retryable and error.retry_after == retry_after
    assert str(error).startswith(message)


@pytest.mark.parametrize("kind", ["openai", "qwen"])
def test_timeout_is_retryable(server: FakeLLMServer, kind: str) -> None:
    server.plan(["slow"])
    error = translate_error(make(kind, server, timeout=0.3))
    assert error.retryable and str(error) == "timed out after 0.3s"
    assert server.request_count == 1


def test_missing_keys_stop_before_any_request(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ProviderError, match=r"openai: .*api_key") as caught:
        OpenAIProvider()
    assert not caught.value.retryable
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    monkeypatch.setattr(dashscope, "api_key", None)
    monkeypatch.setattr(dashscope, "api_key_file_path", None)
    monkeypatch.setattr("dashscope.common.api_key.DEFAULT_DASHSCOPE_API_KEY_FILE_PATH", str(tmp_path / "none"))
    with pytest.raises(ProviderError, match="qwen: no API key: set DASHSCOPE_API_KEY"):
        QwenProvider()


def test_fallback_answers_when_the_primary_gives_up(server: FakeLLMServer) -> None:
    server.plan(["500", "500"])  # the primary's two tries
    primary, fallback = make("openai", server), make("qwen", server)
    result = Engine(primary, max_attempts=2, backoff_base=0.001, fallback=fallback).run([BATCH])
    assert result.translations == {"t1": "[en] 勇者{0}来了", "t2": "[en] 确定"}
    assert result.models == {"t1": "qwen-plus", "t2": "qwen-plus"}
    assert [r["protocol"] for r in server.requests] == ["openai", "openai", "dashscope"]
    stats = result.stats
    assert stats.fallback_batches == 1 and stats.answered_by == {"qwen": 2}
    assert [(r.provider, r.outcome.split(":")[0]) for r in stats.records] == [
        ("openai", "500 server error"),
        ("openai", "500 server error"),
        ("qwen", "answered"),
    ]


def test_resource_builds_the_configured_providers(server: FakeLLMServer) -> None:
    pseudo = build_translator(TranslationResource().translator_settings())
    assert isinstance(pseudo.provider, PseudoProvider) and pseudo.fallback is None
    resource = TranslationResource(
        provider="openai",
        fallback_provider="qwen",
        request_timeout=7.5,
        openai_base_url="http://127.0.0.1:9/v1",
        dashscope_base_url=server.base_url_dashscope,
        game={"game_type": "MMO", "unknown_key": "ignored"},
    )
    translator = build_translator(resource.translator_settings())
    primary, fallback = translator.provider, translator.fallback
    assert isinstance(primary, OpenAIProvider) and primary.model == "gpt-4o-mini" and primary.timeout == 7.5
    assert str(primary._client.base_url) == "http://127.0.0.1:9/v1/"
    assert primary.game == GameInfo(game_type="MMO")
    assert isinstance(fallback, QwenProvider) and fallback.model == "qwen-plus"
    assert dashscope.base_http_api_url == server.base_url_dashscope
    qwen_max = TranslationResource(provider="qwen", model="qwen-max").translator_settings()
    assert build_translator(qwen_max).provider.model == "qwen-max"
