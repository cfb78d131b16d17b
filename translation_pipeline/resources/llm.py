"""Translation settings and the providers behind them, as one Dagster resource. API keys are not fields:
the SDKs read them from their own env vars (`OPENAI_API_KEY`, `DASHSCOPE_API_KEY`), so they never reach
run config, metadata or logs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from translation_pipeline.localization.check.glossary import Glossary, load_glossary
from translation_pipeline.localization.read.limits import PackageLimits
from translation_pipeline.localization.translate.engine import BatchSizer
from translation_pipeline.localization.translate.pricing import PriceTable
from translation_pipeline.localization.translate.prompt import GameInfo
from translation_pipeline.localization.translate.providers.base import TranslationProvider
from translation_pipeline.localization.translate.providers.pseudo import PseudoProvider
from translation_pipeline.localization.translate.ratelimit import RateLimiter
from translation_pipeline.settings import DEFAULT_MODELS, ConfigError


class TranslationResource(dg.ConfigurableResource):
    """Which provider and model translate, what to translate, and how hard to push the API."""

    provider: str = "pseudo"
    model: str = ""
    fallback_provider: str = ""
    source_language: str = "auto"
    target_languages: str = ""
    concurrency: int = 8
    batch_max_items: int = 40
    batch_max_chars: int = 6000
    max_attempts: int = 4
    min_batch_items: int = 5
    request_timeout: float = 60.0
    requests_per_minute: int = 0
    tokens_per_minute: int = 0
    backoff_base: float = 0.5
    openai_base_url: str = ""
    dashscope_base_url: str = ""
    glossary_file: str = ""
    game: dict[str, str] = Field(default_factory=dict)  # GameInfo fields for the system prompt
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)  # {model: {input, output}} USD per 1M
    language_aliases: dict[str, str] = Field(default_factory=dict)  # header spelling -> language code
    layouts: str = ""  # JSON list of the YAML `layouts:` entries (read/layout.py parse_layouts)
    include_hidden_sheets: bool = False
    max_part_mb: int = 1024
    max_package_mb: int = 4096
    max_compression_ratio: int = 200

    @property
    def package_limits(self) -> PackageLimits:
        return PackageLimits.from_megabytes(self.max_part_mb, self.max_package_mb, self.max_compression_ratio)

    @property
    def model_name(self) -> str:
        return self.model or DEFAULT_MODELS.get(self.provider, "")

    @property
    def target_language_list(self) -> list[str]:
        return [t.strip() for t in self.target_languages.split(",") if t.strip()]

    def _glossary(self) -> Glossary | None:
        return load_glossary(Path(self.glossary_file)) if self.glossary_file else None

    def _build(self, name: str, model: str) -> TranslationProvider:
        """A provider by name; a missing key or a bad setting raises ProviderError / ConfigError."""
        if name == "pseudo":
            return PseudoProvider(model)
        common = {
            "game": GameInfo.from_mapping(self.game),
            "glossary": self._glossary(),
            "timeout": self.request_timeout,
        }
        # the SDKs are imported on first use: together they take 2-3 s to import
        if name == "openai":
            from translation_pipeline.localization.translate.providers.openai_provider import OpenAIProvider

            return OpenAIProvider(model, base_url=self.openai_base_url or None, **common)  # type: ignore[arg-type]
        if name == "qwen":
            from translation_pipeline.localization.translate.providers.qwen_provider import QwenProvider

            return QwenProvider(model, base_url=self.dashscope_base_url or None, **common)  # type: ignore[arg-type]
        raise ConfigError(f"provider must be one of pseudo, openai, qwen; got {name!r}")

    def build_provider(self) -> TranslationProvider:
        return self._build(self.provider, self.model_name)

    def build_fallback(self) -> TranslationProvider | None:
        """The fallback provider (with its default model), or None when none is configured."""
        if not self.fallback_provider:
            return None
        return self._build(self.fallback_provider, DEFAULT_MODELS.get(self.fallback_provider, ""))

    def build_limiter(self) -> RateLimiter | None:
        if not self.requests_per_minute and not self.tokens_per_minute:
            return None
        return RateLimiter(self.requests_per_minute, self.tokens_per_minute)

    def build_sizer(self) -> BatchSizer:
        """Dynamic batch size: starts at `batch_max_items` (the design's per-request limit, never exceeded) and
        moves within [min_batch_items, batch_max_items]: it shrinks after timeouts, truncation or misaligned
        replies and grows back after fast, clean ones (fast: under a tenth of the request timeout, slow: over
        half)."""
        low = min(self.min_batch_items, self.batch_max_items)
        return BatchSizer(low, self.batch_max_items, start=self.batch_max_items,
                          fast_seconds=self.request_timeout / 10, slow_seconds=self.request_timeout / 2)  # fmt: skip

    def price_table(self) -> PriceTable:
        try:
            return PriceTable.from_settings(self.prices)
        except ValueError as error:
            raise ConfigError(str(error)) from error
