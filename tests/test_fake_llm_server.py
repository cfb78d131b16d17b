"""The fake LLM server, driven through the real openai and dashscope SDKs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dashscope
import openai
import pytest
import requests
from openai.types.chat import ChatCompletion

from tests.fake_llm_server import DASHSCOPE_PATH, EXTRA_ID, FORMULA_TEXT, FakeLLMServer

ITEMS: list[dict[str, Any]] = [
    {"id": "t1", "text": "你好，{name}！", "context": "speaker: 村长"},
    {"id": "t2", "text": "获得%s金币", "max_length": 20},
    {"id": "t3", "text": "<b>确定</b>"},
]
EXPECTED = [("t1", "[en] 你好，{name}！"), ("t2", "[en] 获得%s金币"), ("t3", "[en] <b>确定</b>")]


def batch_messages(items: list[dict[str, Any]] = ITEMS, target: str = "en") -> list[dict[str, str]]:
    batch = {
        "source_language": "zh-CN",
        "target_language": target,
        "items": items,
        "glossary": [{"source": "勇者", "target": "Hero"}],
    }
    return [
        {"role": "system", "content": "Translate the game strings. Keep placeholders. Return JSON only."},
        {"role": "user", "content": json.dumps(batch, ensure_ascii=False)},
    ]


def pairs(content: str) -> list[tuple[str, str]]:
    return [(t["id"], t["text"]) for t in json.loads(content)["translations"]]


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as srv:
        yield srv


@pytest.fixture
def ds_server(server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> FakeLLMServer:
    """The server, with dashscope's module-level base URL pointed at it for this test."""
    monkeypatch.setattr(dashscope, "base_http_api_url", server.base_url_dashscope)
    return server


def openai_call(
    server: FakeLLMServer, items: list[dict[str, Any]] = ITEMS, target: str = "en", api_key: str = "test"
) -> ChatCompletion:
    with openai.OpenAI(base_url=server.base_url_openai, api_key=api_key, max_retries=0) as client:
        return client.chat.completions.create(
            model="gpt-4o-mini",
            messages=batch_messages(items, target),  # type: ignore[arg-type]
            response_format={"type": "json_object"},
        )


def dashscope_call(items: list[dict[str, Any]] = ITEMS, result_format: str = "message") -> Any:
    return dashscope.Generation.call(
        model="qwen-plus",
        messages=batch_messages(items),
        result_format=result_format,
        api_key="test",
        response_format={"type": "json_object"},
    )


def test_openai_translates_and_reports_usage(server: FakeLLMServer) -> None:
    resp = openai_call(server)
    assert pairs(resp.choices[0].message.content or "") == EXPECTED
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    (entry,) = server.requests
    assert entry["protocol"] == "openai" and entry["path"] == "/v1/chat/completions"
    assert entry["model"] == "gpt-4o-mini"
    assert entry["item_ids"] == ["t1", "t2", "t3"]
    assert entry["target_language"] == "en" and entry["source_language"] == "zh-CN"
    assert entry["headers"]["Authorization"] == "Bearer test"
    assert entry["body"]["response_format"] == {"type": "json_object"}
    assert entry["fault"] == "ok" and entry["status"] == 200


def test_openai_base_url_without_v1(server: FakeLLMServer) -> None:
    with openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as client:
        resp = client.chat.completions.create(model="m", messages=batch_messages())  # type: ignore[arg-type]
    assert pairs(resp.choices[0].message.content or "") == EXPECTED
    assert server.requests[0]["path"] == "/chat/completions"


