"""A sheet whose few cells span many rows and columns reads with memory that follows its cells.

calamine holds every cell of the rows and columns a sheet's cells span (32 bytes each): one cell in column XFD of a
20,000-row table is 330 million of them, and calamine aborts the process. Such a sheet is read from the XML stream,
and a stray cell far to the right is one ambiguous cell, not a column of empty cells to fill."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from translation_pipeline.localization.read import grid, ledger
from translation_pipeline.localization.read.workbook import read_workbook

ROWS = 20_000


def _table(path: Path, stray_every: int | None) -> None:
    """`key | 中文 | English` and ROWS rows; a text cell every `stray_every` rows, each in a column further right."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Strings")
    sheet.append(["key", "中文", "English"])
    for i in range(ROWS):
        row: list[object] = [f"k{i}", f"第{i}行的文本", None]
        if stray_every and i % stray_every == 0:
            row += [None] * (i // stray_every * 3) + ["x"]
        sheet.append(row)
    book.save(path)


def _part(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/worksheets/sheet1.xml")


def test_calamine_reads_only_a_sheet_its_table_holds_twice_at_most(tmp_path: Path) -> None:
    full, sparse = tmp_path / "full.xlsx", tmp_path / "sparse.xlsx"
    _table(full, None)
    _table(sparse, 4)  # 5,000 stray cells, the last in column ~15,000
    assert grid._dense_enough(_part(full))
    assert not grid._dense_enough(_part(sparse))
    # a cell whose reference is not its first attribute: the extent is unknown
    assert not grid._dense_enough(_part(full).replace(b'<c r="A2"', b'<c t="s" r="A2"', 1))


def test_a_wide_sparse_sheet_reads_its_table_and_reports_each_stray_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sparse.xlsx"
    _table(path, 4)
    monkeypatch.setattr(grid, "CALAMINE_FROM_BYTES", 0)  # calamine would be used if the sheet were dense
    parsed = read_workbook(path)
    assert len(parsed.cells) == ROWS and set(parsed.cells["target_language"]) == {"en"}
    stray = [entry for entry in parsed.skips if entry.code == ledger.AMBIGUOUS_COLUMN]
    assert len(stray) == ROWS // 4
    assert all(len(entry.cells) == 1 for entry in stray)  # its one cell, not the empty ones beside 20,000 sources
