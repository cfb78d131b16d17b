"""Project configuration: env vars (always win) over an optional YAML file over defaults.

The env var names are a public interface (see DESIGN.md section 4); keep them stable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from translation_pipeline.localization.read.limits import PackageLimits

# pseudo-v2: the output with CJK turned into syllables; a new name, so answers v1 stored are not reused
DEFAULT_MODELS = {"pseudo": "pseudo-v2", "openai": "gpt-4o-mini", "qwen": "qwen-plus"}

# env var -> settings field
ENV_VARS = {
    "TRANSLATION_PROVIDER": "provider",
    "TRANSLATION_MODEL": "model",
    "TRANSLATION_FALLBACK_PROVIDER": "fallback_provider",
    "TRANSLATION_DATA_DIR": "data_dir",
    "TRANSLATION_DB_URL": "db_url",
    "TRANSLATION_SOURCE_LANGUAGE": "source_language",
    "TRANSLATION_TARGET_LANGUAGES": "target_languages",
    "TRANSLATION_CONCURRENCY": "concurrency",
    "TRANSLATION_BATCH_MAX_ITEMS": "batch_max_items",
    "TRANSLATION_BATCH_MAX_CHARS": "batch_max_chars",
    "TRANSLATION_MAX_ATTEMPTS": "max_attempts",
    "TRANSLATION_MIN_BATCH_ITEMS": "min_batch_items",
    "TRANSLATION_REQUEST_TIMEOUT": "request_timeout",
    "TRANSLATION_RPM": "requests_per_minute",
    "TRANSLATION_TPM": "tokens_per_minute",
    "TRANSLATION_BACKOFF_BASE": "backoff_base",
    "TRANSLATION_RERUN_CRON": "rerun_cron",
    "TRANSLATION_RERUN_MAX_ATTEMPTS": "rerun_max_attempts",
    "TRANSLATION_RETENTION_DAYS": "retention_days",
    "TRANSLATION_INCLUDE_HIDDEN_SHEETS": "include_hidden_sheets",
    "TRANSLATION_MAX_PART_MB": "max_part_mb",
    "TRANSLATION_MAX_PACKAGE_MB": "max_package_mb",
    "TRANSLATION_MAX_COMPRESSION_RATIO": "max_compression_ratio",
    "TRANSLATION_MODE": "mode",
    "TRANSLATION_BATCH_POLL_SECONDS": "batch_poll_seconds",
    "TRANSLATION_BATCH_RETRY_REALTIME_BELOW": "batch_retry_realtime_below",
    "TRANSLATION_BATCH_FILE_MAX_LINES": "batch_file_max_lines",
    "TRANSLATION_BATCH_FILE_MAX_MB": "batch_file_max_mb",
    "TRANSLATION_BATCH_WINDOW_HOURS": "batch_window_hours",
    "TRANSLATION_RETRANSLATE_STALE": "retranslate_stale",
}


class ConfigError(ValueError):
    """The configuration is invalid; the message says which setting and why."""


@dataclass(frozen=True)
class Settings:
    provider: str = "pseudo"
    model: str = ""
    fallback_provider: str = ""
    data_dir: str = "./data"
    db_url: str = ""
    source_language: str = "auto"
    target_languages: str = ""
    concurrency: int = 8
    batch_max_items: int = 40
    batch_max_chars: int = 6000
    max_attempts: int = 4
    min_batch_items: int = 5  # dynamic batch size floor; batch_max_items is the ceiling and the start
    request_timeout: float = 60.0  # seconds per LLM request
    requests_per_minute: int = 0  # client-side limits, 0 = unlimited
    tokens_per_minute: int = 0
    backoff_base: float = 0.5  # seconds before the first transport retry, doubled per retry
    openai_base_url: str = ""  # empty: the SDK's default or OPENAI_BASE_URL
    dashscope_base_url: str = ""  # empty: the SDK's default or DASHSCOPE_HTTP_BASE_URL
    rerun_cron: str = "0 * * * *"
    rerun_max_attempts: int = 3
    retention_days: int = 30
    include_hidden_sheets: bool = False  # hidden and very hidden sheets are reported, not translated, by default
    # a workbook package over these is refused before any request (read/limits.py)
    max_part_mb: int = 1024  # one part, unpacked
    max_package_mb: int = 4096  # all parts, unpacked
    max_compression_ratio: int = 200  # unpacked : packed, for a part of 16 MiB or more
    # the batch lane (localization/translate/batch): the providers' Batch APIs at half price
    mode: str = "realtime"  # or batch
    batch_poll_seconds: float = 60.0  # how often a waiting `translate` asks the provider
    batch_retry_realtime_below: int = 50  # fewer items than this to send again: realtime, not another job
    batch_file_max_lines: int = 50_000  # requests per input file (the providers' limit)
    batch_file_max_mb: int = 200  # MB per input file (the providers' limit)
    batch_window_hours: float = 24.0  # a job not finished this long after creation is treated as expired
    # versions (localization/versions): our text whose source changed since is translated again and overwritten
    retranslate_stale: bool = True
    # YAML-only settings
    game: dict[str, str] = field(default_factory=dict)
    glossary_file: str = ""
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    language_aliases: dict[str, str] = field(default_factory=dict)
    max_length_defaults: dict[str, int] = field(default_factory=dict)  # sheet name -> max length
    layouts: list[dict[str, Any]] = field(default_factory=list)  # explicit sheet layouts (read/layout.py)
    priorities: dict[str, int] = field(default_factory=dict)  # file-name glob -> `dagster/priority` of its run
    lineages: dict[str, str] = field(default_factory=dict)  # file-name glob -> lineage (versions of one workbook)

    @property
    def model_name(self) -> str:
        return self.model or DEFAULT_MODELS.get(self.provider, "")

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def target_language_list(self) -> list[str]:
        return [t.strip() for t in self.target_languages.split(",") if t.strip()]

    @property
    def package_limits(self) -> PackageLimits:
        return PackageLimits.from_megabytes(self.max_part_mb, self.max_package_mb, self.max_compression_ratio)


# settings where 0 is meaningful (unlimited, no wait)
ZERO_ALLOWED = {"requests_per_minute", "tokens_per_minute", "backoff_base", "batch_retry_realtime_below"}
MODES = ("realtime", "batch")


def _coerce(name: str, value: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"setting {name!r} must be true or false, got {value!r}")
    if kind not in (int, float):
        return value
    try:
        number = kind(value)
    except (TypeError, ValueError):
        article = "an integer" if kind is int else "a number"
        raise ConfigError(f"setting {name!r} must be {article}, got {value!r}") from None
    if name in ZERO_ALLOWED:
        if number < 0:
            raise ConfigError(f"setting {name!r} must be 0 or more, got {number}")
    elif kind is float and number <= 0:
        raise ConfigError(f"setting {name!r} must be more than 0, got {number}")
    elif kind is int and number < 1:
        raise ConfigError(f"setting {name!r} must be at least 1, got {number}")
    return number


def _priorities(value: Any) -> dict[str, int]:
    """`priorities` as {glob: whole number}; a higher number runs first, negative ones after the rest."""
    if not isinstance(value, dict):
        raise ConfigError("setting 'priorities' must map file-name patterns to whole numbers")
    checked = {}
    for pattern, priority in value.items():
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise ConfigError(f"setting 'priorities.{pattern}' must be a whole number, got {priority!r}")
        checked[str(pattern)] = priority
    return checked


def _lineages(value: Any) -> dict[str, str]:
    """`lineages` as {file-name glob: lineage name}: the files it matches are versions of one workbook."""
    if not isinstance(value, dict) or not all(isinstance(name, str) and name.strip() for name in value.values()):
        raise ConfigError("setting 'lineages' must map file-name patterns to lineage names, e.g. "
                          "{\"strings_v*.xlsx\": strings}")  # fmt: skip
    return {str(pattern): name.strip() for pattern, name in value.items()}


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from `TRANSLATION_CONFIG` (or ./translation_pipeline.yaml) and the environment."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_path = env.get("TRANSLATION_CONFIG") or "translation_pipeline.yaml"
    path = Path(config_path)
    if path.is_file():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        values.update(loaded)
    elif env.get("TRANSLATION_CONFIG"):
        raise ConfigError(f"TRANSLATION_CONFIG points to {config_path}, which does not exist")
    for var, name in ENV_VARS.items():
        if env.get(var, "") != "":
            values[name] = env[var]
    known = {f.name: f for f in fields(Settings)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(unknown)}")
    kinds = {name: kind for name, f in known.items() for kind in (bool, int, float) if f.type in (kind, kind.__name__)}
    coerced = {k: _coerce(k, v, kinds.get(k, object)) for k, v in values.items()}
    if "max_length_defaults" in coerced:
        defaults = coerced["max_length_defaults"]
        if not isinstance(defaults, dict):
            raise ConfigError("setting 'max_length_defaults' must map sheet names to lengths")
        coerced["max_length_defaults"] = {
            str(sheet): _coerce(f"max_length_defaults.{sheet}", length, int) for sheet, length in defaults.items()
        }
    if "priorities" in coerced:
        coerced["priorities"] = _priorities(coerced["priorities"])
    if "lineages" in coerced:
        coerced["lineages"] = _lineages(coerced["lineages"])
    if "layouts" in coerced:
        from translation_pipeline.localization.read.layout import parse_layouts

        try:
            parse_layouts(coerced["layouts"])  # checked here, so a bad layout fails at start, naming the entry
        except ValueError as error:
            raise ConfigError(str(error)) from None
    settings = Settings(**coerced)
    if settings.provider not in DEFAULT_MODELS:
        raise ConfigError(f"TRANSLATION_PROVIDER must be one of pseudo, openai, qwen; got {settings.provider!r}")
    if settings.mode not in MODES:
        raise ConfigError(f"TRANSLATION_MODE must be realtime or batch; got {settings.mode!r}")
    return settings
