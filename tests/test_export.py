"""export_workbook: fills only empty cells, stores text as text, and leaves everything else as it was."""

from __future__ import annotations

import hashlib
import re
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook

from tests.workbook_factory import (
    RICH_TARGETS,
    VBA_CONTENT_TYPE,
    VBA_REL_TYPE,
    add_parts,
    assert_workbooks_equal_except,
    build_rich_workbook,
    build_xlsm,
    cell_xml,
)
from translation_pipeline.localization.export import CellFill, ExportSummary, export_workbook

FORMULA_LIKE = ['=HYPERLINK("http://x","y")', "+cmd", "@SUM(A1)", "-1+2", "=1", "#N/A", "  padded  "]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def rich(tmp_path: Path) -> Path:
    (tmp_path / "archive").mkdir()
    return build_rich_workbook(tmp_path / "archive" / "rich.xlsx")


def _all_target_fills() -> dict[tuple[str, str], str]:
    texts = iter(["OK!", "Cancel", FORMULA_LIKE[0], "キャンセル", "Hello, traveler", "Bye", "note"])
    return {(sheet, ref): next(texts) for sheet, refs in RICH_TARGETS.items() for ref in refs}


def test_export_changes_only_the_filled_cells(rich: Path, tmp_path: Path) -> None:
    changed = _all_target_fills()
    archive_hash = sha256(rich)
    output = tmp_path / "out" / "nested" / "rich.translated.xlsx"

    summary = export_workbook(rich, output, [CellFill(s, c, t) for (s, c), t in changed.items()])

    assert summary == ExportSummary(
        written=len(changed), skipped_not_empty=0, cleaned=0, output_path=str(output), skipped=[]
    )
    assert sha256(rich) == archive_hash
    assert_workbooks_equal_except(rich, output, changed)


