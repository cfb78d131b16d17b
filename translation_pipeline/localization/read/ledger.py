"""The skip ledger: every cell of a sheet that reading leaves untranslated, with its reason.

"Nothing silent": each non-empty cell of a sheet is in the cell table (a source, a target, a context cell),
in a header row, or here; so is each empty cell a person would fill but the project will not. An entry says
where (sheet and cells, shown as compact ranges), how many, why (`reason`, a short code plus a sentence) and
how to include those cells where there is a way. `attention` marks text left for a column whose language is
unknown or ambiguous: a workbook with such an entry is reported as "needs attention", not plain success.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
from openpyxl.utils import get_column_letter

from translation_pipeline.localization.refs import a1

# reason codes
UNKNOWN_LANGUAGE = "unknown_language"
AMBIGUOUS_COLUMN = "ambiguous_column"
SECOND_HEADER_ROW = "second_header_row"
BELOW_SECOND_TABLE = "below_second_table"
HIDDEN_SHEET = "hidden_sheet"
ARRAY_FORMULA = "array_formula"
REPEATED_LANGUAGE = "repeated_language"
NO_TABLE = "no_table"
NOT_A_TARGET = "not_a_target"  # a language filtered out by TRANSLATION_TARGET_LANGUAGES
IGNORED = "ignored"  # a column a layout says to ignore
OTHER_COLUMN = "other_column"  # identifiers or text in the source language beside the table
TOO_LONG = "too_long"
IDENTIFIER = "identifier"  # a source cell holding an asset, label or variable name
FORMULA_SOURCE = "formula_source"  # a source cell whose text a formula computes
BLANK_TARGET = "blank_target"  # a target cell holding only white space: not empty, so never written
MARKER_TARGET = "marker_target"  # a target cell holding a to-do marker (TBD, 待翻译): never written
SOURCE_COPY = "source_copy"  # a target cell holding a copy of its source as a stand-in: never written
FORMULA_TARGET = "formula_target"  # a target cell a formula computes: never written
ERROR_TARGET = "error_target"  # a target cell holding an error value (#N/A, #REF!): never written
VALUE_TARGET = "value_target"  # a target cell holding a number, date or TRUE/FALSE instead of text: never written
FAILED = "failed"
NOT_WRITTEN = "not_written"
ATTENTION_CODES = frozenset({UNKNOWN_LANGUAGE, AMBIGUOUS_COLUMN})

LEDGER_COLUMNS = ["sheet", "range", "count", "code", "reason", "how_to_include"]
MAX_RANGE_CHARS = 2000  # a range list longer than this is cut, with the count still exact


@dataclass
class SkipEntry:
    sheet: str
    code: str
    reason: str
    how_to_include: str = ""
    cells: list[tuple[int, int]] = field(default_factory=list)  # (row, column)

    @property
    def attention(self) -> bool:
        return self.code in ATTENTION_CODES

    @property
    def count(self) -> int:
        return len(self.cells)

    @property
    def references(self) -> list[str]:
        return [a1(row, column) for row, column in self.cells]


def compact_ranges(cells: Iterable[tuple[int, int]]) -> str:
    """`C5:C40, D7, E2:E3`: each column's cells as runs of consecutive rows, columns left to right."""
    by_column: dict[int, list[int]] = {}
    for row, column in cells:
        by_column.setdefault(column, []).append(row)
    pieces: list[str] = []
    for column in sorted(by_column):
        letter = get_column_letter(column)
        rows = sorted(set(by_column[column]))
        start = previous = rows[0]
        for row in [*rows[1:], None]:
            if row is not None and row == previous + 1:
                previous = row
                continue
            pieces.append(f"{letter}{start}" if start == previous else f"{letter}{start}:{letter}{previous}")
            if row is not None:
                start = previous = row
    text = ", ".join(pieces)
    return text if len(text) <= MAX_RANGE_CHARS else text[: MAX_RANGE_CHARS - 5].rsplit(",", 1)[0] + ", ..."


def ledger_table(entries: Iterable[SkipEntry]) -> pd.DataFrame:
    """One row per entry that holds cells, as the QA report's `skipped` sheet shows it."""
    records = [
        (e.sheet, compact_ranges(e.cells), e.count, e.code, e.reason, e.how_to_include) for e in entries if e.cells
    ]
    return pd.DataFrame.from_records(records, columns=LEDGER_COLUMNS).astype({"count": "int64"})


def skipped_counts(table: pd.DataFrame) -> dict[str, int]:
    """{reason code: cells} of a ledger table."""
    return {str(code): int(n) for code, n in table.groupby("code")["count"].sum().items()} if len(table) else {}


def needs_attention(table: pd.DataFrame) -> bool:
    return bool(len(table)) and bool(table["code"].isin(ATTENTION_CODES).any())
