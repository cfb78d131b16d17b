"""The one `Definitions` of the project."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from translation_pipeline.assets.export import translated_workbook
from translation_pipeline.assets.ingest import source_workbook
from translation_pipeline.assets.split import translation_tasks
from translation_pipeline.assets.translate import translations
from translation_pipeline.executor import in_process_executor
from translation_pipeline.resources.files import DataDirResource
from translation_pipeline.resources.io_manager import PlanPartsFilesystemIOManager
from translation_pipeline.resources.llm import TranslationResource
from translation_pipeline.resources.store import ProjectStoreResource
from translation_pipeline.schedules.cleanup import build_cleanup_schedule
from translation_pipeline.schedules.rerun_failed import build_rerun_schedule
from translation_pipeline.sensors.batch_jobs import build_batch_jobs_sensor
from translation_pipeline.sensors.drop_folder import workbook_drop_sensor
from translation_pipeline.sensors.inbox import INBOX
from translation_pipeline.settings import Settings, load_settings

ASSETS = [source_workbook, translation_tasks, translations, translated_workbook]

# one process per run: a step process of the multiprocess executor costs about 3 s to start here, longer than
# reading, splitting or exporting a typical workbook; runs are bounded by the run queue instead
translate_workbook_job = dg.define_asset_job(
    "translate_workbook_job",
    selection=dg.AssetSelection.assets(*ASSETS),
    description="Ingest, split, translate and export one workbook version.",
    executor_def=in_process_executor,
)


def build_resources(settings: Settings, environ: dict[str, str] | None = None) -> dict[str, object]:
    """Resources from settings; a value set by env var is passed as `EnvVar` so the UI shows its source."""
    env = os.environ if environ is None else environ

    def pick(var: str, value: object) -> object:
        if not env.get(var) or isinstance(value, float | bool):  # EnvVar has no float or bool form: those come parsed
            return value
        return dg.EnvVar.int(var) if isinstance(value, int) else dg.EnvVar(var)

    data_dir = str(settings.data_path.resolve())
    return {
        "data_dir": DataDirResource(data_dir=pick("TRANSLATION_DATA_DIR", data_dir)),
        "translation": TranslationResource(
            provider=pick("TRANSLATION_PROVIDER", settings.provider),
            model=pick("TRANSLATION_MODEL", settings.model),
            fallback_provider=pick("TRANSLATION_FALLBACK_PROVIDER", settings.fallback_provider),
            source_language=pick("TRANSLATION_SOURCE_LANGUAGE", settings.source_language),
            target_languages=pick("TRANSLATION_TARGET_LANGUAGES", settings.target_languages),
            concurrency=pick("TRANSLATION_CONCURRENCY", settings.concurrency),
            batch_max_items=pick("TRANSLATION_BATCH_MAX_ITEMS", settings.batch_max_items),
            batch_max_chars=pick("TRANSLATION_BATCH_MAX_CHARS", settings.batch_max_chars),
            max_attempts=pick("TRANSLATION_MAX_ATTEMPTS", settings.max_attempts),
            min_batch_items=pick("TRANSLATION_MIN_BATCH_ITEMS", settings.min_batch_items),
            request_timeout=pick("TRANSLATION_REQUEST_TIMEOUT", settings.request_timeout),
            requests_per_minute=pick("TRANSLATION_RPM", settings.requests_per_minute),
            tokens_per_minute=pick("TRANSLATION_TPM", settings.tokens_per_minute),
            backoff_base=pick("TRANSLATION_BACKOFF_BASE", settings.backoff_base),
            openai_base_url=settings.openai_base_url,
            dashscope_base_url=settings.dashscope_base_url,
            glossary_file=settings.glossary_file,
            game=settings.game,
            prices=settings.prices,
            language_aliases=settings.language_aliases,
            layouts=json.dumps(settings.layouts, ensure_ascii=False),
            priorities=settings.priorities,
            include_hidden_sheets=pick("TRANSLATION_INCLUDE_HIDDEN_SHEETS", settings.include_hidden_sheets),
            max_part_mb=pick("TRANSLATION_MAX_PART_MB", settings.max_part_mb),
            max_package_mb=pick("TRANSLATION_MAX_PACKAGE_MB", settings.max_package_mb),
            max_compression_ratio=pick("TRANSLATION_MAX_COMPRESSION_RATIO", settings.max_compression_ratio),
            mode=pick("TRANSLATION_MODE", settings.mode),
            batch_poll_seconds=pick("TRANSLATION_BATCH_POLL_SECONDS", settings.batch_poll_seconds),
            batch_retry_realtime_below=pick(
                "TRANSLATION_BATCH_RETRY_REALTIME_BELOW", settings.batch_retry_realtime_below
            ),
            batch_file_max_lines=pick("TRANSLATION_BATCH_FILE_MAX_LINES", settings.batch_file_max_lines),
            batch_file_max_mb=pick("TRANSLATION_BATCH_FILE_MAX_MB", settings.batch_file_max_mb),
            batch_window_hours=pick("TRANSLATION_BATCH_WINDOW_HOURS", settings.batch_window_hours),
        ),
        "store": ProjectStoreResource(db_url=pick("TRANSLATION_DB_URL", settings.db_url), data_dir=data_dir),
        # step outputs live in the data dir, next to the archive, so any machine that mounts it can resume
        "io_manager": PlanPartsFilesystemIOManager(base_dir=str(Path(data_dir) / "storage")),
    }


def build_definitions(environ: dict[str, str] | None = None) -> dg.Definitions:
    settings = load_settings(environ)
    return dg.Definitions(
        assets=[*ASSETS, INBOX],
        jobs=[translate_workbook_job],
        sensors=[workbook_drop_sensor, build_batch_jobs_sensor(settings.batch_poll_seconds)],
        schedules=[
            build_rerun_schedule(settings.rerun_cron, settings.rerun_max_attempts),
            build_cleanup_schedule(settings.retention_days),
        ],
        resources=build_resources(settings, environ),
        executor=in_process_executor,  # assets materialized from the UI or `dagster asset materialize` too
    )


defs = build_definitions()
