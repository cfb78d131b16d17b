"""Pinned translation settings: what a workbook version is translated with, and the translator built from it.

The first run that translates a workbook version pins the settings that change the text (`text_fields`:
provider, model, fallback, prompt version, glossary hash, game context) in the project store. Every later
run of that partition uses them, whatever its own configuration says; only an explicit switch (a provider
and/or model) pins again. The other settings (concurrency, batch limits, attempts, timeouts, rate limits,
backoff, endpoints, prices) only change how the text is fetched and always come from the running process.
`build_translator` makes everything a run needs from one `TranslatorSettings`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from translation_pipeline.localization.check.glossary import Glossary, GlossaryError, load_glossary
from translation_pipeline.localization.inbox.keys import file_sha256
from translation_pipeline.localization.translate.engine import AnswerCallback, BatchSizer, Engine
from translation_pipeline.localization.translate.pricing import PriceTable
from translation_pipeline.localization.translate.prompt import PROMPT_VERSION, GameInfo
from translation_pipeline.localization.translate.providers.base import ProviderError, TranslationProvider
from translation_pipeline.localization.translate.providers.pseudo import PseudoProvider
from translation_pipeline.localization.translate.ratelimit import RateLimiter
from translation_pipeline.settings import DEFAULT_MODELS, MODES, ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

    from translation_pipeline.localization.store import ProjectStore

# what is pinned: what changes the text, and the lane (a rerun of a batch workbook re-attaches to its jobs)
TEXT_FIELDS = ("provider", "model", "fallback_provider", "fallback_model", "prompt_version", "glossary_sha256", "game",
               "mode")  # fmt: skip
API_KEY_VARS = {"openai": "OPENAI_API_KEY", "qwen": "DASHSCOPE_API_KEY"}
SWITCH_HINT = ("switch explicitly with `translation-pipeline translate FILE --provider NAME` (or `retry-failed "
               "--provider NAME`), or run config ops.translations.config.switch_provider in the launchpad")  # fmt: skip


class SettingUnavailable(Exception):
    """A setting cannot be used in this process: `setting` (what) `but` `problem`; `fix` says how, if it can be."""

    def __init__(self, setting: str, problem: str, fix: str = "") -> None:
        super().__init__(f"{setting} but {problem}" + (f"; {fix}" if fix else ""))
        self.setting, self.problem, self.fix = setting, problem, fix


def sends_glossary(*providers: str) -> bool:
    """Whether any of `providers` sends the glossary with its requests (the pseudo provider does not)."""
    return any(name and name != "pseudo" for name in providers)


def glossary_sha256(glossary_file: str) -> str:
    """SHA-256 of the glossary file's bytes, "" when none is configured."""
    if not glossary_file:
        return ""
    path = Path(glossary_file)
    if not path.is_file():
        raise GlossaryError(path, "no such file")
    return file_sha256(path)


def describe(provider: str, model: str) -> str:
    return f"{provider} ({model})" if provider else "none"


@dataclass(frozen=True)
class TranslatorSettings:
    """Everything a translator is built from. `model` and `fallback_model` are resolved names, never empty
    for a configured provider."""

    provider: str = "pseudo"
    model: str = DEFAULT_MODELS["pseudo"]
    fallback_provider: str = ""
    fallback_model: str = ""
    prompt_version: str = PROMPT_VERSION
    glossary_sha256: str = ""  # of the glossary file's bytes; "" = no glossary
    game: Mapping[str, str] = field(default_factory=dict)  # GameInfo fields for the system prompt
    glossary_file: str = ""  # where this process finds the glossary: must still have `glossary_sha256`
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
    prices: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # {model: {input, output}} per 1M
    mode: str = "realtime"  # or batch (localization/translate/batch)
    batch_poll_seconds: float = 60.0
    batch_retry_realtime_below: int = 50
    batch_file_max_lines: int = 50_000
    batch_file_max_mb: int = 200
    batch_window_hours: float = 24.0

    def text_fields(self) -> dict[str, object]:
        """What is pinned: the settings that change the text (JSON-ready)."""
        return {
            name: dict(sorted(self.game.items())) if name == "game" else getattr(self, name) for name in TEXT_FIELDS
        }

    def with_pinned(self, pinned: Mapping[str, object]) -> TranslatorSettings:
        """These settings with the pinned text fields in place of this process's (a field a pin lacks, from an
        older release, stays this process's)."""
        return dataclasses.replace(self, **{name: pinned[name] for name in TEXT_FIELDS if name in pinned})

    def switched(self, provider: str, model: str = "") -> TranslatorSettings:
        """These settings with another provider and model (default: this process's model when it is configured
        for that provider, else the provider's default model)."""
        if provider not in DEFAULT_MODELS:
            raise ConfigError(f"switch_provider must be one of {', '.join(DEFAULT_MODELS)}; got {provider!r}")
        if not model:
            model = self.model if provider == self.provider else DEFAULT_MODELS[provider]
        glossary = glossary_sha256(self.glossary_file) if sends_glossary(provider, self.fallback_provider) else ""
        return dataclasses.replace(self, provider=provider, model=model, glossary_sha256=glossary)


