"""`source_workbook`: read and validate the archived workbook of a partition."""

from pathlib import Path

import dagster as dg
import pandas as pd

from translation_pipeline.localization.inbox.archive import ArchiveError, find_archived
from translation_pipeline.localization.read.languages import LanguageMatcher
from translation_pipeline.localization.read.workbook import WorkbookError, read_workbook
from translation_pipeline.localization.schemas import CellSchema
from translation_pipeline.partitions import workbooks
from translation_pipeline.resources.files import DataDirResource
from translation_pipeline.resources.llm import TranslationResource


@dg.asset(partitions_def=workbooks, group_name="localization", kinds={"excel", "pandas"})
def source_workbook(
    context: dg.AssetExecutionContext, data_dir: DataDirResource, translation: TranslationResource
) -> dg.Output[pd.DataFrame]:
    """Every (row, target language) cell of the sheets that have a source and a target column."""
    try:
        archived = find_archived(data_dir.archive, context.partition_key)
        parsed = read_workbook(
            Path(archived.path),
            display_name=archived.original_name,
            source_language=translation.source_language,
            target_languages=translation.target_language_list,
            matcher=LanguageMatcher(translation.language_aliases),
        )
    except (WorkbookError, ArchiveError) as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    warnings = [warning for layout in parsed.sheets for warning in layout.warnings]
    for warning in warnings:
        context.log.warning(f"{archived.original_name}: {warning}")
    cells = CellSchema.validate(parsed.cells)
    to_translate = int(((~cells["target_filled"]) & (cells["source_kind"] == "text")).sum())
    sheets = {
        layout.sheet: (
            f"skipped: {layout.skipped}"
            if layout.skipped
            else f"header row {layout.header_row}, source {layout.source_language} ({layout.source_column}), "
            f"targets {', '.join(f'{k} ({v})' for k, v in layout.target_columns.items())}, "
            f"{layout.data_rows} rows"
        )
        for layout in parsed.sheets
    }
    return dg.Output(
        cells,
        metadata={
            "file": archived.original_name,
            "sha256": archived.sha256,
            "sheets_found": len(parsed.sheets),
            "sheets_used": len(parsed.used_sheets),
            "sheets": dg.MetadataValue.json(sheets),
            "languages": ", ".join(
                sorted({c for s in parsed.used_sheets for c in [s.source_language, *s.target_columns]})
            ),
            "cells": len(cells),
            "cells_to_translate": to_translate,
            "cells_already_filled": int(cells["target_filled"].sum()),
            "warnings": dg.MetadataValue.md("\n".join(f"- {w}" for w in warnings) or "none"),
            "preview": dg.MetadataValue.md(cells.head(10).to_markdown(index=False)),
        },
    )
