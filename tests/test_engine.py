"""The batch contract and the engine: validation by id, retries, halving, checkpoints, stop on bad key."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from translation_pipeline.localization.translate.contract import (
    BatchItem,
    GlossaryTerm,
    ProviderReply,
    RequestBatch,
    Usage,
    parse_reply,
    user_message,
)
from translation_pipeline.localization.translate.engine import WRITES_AHEAD, Engine, ProviderStopped
from translation_pipeline.localization.translate.providers.base import ProviderError, TranslationProvider


def batch(*texts: str, batch_id: str = "b1") -> RequestBatch:
    return RequestBatch(batch_id, "zh-CN", "en", tuple(BatchItem(f"t{i}", t) for i, t in enumerate(texts, 1)))


def reply(pairs: list[tuple[str, object]], finish: str = "stop") -> ProviderReply:
    content = json.dumps({"translations": [{"id": i, "text": t} for i, t in pairs]}, ensure_ascii=False)
    return ProviderReply(content, finish, Usage(10, 5))


def test_user_message_is_one_json_object_with_optional_fields_only_where_known() -> None:
    b = RequestBatch("b", "zh-CN", "ja", (BatchItem("t1", "你好", "speaker: 村长", 12), BatchItem("t2", "再见")))
    payload = json.loads(user_message(b, [GlossaryTerm("勇者", "勇者")]))
    assert payload == {
        "source_language": "zh-CN",
        "target_language": "ja",
        "items": [
            {"id": "t1", "text": "你好", "context": "speaker: 村长", "max_length": 12},
            {"id": "t2", "text": "再见"},
        ],
        "glossary": [{"source": "勇者", "target": "勇者"}],
    }


def test_reply_is_matched_by_id_never_by_position() -> None:
    b = batch("一", "二{0}", "三", "四", "五")
    check = parse_reply(
        b,
        reply([("t2", "two {0}"), ("t1", "one"), ("t9", "unknown"), ("t3", "x"), ("t3", "y"), ("t4", " "),
               ("t5", "five {1}")]),
    )  # fmt: skip
    assert check.translations == {"t2": "two {0}", "t1": "one"}
    assert check.failures == {
        "t3": "answered more than once",
        "t4": "empty translation",
        "t5": "placeholders invented {1}",
    }
    assert check.ignored_ids == ["t9"]


def test_code_fence_is_tolerated_and_bad_replies_fail_the_batch() -> None:
    b = batch("一")
    fenced = ProviderReply('```json\n{"translations": [{"id": "t1", "text": "one"}]}\n```')
    assert parse_reply(b, fenced).translations == {"t1": "one"}
    assert "not the expected JSON" in parse_reply(b, ProviderReply("Sure! Here you go")).failures["t1"]
    assert "cut off" in parse_reply(b, ProviderReply('{"translations": [', "length")).failures["t1"]
    assert parse_reply(b, ProviderReply('{"translations": {}}')).failures["t1"].startswith("reply is not")


class Scripted(TranslationProvider):
    """Answers each request with `script(batch, call_number)`; records what was sent."""

    name = "scripted"
    model = "m"

    def __init__(self, script: Callable[[RequestBatch, int], ProviderReply]) -> None:
        self.script = script
        self.sent: list[list[str]] = []

    async def translate(self, b: RequestBatch) -> ProviderReply:
        self.sent.append([item.id for item in b.items])
        return self.script(b, len(self.sent))


def good(b: RequestBatch, _: int) -> ProviderReply:
    return reply([(item.id, f"EN {item.text}") for item in b.items])


def engine(provider: TranslationProvider, **kwargs: object) -> Engine:
    return Engine(provider, backoff_base=0.001, **kwargs)


def test_all_answered_in_one_request_per_batch_and_checkpointed() -> None:
    saved: list[tuple[str, dict[str, str]]] = []
    provider = Scripted(good)
    second = RequestBatch("b2", "zh-CN", "en", (BatchItem("t3", "三"),))
    result = engine(provider, on_answer=lambda b, answers, r, latency: saved.append((b.batch_id, answers))).run(
        [batch("一", "二"), second]
    )
    assert sorted(provider.sent) == [["t1", "t2"], ["t3"]]
    assert result.translations == {"t1": "EN 一", "t2": "EN 二", "t3": "EN 三"}
    assert sorted(saved) == [("b1", {"t1": "EN 一", "t2": "EN 二"}), ("b2", {"t3": "EN 三"})]
    assert result.stats.usage.prompt_tokens == 20 and result.stats.requests == 2 and not result.failures


def test_answers_not_kept_reach_the_caller_through_their_checkpoint_alone() -> None:
    saved: dict[str, str] = {}
    progress: list[tuple[int, int]] = []

    def lose_t2_once(b: RequestBatch, call: int) -> ProviderReply:
        return reply([(i.id, "" if i.id == "t2" and call == 1 else f"EN {i.text}") for i in b.items])

    def store(b: RequestBatch, answers: dict[str, str], r: ProviderReply, record: object) -> None:
        saved.update(answers)

    run = engine(Scripted(lose_t2_once), on_answer=store, on_progress=lambda *p: progress.append(p), keep_answers=False)
    result = run.run([batch("一", "二", "三")])
    assert saved == {"t1": "EN 一", "t2": "EN 二", "t3": "EN 三"} and result.translations == {}
    assert result.attempts == {"t2": 2} and not result.failures
    assert progress == [(2, 3), (3, 3)]  # answers count as done without being kept


def test_bad_items_are_resent_in_halves_until_one_then_recorded_failed() -> None:
    def lose_t3(b: RequestBatch, _: int) -> ProviderReply:
        return reply([(i.id, "") if i.id == "t3" else (i.id, f"EN {i.text}") for i in b.items])

    provider = Scripted(lose_t3)
    result = engine(provider, max_attempts=3).run([batch("一", "二", "三", "四")])
    assert provider.sent == [["t1", "t2", "t3", "t4"], ["t3"], ["t3"]]
    assert set(result.translations) == {"t1", "t2", "t4"}
    assert result.failures == {"t3": "empty translation (after 3 tries)"}
    assert result.attempts["t3"] == 3


def test_halving_splits_several_failed_items() -> None:
    def first_call_bad(b: RequestBatch, call: int) -> ProviderReply:
        return ProviderReply("not json") if call == 1 else good(b, call)

    provider = Scripted(first_call_bad)
    result = engine(provider).run([batch("一", "二", "三", "四", "五")])
    assert provider.sent[0] == ["t1", "t2", "t3", "t4", "t5"]
    assert sorted(provider.sent[1:]) == [["t1", "t2", "t3"], ["t4", "t5"]]
    assert len(result.translations) == 5 and not result.failures


def test_retryable_errors_back_off_then_succeed() -> None:
    def flaky(b: RequestBatch, call: int) -> ProviderReply:
        if call <= 2:
            raise ProviderError("429 Too Many Requests", retryable=True, retry_after=0.01)
        return good(b, call)

    provider = Scripted(flaky)
    result = engine(provider).run([batch("一")])
    assert len(provider.sent) == 3 and result.stats.transport_retries == 2
    assert result.translations == {"t1": "EN 一"}


def test_retryable_errors_give_up_after_max_attempts() -> None:
    def down(b: RequestBatch, call: int) -> ProviderReply:
        raise ProviderError("503", retryable=True)

    provider = Scripted(down)
    result = engine(provider, max_attempts=2).run([batch("一", "二")])
    assert len(provider.sent) == 2
    assert result.failures == {
        "t1": "request failed after 2 tries: 503",
        "t2": "request failed after 2 tries: 503",
    }


def test_non_retryable_error_stops_everything_at_once() -> None:
    def bad_key(b: RequestBatch, call: int) -> ProviderReply:
        raise ProviderError("401 invalid api key", retryable=False)

    provider = Scripted(bad_key)
    with pytest.raises(ProviderStopped, match="invalid api key"):
        engine(provider, concurrency=1).run([batch("一", batch_id=f"b{i}") for i in range(20)])
    assert len(provider.sent) == 1


def test_concurrency_is_bounded() -> None:
    import asyncio

    in_flight, peak = 0, 0

    class Slow(TranslationProvider):
        name, model = "slow", "m"

        async def translate(self, b: RequestBatch) -> ProviderReply:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1
            return good(b, 0)

    result = engine(Slow(), concurrency=3).run([batch("一", batch_id=f"b{i}") for i in range(12)])
    assert peak == 3 and not result.failures


def test_replies_waiting_for_their_checkpoint_are_bounded_when_the_provider_outruns_the_store() -> None:
    """The pseudo provider answers in microseconds, a store write takes milliseconds: the replies queued for the
    writer (each holding its text and answers), with those in flight, stay at WRITES_AHEAD per request slot,
    instead of the whole workbook's; every answer is still stored."""
    import threading
    import time

    lock, received, written, backlog = threading.Lock(), 0, 0, 0

    class Instant(TranslationProvider):
        name, model = "instant", "m"

        async def translate(self, b: RequestBatch) -> ProviderReply:
            nonlocal received, backlog
            with lock:
                received += 1
                backlog = max(backlog, received - written)
            return good(b, 0)

    def store(b: RequestBatch, answers: dict[str, str], r: ProviderReply, record: object) -> None:
        nonlocal written
        time.sleep(0.002)
        with lock:
            written += 1

    batches = [RequestBatch(f"b{i}", "zh-CN", "en", (BatchItem(f"t{i}", "一"),)) for i in range(80)]
    result = engine(Instant(), concurrency=2, on_answer=store).run(batches)
    assert len(result.translations) == 80 and written == 80 and not result.failures
    assert backlog <= WRITES_AHEAD * 2, backlog


