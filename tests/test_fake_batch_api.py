"""The fake server's OpenAI Batch API (Files + Batches), driven through the real openai SDK."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types import Batch
from openai.types.chat import ChatCompletion

from tests.fake_llm_server import (
    BATCH_CANCELLED_MESSAGE,
    BATCH_EXPIRED_MESSAGE,
    BATCH_FAULT_KINDS,
    MALFORMED_LINE,
    UNKNOWN_CUSTOM_ID,
    FakeLLMServer,
)

TEXTS = ["你好，{name}！", "获得%s金币", "<b>确定</b>", "勇者", "村长", "再见"]


def chat_body(custom_id: str, text: str, target: str = "en", model: str = "gpt-4o-mini") -> dict[str, Any]:
    batch = {"source_language": "zh-CN", "target_language": target, "items": [{"id": custom_id, "text": text}]}
    return {
        "model": model,
        "messages": [
            {"role": "system", "content": "Translate the game strings. Return JSON only."},
            {"role": "user", "content": json.dumps(batch, ensure_ascii=False)},
        ],
        "response_format": {"type": "json_object"},
    }


def input_line(custom_id: str, text: str, **kwargs: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": chat_body(custom_id, text, **kwargs),
    }


def jsonl(lines: list[Any]) -> bytes:
    return "".join(
        (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines
    ).encode()


def input_file(n: int = 4, prefix: str = "c") -> bytes:
    return jsonl([input_line(f"{prefix}{i}", TEXTS[i % len(TEXTS)]) for i in range(n)])


def translation(target: str, text: str) -> str:
    return f"[{target}] {text}"


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as srv:
        yield srv


@pytest.fixture
def client(server: FakeLLMServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url_openai, api_key="test", max_retries=0) as c:
        yield c


def submit(client: openai.OpenAI, data: bytes, *, metadata: dict[str, str] | None = None, window: str = "24h") -> Batch:
    uploaded = client.files.create(file=("requests.jsonl", data), purpose="batch")
    return client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window=window,  # type: ignore[arg-type]
        metadata=metadata,
    )


def poll(client: openai.OpenAI, batch_id: str, limit: int = 10) -> tuple[Batch, list[str]]:
    """Retrieve until terminal; return the last Batch and every status seen."""
    seen = []
    for _ in range(limit):
        batch = client.batches.retrieve(batch_id)
        seen.append(batch.status)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return batch, seen
    raise AssertionError(f"batch {batch_id} still {seen[-1]} after {limit} retrieves")


def lines_of(client: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    assert file_id is not None
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


def content_of(line: dict[str, Any]) -> list[tuple[str, str]]:
    completion = ChatCompletion.model_validate(line["response"]["body"])
    return [(t["id"], t["text"]) for t in json.loads(completion.choices[0].message.content or "")["translations"]]


# -- the happy path ------------------------------------------------------------------------------------


def test_upload_create_poll_download(server: FakeLLMServer, client: openai.OpenAI) -> None:
    data = input_file(3)
    uploaded = client.files.create(file=("requests.jsonl", data), purpose="batch")
    assert uploaded.id.startswith("file-") and uploaded.object == "file" and uploaded.status == "processed"
    assert (uploaded.bytes, uploaded.filename, uploaded.purpose) == (len(data), "requests.jsonl", "batch")
    assert uploaded.created_at > 0
    assert client.files.content(uploaded.id).content == data

    created = client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"run": "r1", "chunk": "0"},
    )
    assert created.id.startswith("batch_") and created.object == "batch" and created.status == "validating"
    assert (created.endpoint, created.input_file_id, created.completion_window) == (
        "/v1/chat/completions",
        uploaded.id,
        "24h",
    )
    assert created.metadata == {"run": "r1", "chunk": "0"}
    assert created.output_file_id is None and created.in_progress_at is None
    assert not server.batch_requests  # nothing runs at creation

    running = client.batches.retrieve(created.id)
    assert running.status == "in_progress" and running.in_progress_at is not None
    assert running.request_counts is not None
    assert (running.request_counts.total, running.request_counts.completed) == (3, 0)

    done = client.batches.retrieve(created.id)
    assert done.status == "completed" and done.completed_at is not None and done.finalizing_at is not None
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (3, 3, 0)
    assert done.error_file_id is None and done.model == "gpt-4o-mini"
    assert done.usage is not None and done.usage.total_tokens == done.usage.input_tokens + done.usage.output_tokens > 0

    output = client.files.retrieve(done.output_file_id or "")
    assert output.purpose == "batch_output"
    lines = lines_of(client, done.output_file_id)
    assert [line["custom_id"] for line in lines] == ["c0", "c1", "c2"]
    for line, text in zip(lines, TEXTS[:3], strict=True):
        assert line["id"].startswith("batch_req_") and line["error"] is None
        assert line["response"]["status_code"] == 200 and line["response"]["request_id"]
        assert line["response"]["body"]["object"] == "chat.completion"
        assert content_of(line) == [(line["custom_id"], translation("en", text))]

    assert [r["custom_id"] for r in server.batch_requests] == ["c0", "c1", "c2"]
    assert {(r["lane"], r["batch_id"], r["fault"], r["status"]) for r in server.batch_requests} == {
        ("batch", created.id, "ok", 200)
    }
    assert server.requests == []  # the realtime log only holds realtime requests
    assert [(b["id"], b["metadata"], b["provider"], b["lines"]) for b in server.batches_created] == [
        (created.id, {"run": "r1", "chunk": "0"}, "openai", 3)
    ]
    assert [c["operation"] for c in server.batch_api_calls] == [
        "files.create",
        "files.content",
        "batches.create",
        "batches.retrieve",
        "batches.retrieve",
        "files.retrieve",
        "files.content",
    ]


def test_realtime_and_batch_logs_stay_apart(server: FakeLLMServer, client: openai.OpenAI) -> None:
    client.chat.completions.create(**chat_body("rt", "你好"))  # type: ignore[call-overload]
    batch, _ = poll(client, submit(client, input_file(2)).id)
    assert batch.status == "completed"
    assert [(r["lane"], r["index"]) for r in server.requests] == [("realtime", 0)]
    assert [(r["lane"], r["index"]) for r in server.batch_requests] == [("batch", 0), ("batch", 1)]
    assert server.request_count == 1


def test_compatible_mode_prefix_has_its_own_store(server: FakeLLMServer, client: openai.OpenAI) -> None:
    assert server.base_url_compatible == f"{server.base_url}/compatible-mode/v1"
    with openai.OpenAI(base_url=server.base_url_compatible, api_key="test", max_retries=0) as qwen:
        created = submit(qwen, input_file(2), metadata={"provider": "qwen"}, window="48h")
        batch, seen = poll(qwen, created.id)
        assert seen == ["in_progress", "completed"] and batch.completion_window == "48h"
        lines = lines_of(qwen, batch.output_file_id)
        assert [content_of(line) for line in lines] == [[("c0", "[en] 你好，{name}！")], [("c1", "[en] 获得%s金币")]]
        assert [b.id for b in qwen.batches.list()] == [created.id]
        with pytest.raises(openai.BadRequestError, match="completion_window"):
            submit(qwen, input_file(1), window="2h")
    # OpenAI's prefix neither sees DashScope's batches and files nor accepts a 48h window
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.input_file_id)
    assert list(client.batches.list()) == []
    with pytest.raises(openai.BadRequestError, match="completion_window"):
        submit(client, input_file(1), window="48h")
    assert [b["provider"] for b in server.batches_created] == ["dashscope"]
    assert {r["batch_provider"] for r in server.batch_requests} == {"dashscope"}


def test_async_client_runs_a_batch(server: FakeLLMServer) -> None:
    async def run() -> tuple[Batch, str]:
        async with openai.AsyncOpenAI(base_url=server.base_url_openai, api_key="test", max_retries=0) as client:
            uploaded = await client.files.create(file=("a.jsonl", input_file(2)), purpose="batch")
            batch = await client.batches.create(
                input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
            while batch.status not in ("completed", "failed", "expired", "cancelled"):
                batch = await client.batches.retrieve(batch.id)
            content = await client.files.content(batch.output_file_id or "")
            return batch, content.text

    batch, text = asyncio.run(run())
    assert batch.status == "completed" and batch.metadata is None
    assert [content_of(json.loads(line)) for line in text.splitlines()] == [
        [("c0", "[en] 你好，{name}！")],
        [("c1", "[en] 获得%s金币")],
    ]
    assert all(r["headers"]["X-Stainless-Async"].startswith("async") for r in server.batch_requests)


# -- files ---------------------------------------------------------------------------------------------


def test_files_list_retrieve_delete(client: openai.OpenAI) -> None:
    first = client.files.create(file=("a.jsonl", b"{}\n"), purpose="batch")
    second = client.files.create(file=("notes.txt", b"hello"), purpose="user_data")
    assert client.files.retrieve(second.id).filename == "notes.txt"
    assert [f.id for f in client.files.list()] == [second.id, first.id]
    assert [f.id for f in client.files.list(purpose="batch")] == [first.id]
    deleted = client.files.delete(first.id)
    assert (deleted.id, deleted.deleted) == (first.id, True)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(first.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(first.id)
    with pytest.raises(openai.BadRequestError, match=r"Must be \.jsonl"):
        client.files.create(file=("requests.json", b"{}\n"), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="purpose"):
        client.files.create(file=("a.jsonl", b"{}\n"), purpose="nonsense")  # type: ignore[arg-type]


def test_binary_content_round_trips(client: openai.OpenAI) -> None:
    data = bytes(range(256)) * 3 + b"\r\n--not-a-boundary\r\n"
    uploaded = client.files.create(file=("blob.bin", data), purpose="user_data")
    assert uploaded.bytes == len(data)
    assert client.files.content(uploaded.id).content == data


# -- batches.create validation -----------------------------------------------------------------------------


def test_create_rejects_bad_requests(client: openai.OpenAI) -> None:
    uploaded = client.files.create(file=("r.jsonl", input_file(1)), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="endpoint"):
        client.batches.create(input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h")
    with pytest.raises(openai.NotFoundError):
        client.batches.create(input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h")
    with pytest.raises(openai.BadRequestError, match="metadata"):
        client.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={f"k{i}": "v" for i in range(17)},
        )
    other = client.files.create(file=("r.jsonl", input_file(1)), purpose="user_data")
    with pytest.raises(openai.BadRequestError, match="purpose 'batch'"):
        client.batches.create(input_file_id=other.id, endpoint="/v1/chat/completions", completion_window="24h")


def test_size_limits_reject_with_400() -> None:
    with (
        FakeLLMServer(batch_max_lines=3, batch_max_bytes=10_000) as server,
        openai.OpenAI(base_url=server.base_url_openai, api_key="test", max_retries=0) as client,
    ):
        assert submit(client, input_file(3)).status == "validating"  # at the limit: accepted
        with pytest.raises(openai.BadRequestError, match="more than the 3 maximum") as too_many:
            submit(client, input_file(4))
        assert too_many.value.code == "too_many_requests"
        big = input_file(1, prefix="x" * 10_000)
        with pytest.raises(openai.BadRequestError, match="larger than") as too_big:
            submit(client, big)
        assert too_big.value.code == "file_too_large"
        server.batch_max_bytes = len(big)  # the limits are plain attributes
        assert submit(client, big).status == "validating"
        assert len(server.batches_created) == 2


def test_default_limits_are_openai_s() -> None:
    server = FakeLLMServer()
    assert (server.batch_max_lines, server.batch_max_bytes) == (50_000, 200 * 1024 * 1024)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["not json", input_line("b", "x")], [("invalid_json_line", 1)]),
        ([input_line("a", "x"), input_line("a", "y")], [("duplicate_custom_id", 2)]),
        ([{"custom_id": "a", "method": "POST", "body": {}}], [("missing_required_parameter", 1)]),
        ([{**input_line("a", "x"), "method": "GET"}], [("invalid_method", 1)]),
        ([{**input_line("a", "x"), "url": "/v1/embeddings"}], [("invalid_url", 1)]),
        ([input_line("a", "x"), input_line("b", "y", model="gpt-4o")], [("mismatched_model", 2)]),
        ([input_line("a", "x"), "[1, 2]", "{broken"], [("invalid_request", 2), ("invalid_json_line", 3)]),
        ([], [("empty_file", None)]),
    ],
)
def test_malformed_input_fails_the_batch(
    server: FakeLLMServer, client: openai.OpenAI, lines: list[Any], expected: list[tuple[str, int | None]]
) -> None:
    created = submit(client, jsonl(lines))
    assert created.status == "validating"
    batch, seen = poll(client, created.id)
    assert seen == ["failed"]
    assert batch.failed_at is not None and batch.output_file_id is None and batch.error_file_id is None
    assert batch.errors is not None and batch.errors.data is not None
    assert [(e.code, e.line) for e in batch.errors.data] == expected
    assert all(e.message for e in batch.errors.data)
    assert batch.request_counts is not None and batch.request_counts.total == 0
    assert server.batch_requests == []


# -- item-level faults reach batch lines -------------------------------------------------------------------


def test_item_faults_apply_to_batch_lines(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.plan(["ok", "500", "lost_placeholder"])  # consumed in line order
    server.fault_for_item("村长", "formula")
    batch, _ = poll(client, submit(client, input_file(5)).id)
    assert batch.status == "completed"
    assert batch.request_counts is not None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (4, 1)
    output = {line["custom_id"]: content_of(line)[0][1] for line in lines_of(client, batch.output_file_id)}
    assert output == {
        "c0": "[en] 你好，{name}！",
        "c2": "[en] 确定",  # its <b></b> tags lost
        "c3": "[en] 勇者",
        "c4": '=HYPERLINK("http://evil","click")',
    }
    (error,) = lines_of(client, batch.error_file_id)
    assert error["custom_id"] == "c1" and error["error"] is None
    assert error["response"]["status_code"] == 500
    assert error["response"]["body"]["error"]["type"] == "server_error"
    assert [r["fault"] for r in server.batch_requests] == ["ok", "500", "lost_placeholder", "ok", "formula"]


def test_random_faults_apply_to_batch_lines(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.random_faults(rate=1.0, seed=3, kinds=["429"])
    batch, _ = poll(client, submit(client, input_file(3)).id)
    assert batch.output_file_id is None
    assert [line["response"]["status_code"] for line in lines_of(client, batch.error_file_id)] == [429, 429, 429]


# -- batch-level faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "failing"),
    [({}, ["c0"]), ({"match": "c3"}, ["c3"]), ({"every": 2}, ["c1", "c3", "c5"])],
)
def test_line_500(server: FakeLLMServer, client: openai.OpenAI, kwargs: dict[str, Any], failing: list[str]) -> None:
    server.batch_fault("line_500", **kwargs)
    server.plan(["empty_text"])  # lines answered 500 do not consume it: the first other line does
    batch, _ = poll(client, submit(client, input_file(6)).id)
    assert batch.status == "completed"
    assert batch.request_counts is not None and batch.request_counts.failed == len(failing)
    errors = lines_of(client, batch.error_file_id)
    assert [e["custom_id"] for e in errors] == failing
    assert {e["response"]["status_code"] for e in errors} == {500}
    ok = [line["custom_id"] for line in lines_of(client, batch.output_file_id)]
    assert sorted(ok + failing) == [f"c{i}" for i in range(6)]
    assert [r["custom_id"] for r in server.batch_requests if r["batch_fault"] == "line_500"] == failing
    others = [r for r in server.batch_requests if r["batch_fault"] is None]
    assert [r["fault"] for r in others] == ["empty_text"] + ["ok"] * (len(others) - 1)
    # times=1: the next batch is clean
    assert poll(client, submit(client, input_file(6)).id)[0].error_file_id is None


def test_a_fault_with_match_skips_batches_without_that_custom_id(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.batch_fault("fail_job", match="zz")
    assert poll(client, submit(client, input_file(2)).id)[0].status == "completed"
    assert poll(client, submit(client, input_file(2, prefix="zz")).id)[0].status == "failed"
    assert [b["faults"] for b in server.batches_created] == [[], ["fail_job"]]


def test_expire_half(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.batch_fault("expire_half")
    batch, seen = poll(client, submit(client, input_file(5)).id)
    assert seen == ["in_progress", "expired"]
    assert batch.expired_at is not None and batch.completed_at is None
    assert batch.request_counts is not None
    assert (batch.request_counts.total, batch.request_counts.completed) == (5, 2)
    assert [line["custom_id"] for line in lines_of(client, batch.output_file_id)] == ["c0", "c1"]
    errors = lines_of(client, batch.error_file_id)
    assert [e["custom_id"] for e in errors] == ["c2", "c3", "c4"]
    assert all(e["response"] is None for e in errors)
    assert {(e["error"]["code"], e["error"]["message"]) for e in errors} == {("batch_expired", BATCH_EXPIRED_MESSAGE)}
    assert all(e["id"].startswith("batch_req_") for e in errors)
    assert len(server.batch_requests) == 2  # the expired lines never ran


def test_fail_job(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.batch_fault("fail_job", times=2)
    first = poll(client, submit(client, input_file(2)).id)[0]
    second = poll(client, submit(client, input_file(2)).id)[0]
    third = poll(client, submit(client, input_file(2)).id)[0]
    assert [b.status for b in (first, second, third)] == ["failed", "failed", "completed"]
    assert first.errors is not None and first.errors.data is not None
    assert [e.code for e in first.errors.data] == ["token_limit_exceeded"]
    assert first.output_file_id is None and first.error_file_id is None
    assert len(server.batch_requests) == 2  # only the third batch ran


def test_provider_cancel(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.batch_fault("cancel")
    batch, seen = poll(client, submit(client, input_file(4)).id)
    assert seen == ["in_progress", "cancelled"]
    assert batch.cancelled_at is not None and batch.cancelling_at is not None
    assert [line["custom_id"] for line in lines_of(client, batch.output_file_id)] == ["c0", "c1"]
    errors = lines_of(client, batch.error_file_id)
    assert [(e["custom_id"], e["error"]["code"]) for e in errors] == [
        ("c2", "batch_cancelled"),
        ("c3", "batch_cancelled"),
    ]
    assert errors[0]["error"]["message"] == BATCH_CANCELLED_MESSAGE


def test_stuck_stays_in_progress_until_expired(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.batch_fault("stuck")
    created = submit(client, input_file(3))
    for _ in range(5):
        batch = client.batches.retrieve(created.id)
        assert batch.status == "in_progress"
        assert batch.request_counts is not None and batch.request_counts.completed == 0
    assert server.advance_batches() == {created.id: "in_progress"}  # even a push does not move it
    server.batch_timing(window_s=0.0)  # its completion window is over
    batch = client.batches.retrieve(created.id)
    assert batch.status == "expired" and batch.output_file_id is None
    assert [e["error"]["code"] for e in lines_of(client, batch.error_file_id)] == ["batch_expired"] * 3


def test_stuck_can_be_cancelled_or_expired_by_hand(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.batch_fault("stuck", times=2)
    a, b = submit(client, input_file(2)), submit(client, input_file(2))
    client.batches.retrieve(a.id)
    assert client.batches.cancel(a.id).status == "cancelling"
    assert client.batches.retrieve(a.id).status == "cancelled"
    assert server.expire_batch(b.id) == "expired"
    assert client.batches.retrieve(b.id).status == "expired"


def test_download_500(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.batch_fault("download_500", failures=2)
    batch, _ = poll(client, submit(client, input_file(2)).id)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            client.files.content(batch.output_file_id or "")
    assert len(lines_of(client, batch.output_file_id)) == 2
    assert [c["status"] for c in server.batch_api_calls if c["operation"] == "files.content"] == [500, 500, 200]


def test_unknown_custom_id(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.batch_fault("unknown_custom_id")
    batch, _ = poll(client, submit(client, input_file(2)).id)
    lines = lines_of(client, batch.output_file_id)
    assert [line["custom_id"] for line in lines] == ["c0", "c1", UNKNOWN_CUSTOM_ID]
    assert lines[2]["response"]["status_code"] == 200 and lines[2]["id"] != lines[0]["id"]


@pytest.mark.parametrize(("match", "expected"), [(None, ["c0", "c0", "c1", "c2"]), ("c2", ["c0", "c1", "c2", "c2"])])
def test_duplicate_line(server: FakeLLMServer, client: openai.OpenAI, match: str | None, expected: list[str]) -> None:
    server.batch_fault("duplicate_line", match=match)
    batch, _ = poll(client, submit(client, input_file(3)).id)
    lines = lines_of(client, batch.output_file_id)
    assert [line["custom_id"] for line in lines] == expected
    assert batch.request_counts is not None and batch.request_counts.completed == 3


def test_malformed_line(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.batch_fault("malformed_line")
    batch, _ = poll(client, submit(client, input_file(2)).id)
    raw = client.files.content(batch.output_file_id or "").text.splitlines()
    assert raw[1] == MALFORMED_LINE and len(raw) == 3
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw[1])
    assert [json.loads(raw[i])["custom_id"] for i in (0, 2)] == ["c0", "c1"]


def test_delay(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.batch_fault("delay", times=1, seconds=0.3)
    started = time.monotonic()
    uploaded = client.files.create(file=("r.jsonl", input_file(1)), purpose="batch")
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    client.files.retrieve(uploaded.id)
    assert time.monotonic() - started < 0.25
    assert [c["delay"] for c in server.batch_api_calls] == [0.3, 0.0]


def test_delay_times_out_a_client(server: FakeLLMServer) -> None:
    server.batch_fault("delay", times=1, seconds=0.5)
    with (
        openai.OpenAI(base_url=server.base_url_openai, api_key="t", max_retries=0, timeout=0.1) as client,
        pytest.raises(openai.APITimeoutError),
    ):
        client.batches.list()


def test_unknown_batch_fault_is_rejected(server: FakeLLMServer) -> None:
    assert "line_500" in BATCH_FAULT_KINDS
    with pytest.raises(ValueError, match="unknown batch fault"):
        server.batch_fault("500")
    with pytest.raises(ValueError, match="times"):
        server.batch_fault("stuck", times=0)


# -- cancel ------------------------------------------------------------------------------------------------


def test_client_cancel_keeps_the_lines_done(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.batch_timing(manual=True)
    created = submit(client, input_file(5))
    assert server.advance_batches(2) == {created.id: "in_progress"}
    cancelling = client.batches.cancel(created.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
    assert client.batches.retrieve(created.id).status == "cancelling"  # manual: it waits for a push
    assert server.advance_batches() == {created.id: "cancelled"}
    batch = client.batches.retrieve(created.id)
    assert batch.status == "cancelled" and batch.cancelled_at is not None
    assert batch.request_counts is not None and batch.request_counts.completed == 2
    assert [line["custom_id"] for line in lines_of(client, batch.output_file_id)] == ["c0", "c1"]
    assert [e["error"]["code"] for e in lines_of(client, batch.error_file_id)] == ["batch_cancelled"] * 3
    with pytest.raises(openai.ConflictError, match="status 'cancelled'"):
        client.batches.cancel(created.id)


def test_cancel_in_auto_mode_ends_at_the_next_retrieve(server: FakeLLMServer, client: openai.OpenAI) -> None:
    created = submit(client, input_file(2))
    assert client.batches.cancel(created.id).status == "cancelling"
    batch = client.batches.retrieve(created.id)
    assert batch.status == "cancelled" and batch.output_file_id is None
    assert server.batch_requests == []  # no line ran before the cancel
    assert [e["error"]["code"] for e in lines_of(client, batch.error_file_id)] == ["batch_cancelled"] * 2
    completed, _ = poll(client, submit(client, input_file(1)).id)
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(completed.id)


# -- list, pagination, re-attaching ------------------------------------------------------------------------


def test_list_pagination_and_metadata(server: FakeLLMServer, client: openai.OpenAI) -> None:
    ids = [submit(client, input_file(1), metadata={"work": f"w{i}"}).id for i in range(5)]
    newest_first = ids[::-1]
    page = client.batches.list(limit=2)
    assert [b.id for b in page.data] == newest_first[:2] and page.has_more is True
    raw = client.batches.with_raw_response.list(limit=2, after=newest_first[1]).parse()
    assert [b.id for b in raw.data] == newest_first[2:4]
    body = client.get("/batches", cast_to=object, options={"params": {"limit": 2, "after": newest_first[3]}})
    assert isinstance(body, dict)
    assert (body["first_id"], body["last_id"], body["has_more"]) == (newest_first[4], newest_first[4], False)
    calls_before = len(server.batch_api_calls)
    assert [b.id for b in client.batches.list(limit=2)] == newest_first  # the SDK follows the pages
    assert len(server.batch_api_calls) - calls_before == 3

    # a client that crashed after batches.create finds its batch again by metadata, and creates none
    found = [b for b in client.batches.list(limit=100) if (b.metadata or {}).get("work") == "w3"]
    assert [b.id for b in found] == [ids[3]]
    assert poll(client, found[0].id)[0].status == "completed"
    assert [b["metadata"] for b in server.batches_created] == [{"work": f"w{i}"} for i in range(5)]

    with pytest.raises(openai.BadRequestError, match="limit"):
        client.batches.list(limit=0)
    empty = client.batches.list(after=newest_first[-1])
    assert empty.data == [] and empty.has_more is False


def test_list_does_not_count_as_a_poll(server: FakeLLMServer, client: openai.OpenAI) -> None:
    created = submit(client, input_file(2))
    for _ in range(3):
        assert [b.status for b in client.batches.list()] == ["in_progress"]
    assert client.batches.retrieve(created.id).status == "in_progress"
    assert client.batches.retrieve(created.id).status == "completed"


# -- timing ------------------------------------------------------------------------------------------------


def test_poll_counted_progression(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.batch_timing(in_progress_polls=3, finalizing_polls=1)
    created = submit(client, input_file(6))
    seen = []
    for _ in range(5):
        batch = client.batches.retrieve(created.id)
        assert batch.request_counts is not None
        seen.append((batch.status, batch.request_counts.completed))
    assert seen == [("in_progress", 0), ("in_progress", 2), ("in_progress", 4), ("finalizing", 6), ("completed", 6)]


def test_time_driven_progression(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.batch_timing(validating_s=0.3, seconds_per_line=0.05)
    created = submit(client, input_file(40))
    assert client.batches.retrieve(created.id).status == "validating"
    time.sleep(0.45)  # 0.15 s past validation: about 3 lines
    batch = client.batches.retrieve(created.id)
    assert batch.status == "in_progress" and batch.request_counts is not None
    assert 2 <= batch.request_counts.completed < 40
    assert server.complete_batch(created.id) == "completed"
    counts = client.batches.retrieve(created.id).request_counts
    assert counts is not None and (counts.total, counts.completed) == (40, 40)


def test_manual_mode(server: FakeLLMServer, client: openai.OpenAI) -> None:
    server.batch_timing(manual=True)
    first, second = submit(client, input_file(3)), submit(client, input_file(2, prefix="d"))
    for _ in range(4):
        assert client.batches.retrieve(first.id).status == "validating"
    assert server.advance_batches(1, batch_id=first.id) == {first.id: "in_progress"}
    assert server.batch_state(first.id)["request_counts"] == {"total": 3, "completed": 1, "failed": 0}
    assert server.batch_state(second.id)["status"] == "validating"
    assert server.advance_batches(1) == {first.id: "in_progress", second.id: "in_progress"}
    assert server.complete_batch(second.id) == "completed"
    batch = client.batches.retrieve(second.id)
    assert [line["custom_id"] for line in lines_of(client, batch.output_file_id)] == ["d0", "d1"]
    assert server.file_bytes(batch.output_file_id or "") == client.files.content(batch.output_file_id or "").content
    assert server.advance_batches(0, batch_id=first.id) == {first.id: "in_progress"}
    assert server.complete_batch(first.id) == "completed"
    assert [r["custom_id"] for r in server.batch_requests] == ["c0", "c1", "d0", "d1", "c2"]
    with pytest.raises(KeyError):
        server.complete_batch("batch_nope")


def test_api_key_is_enforced_on_batch_endpoints() -> None:
    with FakeLLMServer(api_key="secret") as server:
        with (
            openai.OpenAI(base_url=server.base_url_openai, api_key="wrong", max_retries=0) as bad,
            pytest.raises(openai.AuthenticationError),
        ):
            bad.files.create(file=("r.jsonl", input_file(1)), purpose="batch")
        with openai.OpenAI(base_url=server.base_url_openai, api_key="secret", max_retries=0) as good:
            batch, _ = poll(good, submit(good, input_file(1)).id)
        assert batch.status == "completed" and batch.output_file_id is not None
        assert [c["status"] for c in server.batch_api_calls[:2]] == [401, 200]


def test_unknown_batch_paths_get_404(server: FakeLLMServer, client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_nope")
    with pytest.raises(openai.NotFoundError):
        client.post("/batches/batch_nope/pause", cast_to=object)
    with pytest.raises(openai.NotFoundError):
        client.delete("/batches/batch_nope", cast_to=object)
    assert server.requests == []  # not chat requests
    assert [c["operation"] for c in server.batch_api_calls] == ["batches.retrieve", None, None]
