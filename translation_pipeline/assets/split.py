"""`translation_tasks`: what to translate, deduplicated, cut into request batches."""

import dataclasses

import dagster as dg

from translation_pipeline.assets.common import ASSET_DEFAULTS
from translation_pipeline.localization.plan.tasks import TaskPlan, plan_tasks
from translation_pipeline.localization.read.report import layout_table
from translation_pipeline.localization.read.workbook import ParsedWorkbook
from translation_pipeline.localization.schemas import TableError
from translation_pipeline.resources.llm import TranslationResource


@dg.asset(**ASSET_DEFAULTS, kinds={"pandas"}, code_version="1")
def translation_tasks(
    context: dg.AssetExecutionContext, source_workbook: ParsedWorkbook, translation: TranslationResource
) -> dg.Output[TaskPlan]:
    """One task per (source text, target language) to fill; identical strings are translated once. The plan
    carries the skip ledger on to export and the QA report."""
    try:
        plan = plan_tasks(source_workbook.cells, translation.batch_max_items, translation.batch_max_chars)
    except TableError as error:
        raise dg.Failure(description=f"{context.partition_key}: {error}", allow_retries=False) from None
    plan = dataclasses.replace(plan, skipped=source_workbook.ledger, layout=layout_table(source_workbook.sheets))
    per_language = plan.tasks.groupby("target_language").size().to_dict()
    return dg.Output(
        plan,
        metadata={
            "cells_to_fill": len(plan.assignments),
            "tasks_after_dedupe": len(plan.tasks),
            "duplicates_saved": len(plan.assignments) - len(plan.tasks),
            "batches": plan.batch_count,
            "tasks_per_language": dg.MetadataValue.json({k: int(v) for k, v in per_language.items()}),
            "source_characters": int(plan.tasks["source_text"].str.len().sum()) if len(plan.tasks) else 0,
            "preview": dg.MetadataValue.md(plan.tasks.head(10).to_markdown(index=False)),
        },
    )