@dataclass(frozen=True)
class Translator:
    """The providers and helpers of one run, all from `settings`."""

    settings: TranslatorSettings
    provider: TranslationProvider
    fallback: TranslationProvider | None
    limiter: RateLimiter | None
    sizer: BatchSizer
    prices: PriceTable

    @property
    def models(self) -> list[str]:
        """Models whose stored answers this run may reuse: the primary's, then the fallback's."""
        extra = [self.fallback.model] if self.fallback and self.fallback.model != self.provider.model else []
        return [self.provider.model, *extra]

    def engine(self, on_answer: AnswerCallback, on_progress: Callable[[int, int], None]) -> Engine:
        s = self.settings
        return Engine(
            self.provider, concurrency=s.concurrency, max_attempts=s.max_attempts, backoff_base=s.backoff_base,
            on_answer=on_answer, on_progress=on_progress, fallback=self.fallback, limiter=self.limiter,
            prices=self.prices, sizer=self.sizer, max_chars=s.batch_max_chars,
        )  # fmt: skip


def build_translator(settings: TranslatorSettings) -> Translator:
    """Provider, fallback, rate limiter, batch sizer and prices from one settings object. Raises
    SettingUnavailable for a setting this process cannot honour (no API key, another glossary, another prompt
    version), ProviderError / ConfigError / GlossaryError for a bad one."""
    if settings.prompt_version != PROMPT_VERSION:
        raise SettingUnavailable(f"prompt version {settings.prompt_version}", f"this code has {PROMPT_VERSION}")
    game, glossary = GameInfo.from_mapping(dict(settings.game)), _glossary(settings)
    provider = _provider(settings, settings.provider, settings.model, game, glossary)
    fallback = None
    if settings.fallback_provider:
        fallback = _provider(settings, settings.fallback_provider, settings.fallback_model, game, glossary, "fallback ")
    limiter = None
    if settings.requests_per_minute or settings.tokens_per_minute:
        limiter = RateLimiter(settings.requests_per_minute, settings.tokens_per_minute)
    try:
        prices = PriceTable.from_settings(settings.prices)
    except ValueError as error:
        raise ConfigError(str(error)) from error
    return Translator(settings, provider, fallback, limiter, _sizer(settings), prices)


def _sizer(settings: TranslatorSettings) -> BatchSizer:
    """Dynamic batch size: starts at `batch_max_items` (the design's per-request limit, never exceeded) and
    moves within [min_batch_items, batch_max_items]: it shrinks after timeouts, truncation or misaligned
    replies and grows back after fast, clean ones (fast: under a tenth of the request timeout, slow: over
    half)."""
    low = min(settings.min_batch_items, settings.batch_max_items)
    timeout = settings.request_timeout
    return BatchSizer(low, settings.batch_max_items, start=settings.batch_max_items,
                      fast_seconds=timeout / 10, slow_seconds=timeout / 2)  # fmt: skip


def _glossary(settings: TranslatorSettings) -> Glossary | None:
    """The glossary file, which must still have the pinned hash; none when none is pinned."""
    if not settings.glossary_sha256:
        return None
    pinned = f"glossary sha256 {settings.glossary_sha256[:12]}"
    if not settings.glossary_file or not Path(settings.glossary_file).is_file():
        where = f"{settings.glossary_file} does not exist" if settings.glossary_file else "no glossary_file is set"
        raise SettingUnavailable(pinned, f"{where} in this process")
    now = glossary_sha256(settings.glossary_file)
    if now != settings.glossary_sha256:
        raise SettingUnavailable(pinned, f"{settings.glossary_file} now has sha256 {now[:12]}", "restore that file")
    return load_glossary(Path(settings.glossary_file))


