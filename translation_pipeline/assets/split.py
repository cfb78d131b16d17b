"""`translation_tasks`: what to translate, deduplicated, cut into request batches; in a new version of a
workbook (same lineage), also its stale machine text, never its reviewers' text (`localization/versions`)."""

import dataclasses
from collections.abc import Iterator

import dagster as dg
import pandas as pd

from translation_pipeline.assets.checks import TASK_CHECKS, task_checks
from translation_pipeline.assets.common import ASSET_DEFAULTS, made_earlier
from translation_pipeline.hooks import records_failure
from translation_pipeline.localization.inbox.archive import find_archived
from translation_pipeline.localization.plan.tasks import TaskPlan, plan_work, tasks_with_contexts, work_cells
from translation_pipeline.localization.read.report import layout_table
from translation_pipeline.localization.read.workbook import ParsedWorkbook
from translation_pipeline.localization.schemas import TableError
from translation_pipeline.localization.versions.classify import STATUSES
from translation_pipeline.localization.versions.lineage import lineage_of
from translation_pipeline.localization.versions.plan import plan_version
from translation_pipeline.resources.compact_pickle import Packed
from translation_pipeline.resources.files import DataDirResource
from translation_pipeline.resources.io_manager import Stored, stored_in
from translation_pipeline.resources.llm import TranslationResource
from translation_pipeline.resources.store import ProjectStoreResource
from translation_pipeline.settings import load_settings


def _preview(plan: TaskPlan) -> pd.DataFrame:
    """The plan's first ten tasks, with their prompt contexts."""
    head = plan.tasks.head(10).copy()
    if plan.contexts is None:
        return head
    return tasks_with_contexts(head, plan.contexts[plan.contexts["task_id"].isin(head["task_id"])])


# the cell table is taken, and let go of once planned: not held while the plan is stored (resources/io_manager.py)
@dg.asset(
    **ASSET_DEFAULTS, kinds={"pandas"}, code_version="4", check_specs=TASK_CHECKS,
    ins={"source_workbook": stored_in()},
)  # fmt: skip
@records_failure
def translation_tasks(
    context: dg.AssetExecutionContext,
    source_workbook: Stored[ParsedWorkbook],
    translation: TranslationResource,
    data_dir: DataDirResource,
    store: ProjectStoreResource,
) -> Iterator[dg.Output[TaskPlan] | dg.AssetCheckResult]:
    """One task per (source text, target language) to fill; identical strings are translated once. The plan
    carries the skip ledger, and the version's classified cells, on to export and the QA report."""
    key = context.partition_key
    settings = load_settings()  # YAML-only `lineages`; retranslate_stale
    archived = find_archived(data_dir.archive, key)
    lineage = lineage_of(archived.original_name, settings.lineages)
    parsed = source_workbook.take()
    if not pd.api.types.is_integer_dtype(parsed.cells["target_cell"]):  # stored before cells were codes (refs.py)
        raise made_earlier(key, "cell table")
    try:
        version = plan_version(store.get_store(), lineage, key, archived.original_name, parsed.cells,
                               retranslate_stale=settings.retranslate_stale)  # fmt: skip
        stale = frozenset(version.stale)
        work = work_cells(parsed.cells, also=stale)
        skipped, layout = parsed.ledger, layout_table(parsed.sheets)
        # the cell table (13 columns of a pointer per cell) is not held while the tasks and their prompt contexts
        # are made and the plan is stored: 1,000,000 rows of two targets, making the plan peaked 60 MiB lower
        del parsed
        statuses = version.classified["status"].value_counts()
        if version.previous_key:
            counts = ", ".join(f"{statuses.get(s, 0)} {s}" for s in STATUSES if statuses.get(s, 0))
            context.log.info(f"{key}: version {version.number} of {lineage!r}, "
                             f"compared with {version.previous_key}: {counts}")  # fmt: skip
        # nor is the version's classified table (2 million cells: 22 MB packed); only the export's last phase reads it
        previous_key, packed = version.previous_key, Packed(version.for_export())
        del version
        plan = plan_work(work, translation.batch_max_items, translation.batch_max_chars)
    except TableError as error:
        raise dg.Failure(description=f"{key}: {error}", allow_retries=False) from None
    del work
    plan = dataclasses.replace(plan, skipped=skipped, layout=layout, versions=packed, overwrite=stale)
    per_language = plan.tasks.groupby("target_language").size().to_dict()
    yield dg.Output(
        plan,
        metadata={
            "cells_to_fill": len(plan.assignments),
            "tasks_after_dedupe": len(plan.tasks),
            "duplicates_saved": len(plan.assignments) - len(plan.tasks),
            "batches": plan.batch_count,
            "lineage": lineage,
            "previous_version": previous_key or "none",
            "cells_by_version_status": dg.MetadataValue.json({s: int(statuses.get(s, 0)) for s in STATUSES}),
            "tasks_per_language": dg.MetadataValue.json({k: int(v) for k, v in per_language.items()}),
            "source_characters": int(plan.tasks["source_text"].str.len().sum()) if len(plan.tasks) else 0,
            "preview": dg.MetadataValue.md(_preview(plan).to_markdown(index=False)),
        },
    )
    yield from task_checks(plan)
