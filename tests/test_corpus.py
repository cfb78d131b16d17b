"""The reader against the corpus of real-shaped workbooks (tests/corpus): for each, the cells it will fill are
exactly those a person would fill, or each one it leaves is in the skip ledger with its reason; every reason
the case names is reported; every text cell of a sheet is in the cell table, a header row, or the ledger."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from tests.corpus.cases import CASES, Case
from translation_pipeline.localization.read import grid
from translation_pipeline.localization.read.grid import Package, is_text
from translation_pipeline.localization.read.layout import parse_layouts
from translation_pipeline.localization.read.workbook import WorkbookError, read_workbook, to_translate
from translation_pipeline.localization.refs import cell_refs
from translation_pipeline.localization.translate.providers.pseudo import pseudo_localize
from translation_pipeline.localization.write import sheet_xml
from translation_pipeline.localization.write.export import CellFill, export_workbook


def _read(case: Case, path: Path):
    layouts = parse_layouts([case.layout]) if case.layout else None
    return read_workbook(path, source_language=case.source_language, layouts=layouts)


@pytest.fixture(params=["lxml", "calamine"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of reading a sheet's values: the lxml stream (small sheets) and calamine (large ones)."""
    monkeypatch.setattr(grid, "CALAMINE_FROM_BYTES", 0 if request.param == "calamine" else 10**12)
    return request.param


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fills_exactly_what_a_person_would_or_says_why(tmp_path: Path, case: Case, reader: str) -> None:
    path = tmp_path / case.filename
    case.build(path)
    try:
        parsed = _read(case, path)
    except WorkbookError as error:  # nothing usable: only right when a person would fill nothing either
        assert not case.fills, str(error)
        return
    cells = parsed.cells
    todo = cells[to_translate(cells)]
    to_fill = set(zip(todo["sheet"], cell_refs(todo["target_cell"]), strict=True))
    reported = parsed.skipped_cells
    assert to_fill - case.fills == set(), "fills a cell a person would not"
    assert case.fills - to_fill - reported == set(), "leaves a cell without a reason"
    codes = {entry.code for entry in parsed.skips}
    assert case.reasons <= codes, f"reasons reported: {sorted(codes)}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_nothing_is_silent(tmp_path: Path, case: Case, reader: str) -> None:
    """Each text cell of each sheet is a source, target or context cell, in a header row, or in the ledger."""
    path = tmp_path / case.filename
    case.build(path)
    try:
        parsed = _read(case, path)
    except WorkbookError:
        return
    reported = parsed.skipped_cells
    layouts = {layout.sheet: layout for layout in parsed.sheets}
    in_table: set[tuple[str, str]] = set()
    for layout in parsed.sheets:
        if layout.skipped:
            continue
        used = [column.column for column in layout.columns if column.role != "unused"]
        first = int(layout.data_range.split(":")[0].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) if layout.data_range else 1
        in_table |= {(layout.sheet, letter, first) for letter in used if letter}
    with zipfile.ZipFile(path) as archive:
        package = Package(archive)
        for sheet in package.sheets:
            layout = layouts.get(sheet.name)
            header = set(layout.header_rows) if layout else set()
            for number, row in package.rows(sheet):
                for column, cell in row.items():
                    if not is_text(cell):
                        continue
                    letter = get_column_letter(column)
                    ref = f"{letter}{number}"
                    if number in header or (sheet.name, ref) in reported:
                        continue
                    assert any(s == sheet.name and c == letter and number >= f for s, c, f in in_table), (
                        f"{sheet.name}!{ref} ({cell!r}) is in no table, header or ledger"
                    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_written_workbook_holds_exactly_the_fills(tmp_path: Path, case: Case) -> None:
    """Read, translate (pseudo) and export: every written cell is one a person would fill, every other cell
    of the workbook is as it was, and each fill not written is in the ledger or the export's report."""
    path = tmp_path / case.filename
    case.build(path)
    try:
        parsed = _read(case, path)
    except WorkbookError:
        return
    todo = parsed.cells[to_translate(parsed.cells)]
    fills = [CellFill(s, c, pseudo_localize(t)) for s, c, t in zip(todo["sheet"], cell_refs(todo["target_cell"]),
                                                                   todo["source_text"], strict=True)]  # fmt: skip
    output = tmp_path / "out" / case.filename
    summary = export_workbook(path, output, fills)
    chunked = tmp_path / "chunked" / case.filename
    with pytest.MonkeyPatch.context() as patch:  # the same when worksheet parts are read 5 bytes at a time
        patch.setattr(sheet_xml, "READ_CHUNK", 5)
        assert export_workbook(path, chunked, fills) == replace(summary, output_path=str(chunked))
    with zipfile.ZipFile(output) as whole, zipfile.ZipFile(chunked) as pieces:
        assert [(i.filename, whole.read(i)) for i in whole.infolist()] == [
            (i.filename, pieces.read(i)) for i in pieces.infolist()
        ]
    not_written = {(sheet, cell) for sheet, cell, _ in summary.skipped}
    written = {(f.sheet, f.cell) for f in fills} - not_written
    assert summary.written == len(written) and written <= case.fills
    reported = parsed.skipped_cells
    assert case.fills - written - reported - not_written == set()
    before, after = load_workbook(path), load_workbook(output)
    for sheet in before.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if (sheet.title, cell.coordinate) not in written:
                    now = after[sheet.title][cell.coordinate].value
                    assert _comparable(now) == _comparable(cell.value), (sheet.title, cell.coordinate)


def _comparable(value: object) -> object:
    """Array and data-table formulas compare by their parts, not identity."""
    if type(value).__name__ in ("ArrayFormula", "DataTableFormula"):
        return type(value).__name__, getattr(value, "text", None), getattr(value, "ref", None)
    return value


def test_both_readers_place_a_table_that_starts_off_column_a_and_its_formulas(tmp_path: Path) -> None:
    """Calamine hands rows over from its first used column: every cell must land where lxml puts it."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Dialog"
    sheet["D4"], sheet["E4"], sheet["F4"], sheet["G4"] = "Key", "中文", "English", "max_len"
    for row in range(5, 25):
        sheet.cell(row, 4, f"k{row}")
        sheet.cell(row, 5, f"勇者在晨曦村等你{row}" if row % 7 else f'="勇者"&"{row}"')
        sheet.cell(row, 7, "=20+20" if row % 5 == 0 else 40)
    path = tmp_path / "offset.xlsx"
    book.save(path)

    def cells_read_by(threshold: int) -> list[tuple]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(grid, "CALAMINE_FROM_BYTES", threshold)
            parsed = read_workbook(path)
        columns = ["target_cell", "key", "source_text", "source_kind", "max_length"]
        table = parsed.cells[columns].assign(target_cell=cell_refs(parsed.cells["target_cell"]))
        return [tuple(row) for row in table.astype(object).itertuples(index=False)]

    by_lxml = cells_read_by(10**12)
    assert by_lxml[0][:3] == ("F5", "k5", "勇者在晨曦村等你5")
    assert {row[3] for row in by_lxml} == {"text", "formula"}
    assert cells_read_by(0) == by_lxml


@pytest.mark.parametrize("threshold", [0, 10**12], ids=["calamine", "lxml"])
def test_a_target_of_only_white_space_is_listed_as_skipped_and_left_as_it_is(tmp_path: Path, threshold: int) -> None:
    """Someone typed a space to clear a cell: it is not empty, so it is never overwritten, and never left
    silently either (found in a user trial: the English cell of `要买点什么吗？` held " ")."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Dialogue"
    sheet.append(["String ID", "Chinese (Simplified)", "English", "Japanese"])
    sheet.append(["dlg_1", "要买点什么吗？", " ", ""])
    sheet.append(["dlg_2", "金币不足！", "\u3000", "\n"])
    sheet.append(["dlg_3", "任务完成", "", "任務完了"])
    sheet.append(["dlg_4", 42, " ", ""])  # not text: nothing to say about its targets
    path = tmp_path / "blank.xlsx"
    book.save(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(grid, "CALAMINE_FROM_BYTES", threshold)
        parsed = read_workbook(path)
    blank = [entry for entry in parsed.skips if entry.code == "blank_target"]
    assert [entry.references for entry in blank] == [["C2", "C3", "D3"]]
    work = parsed.cells[to_translate(parsed.cells)]
    assert sorted(cell_refs(work["target_cell"])) == ["C4", "D2"]
    out = tmp_path / "blank.translated.xlsx"
    summary = export_workbook(path, out, [CellFill("Dialogue", cell, "x") for cell in ["C4", "D2"]])
    assert summary.written == 2
    written = load_workbook(out)["Dialogue"]
    assert [written["C2"].value, written["C3"].value, written["D3"].value] == [" ", "\u3000", "\n"]
