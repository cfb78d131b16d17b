"""Write translations into a copy of an archived workbook, touching nothing but the empty target cells.

The archived workbook is loaded with openpyxl (not read-only, rich text kept, VBA kept for `.xlsm`), each
fill goes into its cell only if that cell is empty, and the result is saved atomically to `output_path`.
Text is always stored as text: a translation such as `=HYPERLINK(...)` never becomes a formula.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.exceptions import CellCoordinatesException
from openpyxl.worksheet.worksheet import Worksheet

MAX_CELL_CHARS = 32767  # Excel's limit; openpyxl would silently truncate longer text
MAX_ROW = 1_048_576
MAX_COLUMN = 16_384


@dataclass(frozen=True)
class CellFill:
    sheet: str  # worksheet title
    cell: str  # A1-style reference, e.g. "C7"
    text: str  # translation to write


@dataclass(frozen=True)
class ExportSummary:
    written: int  # cells filled
    skipped_not_empty: int  # target cell already had a value or formula (never overwritten)
    cleaned: int  # written texts from which illegal control characters were removed
    output_path: str
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (sheet, cell, reason)


def export_workbook(archive_path: Path, output_path: Path, fills: Iterable[CellFill]) -> ExportSummary:
    """Copy `archive_path` to `output_path` with every fill written into its (empty) cell.

    A fill that cannot be written (unknown sheet, bad reference, merged non-anchor cell, non-empty cell,
    empty text, text over Excel's cell limit, second fill for the same cell) is listed in `skipped`
    with a reason; it never raises. The archive itself is only read.
    """
    archive_path, output_path = Path(archive_path), Path(output_path)
    if output_path.suffix.lower() != archive_path.suffix.lower():
        raise ValueError(f"{output_path.name}: output must keep the archive's suffix {archive_path.suffix}")
    if output_path.resolve() == archive_path.resolve():
        raise ValueError(f"{output_path}: refusing to write into the archived workbook")

    workbook = load_workbook(archive_path, keep_vba=archive_path.suffix.lower() == ".xlsm", rich_text=True)
    sheets = {sheet.title: sheet for sheet in workbook}
    written = skipped_not_empty = cleaned = 0
    skipped: list[tuple[str, str, str]] = []
    done: set[tuple[str, str]] = set()
    for fill in fills:
        text, removed = ILLEGAL_CHARACTERS_RE.subn("", fill.text)
        target: Cell | str
        if not text:
            target = "empty text"
        elif len(text) > MAX_CELL_CHARS:
            target = f"text longer than Excel's {MAX_CELL_CHARS} characters"
        else:
            target = _locate(sheets, fill)
        if isinstance(target, str):
            skipped.append((fill.sheet, fill.cell, target))
            continue
        cell = target
        if (fill.sheet, cell.coordinate) in done:
            skipped.append((fill.sheet, fill.cell, "an earlier fill already wrote this cell"))
            continue
        if cell.value is not None and cell.value != "":
            skipped_not_empty += 1
            reason = "cell holds a formula" if cell.data_type == "f" else "cell already has a value"
            skipped.append((fill.sheet, fill.cell, reason))
            continue
        cell.value = text
        cell.data_type = "s"  # openpyxl infers "f" for "=..." and "e" for "#N/A": store as text anyway
        done.add((fill.sheet, cell.coordinate))
        written += 1
        cleaned += bool(removed)

    _save_atomically(workbook, output_path)
    return ExportSummary(
        written=written,
        skipped_not_empty=skipped_not_empty,
        cleaned=cleaned,
        output_path=str(output_path),
        skipped=skipped,
    )


def _locate(sheets: dict[str, object], fill: CellFill) -> Cell | str:
    """The cell a fill targets (`sheets`: the workbook's sheets by title), or why it cannot be written."""
    worksheet = sheets.get(fill.sheet)
    if worksheet is None:
        return "sheet not found"
    if not isinstance(worksheet, Worksheet):
        return "not a worksheet"
    try:
        row, column = coordinate_to_tuple(fill.cell)
    except (CellCoordinatesException, ValueError):
        return "invalid cell reference"
    if not (1 <= row <= MAX_ROW and 1 <= column <= MAX_COLUMN):
        return "invalid cell reference"
    cell = worksheet.cell(row, column)
    if isinstance(cell, MergedCell):
        return "merged cell that is not the top-left cell of its range"
    return cell


def _save_atomically(workbook: Workbook, output_path: Path) -> None:
    """Save next to `output_path`, then rename over it, so readers never see half a workbook."""
    output_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = output_path.with_name(f".{output_path.name}.{uuid.uuid4().hex}.part")
    try:
        workbook.save(tmp_path)
        os.replace(tmp_path, output_path)
    finally:
        tmp_path.unlink(missing_ok=True)