def _provider(
    settings: TranslatorSettings, name: str, model: str, game: GameInfo, glossary: Glossary | None, role: str = ""
) -> TranslationProvider:
    """A provider by name; SettingUnavailable when its API key is missing, ProviderError / ConfigError else."""
    if name == "pseudo":
        return PseudoProvider(model)
    common = {"game": game, "glossary": glossary, "timeout": settings.request_timeout}
    try:  # the SDKs are imported on first use: together they take 2-3 s to import
        if name == "openai":
            from translation_pipeline.localization.translate.providers.openai_provider import OpenAIProvider

            return OpenAIProvider(model, base_url=settings.openai_base_url or None, **common)  # type: ignore[arg-type]
        if name == "qwen":
            from translation_pipeline.localization.translate.providers.qwen_provider import QwenProvider

            return QwenProvider(model, base_url=settings.dashscope_base_url or None, **common)  # type: ignore[arg-type]
    except ProviderError:
        variable = API_KEY_VARS[name]
        if not os.environ.get(variable):
            raise SettingUnavailable(f"{role}{describe(name, model)}", f"{variable} is not set in this process",
                                     "set it") from None  # fmt: skip
        raise
    raise ConfigError(f"provider must be one of pseudo, openai, qwen; got {name!r}")


@dataclass(frozen=True)
class Resolved:
    """The translator of one run and where its settings came from."""

    translator: Translator
    pinned_by: str  # "this run", "an earlier run" or "this run, switched from <provider (model)>"
    ignored: list[str]  # this process's text settings that differ from the pinned ones used instead


def resolve_translator(
    store: ProjectStore,
    key: str,
    current: TranslatorSettings,
    switch_provider: str = "",
    switch_model: str = "",
    switch_mode: str = "",
) -> Resolved:
    """The translator for workbook `key`: from its pinned settings, or (first run, or an explicit switch) from
    `current` with the switch applied, then pinned. A provider/model switch keeps the pinned lane unless
    `switch_mode` says otherwise; a lane switch alone keeps everything else pinned. Nothing is pinned unless the
    translator could be built. SettingUnavailable carries one line naming the workbook and the setting."""
    pinned = store.pinned_settings(key)
    if switch_mode and switch_mode not in MODES:
        raise ConfigError(f"switch_mode must be realtime or batch; got {switch_mode!r}")
    if switch_provider or switch_model or switch_mode:
        if switch_provider or switch_model:
            provider = switch_provider or str(pinned["provider"] if pinned else current.provider)
            wanted = current.switched(provider, switch_model)
        else:
            wanted = current.with_pinned(pinned) if pinned else current
        mode = switch_mode or str((pinned or {}).get("mode", wanted.mode))
        wanted = dataclasses.replace(wanted, mode=mode)
        translator = _build(wanted, key, "switching to")
        store.repin_settings(key, wanted.text_fields())
        before = ""
        if pinned:
            was = describe(str(pinned["provider"]), str(pinned["model"]))
            lane = str(pinned.get("mode", "realtime"))
            before = f", switched from {was}" + (f" on the {lane} lane" if lane != wanted.mode else "")
        return Resolved(translator, f"this run{before}", [])
    if pinned is None:
        translator = _build(current, key, "configured for")
        pinned = store.pin_settings(key, current.text_fields())
        if pinned == current.text_fields():
            return Resolved(translator, "this run", [])
        # another run of this workbook pinned other settings first: use those
    here = current.text_fields()
    ignored = [f"{name} {here[name]!r} (pinned: {pinned[name]!r})" for name in TEXT_FIELDS
               if name in pinned and pinned[name] != here[name]]  # fmt: skip
    return Resolved(_build(current.with_pinned(pinned), key, "pinned to"), "an earlier run", ignored)


def _build(settings: TranslatorSettings, key: str, verb: str) -> Translator:
    try:
        return build_translator(settings)
    except SettingUnavailable as error:
        fix = error.fix
        if verb == "pinned to":  # only an explicit switch moves a pinned workbook elsewhere
            fix = f"{fix}, or {SWITCH_HINT}" if fix else SWITCH_HINT
        raise SettingUnavailable(f"{key}: {verb} {error.setting}", error.problem, fix) from None