def test_export_with_skips_still_changes_only_the_written_cells(rich: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.xlsx"
    fills = [
        CellFill("Strings", "C3", "Cancel"),
        CellFill("Strings", "C5", "overwrite?"),  # pre-filled
        CellFill("Strings", "E2", "overwrite?"),  # formula
        CellFill("Strings", "D7", "merged"),  # merged non-anchor
        CellFill("Missing", "A1", "nowhere"),
    ]
    summary = export_workbook(rich, output, fills)

    assert (summary.written, summary.skipped_not_empty) == (1, 2)
    assert_workbooks_equal_except(rich, output, {("Strings", "C3"): "Cancel"})


Mutation = Callable[[Workbook], None]

MUTATIONS: dict[str, Mutation] = {
    "header font": lambda wb: setattr(wb["Strings"]["A1"], "font", Font(name="Arial", bold=False)),
    "number format": lambda wb: setattr(wb["Strings"]["E3"], "number_format", "0.0"),
    "non-target value": lambda wb: setattr(wb["Dialog"]["B2"], "value", "changed"),
    "target style": lambda wb: setattr(wb["Strings"]["C3"], "font", Font(bold=True)),
    "comment": lambda wb: setattr(wb["Strings"]["B2"], "comment", Comment("other", "Designer")),
    "hyperlink": lambda wb: setattr(wb["Strings"]["A8"], "hyperlink", "https://example.com/other"),
    "column width": lambda wb: setattr(wb["Strings"].column_dimensions["B"], "width", 10),
    "row height": lambda wb: setattr(wb["Dialog"].row_dimensions[2], "height", 20),
    "merged range": lambda wb: wb["Strings"].unmerge_cells("C7:D7"),
    "freeze panes": lambda wb: setattr(wb["Strings"], "freeze_panes", None),
    "sheet state": lambda wb: setattr(wb["Notes"], "sheet_state", "visible"),
    "sheet order": lambda wb: wb.move_sheet("Notes", offset=-2),
    "data validation": lambda wb: wb["Strings"].data_validations.dataValidation.clear(),
    "conditional formatting": lambda wb: wb["Strings"].conditional_formatting._cf_rules.clear(),
    "auto filter": lambda wb: setattr(wb["Strings"].auto_filter, "ref", "A1:B5"),
    "print titles": lambda wb: setattr(wb["Strings"], "print_title_rows", "1:2"),
    "tab color": lambda wb: setattr(wb["Dialog"].sheet_properties, "tabColor", "0000FF"),
    "defined name": lambda wb: wb.defined_names.add(DefinedName("Extra", attr_text="Strings!$A$1")),
    "formula to text": lambda wb: setattr(wb["Strings"]["E2"], "data_type", "s"),
}


@pytest.mark.parametrize("mutate", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_comparison_helper_detects_each_kind_of_change(rich: Path, tmp_path: Path, mutate: Mutation) -> None:
    """The comparison must be able to fail, otherwise the preservation tests prove nothing."""
    changed = {("Strings", "C3"): "Cancel"}
    wb = load_workbook(rich, rich_text=True)
    wb["Strings"]["C3"].value = "Cancel"
    mutate(wb)
    tampered = tmp_path / "tampered.xlsx"
    wb.save(tampered)

    with pytest.raises(AssertionError):
        assert_workbooks_equal_except(rich, tampered, changed)


@pytest.mark.parametrize("text", FORMULA_LIKE)
def test_formula_like_text_is_stored_as_text(rich: Path, tmp_path: Path, text: str) -> None:
    output = tmp_path / "out.xlsx"
    summary = export_workbook(rich, output, [CellFill("Strings", "C3", text)])

    assert summary.written == 1
    cell = load_workbook(output)["Strings"]["C3"]
    assert (cell.value, cell.data_type) == (text, "s")
    xml = cell_xml(output, "Strings", "C3")
    assert "<f>" not in xml and "<f " not in xml
    assert 't="inlineStr"' in xml
    assert_workbooks_equal_except(rich, output, {("Strings", "C3"): text})


def test_formula_cell_stays_a_formula_in_the_xml(rich: Path, tmp_path: Path) -> None:
    """Counterpart of the check above, so the `<f>` assertion is known to detect formulas."""
    output = tmp_path / "out.xlsx"
    export_workbook(rich, output, [CellFill("Strings", "C3", "x")])
    assert "<f>LEN(B2)</f>" in cell_xml(output, "Strings", "E2")


def test_never_overwrites_a_filled_or_formula_cell(rich: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.xlsx"
    summary = export_workbook(rich, output, [CellFill("Strings", ref, "New") for ref in ("C5", "E2", "C2")])

    assert (summary.written, summary.skipped_not_empty) == (0, 3)
    assert summary.skipped == [
        ("Strings", "C5", "cell already has a value"),
        ("Strings", "E2", "cell holds a formula"),
        ("Strings", "C2", "cell already has a value"),
    ]
    ws = load_workbook(output)["Strings"]
    assert (ws["C5"].value, ws["E2"].value, ws["C2"].value) == ("Already translated", "=LEN(B2)", "OK")
    assert_workbooks_equal_except(rich, output, {})


def test_illegal_control_characters_are_removed_and_counted(rich: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.xlsx"
    fills = [
        CellFill("Strings", "C3", "Can\x00cel\x1b"),
        CellFill("Strings", "C4", "line one\nline\ttwo"),  # newline and tab are legal
        CellFill("Dialog", "C2", "\x07Hello\x0b"),
    ]
    summary = export_workbook(rich, output, fills)

    assert (summary.written, summary.cleaned) == (3, 2)
    assert_workbooks_equal_except(
        rich,
        output,
        {("Strings", "C3"): "Cancel", ("Strings", "C4"): "line one\nline\ttwo", ("Dialog", "C2"): "Hello"},
    )


def test_unwritable_fills_are_skipped_with_a_reason(rich: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.xlsx"
    fills = [
        CellFill("Missing", "A1", "x"),
        CellFill("Strings", "not-a-cell", "x"),
        CellFill("Strings", "XFE1", "x"),
        CellFill("Strings", "D7", "x"),
        CellFill("Strings", "C3", "first"),
        CellFill("Strings", "C3", "second"),
        CellFill("Strings", "C4", "\x01\x02"),
        CellFill("Strings", "C6", "x" * 32768),
    ]
    summary = export_workbook(rich, output, fills)

    assert (summary.written, summary.skipped_not_empty) == (1, 0)
    assert summary.skipped == [
        ("Missing", "A1", "sheet not found"),
        ("Strings", "not-a-cell", "invalid cell reference"),
        ("Strings", "XFE1", "invalid cell reference"),
        ("Strings", "D7", "merged cell that is not the top-left cell of its range"),
        ("Strings", "C3", "an earlier fill already wrote this cell"),
        ("Strings", "C4", "empty text"),
        ("Strings", "C6", "text longer than Excel's 32767 characters"),
    ]
    assert_workbooks_equal_except(rich, output, {("Strings", "C3"): "first"})


def test_merged_anchor_cell_can_be_filled_when_empty(tmp_path: Path) -> None:
    source = tmp_path / "merged.xlsx"
    wb = Workbook()
    wb.active.merge_cells("B2:C3")
    wb.save(source)
    output = tmp_path / "out.xlsx"

    fills = [CellFill("Sheet", "B2", "anchor"), CellFill("Sheet", "C3", "no")]

    summary = export_workbook(source, output, fills)

    assert summary.written == 1
    assert_workbooks_equal_except(source, output, {("Sheet", "B2"): "anchor"})


def test_xlsm_keeps_its_vba_project(tmp_path: Path) -> None:
    vba = b"\xd0\xcf\x11\xe0 dummy vba project \x00\x01\x02" * 10
    source = build_xlsm(tmp_path / "macro.xlsm", vba)
    archive_hash = sha256(source)
    output = tmp_path / "out" / "macro.translated.xlsm"

    summary = export_workbook(source, output, [CellFill("Strings", "C3", "Cancel")])

    assert summary.written == 1
    assert sha256(source) == archive_hash
    with zipfile.ZipFile(output) as package:
        assert package.read("xl/vbaProject.bin") == vba
        content_types = package.read("[Content_Types].xml").decode()
        rels = package.read("xl/_rels/workbook.xml.rels").decode()
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in content_types
    # Excel accepts the type as an Override for the part or, as openpyxl writes it, a Default for ".bin"
    assert re.search(rf'PartName="/xl/vbaProject.bin" ContentType="{VBA_CONTENT_TYPE}"', content_types) or (
        re.search(rf'Default Extension="bin" ContentType="{VBA_CONTENT_TYPE}"', content_types)
        and "/xl/vbaProject.bin" not in content_types
    )
    assert VBA_REL_TYPE in rels
    assert load_workbook(output, keep_vba=True).vba_archive is not None
    assert_workbooks_equal_except(source, output, {("Strings", "C3"): "Cancel"})


def test_archive_bytes_are_never_touched(rich: Path, tmp_path: Path) -> None:
    archive_hash = sha256(rich)
    fills = [CellFill(s, c, t) for (s, c), t in _all_target_fills().items()]

    export_workbook(rich, tmp_path / "out.xlsx", fills)
    export_workbook(rich, tmp_path / "out.xlsx", fills)  # replaces an existing output

    assert sha256(rich) == archive_hash
    with pytest.raises(ValueError, match="archived workbook"):
        export_workbook(rich, rich.parent / ".." / "archive" / rich.name, fills)
    assert sha256(rich) == archive_hash


def test_output_keeps_the_archive_suffix(rich: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="suffix"):
        export_workbook(rich, tmp_path / "out.xlsm", [])
    assert not (tmp_path / "out.xlsm").exists()


def test_save_is_atomic_and_leaves_no_temp_files(rich: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out_dir = tmp_path / "out"
    output = out_dir / "rich.translated.xlsx"
    export_workbook(rich, output, [CellFill("Strings", "C3", "first")])
    first_hash = sha256(output)

    def broken_save(self: Workbook, filename: str) -> None:
        Path(filename).write_bytes(b"half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr(Workbook, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        export_workbook(rich, output, [CellFill("Strings", "C3", "second")])

    assert sha256(output) == first_hash
    assert [p.name for p in out_dir.iterdir()] == [output.name]


def test_documented_openpyxl_round_trip_losses(tmp_path: Path) -> None:
    """What an openpyxl load/save loses. If openpyxl starts keeping one, this test fails: update the docs."""
    source = tmp_path / "lossy.xlsx"
    wb = Workbook()
    wb.active["A1"] = "shared"
    wb.active["A1"].comment = Comment("note", "me", width=300, height=50)
    wb.save(source)
    add_parts(
        source,
        {"customXml/item1.xml": b"<root/>"},
        replace={
            "xl/worksheets/sheet1.xml": (
                "</worksheet>",
                '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
                'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
                '<x14:dataValidations count="0"/></ext></extLst></worksheet>',
            )
        },
    )
    output = tmp_path / "lossy.translated.xlsx"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export_workbook(source, output, [CellFill("Sheet", "B1", "x")])

    with zipfile.ZipFile(source) as before, zipfile.ZipFile(output) as after:
        # 1. package parts openpyxl does not model (custom XML, and likewise shapes, slicers...) are dropped
        assert "customXml/item1.xml" in before.namelist()
        assert "customXml/item1.xml" not in after.namelist()
        # 2. the comment box size is not read back: it is reset to openpyxl's default
        assert "width:300px;height:50px" in before.read("xl/drawings/commentsDrawing1.vml").decode()
        assert "width:144px;height:79px" in after.read("xl/drawings/commentsDrawing1.vml").decode()
        # 3. worksheet extensions (x14 data validations / conditional formats) are removed, with a warning
        assert "x14:dataValidations" not in after.read("xl/worksheets/sheet1.xml").decode()
    assert any("extension is not supported" in str(w.message) for w in caught)
