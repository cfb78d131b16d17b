"""QA report: one row per target cell the run was asked to fill, with its outcome and rule findings.

Findings warn; they never block export of the good cells.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from translation_pipeline.localization.placeholders import placeholder_problems

REPORT_COLUMNS = [
    "sheet", "cell", "key", "language", "source", "translation", "status", "rule", "detail",
]  # fmt: skip


def cell_outcomes(assignments: pd.DataFrame, tasks: pd.DataFrame, translations: pd.DataFrame) -> pd.DataFrame:
    """Per assigned cell: its task's source, translation, status and failure reason."""
    merged = assignments.merge(tasks, on="task_id", how="left").merge(translations, on="task_id", how="left")
    return merged.rename(columns={"target_cell": "cell", "target_language": "language", "source_text": "source"})


def findings(outcomes: pd.DataFrame, not_written: dict[tuple[str, str], str]) -> pd.DataFrame:
    """QA findings, a row each: failed cells, cells not written, lost placeholders, over-long text."""
    rows: list[tuple] = []
    for row in outcomes.itertuples(index=False):
        base = (row.sheet, row.cell, row.key, row.language, row.source)
        if row.status != "translated":
            rows.append((*base, None, "failed", "translation", row.error))
            continue
        if (row.sheet, row.cell) in not_written:
            rows.append((*base, row.text, "not written", "export", not_written[(row.sheet, row.cell)]))
        if problem := placeholder_problems(row.source, row.text):
            rows.append((*base, row.text, "warning", "placeholders", problem))
        if not pd.isna(row.max_length) and len(row.text) > int(row.max_length):
            detail = f"{len(row.text)} characters, max {int(row.max_length)}"
            rows.append((*base, row.text, "warning", "max_length", detail))
        if row.text.strip() == row.source.strip():
            rows.append((*base, row.text, "warning", "untranslated", "translation equals the source"))
    return pd.DataFrame.from_records(rows, columns=REPORT_COLUMNS)


def write_report(path: Path, outcomes: pd.DataFrame, issues: pd.DataFrame) -> None:
    """An .xlsx a reviewer can filter: `findings` (problems only) and `cells` (every filled cell)."""
    cells = outcomes[["sheet", "cell", "key", "language", "source", "text", "status", "error", "origin"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in (("findings", issues), ("cells", cells.rename(columns={"text": "translation"}))):
            frame.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            sheet.auto_filter.ref = sheet.dimensions
            sheet.freeze_panes = "A2"
