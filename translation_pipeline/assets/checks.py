"""Asset checks, non-blocking warnings shown per partition in the UI.

- `source_workbook`: `cell_schema` (pandera CellSchema), `skipped_text` (the skip ledger: fails, as a warning,
  when text is left for a column of unknown or ambiguous language);
- `translation_tasks`: `task_schema` (pandera TaskSchema and AssignmentSchema, every cell's task exists);
- `translated_workbook`: `coverage`, `placeholders`, `max_length`, `glossary`, `untranslated`, `whitespace`
  (whitespace and line breaks) and `unsafe_text` (formula-like text, removed control characters), from the
  findings and summary tables the asset has just written into its QA report, so the UI and the report always
  agree without reading the report back (rules: `localization/qa.py`).

Each asset declares its checks (`check_specs`) and yields their results after its output, in its own step: a
check costs no step, no events of a step and no reload of the output it checks. The checks are partitioned like
their assets, so a run of one workbook checks that workbook only. A translated_workbook that failed (cells could
not be translated) has no output to check: its QA report is still written.

Each evaluation names the partition and the materialization it checked, so the UI's status of a check is per
partition and of its latest materialization: after a failed run (checks that could not run show "execution
failed") a successful one shows that partition's checks passing, whatever other partitions show
(tests/test_inbox_states.py).
"""

from __future__ import annotations

import warnings

import dagster as dg
import pandas as pd
import pandera.errors
import pandera.pandas as pa

from translation_pipeline.localization.plan.tasks import TaskPlan
from translation_pipeline.localization.read.ledger import needs_attention, skipped_counts
from translation_pipeline.localization.read.workbook import ParsedWorkbook
from translation_pipeline.localization.schemas import AssignmentSchema, CellSchema, TaskSchema
from translation_pipeline.partitions import workbooks

SAMPLE_ROWS = 10
SAMPLE_COLUMNS = ["sheet", "cell", "key", "language", "source", "translation", "rule", "detail"]
WARN = dg.AssetCheckSeverity.WARN
# check name -> (QA rules it covers, description)
RULE_CHECKS: dict[str, tuple[tuple[str, ...], str]] = {
    "placeholders": (("placeholders",), "Placeholders and tags of the source are kept."),
    "max_length": (("max_length",), "Translations fit the row's max length or the sheet default."),
    "glossary": (("glossary",), "Glossary terms of the source are used in the translation."),
    "untranslated": (("untranslated",), "No translation equals its source, keeps its script or lacks the target's."),
    "whitespace": (("whitespace", "line_breaks"), "Leading/trailing whitespace and line breaks are kept."),
    "unsafe_text": (("formula_like", "control_characters"), "No formula-like text or control characters."),
}


def _markdown(frame: pd.DataFrame) -> dg.MetadataValue:
    """The first rows of `frame` as a markdown table (newlines and pipes escaped)."""
    sample = frame.head(SAMPLE_ROWS).astype(str)
    sample = sample.apply(lambda column: column.str.replace("\n", "\\n").str.replace("|", "\\|"))
    return dg.MetadataValue.md(sample.to_markdown(index=False) if len(sample) else "none")


def _schema_result(name: str, tables: dict[str, tuple[pa.DataFrameSchema, pd.DataFrame]]) -> dg.AssetCheckResult:
    failures = []
    for table, (schema, frame) in tables.items():
        try:
            schema.validate(frame, lazy=True)
        except pandera.errors.SchemaErrors as errors:
            failures.append(errors.failure_cases.assign(table=table))
    cases = pd.concat(failures) if failures else pd.DataFrame()
    return dg.AssetCheckResult(
        check_name=name, passed=cases.empty, severity=WARN, metadata={"count": len(cases), "sample": _markdown(cases)}
    )


def _spec(name: str, asset: str, description: str) -> dg.AssetCheckSpec:
    with warnings.catch_warnings():  # partitioned checks are a preview feature in Dagster 1.13
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(name, asset=asset, description=description, partitions_def=workbooks)


SOURCE_CHECKS = [
    _spec("cell_schema", "source_workbook", "The cell table matches the pandera CellSchema."),
    _spec(
        "skipped_text",
        "source_workbook",
        "No text is left for a column whose language is unknown or ambiguous (the workbook needs attention); "
        "every other skip is listed too, with its reason.",
    ),
]
TASK_CHECKS = [
    _spec(
        "task_schema",
        "translation_tasks",
        "Tasks and assignments match their pandera schemas; every assigned cell has its task.",
    )
]
EXPORT_CHECKS = [
    _spec("coverage", "translated_workbook", "Every target cell to fill was filled."),
    *(_spec(name, "translated_workbook", text) for name, (_, text) in RULE_CHECKS.items()),
]


def source_checks(source_workbook: ParsedWorkbook) -> list[dg.AssetCheckResult]:
    """`cell_schema` and `skipped_text` of a read workbook."""
    ledger = source_workbook.ledger
    return [
        _schema_result("cell_schema", {"cells": (CellSchema, source_workbook.cells)}),
        dg.AssetCheckResult(
            check_name="skipped_text",
            passed=not needs_attention(ledger),
            severity=WARN,
            metadata={
                "cells_skipped": int(ledger["count"].sum()),
                "by_reason": dg.MetadataValue.json(skipped_counts(ledger)),
                "sample": _markdown(ledger),
            },
        ),
    ]


def task_checks(translation_tasks: TaskPlan) -> list[dg.AssetCheckResult]:
    """`task_schema` of a plan."""
    tasks, assignments = translation_tasks.tasks, translation_tasks.assignments
    tables = {"tasks": (TaskSchema, tasks), "assignments": (AssignmentSchema, assignments)}
    result = _schema_result("task_schema", tables)
    orphans = assignments[~assignments["task_id"].isin(tasks["task_id"])]
    return [
        dg.AssetCheckResult(
            check_name="task_schema",
            passed=result.passed and orphans.empty,
            severity=WARN,
            metadata={**result.metadata, "cells_without_task": len(orphans)},
        )
    ]


def export_checks(issues: pd.DataFrame, summary: pd.DataFrame) -> list[dg.AssetCheckResult]:
    """The QA report's findings, one check per rule group, and the coverage per sheet and language."""
    to_fill, filled = int(summary["to_fill"].sum()), int(summary["filled"].sum())
    results = [
        dg.AssetCheckResult(
            check_name="coverage",
            passed=filled == to_fill,
            severity=WARN,
            metadata={
                "count": to_fill - filled,
                "coverage": filled / to_fill if to_fill else 1.0,
                "per_sheet_and_language": _markdown(
                    summary[["sheet", "language", "to_fill", "filled", "failed", "not_written", "coverage"]]
                ),
            },
        )
    ]
    for name, (rules, _) in RULE_CHECKS.items():
        hits = issues[issues["rule"].isin(rules)]
        results.append(
            dg.AssetCheckResult(
                check_name=name,
                passed=hits.empty,
                severity=WARN,
                metadata={"count": len(hits), "sample": _markdown(hits[SAMPLE_COLUMNS])},
            )
        )
    return results
