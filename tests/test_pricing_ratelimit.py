"""Prices and cost records, the RPM/TPM limiter, Retry-After parsing and the dynamic batch size."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import yaml

from translation_pipeline.definitions import build_resources
from translation_pipeline.localization.translate.contract import BatchItem, ProviderReply, RequestBatch, Usage
from translation_pipeline.localization.translate.engine import BatchSizer, Engine
from translation_pipeline.localization.translate.pinned import build_translator
from translation_pipeline.localization.translate.pricing import LIST_PRICES, PriceTable
from translation_pipeline.localization.translate.providers.base import ProviderError, TranslationProvider
from translation_pipeline.localization.translate.ratelimit import RateLimiter, estimate_tokens, parse_retry_after
from translation_pipeline.settings import ConfigError, load_settings


def batch(n: int, batch_id: str = "b1", text: str = "文本") -> RequestBatch:
    return RequestBatch(batch_id, "zh-CN", "en", tuple(BatchItem(f"{batch_id}t{i}", text) for i in range(n)))


class Scripted(TranslationProvider):
    """Answers every item unless `script` says otherwise; records the size of every request."""

    def __init__(self, name: str = "scripted", model: str = "gpt-4o-mini", script=None) -> None:
        self.name, self.model, self.script = name, model, script
        self.sent: list[int] = []

    async def translate(self, b: RequestBatch) -> ProviderReply:
        self.sent.append(len(b.items))
        if self.script and (reply := self.script(b, len(self.sent))) is not None:
            return reply
        content = json.dumps({"translations": [{"id": i.id, "text": f"EN {i.text}"} for i in b.items]})
        return ProviderReply(content, "stop", Usage(1000, 500))


def test_prices_per_model_with_overrides_and_unknown_models() -> None:
    table = PriceTable.from_settings()
    assert set(LIST_PRICES) >= {"gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "qwen-plus", "qwen-turbo", "qwen-max"}
    assert table.cost_usd("gpt-4o-mini", 1_000_000, 0) == pytest.approx(LIST_PRICES["gpt-4o-mini"][0])
    assert table.cost_usd("no-such-model", 10, 10) is None
    custom = PriceTable.from_settings({"qwen-plus": {"input": 1, "output": 3}, "house": {"input": 0.5, "output": 0.5}})
    assert custom.cost_usd("qwen-plus", 500_000, 1_000_000) == pytest.approx(3.5)
    assert custom.cost_usd("house", 2_000_000, 0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"prices\.bad must be"):
        PriceTable.from_settings({"bad": {"input": 1}})


def test_prices_and_limits_come_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "translation_pipeline.yaml").write_text(
        yaml.safe_dump({"prices": {"gpt-4o-mini": {"input": 2.0, "output": 4.0}}, "game": {"style": "terse"}})
    )
    monkeypatch.setenv("TRANSLATION_RPM", "0")
    monkeypatch.setenv("TRANSLATION_TPM", "90000")
    monkeypatch.setenv("TRANSLATION_REQUEST_TIMEOUT", "12.5")
    monkeypatch.setenv("TRANSLATION_BACKOFF_BASE", "0.05")
    settings = build_resources(load_settings())["translation"].process_config_and_initialize().translator_settings()
    translator = build_translator(settings)
    assert translator.prices.cost_usd("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(6.0)
    assert settings.game == {"style": "terse"}
    assert (settings.requests_per_minute, settings.tokens_per_minute) == (0, 90000)
    assert settings.request_timeout == 12.5 and settings.backoff_base == 0.05
    assert translator.limiter is not None and translator.limiter.tokens_per_minute == 90000
    monkeypatch.setenv("TRANSLATION_TPM", "-1")
    with pytest.raises(ConfigError, match="'tokens_per_minute' must be 0 or more"):
        load_settings()
    monkeypatch.setenv("TRANSLATION_TPM", "0")
    monkeypatch.setenv("TRANSLATION_REQUEST_TIMEOUT", "0")
    with pytest.raises(ConfigError, match="'request_timeout' must be more than 0"):
        load_settings()


def test_engine_records_every_request_with_tokens_and_cost() -> None:
    def first_fails(b: RequestBatch, call: int) -> ProviderReply | None:
        if call == 1:
            raise ProviderError("503 server error", retryable=True)
        return None

    provider = Scripted(script=first_fails)
    result = Engine(provider, backoff_base=0.001).run([batch(2, "b1"), batch(1, "b2")])
    stats = result.stats
    assert stats.requests == 3 and stats.transport_retries == 1
    assert sorted(r.outcome for r in stats.records) == ["503 server error", "answered", "answered"]
    assert stats.usage == Usage(2000, 1000)
    one = (1000 * 0.15 + 500 * 0.60) / 1_000_000
    assert stats.cost_usd == pytest.approx(2 * one)
    per_batch = stats.per_batch()
    assert per_batch["b2"] == {"requests": 1, "prompt_tokens": 1000, "completion_tokens": 500, "cost_usd": one}
    assert sum(row["requests"] for row in per_batch.values()) == 3


def test_unpriced_model_makes_the_total_unknown() -> None:
    stats = Engine(Scripted(model="house-model"), backoff_base=0.001).run([batch(1)]).stats
    assert stats.records[0].cost_usd is None and stats.cost_usd is None


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_limiter_holds_requests_per_minute() -> None:
    fake = FakeTime()
    limiter = RateLimiter(requests_per_minute=2, clock=fake.clock, sleep=fake.sleep)

    async def three() -> None:
        for _ in range(3):
            await limiter.acquire(10)

    asyncio.run(three())
    assert fake.sleeps == [60.0]  # the third waits until the first leaves the window


def test_limiter_holds_tokens_per_minute_and_lets_a_huge_request_through_alone() -> None:
    fake = FakeTime()
    limiter = RateLimiter(tokens_per_minute=1000, clock=fake.clock, sleep=fake.sleep)

    async def run() -> None:
        await limiter.acquire(600)
        fake.now = 15
        await limiter.acquire(600)  # 1200 > 1000: waits 45 s, until the first leaves the window
        await limiter.acquire(5000)  # bigger than the budget: waits for an empty window, then goes
        await limiter.acquire(0)  # the window is spent

    asyncio.run(run())
    assert fake.sleeps == [45.0, 60.0, 60.0]


def test_unlimited_limiter_never_waits_and_engine_uses_the_limiter() -> None:
    fake = FakeTime()

    async def unlimited() -> None:
        for _ in range(100):
            await RateLimiter(clock=fake.clock, sleep=fake.sleep).acquire(10**9)

    asyncio.run(unlimited())
    assert fake.sleeps == []
    limiter = RateLimiter(requests_per_minute=1, clock=fake.clock, sleep=fake.sleep)
    Engine(Scripted(), concurrency=1, limiter=limiter).run([batch(1, "b1"), batch(1, "b2")])
    assert fake.sleeps == [60.0]


def test_token_estimate_grows_with_the_text() -> None:
    short, long = estimate_tokens(batch(1, text="短")), estimate_tokens(batch(1, text="长" * 300))
    assert 400 < short < long and long >= 400 + 2 * 300 // 3


def test_retry_after_header() -> None:
    assert parse_retry_after("0") == 0.0 and parse_retry_after("2.5") == 2.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(date, now=now.timestamp()) == pytest.approx(30)


def test_batch_sizer_grows_when_fast_and_clean_and_halves_on_trouble() -> None:
    sizer = BatchSizer(4, 40, start=20, fast_seconds=1, slow_seconds=10)
    sizer.observe(0.5, clean=True, misaligned=False)
    assert sizer.size == 25
    sizer.observe(5, clean=True, misaligned=False)  # neither fast nor slow: kept
    sizer.observe(0.5, clean=False, misaligned=False)  # one bad item: kept
    assert sizer.size == 25
    sizer.observe(0.5, clean=False, misaligned=True)
    assert sizer.size == 12
    sizer.observe(11, clean=False, misaligned=False)  # a timeout
    assert sizer.size == 6
    sizer.observe(11, clean=False, misaligned=False)
    assert sizer.size == 4  # never below min
    for _ in range(20):
        sizer.observe(0.1, clean=True, misaligned=False)
    assert sizer.size == 40  # never above max
    with pytest.raises(ValueError):
        BatchSizer(5, 4)


def test_engine_cuts_smaller_batches_after_a_truncated_reply_and_grows_back() -> None:
    def truncate_first(b: RequestBatch, call: int) -> ProviderReply | None:
        return ProviderReply('{"translations": [', "length") if call == 1 else None

    provider = Scripted(script=truncate_first)
    sizer = BatchSizer(2, 8, fast_seconds=5, slow_seconds=10)
    planned = [batch(20, "b1"), batch(20, "b2")]  # one language pair: the engine re-cuts across planned batches
    result = Engine(provider, concurrency=1, backoff_base=0.001, sizer=sizer).run(planned)
    assert len(result.translations) == 40 and not result.failures
    # 8 cut off -> size 4; the halves (4 + 4) come back clean and fast -> 5, 6; then 6, 7, 8, 8 and the rest
    assert provider.sent == [8, 4, 4, 6, 7, 8, 8, 3]
    assert sizer.size == 8


def test_engine_batches_respect_the_character_limit_when_it_cuts() -> None:
    provider = Scripted()
    Engine(provider, sizer=BatchSizer(1, 40), max_chars=10, concurrency=1).run([batch(9, text="四个字符")])
    assert provider.sent == [2, 2, 2, 2, 1]