def test_openai_async_client_translates(server: FakeLLMServer) -> None:
    async def run() -> list[ChatCompletion]:
        async with openai.AsyncOpenAI(base_url=server.base_url_openai, api_key="test", max_retries=0) as client:
            calls = [
                client.chat.completions.create(model="gpt-4o-mini", messages=batch_messages(target=lang))  # type: ignore[arg-type]
                for lang in ("en", "ja", "ko")
            ]
            return await asyncio.gather(*calls)

    results = asyncio.run(run())
    assert [pairs(r.choices[0].message.content or "")[0][1] for r in results] == [
        "[en] 你好，{name}！",
        "[ja] 你好，{name}！",
        "[ko] 你好，{name}！",
    ]
    assert server.request_count == 3
    assert all(r["headers"]["X-Stainless-Async"].startswith("async") for r in server.requests)


def test_dashscope_translates_and_reports_usage(ds_server: FakeLLMServer) -> None:
    resp = dashscope_call()
    assert resp.status_code == 200
    choice = resp.output.choices[0]
    assert choice.finish_reason == "stop"
    assert pairs(choice.message.content) == EXPECTED
    assert resp.usage.input_tokens > 0 and resp.usage.output_tokens > 0
    assert resp.request_id
    (entry,) = ds_server.requests
    assert entry["protocol"] == "dashscope" and entry["path"] == DASHSCOPE_PATH
    assert entry["model"] == "qwen-plus"
    assert entry["body"]["parameters"]["result_format"] == "message"
    assert entry["body"]["parameters"]["response_format"] == {"type": "json_object"}
    assert entry["headers"]["Authorization"] == "Bearer test"


def test_dashscope_text_result_format(ds_server: FakeLLMServer) -> None:
    resp = dashscope_call(result_format="text")
    assert resp.status_code == 200
    assert pairs(resp.output.text) == EXPECTED
    assert resp.output.finish_reason == "stop"


@pytest.mark.parametrize("retry_after", ["1", "0"])
def test_openai_rate_limit_carries_retry_after(server: FakeLLMServer, retry_after: str) -> None:
    server.retry_after = retry_after
    server.plan(["429"])
    with pytest.raises(openai.RateLimitError) as caught:
        openai_call(server)
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == retry_after
    assert caught.value.code == "rate_limit_exceeded"


def test_dashscope_rate_limit(ds_server: FakeLLMServer) -> None:
    ds_server.plan(["429"])
    resp = dashscope_call()
    assert resp.status_code == 429
    assert resp.code == "Throttling.RateQuota"
    assert resp.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    ("fault", "openai_error", "dashscope_code"),
    [
        ("401", openai.AuthenticationError, "InvalidApiKey"),
        ("400", openai.BadRequestError, "InvalidParameter"),
        ("500", openai.InternalServerError, "InternalError"),
    ],
)
def test_http_error_faults(
    ds_server: FakeLLMServer, fault: str, openai_error: type[openai.APIStatusError], dashscope_code: str
) -> None:
    ds_server.plan([fault, fault])
    with pytest.raises(openai_error) as caught:
        openai_call(ds_server)
    assert caught.value.status_code == int(fault)
    resp = dashscope_call()
    assert resp.status_code == int(fault)
    assert resp.code == dashscope_code
    assert resp.request_id
    assert [r["fault"] for r in ds_server.requests] == [fault, fault]


def test_api_key_is_enforced_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLLMServer(api_key="secret") as srv:
        monkeypatch.setattr(dashscope, "base_http_api_url", srv.base_url_dashscope)
        with pytest.raises(openai.AuthenticationError):
            openai_call(srv)
        assert dashscope_call().code == "InvalidApiKey"
        assert pairs(openai_call(srv, api_key="secret").choices[0].message.content or "") == EXPECTED
        assert [(r["status"], r["fault"]) for r in srv.requests] == [(401, None), (401, None), (200, "ok")]


def test_truncated_sets_finish_reason_length(ds_server: FakeLLMServer) -> None:
    ds_server.plan(["truncated", "truncated"])
    resp = openai_call(ds_server)
    assert resp.choices[0].finish_reason == "length"
    content = resp.choices[0].message.content or ""
    assert content.startswith('{"translations"')
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)
    ds_choice = dashscope_call().output.choices[0]
    assert ds_choice.finish_reason == "length"
    with pytest.raises(json.JSONDecodeError):
        json.loads(ds_choice.message.content)


