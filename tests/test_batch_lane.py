"""The batch lane against the fake server's Batch API, through the real `openai` SDK and a real project store:
submission, file limits, every fault the providers have, re-attaching after a crash, cancellation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.fake_llm_server import FakeLLMServer
from translation_pipeline.localization.store import MemoryScope, ProjectStore, llm_calls
from translation_pipeline.localization.translate.batch.client import BatchClient, compatible_base_url
from translation_pipeline.localization.translate.batch.jsonl import FileLimits, request_line, split_lines
from translation_pipeline.localization.translate.batch.lane import BatchLane, build_lane
from translation_pipeline.localization.translate.batch.records import BatchRecords
from translation_pipeline.localization.translate.contract import BatchItem, ProviderReply, RequestBatch
from translation_pipeline.localization.translate.engine import RequestRecord
from translation_pipeline.localization.translate.pinned import TranslatorSettings, build_translator
from translation_pipeline.localization.translate.prompt import PROMPT_VERSION

KEY = "dialog-0123abcd"
SOURCES = [f"勇者，第{n}章开始了。{{0}}" for n in range(1, 13)] + ["确定", "取消", "<b>传说之剑</b>"]


def _batches(per_batch: int = 5, target: str = "en") -> list[RequestBatch]:
    items = [BatchItem(f"t{n}", text, "speaker: 村长") for n, text in enumerate(SOURCES, start=1)]
    return [RequestBatch(f"b{n // per_batch + 1}", "zh-CN", target, tuple(items[n : n + per_batch]))
            for n in range(0, len(items), per_batch)]  # fmt: skip


@pytest.fixture
def server() -> FakeLLMServer:
    with FakeLLMServer() as fake:
        yield fake


@pytest.fixture
def store(tmp_path: Path) -> ProjectStore:
    project = ProjectStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield project
    project.dispose()


def _translator(server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, provider: str = "openai", **batch: object):
    if provider == "openai":
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        urls = {"openai_base_url": server.base_url_openai}
        model = "gpt-4o-mini"
    else:
        monkeypatch.setenv("DASHSCOPE_API_KEY", "test")
        monkeypatch.setenv("DASHSCOPE_COMPATIBLE_BASE_URL", server.base_url_compatible)
        urls = {"dashscope_base_url": server.base_url_dashscope}
        model = "qwen-plus"
    settings = TranslatorSettings(provider=provider, model=model, mode="batch", batch_poll_seconds=0.01,
                                  backoff_base=0.01, **urls, **batch)  # fmt: skip
    return build_translator(settings)


def _lane(store: ProjectStore, translator, realtime_log: list[RequestBatch] | None = None) -> BatchLane:
    """The lane with the realtime lane of the same translator for few leftovers, checkpointing like the asset."""

    def checkpoint(batch: RequestBatch, answers: dict[str, str], reply: ProviderReply, record: RequestRecord) -> None:
        texts = {item.id: item.text for item in batch.items}
        store.record_batch(KEY, batch.batch_id, MemoryScope(batch.source_language, batch.target_language,
                                                            record.model, PROMPT_VERSION),
                           {texts[i]: t for i, t in answers.items()}, provider=record.provider,
                           items=len(batch.items), prompt_tokens=reply.usage.prompt_tokens,
                           completion_tokens=reply.usage.completion_tokens, latency_ms=0)  # fmt: skip

    def realtime(batches: list[RequestBatch]):
        if realtime_log is not None:
            realtime_log.extend(batches)
        return translator.engine(checkpoint, lambda done, total: None).run(batches)

    return build_lane(translator, KEY, store, realtime)


def _stored(store: ProjectStore, model: str = "gpt-4o-mini", target: str = "en") -> dict[str, str]:
    return store.lookup(MemoryScope("zh-CN", target, model, PROMPT_VERSION), SOURCES)


def _lane_calls(store: ProjectStore) -> list[sa.Row]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(llm_calls).where(llm_calls.c.lane == "batch")))


def test_every_item_is_answered_through_one_job_at_half_price(server, store, monkeypatch) -> None:
    translator = _translator(server, monkeypatch)
    report = _lane(store, translator).run(_batches(), wait=True)

    assert not report.waiting and not report.failures and not report.problems
    assert _stored(store) == {text: f"[en] {text}" for text in SOURCES}
    assert len(server.batches_created) == 1 and report.jobs_submitted == 1 and report.lines_submitted == 3
    assert not [r for r in server.requests if r.get("lane") != "batch"], "nothing went realtime"
    calls = _lane_calls(store)
    assert len(calls) == 3
    for call in calls:  # gpt-4o-mini list price 0.15 / 0.60 per 1M, half on the batch lane
        expected = (call.prompt_tokens * 0.075 + call.completion_tokens * 0.30) / 1_000_000
        assert call.cost_usd == pytest.approx(expected) and call.cost_usd > 0


def test_the_request_lines_are_the_realtime_chat_requests(server, monkeypatch) -> None:
    translator = _translator(server, monkeypatch)
    batch = _batches()[0]
    line = json.loads(request_line("b1~a1", translator.provider.model, translator.provider.messages(batch)))
    assert line["url"] == "/v1/chat/completions" and line["method"] == "POST"
    assert line["body"]["messages"] == translator.provider.messages(batch)
    assert line["body"]["response_format"] == {"type": "json_object"}


def test_input_files_are_cut_at_the_limits(server, store, monkeypatch) -> None:
    translator = _translator(server, monkeypatch, batch_file_max_lines=2)
    report = _lane(store, translator).run(_batches(per_batch=2), wait=True)
    assert report.jobs_submitted == 4 and len(server.batches_created) == 4  # 8 lines, 2 per file
    assert len(_stored(store)) == len(SOURCES)
    lines = [request_line(str(n), "m", [{"role": "user", "content": "x" * 100}]) for n in range(5)]
    assert [len(f) for f in split_lines(lines, FileLimits(max_lines=10, max_bytes=len(lines[0]) * 2))] == [2, 2, 1]
    with pytest.raises(ValueError, match="over the file limit"):
        split_lines(lines, FileLimits(max_bytes=10))


def test_failed_lines_and_invalid_items_are_resent_in_a_follow_up_job(server, store, monkeypatch) -> None:
    server.batch_fault("line_500", match="b2")
    server.fault_for_item("传说之剑", "lost_placeholder")  # in b3: fails validation once
    translator = _translator(server, monkeypatch, batch_retry_realtime_below=0)
    report = _lane(store, translator).run(_batches(), wait=True)

    assert not report.failures and len(_stored(store)) == len(SOURCES)
    assert len(server.batches_created) == 2, "one follow-up job for the failed line and the invalid item"
    follow_up = [r for r in server.batch_requests if "~a2" in r.get("custom_id", "")]
    sent_again = sorted(item["text"] for r in follow_up
                        for item in json.loads(r["body"]["messages"][-1]["content"])["items"])  # fmt: skip
    assert sent_again == sorted([*SOURCES[5:10], "<b>传说之剑</b>"])


def test_few_failures_go_realtime(server, store, monkeypatch) -> None:
    server.fault_for_item("确定", "empty_text")
    translator = _translator(server, monkeypatch)  # retry realtime below 50 items
    realtime: list[RequestBatch] = []
    report = _lane(store, translator, realtime).run(_batches(), wait=True)
    assert not report.failures and report.realtime_items == 1
    assert [item.text for batch in realtime for item in batch.items] == ["确定"]
    assert len(server.batches_created) == 1
    assert _stored(store)["确定"] == "[en] 确定"


@pytest.mark.parametrize("fault", ["expire_half", "fail_job", "cancel"])
def test_jobs_that_end_early_keep_their_answers_and_send_the_rest_again(server, store, monkeypatch, fault) -> None:
    server.batch_fault(fault)
    translator = _translator(server, monkeypatch, batch_retry_realtime_below=0)
    report = _lane(store, translator).run(_batches(per_batch=2), wait=True)
    assert not report.failures and len(_stored(store)) == len(SOURCES)
    assert len(server.batches_created) == 2
    first, second = server.batches_created[0], server.batches_created[1]
    answered_first = {r["custom_id"] for r in server.batch_requests if r.get("batch_id") == first["id"]}
    resent = {r["custom_id"].split("~")[0] for r in server.batch_requests if r.get("batch_id") == second["id"]}
    if fault != "fail_job":  # the lines the first job answered are not sent again
        assert answered_first and not {c.split("~")[0] for c in answered_first} & {c.split(".")[0] for c in resent}


def test_items_failing_every_attempt_are_reported_and_a_new_cycle_sends_them_again(server, store, monkeypatch) -> None:
    server.fault_for_item("取消", "empty_text", times=None)
    translator = _translator(server, monkeypatch, batch_retry_realtime_below=0, max_attempts=3)
    report = _lane(store, translator).run(_batches(), wait=True)
    assert list(report.failures) == [("zh-CN", "en", "取消")]
    assert "(after 3 tries)" not in report.failures[("zh-CN", "en", "取消")]  # the validation reason itself
    assert len(server.batches_created) == 3  # attempts 1, 2 and 3
    assert len(_stored(store)) == len(SOURCES) - 1

    # a later run (a rerun of the failed export) starts a new cycle: only the failed item is sent
    pending = [b.subset({i.id for i in b.items if i.text == "取消"}, "") for b in _batches()]
    report = _lane(store, translator).run([b for b in pending if b.items], wait=True)
    assert report.cycle == 2 and report.items_submitted == 3 and len(server.batches_created) == 6


def test_bad_output_lines_are_reported_and_ignored(server, store, monkeypatch) -> None:
    for fault in ("unknown_custom_id", "duplicate_line", "malformed_line"):
        server.batch_fault(fault)
    translator = _translator(server, monkeypatch)
    report = _lane(store, translator).run(_batches(), wait=True)
    assert len(_stored(store)) == len(SOURCES) and not report.failures
    problems = " | ".join(report.problems)
    assert "unknown custom_id 'unknown-custom-id'" in problems
    assert "answered again, ignored" in problems
    assert "not a batch result" in problems
    assert len(report.problems) == 3


def test_an_output_file_that_fails_to_download_is_fetched_again(server, store, monkeypatch) -> None:
    server.batch_fault("download_500", failures=2)
    report = _lane(store, _translator(server, monkeypatch)).run(_batches(), wait=True)
    assert len(_stored(store)) == len(SOURCES) and not report.failures


def test_a_job_stuck_past_the_window_is_cancelled_and_treated_as_expired(server, store, monkeypatch) -> None:
    server.batch_fault("stuck")
    translator = _translator(server, monkeypatch, batch_window_hours=0.0001, batch_retry_realtime_below=0)
    report = _lane(store, translator).run(_batches(), wait=True)
    assert any("treated as expired" in p for p in report.problems)
    assert len(_stored(store)) == len(SOURCES) and len(server.batches_created) == 2


def test_a_job_recorded_but_not_recorded_as_created_is_re_attached(server, store, monkeypatch) -> None:
    """The process died between `batches.create` and recording the batch id: the next run finds the batch by the
    job key in its metadata instead of submitting the same work again."""
    translator = _translator(server, monkeypatch)
    lane = _lane(store, translator)
    batches = _batches()
    # what `_submit` does up to the crash: the intent, the upload, the creation, and nothing recorded after
    from translation_pipeline.localization.translate.batch.jsonl import batch_to_json

    records = BatchRecords(store)
    lines = [(f"{b.batch_id}~a1", 1, batch_to_json(b)) for b in batches]
    job_key = records.create_job(KEY, 1, "openai", translator.provider.model, lines)
    client = BatchClient("openai", base_url=server.base_url_openai)
    data = b"".join(request_line(cid, translator.provider.model, translator.provider.messages(b))
                    for (cid, _, _), b in zip(lines, batches, strict=True))  # fmt: skip
    client.create(client.upload("x.jsonl", data), {"translation_job": job_key})

    report = lane.run(batches, wait=True)
    assert len(server.batches_created) == 1, "the same work was submitted twice"
    assert len(_stored(store)) == len(SOURCES) and report.jobs_submitted == 0


def test_a_run_that_ends_waiting_is_finished_by_the_next_one_without_resubmitting(server, store, monkeypatch) -> None:
    server.batch_timing(manual=True)
    translator = _translator(server, monkeypatch)
    first = _lane(store, translator).run(_batches(), wait=False)
    assert first.waiting and len(first.open_jobs) == 1 and not _stored(store)

    again = _lane(store, translator).run(_batches(), wait=False)  # nothing finished yet: nothing new sent
    assert again.waiting and again.jobs_submitted == 0 and len(server.batches_created) == 1

    server.advance_batches()
    done = _lane(store, translator).run(_batches(), wait=False)
    assert not done.waiting and len(_stored(store)) == len(SOURCES) and len(server.batches_created) == 1


def test_cancel_keeps_what_was_answered(server, store, monkeypatch) -> None:
    server.batch_timing(manual=True)
    translator = _translator(server, monkeypatch)
    _lane(store, translator).run(_batches(per_batch=3), wait=False)
    server.advance_batches(lines=2)  # two of five lines done
    server.batch_timing(seconds_per_line=1000)  # no more progress; a cancelling job is cancelled when looked at
    report = _lane(store, translator).cancel(wait_seconds=5)
    assert not report.open_jobs and report.lines_read == 5
    assert len(_stored(store)) == 6  # the two answered lines, three items each
    assert not BatchRecords(store).jobs(KEY, open_only=True)
    # the cycle is over: a later run sends the rest in a new one
    report = _lane(store, translator).run(_batches(per_batch=3), wait=False)
    assert report.cycle == 2


def test_qwen_goes_through_the_compatible_mode_batch_api(server, store, monkeypatch) -> None:
    translator = _translator(server, monkeypatch, provider="qwen")
    report = _lane(store, translator).run(_batches(), wait=True)
    assert not report.failures
    assert len(_stored(store, model="qwen-plus")) == len(SOURCES)
    assert all("/compatible-mode/v1/" in call["path"] for call in server.batch_api_calls)


def test_the_compatible_base_url_follows_the_dashscope_endpoint(monkeypatch) -> None:
    monkeypatch.delenv("DASHSCOPE_COMPATIBLE_BASE_URL", raising=False)
    monkeypatch.delenv("DASHSCOPE_HTTP_BASE_URL", raising=False)
    assert compatible_base_url() == "https://dashscope.aliyuncs.com/compatible-mode/v1"
    intl = "https://dashscope-intl.aliyuncs.com/api/v1"
    assert compatible_base_url(intl) == "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
    monkeypatch.setenv("DASHSCOPE_COMPATIBLE_BASE_URL", "http://local/compatible-mode/v1")
    assert compatible_base_url(intl) == "http://local/compatible-mode/v1"