def test_answers_waiting_for_their_checkpoint_are_stored_when_another_request_stops_the_run() -> None:
    """A non-retryable error cancels the run; answers already received are still written (they were paid for)."""
    import asyncio
    import threading
    import time

    release_error = threading.Event()

    class Answers2ThenBadKey(TranslationProvider):
        name, model = "scripted", "m"

        async def translate(self, b: RequestBatch) -> ProviderReply:
            if b.batch_id == "bad":
                while not release_error.is_set():  # fail only once both answers wait for the writer
                    await asyncio.sleep(0.005)
                raise ProviderError("401 invalid api key", retryable=False)
            return good(b, 0)

    saved: list[str] = []

    def slow_checkpoint(b: RequestBatch, answers: dict[str, str], r: ProviderReply, record: object) -> None:
        release_error.set()  # the first write is running, the second one is queued behind it
        time.sleep(0.2)
        saved.append(b.batch_id)

    batches = [batch("一", batch_id="b1"), batch("二", batch_id="b2"), batch("三", batch_id="bad")]
    with pytest.raises(ProviderStopped, match="invalid api key"):
        engine(Answers2ThenBadKey(), concurrency=3, on_answer=slow_checkpoint).run(batches)
    assert sorted(saved) == ["b1", "b2"]


INJECTED = '=HYPERLINK("http://example.invalid","click")'