def test_slow_fault_triggers_client_timeout(server: FakeLLMServer) -> None:
    server.slow_seconds = 3
    server.plan(["slow"])
    started = time.monotonic()
    with (
        openai.OpenAI(base_url=server.base_url_openai, api_key="test", max_retries=0, timeout=0.3) as client,
        pytest.raises(openai.APITimeoutError),
    ):
        client.chat.completions.create(model="m", messages=batch_messages())  # type: ignore[arg-type]
    assert time.monotonic() - started < 2
    assert server.requests[0]["fault"] == "slow"
    assert pairs(openai_call(server).choices[0].message.content or "") == EXPECTED  # next one is fine


def test_slow_fault_makes_dashscope_raise_read_timeout(ds_server: FakeLLMServer) -> None:
    """dashscope 2.0.2 does not turn a timeout into a response: requests' ReadTimeout escapes."""
    ds_server.slow_seconds = 3
    ds_server.plan(["slow"])
    with pytest.raises(requests.exceptions.ReadTimeout):
        dashscope.Generation.call(
            model="qwen-plus",
            messages=batch_messages(),
            result_format="message",
            api_key="t",
            request_timeout=0.3,
        )
    assert dashscope_call().status_code == 200


def test_latency_applies_to_every_request() -> None:
    with FakeLLMServer(latency_ms=200) as srv:
        started = time.monotonic()
        openai_call(srv)
        assert time.monotonic() - started >= 0.2


def test_serves_concurrent_requests() -> None:
    """A burst of connections is neither refused nor serialised (the benchmark relies on it)."""

    async def run(srv: FakeLLMServer) -> None:
        async with openai.AsyncOpenAI(base_url=srv.base_url_openai, api_key="test", max_retries=0) as client:
            await asyncio.gather(
                *(client.chat.completions.create(model="m", messages=batch_messages()) for _ in range(40))  # type: ignore[arg-type]
            )

    with FakeLLMServer(latency_ms=300) as srv:
        started = time.monotonic()
        asyncio.run(run(srv))
        assert time.monotonic() - started < 2.5
        assert srv.request_count == 40


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("missing_id", EXPECTED[1:]),
        ("extra_id", [*EXPECTED, (EXTRA_ID, "[??] not requested")]),
        ("duplicate_id", [EXPECTED[0], *EXPECTED]),
        ("shuffled", EXPECTED[::-1]),
        ("lost_placeholder", [("t1", "[en] 你好，！"), *EXPECTED[1:]]),
        ("formula", [("t1", FORMULA_TEXT), *EXPECTED[1:]]),
        ("empty_text", [("t1", ""), *EXPECTED[1:]]),
    ],
)
def test_content_faults(server: FakeLLMServer, fault: str, expected: list[tuple[str, str]]) -> None:
    server.plan([fault])
    resp = openai_call(server)
    assert resp.choices[0].finish_reason == "stop"
    assert pairs(resp.choices[0].message.content or "") == expected
    assert server.requests[0]["fault"] == fault


def test_non_json_and_code_fence(ds_server: FakeLLMServer) -> None:
    ds_server.plan(["non_json", "code_fence"])
    prose = openai_call(ds_server).choices[0].message.content or ""
    with pytest.raises(json.JSONDecodeError):
        json.loads(prose)
    fenced = dashscope_call().output.choices[0].message.content
    assert fenced.startswith("```json\n") and fenced.endswith("\n```")
    assert pairs(fenced.removeprefix("```json\n").removesuffix("\n```")) == EXPECTED


