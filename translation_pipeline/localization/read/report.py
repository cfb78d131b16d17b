"""What reading found, for a person: the layout table (`inspect`, the UI's metadata), the skip summary."""

from __future__ import annotations

import pandas as pd

from translation_pipeline.localization.read.layout import SheetLayout
from translation_pipeline.localization.read.ledger import ATTENTION_CODES
from translation_pipeline.localization.read.workbook import to_translate

EXAMPLES = 3  # entries named in the one aggregated warning


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def layout_rows(sheets: list[SheetLayout]) -> list[tuple[str, ...]]:
    """(sheet, header rows, data range, column, header, role, language, decided by) per column."""
    rows = []
    for sheet in sheets:
        header = ", ".join(map(str, sheet.header_rows)) or "none"
        if sheet.skipped and not sheet.columns:
            rows.append((sheet.sheet, header, "-", "-", "-", "skipped", "-", sheet.skipped))
            continue
        for column in sheet.columns:
            role = column.role if not sheet.skipped else f"{column.role} (sheet skipped: {sheet.skipped})"
            rows.append((sheet.sheet, header, sheet.data_range or "-", column.column, column.header or "-", role,
                         column.language or "-", column.how))  # fmt: skip
    return rows


LAYOUT_COLUMNS = ("sheet", "header rows", "data", "column", "header", "role", "language", "decided by")


MAX_LAYOUT_ROWS = 200  # of the metadata table; `inspect` shows them all


def layout_table(sheets: list[SheetLayout]) -> pd.DataFrame:
    """The layout rows as the QA report's `layout` sheet."""
    return pd.DataFrame(layout_rows(sheets), columns=list(LAYOUT_COLUMNS))


def layout_markdown(sheets: list[SheetLayout]) -> str:
    rows = layout_rows(sheets)
    lines = ["| " + " | ".join(LAYOUT_COLUMNS) + " |", "|" + "---|" * len(LAYOUT_COLUMNS)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows[:MAX_LAYOUT_ROWS]]
    if len(rows) > MAX_LAYOUT_ROWS:
        lines.append(f"\n... and {len(rows) - MAX_LAYOUT_ROWS} more columns (`translation-pipeline inspect`)")
    return "\n".join(lines)


def warning_summary(file_name: str, ledger: pd.DataFrame) -> str | None:
    """One line for the whole ledger: the count, the reasons, the first entries; None when nothing skipped."""
    if not len(ledger):
        return None
    total = int(ledger["count"].sum())
    attention = ledger[ledger["code"].isin(ATTENTION_CODES)]
    head = f"{file_name}: {total} cells skipped in {len(ledger)} places"
    if len(attention):
        head += f" (needs attention: {int(attention['count'].sum())} cells in columns of unknown language)"
    examples = "; ".join(
        f"{row.sheet}!{row.range.split(',')[0]}: {row.reason}" for row in ledger.head(EXAMPLES).itertuples()
    )
    more = f"; and {len(ledger) - EXAMPLES} more" if len(ledger) > EXAMPLES else ""
    return f"{head}: {examples}{more} (QA report, sheet `skipped`)"


def inspect_text(file_name: str, sheets: list[SheetLayout], cells: pd.DataFrame, ledger: pd.DataFrame) -> str:
    """The `inspect` command's report of one workbook."""
    lines = [f"{file_name}"]
    rows = layout_rows(sheets)
    widths = [max(len(str(r[i])) for r in [LAYOUT_COLUMNS, *rows]) for i in range(len(LAYOUT_COLUMNS))]
    for row in [LAYOUT_COLUMNS, *rows]:
        lines.append("  " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    todo = cells[to_translate(cells)]
    per_language = todo.groupby("target_language").size()
    lines.append("  to translate: " + (", ".join(f"{k} {v}" for k, v in per_language.items()) or "nothing"))
    if len(ledger):
        lines.append(f"  skipped: {int(ledger['count'].sum())} cells")
        for row in ledger.itertuples():
            how = f" -> {row.how_to_include}" if row.how_to_include else ""
            lines.append(f"    {row.sheet}!{row.range}: {row.count} ({row.code}) {row.reason}{how}")
    else:
        lines.append("  skipped: nothing")
    return "\n".join(lines)