def test_a_formula_like_reply_is_resent_and_the_real_translation_kept() -> None:
    """A reply that starts like a formula while its source does not fails its item alone; the re-sent item's
    real translation is what is kept."""

    def inject_first(b: RequestBatch, call: int) -> ProviderReply:
        return reply([(i.id, INJECTED if i.id == "t2" and call == 1 else f"EN {i.text}") for i in b.items])

    provider = Scripted(inject_first)
    result = engine(provider).run([batch("一", "二", "三")])
    assert provider.sent == [["t1", "t2", "t3"], ["t2"]]
    assert result.translations == {"t1": "EN 一", "t2": "EN 二", "t3": "EN 三"} and not result.failures


@pytest.mark.parametrize("text", [INJECTED, "  =1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"])
def test_a_formula_like_reply_fails_validation_unless_it_is_the_last_attempt(text: str) -> None:
    check = parse_reply(batch("打开链接"), reply([("t1", text)]))
    assert check.failures["t1"].startswith("formula-like reply (starts with ") and not check.translations
    assert parse_reply(batch("打开链接"), reply([("t1", text)]), last_attempt=True).translations == {"t1": text}


def test_a_reply_given_on_every_attempt_is_kept_after_the_last() -> None:
    provider = Scripted(lambda b, _: reply([(i.id, INJECTED) for i in b.items]))
    result = engine(provider, max_attempts=3).run([batch("打开链接")])
    assert len(provider.sent) == 3 and result.translations == {"t1": INJECTED}  # written as text, flagged by QA


def test_a_source_that_starts_like_a_formula_may_be_answered_so() -> None:
    check = parse_reply(batch("+5 攻击", "-10% 防御", "=== 第一章 ==="),
                        reply([("t1", "+5 Attack"), ("t2", "-10% Defense"), ("t3", "=== Chapter 1 ===")]))  # fmt: skip
    assert len(check.translations) == 3 and not check.failures


def test_an_unstorable_character_fails_its_item_alone_then_is_replaced_on_the_last_attempt() -> None:
    lone = "lone \ud800 surrogate"
    check = parse_reply(batch("一", "二"), reply([("t1", lone), ("t2", "two")]))
    assert check.failures == {"t1": "reply holds a character no cell can store (U+D800)"}
    assert check.translations == {"t2": "two"}
    last = parse_reply(batch("一"), reply([("t1", lone)]), last_attempt=True)
    assert last.translations == {"t1": "lone \ufffd surrogate"}

    def surrogate_first(b: RequestBatch, call: int) -> ProviderReply:
        return reply([(i.id, lone if i.id == "t1" and call == 1 else f"EN {i.text}") for i in b.items])

    saved: list[dict[str, str]] = []
    provider = Scripted(surrogate_first)
    result = engine(provider, on_answer=lambda b, answers, r, latency: saved.append(answers)).run([batch("一", "二")])
    assert result.translations == {"t1": "EN 一", "t2": "EN 二"} and not result.failures
    assert all("\ud800" not in text for answers in saved for text in answers.values())  # storable, every one