def test_plan_is_consumed_in_order(server: FakeLLMServer) -> None:
    server.plan(["429", "ok", "500"])
    outcomes = []
    for _ in range(4):
        try:
            openai_call(server)
            outcomes.append(200)
        except openai.APIStatusError as exc:
            outcomes.append(exc.status_code)
    assert outcomes == [429, 200, 500, 200]
    assert [r["fault"] for r in server.requests] == ["429", "ok", "500", "ok"]
    assert [r["index"] for r in server.requests] == [0, 1, 2, 3]
    assert server.request_count == 4


def test_fault_for_item_targets_matching_item(server: FakeLLMServer) -> None:
    server.fault_for_item("金币", "lost_placeholder")
    server.fault_for_item("确定", "empty_text", times=None)
    first = dict(pairs(openai_call(server).choices[0].message.content or ""))
    assert first["t2"] == "[en] 获得金币"  # %s removed from the matching item only
    assert first["t1"] == "[en] 你好，{name}！"
    second = dict(pairs(openai_call(server).choices[0].message.content or ""))
    assert second["t2"] == "[en] 获得%s金币" and second["t3"] == ""
    third = dict(pairs(openai_call(server, items=ITEMS[2:]).choices[0].message.content or ""))
    assert third == {"t3": ""}
    unrelated = pairs(openai_call(server, items=ITEMS[:1]).choices[0].message.content or "")
    assert unrelated == EXPECTED[:1]
    assert [r["fault"] for r in server.requests] == ["lost_placeholder", "empty_text", "empty_text", "ok"]


def test_unknown_fault_names_are_rejected(server: FakeLLMServer) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        server.plan(["ok", "503"])
    with pytest.raises(ValueError, match="unknown fault"):
        server.fault_for_item("x", "ok")
    with pytest.raises(ValueError, match="unknown fault"):
        server.random_faults(rate=0.5, seed=1, kinds=["timeout"])
    assert openai_call(server).choices[0].finish_reason == "stop"  # nothing was queued


def test_malformed_batch_gets_400(server: FakeLLMServer) -> None:
    with (
        openai.OpenAI(base_url=server.base_url_openai, api_key="test", max_retries=0) as client,
        pytest.raises(openai.BadRequestError, match="not JSON"),
    ):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "translate 你好"}])
    assert server.requests[0]["status"] == 400 and server.requests[0]["fault"] is None


def _random_run(seed: int, batches: list[list[dict[str, Any]]]) -> dict[str, str]:
    """Send each batch once; return first item id -> fault the server chose."""
    with FakeLLMServer() as srv:
        srv.random_faults(rate=0.5, seed=seed, kinds=["429", "500", "shuffled"])
        with openai.OpenAI(base_url=srv.base_url_openai, api_key="test", max_retries=0) as client:
            for batch in batches:
                with contextlib.suppress(openai.APIStatusError):
                    client.chat.completions.create(model="m", messages=batch_messages(batch))  # type: ignore[arg-type]
        return {r["item_ids"][0]: r["fault"] for r in srv.requests}


def test_random_faults_are_reproducible() -> None:
    batches = [[{"id": f"r{i}", "text": f"文本{i}"}] for i in range(16)]
    first = _random_run(7, batches)
    assert set(first.values()) <= {"ok", "429", "500", "shuffled"}
    assert "ok" in first.values() and len(set(first.values())) > 1
    assert _random_run(7, batches[::-1]) == first  # same seed: same faults, whatever the order
    assert _random_run(8, batches) != first


def test_module_runs_as_a_script() -> None:
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_llm_server", "--port", "0", "--latency-ms", "10"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert proc.stdout.readline().strip() == f"OPENAI_BASE_URL={base_url}/v1"
        with openai.OpenAI(base_url=f"{base_url}/v1", api_key="test", max_retries=0) as client:
            resp = client.chat.completions.create(model="m", messages=batch_messages())  # type: ignore[arg-type]
        assert pairs(resp.choices[0].message.content or "") == EXPECTED
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "requests: 1" in stderr
