"""`source_workbook`: read and validate the archived workbook of a partition."""

import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from pydantic import Field

from translation_pipeline.assets.checks import SOURCE_CHECKS, source_checks
from translation_pipeline.assets.common import ASSET_DEFAULTS, markdown_rows
from translation_pipeline.hooks import records_failure
from translation_pipeline.localization.inbox.archive import ArchiveError, find_archived
from translation_pipeline.localization.read.languages import LanguageMatcher
from translation_pipeline.localization.read.layout import ExplicitLayout, parse_layouts
from translation_pipeline.localization.read.ledger import needs_attention, skipped_counts
from translation_pipeline.localization.read.report import layout_markdown, warning_summary
from translation_pipeline.localization.read.workbook import ParsedWorkbook, WorkbookError, read_workbook, to_translate
from translation_pipeline.localization.schemas import CellSchema, TableError, validated
from translation_pipeline.resources.files import DataDirResource
from translation_pipeline.resources.llm import TranslationResource


class LayoutConfig(dg.Config):
    """One sheet's layout, as in the YAML `layouts:` list (columns are letters, rows 1-based)."""

    file: str = "*"
    sheet: str = "*"
    header_rows: list[int] | None = None
    data_start: int | None = None
    key: str | None = None
    source: str | None = None
    source_language: str | None = None
    targets: dict[str, str] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)


class SourceWorkbookConfig(dg.Config):
    """Launchpad options: layouts that win over the configured ones and over detection."""

    layouts: list[LayoutConfig] = Field(default_factory=list)
    include_hidden_sheets: bool | None = None


@dg.asset(**ASSET_DEFAULTS, kinds={"excel", "pandas"}, code_version="2", check_specs=SOURCE_CHECKS)
@records_failure
def source_workbook(
    context: dg.AssetExecutionContext,
    config: SourceWorkbookConfig,
    data_dir: DataDirResource,
    translation: TranslationResource,
) -> Iterator[dg.Output[ParsedWorkbook] | dg.AssetCheckResult]:
    """Every (row, target language) cell of the sheets that hold a table, and the ledger of what is skipped;
    then its checks."""
    try:
        archived = find_archived(data_dir.archive, context.partition_key)
        layouts: list[ExplicitLayout] = [
            *parse_layouts([layout.model_dump(exclude_none=True) for layout in config.layouts]),
            *parse_layouts(json.loads(translation.layouts or "[]")),
        ]
        include_hidden = (
            translation.include_hidden_sheets if config.include_hidden_sheets is None else config.include_hidden_sheets
        )
        parsed = read_workbook(
            Path(archived.path),
            display_name=archived.original_name,
            source_language=translation.source_language,
            target_languages=translation.target_language_list,
            matcher=LanguageMatcher(translation.language_aliases),
            layouts=layouts,
            include_hidden=include_hidden,
            limits=translation.package_limits,
        )
    except (WorkbookError, ArchiveError, ValueError) as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    ledger = parsed.ledger
    if warning := warning_summary(archived.original_name, ledger):
        context.log.warning(warning)  # one event, however many columns or rows
    try:
        cells = validated(CellSchema, parsed.cells)
    except TableError as error:
        raise dg.Failure(description=f"{archived.original_name}: {error}", allow_retries=False) from None
    work = int(to_translate(cells).sum())
    yield dg.Output(
        parsed,
        metadata={
            "file": archived.original_name,
            "sha256": archived.sha256,
            "sheets_found": len(parsed.sheets),
            "sheets_used": len(parsed.used_sheets),
            "layout": dg.MetadataValue.md(layout_markdown(parsed.sheets)),
            "languages": ", ".join(
                sorted({c for s in parsed.used_sheets for c in [s.source_language, *s.target_columns] if c})
            ),
            "cells": len(cells),
            "cells_to_translate": work,
            "cells_already_filled": int(cells["target_filled"].sum()),
            "cells_skipped": int(ledger["count"].sum()),
            "skipped_by_reason": dg.MetadataValue.json(skipped_counts(ledger)),
            "skipped": dg.MetadataValue.md(
                markdown_rows(ledger, 50, "nothing skipped", "more entries (QA report, sheet `skipped`)")
            ),
            "needs_attention": needs_attention(ledger),
            "preview": dg.MetadataValue.md(cells.head(10).to_markdown(index=False)),
        },
    )
    yield from source_checks(parsed)
