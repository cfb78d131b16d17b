"""Translation settings as one Dagster resource; `translator_settings` turns them into the object the providers
are built from (`localization/translate/pinned.py`). API keys are not fields: the SDKs read them from their own
env vars (`OPENAI_API_KEY`, `DASHSCOPE_API_KEY`), so they never reach run config, metadata or logs."""

from __future__ import annotations

from dataclasses import fields

import dagster as dg
from pydantic import Field

from translation_pipeline.localization.read.limits import PackageLimits
from translation_pipeline.localization.translate.pinned import TranslatorSettings, glossary_sha256, sends_glossary
from translation_pipeline.settings import DEFAULT_MODELS


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
    priorities: dict[str, int] = Field(default_factory=dict)  # file-name glob -> `dagster/priority` of its run
    include_hidden_sheets: bool = False
    max_part_mb: int = 1024
    max_package_mb: int = 4096
    max_compression_ratio: int = 200
    mode: str = "realtime"  # or batch: the providers' Batch APIs
    batch_poll_seconds: float = 60.0
    batch_retry_realtime_below: int = 50
    batch_file_max_lines: int = 50_000
    batch_file_max_mb: int = 200
    batch_window_hours: float = 24.0

    @property
    def package_limits(self) -> PackageLimits:
        return PackageLimits.from_megabytes(self.max_part_mb, self.max_package_mb, self.max_compression_ratio)

    @property
    def model_name(self) -> str:
        return self.model or DEFAULT_MODELS.get(self.provider, "")

    @property
    def target_language_list(self) -> list[str]:
        return [t.strip() for t in self.target_languages.split(",") if t.strip()]

    def translator_settings(self) -> TranslatorSettings:
        """This process's translation settings, as one object (`pinned.build_translator` builds from it).
        GlossaryError when the configured glossary file, which a provider other than pseudo sends, does not
        exist."""
        sends = sends_glossary(self.provider, self.fallback_provider)
        same = {f.name: getattr(self, f.name) for f in fields(TranslatorSettings) if f.name in type(self).model_fields}
        return TranslatorSettings(**{
            **same, "model": self.model_name, "fallback_model": DEFAULT_MODELS.get(self.fallback_provider, ""),
            "glossary_sha256": glossary_sha256(self.glossary_file) if sends else "",
            "game": dict(self.game), "prices": dict(self.prices),
        })  # fmt: skip
