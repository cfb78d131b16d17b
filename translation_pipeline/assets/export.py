"""`translated_workbook`: the filled copy of the original, and the QA report beside it; in a new version of a
workbook, stale machine text overwritten (never a reviewer's), and what each cell now holds recorded for the next
version (`localization/versions`)."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd

from translation_pipeline.assets.checks import EXPORT_CHECKS, export_checks
from translation_pipeline.assets.common import ASSET_DEFAULTS, made_earlier, markdown_rows
from translation_pipeline.hooks import records_failure
from translation_pipeline.localization.check.glossary import Glossary, GlossaryError, load_glossary
from translation_pipeline.localization.check.qa import (
    findings,
    skipped_table,
    summarize,
    translated_cells,
    with_tasks,
    with_translations,
    write_report,
)
from translation_pipeline.localization.frames import chunked_row_values
from translation_pipeline.localization.inbox.archive import find_archived
from translation_pipeline.localization.plan.tasks import TaskPlan, unpacked
from translation_pipeline.localization.read.ledger import needs_attention, skipped_counts
from translation_pipeline.localization.refs import cell_ref, cell_refs, code_of
from translation_pipeline.localization.versions.plan import WrittenCells, record_version, version_report
from translation_pipeline.localization.write.export import CellFill, export_workbook, written_text
from translation_pipeline.resources.files import DataDirResource
from translation_pipeline.resources.io_manager import Stored, stored_in
from translation_pipeline.resources.store import ProjectStoreResource
from translation_pipeline.settings import load_settings


def _glossary(context: dg.AssetExecutionContext, glossary_file: str) -> Glossary | None:
    """The configured glossary; a broken one is logged and only skips the glossary rule."""
    if not glossary_file:
        return None
    try:
        return load_glossary(Path(glossary_file))
    except GlossaryError as error:
        context.log.warning(f"QA without glossary: {error}")
        return None


MORE = "more (QA report)"


def _version_metadata(report) -> dict[str, object]:
    """The version figures (`version_*`), one line of them, and the first re-translated and needing-review cells
    (their own labels: `version_retranslated` is the count)."""
    summary = report.summary
    kept = ("lineage", "version", "previous_version")
    return {
        **{name: summary[name] or "none" for name in kept},
        **{f"version_{name}": int(value) for name, value in summary.items() if name not in kept},
        "version_summary": report.line(),
        "retranslated_cells": dg.MetadataValue.md(markdown_rows(report.retranslated, 20, "none", MORE)),
        "needs_review_cells": dg.MetadataValue.md(markdown_rows(report.needs_review, 20, "none", MORE)),
    }


# ins: the plan without its tasks' prompt contexts, which only `translations` reads; both taken, and let go of once
# merged into the cells' outcomes (resources/io_manager.py)
@dg.asset(
    **ASSET_DEFAULTS, kinds={"excel"}, code_version="2", check_specs=EXPORT_CHECKS,
    ins={"translation_tasks": stored_in(plan_without=["contexts"]), "translations": stored_in()},
)  # fmt: skip
@records_failure
def translated_workbook(
    context: dg.AssetExecutionContext,
    translation_tasks: Stored[TaskPlan],
    translations: Stored[pd.DataFrame],
    data_dir: DataDirResource,
    store: ProjectStoreResource,
) -> Iterator[dg.Output[dict] | dg.AssetCheckResult]:
    """Writes every translated cell and the QA report (findings warn, never block a cell); fails after
    writing when some cells could not be translated, so the partition shows as failed and the rerun
    schedule picks it up."""
    archived = find_archived(data_dir.archive, context.partition_key)
    plan = translation_tasks.take()
    if not pd.api.types.is_integer_dtype(plan.assignments["target_cell"]):  # stored before cells were codes (refs.py)
        raise made_earlier(context.partition_key, "plan")
    # the version stays packed until the cells' outcomes are gone (`TaskPlan.versions`)
    packed, stale, ledger, layout = plan.versions, plan.stale_cells(), plan.skipped, plan.layout
    cells = with_tasks(plan.assignments, plan.tasks)
    del plan  # with its tasks: what the export needs of them is in `cells`, before the translations are loaded
    outcomes = with_translations(cells, translations.take())  # and let go of there, once taken
    del cells
    done = translated_cells(outcomes)
    # each cell's A1 reference made as its fill is written, not held (refs.py)
    cells = chunked_row_values(done, "sheet", "cell", "text")  # a chunk at a time: no list of every cell per column
    fills = (CellFill(s, cell_ref(c), t, (s, c) in stale) for s, c, t in cells)
    folder = data_dir.outbox / context.partition_key
    output = folder / archived.output_name
    summary = export_workbook(Path(archived.path), output, fills)  # a generator: no list of fills held after
    settings = load_settings()  # YAML-only QA settings: max length defaults, glossary file
    not_written = {(sheet, code_of(cell)): reason for sheet, cell, reason in summary.skipped}
    issues = findings(
        outcomes,
        not_written,
        max_length_defaults=settings.max_length_defaults,
        glossary=_glossary(context, settings.glossary_file),
    )
    qa_summary = summarize(outcomes, issues)
    report = folder / archived.qa_report_name
    skipped = skipped_table(ledger, outcomes, not_written)
    # the version with what each cell now holds, for the next version of the lineage
    written = None if packed is None else WrittenCells.of_columns(
        done["sheet"], done["cell"], done["text"], written_text, not_written.keys()
    )  # fmt: skip
    to_fill, failed = len(outcomes), int((outcomes["status"] != "translated").sum())
    preview = done[["sheet", "cell", "language", "source", "text"]].head(10)
    preview = preview.assign(cell=cell_refs(preview["cell"].tolist())).to_markdown(index=False)
    del outcomes, done  # a row per cell: gone before the version is unpacked and recorded
    versions = None
    if written is not None:
        version = unpacked(packed)
        del packed
        record_version(store.get_store(), version, written)
        versions = version_report(version, written)
    write_report(report, issues, qa_summary, skipped, layout, versions)
    metadata = {
        "output_path": dg.MetadataValue.path(str(output)),
        "qa_report": dg.MetadataValue.path(str(report)),
        "cells_to_fill": to_fill,
        "cells_written": summary.written,
        "cells_failed": failed,
        "cells_not_written": len(summary.skipped),
        "qa_findings": len(issues),
        "qa_findings_by_rule": dg.MetadataValue.json(
            {rule: int(count) for rule, count in issues.groupby("rule").size().items()}
        ),
        "qa_summary": dg.MetadataValue.md(qa_summary.to_markdown(index=False)),
        "cells_cleaned": summary.cleaned,
        "cells_skipped": int(skipped["count"].sum()),
        "skipped_by_reason": dg.MetadataValue.json(skipped_counts(skipped)),
        "needs_attention": needs_attention(skipped),
        "preview": dg.MetadataValue.md(preview),
        **(_version_metadata(versions) if versions is not None else {}),
    }
    context.log.info(f"wrote {summary.written} cells to {output}")
    if failed:
        raise dg.Failure(
            description=f"{archived.original_name}: {failed} of {to_fill} cells could not be "
            "translated; "
            f"the {summary.written} translated cells are in {output}, the reasons in {report}",
            metadata=metadata,
        )
    yield dg.Output(
        {"output_path": str(output), "qa_report": str(report), "written": summary.written}, metadata=metadata
    )
    yield from export_checks(issues, qa_summary)
