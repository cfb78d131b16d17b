"""Translation settings and the provider behind them, as one Dagster resource."""

from __future__ import annotations

import dagster as dg

from translation_pipeline.localization.providers.base import TranslationProvider
from translation_pipeline.localization.providers.pseudo import PseudoProvider
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

    @property
    def model_name(self) -> str:
        return self.model or DEFAULT_MODELS.get(self.provider, "")

    @property
    def target_language_list(self) -> list[str]:
        return [t.strip() for t in self.target_languages.split(",") if t.strip()]

    def build_provider(self) -> TranslationProvider:
        if self.provider == "pseudo":
            return PseudoProvider(self.model_name)
        raise ConfigError(f"TRANSLATION_PROVIDER={self.provider!r} is not available in this build; use 'pseudo'")
