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
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
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
    sheet_xml,
)
from translation_pipeline.localization.write import sheet_xml as patching
from translation_pipeline.localization.write.export import CellFill, ExportSummary, export_workbook

FORMULA_LIKE = ['=HYPERLINK("http://x","y")', "+cmd", "@SUM(A1)", "-1+2", "=1", "#N/A", "  padded  "]


@pytest.fixture(autouse=True, params=[patching.READ_CHUNK, 3], ids=["1MiB-chunks", "3-byte-chunks"])
def read_chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Every export test twice: worksheet parts read a MiB at a time, and 3 bytes at a time, so that every tag,
    row and cell is cut by a chunk's end somewhere."""
    monkeypatch.setattr(patching, "READ_CHUNK", request.param)
    return request.param


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

    real_open = zipfile.ZipFile.open
    entries_written: list[str] = []

    def failing_open(self: zipfile.ZipFile, name: str | zipfile.ZipInfo, mode: str = "r", *args, **kwargs):
        if mode == "w":
            entries_written.append(getattr(name, "filename", name))
            if len(entries_written) == 4:  # the temporary file already holds three entries
                raise OSError("disk full")
        return real_open(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", failing_open)
    with pytest.raises(OSError, match="disk full"):
        export_workbook(rich, output, [CellFill("Strings", "C3", "second")])

    assert len(entries_written) == 4
    assert sha256(output) == first_hash
    assert [p.name for p in out_dir.iterdir()] == [output.name]


@pytest.mark.filterwarnings("ignore:Data Validation extension is not supported")  # openpyxl, in the comparison
def test_parts_an_openpyxl_round_trip_would_lose_are_kept(tmp_path: Path) -> None:
    """What an openpyxl load/save loses (custom XML and other unmodelled parts, comment box sizes, worksheet
    extensions) is kept byte for byte, since the export patches the package instead."""
    source = tmp_path / "lossy.xlsx"
    wb = Workbook()
    wb.active["A1"] = "shared"
    wb.active["A1"].comment = Comment("note", "me", width=300, height=50)
    wb.save(source)
    extension = (
        '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
        'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        '<x14:dataValidations count="0"/></ext></extLst>'
    )
    add_parts(
        source,
        {"customXml/item1.xml": b"<root/>"},
        replace={"xl/worksheets/sheet1.xml": ("</worksheet>", f"{extension}</worksheet>")},
    )
    output = tmp_path / "lossy.translated.xlsx"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = export_workbook(source, output, [CellFill("Sheet", "B1", "x")])

    assert summary.written == 1
    assert not caught
    with zipfile.ZipFile(source) as before, zipfile.ZipFile(output) as after:
        assert after.read("customXml/item1.xml") == b"<root/>"
        vml = before.read("xl/drawings/commentsDrawing1.vml")
        assert b"width:300px;height:50px" in vml
        assert after.read("xl/drawings/commentsDrawing1.vml") == vml
        assert extension in after.read("xl/worksheets/sheet1.xml").decode()
    assert_workbooks_equal_except(source, output, {("Sheet", "B1"): "x"})


def test_what_still_changes_besides_the_filled_cells(rich: Path, tmp_path: Path) -> None:
    """Documents everything that is not kept as it was: in a patched sheet, the rows holding a filled cell
    (the filled cell itself, and a row's `spans` hint when a cell is added outside it) and `<dimension>` when
    a fill falls outside it; the patched part is compressed anew. Everything else is byte-identical."""
    output = tmp_path / "out.xlsx"
    export_workbook(rich, output, [CellFill("Strings", "C3", "Cancel"), CellFill("Strings", "G12", "far")])

    before, after = sheet_xml(rich, "Strings"), sheet_xml(output, "Strings")
    row_re = r"<row [^>]*r=\"(\d+)\"[^>]*?(?:/>|>.*?</row>)"
    rows_before = {m.group(1): m.group(0) for m in re.finditer(row_re, before)}
    rows_after = {m.group(1): m.group(0) for m in re.finditer(row_re, after)}
    assert set(rows_after) == set(rows_before) | {"12"}
    assert {n for n in rows_before if rows_before[n] != rows_after[n]} == {"3"}
    assert rows_after["12"] == '<row r="12"><c r="G12" t="inlineStr"><is><t xml:space="preserve">far</t></is></c></row>'
    assert '<dimension ref="A1:E8"/>' in before and '<dimension ref="A1:G12"/>' in after

    def outside_rows(xml: str) -> str:
        return re.sub(row_re, "", xml).replace("A1:G12", "A1:E8")

    assert outside_rows(after) == outside_rows(before)


# --- patching the sheet XML: packages written part by part, for what openpyxl does not write ---------------

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STYLES = (  # cellXfs: 0 default, 1 bold, 2 number format "0.000", 3 italic
    f'<styleSheet xmlns="{MAIN_NS}"><numFmts count="1"><numFmt numFmtId="164" formatCode="0.000"/></numFmts>'
    '<fonts count="3"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/>'
    '</font><font><i/><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill '
    'patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border>'
    '<left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" '
    'fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" '
    'xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/><xf numFmtId="164" '
    'fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="0" fontId="2" fillId="0" '
    'borderId="0" xfId="0" applyFont="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" '
    'builtinId="0"/></cellStyles></styleSheet>'
)


def build_package(
    path: Path,
    sheets: dict[str, str],
    shared_strings: list[str] | None = None,
    workbook_part: str = "xl/workbook.xml",
    prefix: str = "",
) -> Path:
    """A minimal package written part by part: `sheets` maps titles to the inner XML of `<worksheet>`
    (elements written with `prefix`, e.g. "x:"), `shared_strings` holds the inner XML of each `<si>`;
    relationship targets are relative, as Excel writes them."""
    p, xmlns = prefix, f'xmlns{":" + prefix.rstrip(":") if prefix else ""}="{MAIN_NS}"'
    folder, name = workbook_part.rsplit("/", 1)
    overrides = [f'<Override PartName="/{workbook_part}" ContentType="application/vnd.openxmlformats-officedocument'
                 '.spreadsheetml.sheet.main+xml"/>']  # fmt: skip
    relationships = [f'<Relationship Id="rIdStyles" Type="{REL_NS}/styles" Target="styles.xml"/>']
    sheet_elements = []
    parts = {f"{folder}/styles.xml": STYLES}
    for number, (title, inner) in enumerate(sheets.items(), start=1):
        parts[f"{folder}/worksheets/sheet{number}.xml"] = f"<{p}worksheet {xmlns}>{inner}</{p}worksheet>"
        overrides.append(f'<Override PartName="/{folder}/worksheets/sheet{number}.xml" ContentType="application/vnd.'
                         'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')  # fmt: skip
        relationships.append(
            f'<Relationship Id="rId{number}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{number}.xml"/>'
        )
        title = title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        sheet_elements.append(f'<sheet name="{title}" sheetId="{number}" r:id="rId{number}"/>')
    if shared_strings is not None:
        items = "".join(f"<si>{inner}</si>" for inner in shared_strings)
        parts[f"{folder}/sharedStrings.xml"] = f'<sst xmlns="{MAIN_NS}" count="{len(shared_strings)}">{items}</sst>'
        overrides.append(f'<Override PartName="/{folder}/sharedStrings.xml" ContentType="application/vnd.openxmlformats'
                         '-officedocument.spreadsheetml.sharedStrings+xml"/>')  # fmt: skip
        relationships.append(
            f'<Relationship Id="rIdStrings" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
        )
    package_rels = "http://schemas.openxmlformats.org/package/2006/relationships"
    parts.update(
        {
            "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>' + "".join(overrides) + "</Types>",
            "_rels/.rels": f'<Relationships xmlns="{package_rels}"><Relationship Id="rId1" Type="{REL_NS}/'
            f'officeDocument" Target="{workbook_part}"/></Relationships>',
            workbook_part: f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>{"".join(sheet_elements)}'
            "</sheets></workbook>",
            f"{folder}/_rels/{name}.rels": f'<Relationships xmlns="{package_rels}">{"".join(relationships)}'
            "</Relationships>",
        }
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for part, xml in parts.items():
            package.writestr(part, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml)
    return path


def part_xml(path: Path, part: str) -> str:
    with zipfile.ZipFile(path) as package:
        return package.read(part).decode()


def values(path: Path, sheet: str) -> dict[str, object]:
    """Every non-empty cell of `sheet` as openpyxl reads it, checking the package reads in both modes."""
    full = {c.coordinate: c.value for row in load_workbook(path)[sheet].iter_rows() for c in row if c.value is not None}
    read_only = load_workbook(path, read_only=True)
    streamed = {c.coordinate: c.value for row in read_only[sheet].iter_rows() for c in row if c.value is not None}
    read_only.close()
    assert streamed == full
    return full


def row_numbers(xml: str) -> list[int]:
    return [int(number) for number in re.findall(r'<(?:x:)?row [^>]*r="(\d+)"', xml)]


def test_prefixed_namespace_sheet_is_patched_with_its_prefix(tmp_path: Path) -> None:
    source = build_package(
        tmp_path / "sdk.xlsx",
        {
            "Strings": '<x:dimension ref="A1:C2"/><x:sheetData>'
            '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>key</x:t></x:is></x:c><x:c r="B1" s="1"/></x:row>'
            '<x:row r="2"><x:c r="A2"><x:v>2</x:v></x:c><x:c r="C2" t="str"><x:v>kept</x:v></x:c></x:row>'
            "</x:sheetData>"
        },
        prefix="x:",
    )
    output = tmp_path / "sdk.translated.xlsx"
    fills = [CellFill("Strings", "B1", "one"), CellFill("Strings", "B2", "two"), CellFill("Strings", "C2", "no"),
             CellFill("Strings", "A4", "four")]  # fmt: skip

    summary = export_workbook(source, output, fills)

    assert (summary.written, summary.skipped) == (3, [("Strings", "C2", "cell already has a value")])
    xml = part_xml(output, "xl/worksheets/sheet1.xml")
    assert '<x:c r="B1" s="1" t="inlineStr"><x:is><x:t xml:space="preserve">one</x:t></x:is></x:c>' in xml
    assert '<x:c r="A2"><x:v>2</x:v></x:c><x:c r="B2" t="inlineStr">' in xml
    assert (
        '<x:row r="4"><x:c r="A4" t="inlineStr"><x:is><x:t xml:space="preserve">four</x:t></x:is></x:c></x:row>' in xml
    )
    assert '<x:dimension ref="A1:C4"/>' in xml
    assert values(output, "Strings") == {"A1": "key", "B1": "one", "A2": 2, "B2": "two", "C2": "kept", "A4": "four"}
    assert_workbooks_equal_except(source, output, {("Strings", "B1"): "one", ("Strings", "B2"): "two",
                                                   ("Strings", "A4"): "four"})  # fmt: skip


def test_rows_and_cells_without_r_count_from_the_previous_one(tmp_path: Path) -> None:
    source = build_package(
        tmp_path / "no_r.xlsx",
        {
            "S": "<sheetData>"
            '<row><c t="inlineStr"><is><t>a1</t></is></c><c s="1"/><c><v>3</v></c></row>'  # row 1: A1, B1, C1
            '<row><c r="B2" t="inlineStr"><is><t>b2</t></is></c><c/></row>'  # row 2: B2, C2
            '<row r="5"><c><v>5</v></c></row>'  # row 5: A5
            "<row><c/><c/></row>"  # row 6: A6, B6
            "</sheetData>"
        },
    )
    output = tmp_path / "out.xlsx"
    fills = [CellFill("S", ref, ref.lower()) for ref in ("B1", "C1", "D1", "C2", "A2", "A3", "B6", "C6", "A7")]

    summary = export_workbook(source, output, fills)

    assert summary.skipped == [("S", "C1", "cell already has a value")]
    xml = part_xml(output, "xl/worksheets/sheet1.xml")
    assert row_numbers(xml) == [3, 5, 7]  # rows without r stay without r; new rows get one
    assert '<c r="B1" s="1" t="inlineStr">' in xml
    assert values(output, "S") == {
        "A1": "a1", "B1": "b1", "C1": 3, "D1": "d1", "A2": "a2", "B2": "b2", "C2": "c2", "A3": "a3", "A5": 5,
        "B6": "b6", "C6": "c6", "A7": "a7",
    }  # fmt: skip


def test_missing_rows_and_cells_are_inserted_in_order(tmp_path: Path) -> None:
    source = build_package(
        tmp_path / "gaps.xlsx",
        {
            "S": '<dimension ref="A1:D7"/><sheetData>'
            '<row r="1" spans="1:4"><c r="A1"><v>1</v></c><c r="D1"><v>4</v></c></row>'
            '<row r="3" spans="1:1"><c r="A3"><v>3</v></c></row>'
            '<row r="7" spans="2:2"/>'
            "</sheetData>"
        },
    )
    output = tmp_path / "out.xlsx"
    refs = ["C1", "B1", "E1", "B2", "A5", "B5", "C7", "A9", "A6"]

    summary = export_workbook(source, output, [CellFill("S", ref, f"t{ref}") for ref in refs])

    assert summary.written == len(refs)
    xml = part_xml(output, "xl/worksheets/sheet1.xml")
    assert row_numbers(xml) == [1, 2, 3, 5, 6, 7, 9]
    assert re.findall(r'<c r="([A-Z]+1)"', xml) == ["A1", "B1", "C1", "D1", "E1"]
    assert re.findall(r'<c r="([A-Z]+5)"', xml) == ["A5", "B5"]
    assert '<row r="1" spans="1:5">' in xml and '<row r="7" spans="2:3"><c r="C7" t="inlineStr">' in xml
    assert '<dimension ref="A1:E9"/>' in xml
    expected = {"A1": 1, "D1": 4, "A3": 3} | {ref: f"t{ref}" for ref in refs}
    assert values(output, "S") == expected


def test_empty_sheet_data_element_is_expanded(tmp_path: Path) -> None:
    source = build_package(tmp_path / "empty.xlsx", {"S": '<dimension ref="A1"/><sheetData/>'})
    output = tmp_path / "out.xlsx"

    summary = export_workbook(source, output, [CellFill("S", "B3", "b3"), CellFill("S", "A2", "a2")])

    assert summary.written == 2
    xml = part_xml(output, "xl/worksheets/sheet1.xml")
    assert '<dimension ref="A1:B3"/><sheetData><row r="2">' in xml
    assert values(output, "S") == {"A2": "a2", "B3": "b3"}


def test_new_cell_takes_the_row_style_then_the_column_style(tmp_path: Path) -> None:
    source = build_package(
        tmp_path / "styles.xlsx",
        {
            "S": '<cols><col min="2" max="3" width="12" style="2" customWidth="1"/></cols><sheetData>'
            '<row r="1"><c r="A1"><v>1</v></c></row>'
            '<row r="2" s="1" customFormat="1"><c r="A2" s="1"><v>2</v></c></row>'
            '<row r="3" s="3"><c r="A3"><v>3</v></c></row>'  # s without customFormat does not apply
            "</sheetData>"
        },
    )
    output = tmp_path / "out.xlsx"
    refs = ["B1", "D1", "B2", "D2", "C3", "C4"]

    export_workbook(source, output, [CellFill("S", ref, ref) for ref in refs])

    xml = part_xml(output, "xl/worksheets/sheet1.xml")
    styles = {ref: re.search(rf'<c r="{ref}"( s="\d+")? t="inlineStr">', xml).group(1) for ref in refs}
    assert styles == {"B1": ' s="2"', "D1": None, "B2": ' s="1"', "D2": ' s="1"', "C3": ' s="2"', "C4": ' s="2"'}
    ws = load_workbook(output)["S"]
    assert (ws["B1"].number_format, ws["B2"].font.b, ws["D1"].number_format) == ("0.000", True, "General")


def test_shared_string_cells_count_as_empty_only_for_an_empty_string(tmp_path: Path) -> None:
    source = build_package(
        tmp_path / "sst.xlsx",
        {
            "S": '<sheetData><row r="1">'
            '<c r="A1" t="s" s="1"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
            '<c r="D1" t="s"><v>3</v></c><c r="F1" t="s"><v></v></c>'
            "</row></sheetData>"
        },
        shared_strings=[
            "<t/>",
            '<t xml:space="preserve">  </t>',
            "<t>text</t>",
            '<r><t></t></r><rPh sb="0" eb="1"><t>x</t></rPh>',  # phonetic hints are not text
        ],
    )
    output = tmp_path / "out.xlsx"
    archive_strings = part_xml(source, "xl/sharedStrings.xml")

    summary = export_workbook(source, output, [CellFill("S", ref, "new") for ref in ("A1", "B1", "C1", "D1", "F1")])

    assert summary.skipped == [("S", "B1", "cell already has a value"), ("S", "C1", "cell already has a value")]
    assert part_xml(output, "xl/sharedStrings.xml") == archive_strings
    assert '<c r="A1" s="1" t="inlineStr">' in part_xml(output, "xl/worksheets/sheet1.xml")
    assert values(output, "S") == {"A1": "new", "B1": "  ", "C1": "text", "D1": "new", "F1": "new"}


def test_out_of_range_shared_string_is_never_overwritten(tmp_path: Path) -> None:
    source = build_package(
        tmp_path / "sst.xlsx", {"S": '<sheetData><row r="1"><c r="A1" t="s"><v>5</v></c></row></sheetData>'}, []
    )
    summary = export_workbook(source, tmp_path / "out.xlsx", [CellFill("S", "A1", "x")])
    assert summary.skipped == [("S", "A1", "cell already has a value")]


def test_formula_cells_including_shared_formula_children_are_kept(tmp_path: Path) -> None:
    source = build_package(
        tmp_path / "formulas.xlsx",
        {
            "S": '<sheetData><row r="1"><c r="A1"><f t="shared" ref="A1:A3" si="0">ROW()</f><v>1</v></c></row>'
            '<row r="2"><c r="A2"><f t="shared" si="0"/></c></row>'
            '<row r="3"><c r="A3" t="str"><f t="shared" si="0"/><v></v></c><c r="B3"><f>""</f><v></v></c></row>'
            "</sheetData>"
        },
    )
    output = tmp_path / "out.xlsx"
    summary = export_workbook(source, output, [CellFill("S", ref, "x") for ref in ("A1", "A2", "A3", "B3")])

    assert summary.written == 0
    assert summary.skipped == [("S", ref, "cell holds a formula") for ref in ("A1", "A2", "A3", "B3")]
    assert part_xml(output, "xl/worksheets/sheet1.xml") == part_xml(source, "xl/worksheets/sheet1.xml")


def test_empty_values_of_every_form_are_filled_and_other_values_kept(tmp_path: Path) -> None:
    empty = ['<c r="A1" t="inlineStr" s="3"><is><t></t></is></c>', '<c r="B1" t="inlineStr"/>',
             '<c r="C1" t="str"><v></v></c>', '<c r="D1"><v/></c>', '<c r="E1" s="1" cm="1"></c>']  # fmt: skip
    kept = ['<c r="A2" t="inlineStr"><is><t> </t></is></c>', '<c r="B2" t="b"><v>0</v></c>',
            '<c r="C2" t="e"><v>#N/A</v></c>', '<c r="D2"><v>0</v></c>', '<c r="E2" t="str"><v>&#32;</v></c>',
            '<c r="F2" t="inlineStr"><is><r><t>rich</t></r></is></c>']  # fmt: skip
    source = build_package(
        tmp_path / "forms.xlsx",
        {"S": f'<sheetData><row r="1">{"".join(empty)}</row><row r="2">{"".join(kept)}</row></sheetData>'},
    )
    output = tmp_path / "out.xlsx"
    refs = ["A1", "B1", "C1", "D1", "E1", "A2", "B2", "C2", "D2", "E2", "F2"]

    summary = export_workbook(source, output, [CellFill("S", ref, f"new {ref}") for ref in refs])

    assert summary.written == 5
    assert summary.skipped == [("S", ref, "cell already has a value") for ref in refs[5:]]
    xml = part_xml(output, "xl/worksheets/sheet1.xml")
    assert '<c r="A1" s="3" t="inlineStr">' in xml and '<c r="E1" s="1" cm="1" t="inlineStr">' in xml
    assert "".join(kept) in xml
    ws = load_workbook(output)["S"]
    assert [ws[ref].value for ref in refs] == [*(f"new {ref}" for ref in refs[:5]), " ", False, "#N/A", 0, " ", "rich"]
    assert ws["A1"].font.i is True


def test_dimension_is_widened_only_when_a_fill_falls_outside(rich: Path, tmp_path: Path) -> None:
    inside, outside = tmp_path / "inside.xlsx", tmp_path / "outside.xlsx"
    export_workbook(rich, inside, [CellFill("Strings", "C3", "x")])
    export_workbook(rich, outside, [CellFill("Strings", "C3", "x"), CellFill("Strings", "H20", "far")])

    assert '<dimension ref="A1:E8"/>' in sheet_xml(inside, "Strings")
    assert '<dimension ref="A1:H20"/>' in sheet_xml(outside, "Strings")
    assert load_workbook(outside)["Strings"]["H20"].value == "far"


def test_every_entry_but_the_patched_sheets_is_byte_identical(tmp_path: Path) -> None:
    source = build_xlsm(tmp_path / "macro.xlsm", b"vba" * 100)
    add_parts(source, {"customXml/item1.xml": b"<root/>", "xl/media/stored.bin": bytes(range(256))})
    with zipfile.ZipFile(source) as package:  # rewrite with one entry stored rather than deflated
        items = [(info, package.read(info)) for info in package.infolist()]
    with zipfile.ZipFile(source, "w") as package:
        for info, data in items:
            info.compress_type = zipfile.ZIP_STORED if info.filename.endswith(".bin") else zipfile.ZIP_DEFLATED
            package.writestr(info, data)
    output = tmp_path / "out.xlsm"

    export_workbook(source, output, [CellFill("Strings", "C3", "x"), CellFill("Dialog", "C2", "y")])

    with zipfile.ZipFile(source) as before, zipfile.ZipFile(output) as after:
        assert [i.filename for i in after.infolist()] == [i.filename for i in before.infolist()]
        for old, new in zip(before.infolist(), after.infolist(), strict=True):
            assert new.date_time == old.date_time, old.filename
            if old.filename in ("xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"):
                assert new.compress_type == zipfile.ZIP_DEFLATED
                assert after.read(new) != before.read(old)
            else:
                assert (new.compress_type, after.read(new)) == (old.compress_type, before.read(old)), old.filename
        assert after.getinfo("xl/vbaProject.bin").compress_type == zipfile.ZIP_STORED
    assert_workbooks_equal_except(source, output, {("Strings", "C3"): "x", ("Dialog", "C2"): "y"})


def test_xml_special_characters_round_trip(rich: Path, tmp_path: Path) -> None:
    import pandas as pd

    text = "<b>&amp;\"'</b> ]]> a\r\nb\ttab  "
    output = tmp_path / "out.xlsx"
    summary = export_workbook(rich, output, [CellFill("Strings", "C3", text), CellFill("Dialog", "C2", "&lt;")])

    assert summary.written == 2
    assert "&lt;b&gt;&amp;amp;\"'&lt;/b&gt; ]]&gt; a&#13;\nb\ttab  " in cell_xml(output, "Strings", "C3")
    assert_workbooks_equal_except(rich, output, {("Strings", "C3"): text, ("Dialog", "C2"): "&lt;"})
    frame = pd.read_excel(output, sheet_name="Strings", header=None, dtype=object)
    assert frame.iat[2, 2] == text
    read_only = load_workbook(output, read_only=True)
    assert read_only["Dialog"]["C2"].value == "&lt;"
    read_only.close()


def test_sheet_names_chartsheets_and_a_workbook_part_elsewhere(tmp_path: Path) -> None:
    source = tmp_path / "names.xlsx"
    wb = Workbook()
    wb.active.title = "Q&A <1>"
    chart = BarChart()
    chart.add_data(Reference(wb.active, min_col=3, min_row=1, max_row=2))
    wb.create_chartsheet("Chart").add_chart(chart)
    wb.save(source)
    output = tmp_path / "out.xlsx"
    fills = [CellFill("Q&A <1>", "A1", "answer"), CellFill("Chart", "A1", "x"), CellFill("Q&amp;A <1>", "A1", "x")]

    summary = export_workbook(source, output, fills)

    assert summary.skipped == [("Chart", "A1", "not a worksheet"), ("Q&amp;A <1>", "A1", "sheet not found")]
    assert load_workbook(output)["Q&A <1>"]["A1"].value == "answer"

    moved = build_package(tmp_path / "moved.xlsx", {"S": "<sheetData/>"}, workbook_part="book/main.xml")
    summary = export_workbook(moved, tmp_path / "moved.out.xlsx", [CellFill("S", "A1", "here")])
    assert summary.written == 1
    assert "here" in part_xml(tmp_path / "moved.out.xlsx", "book/worksheets/sheet1.xml")


def test_merged_ranges_of_any_size_and_cell_reference_forms(tmp_path: Path) -> None:
    source = tmp_path / "merged.xlsx"
    wb = Workbook()
    wb.active.merge_cells("B2:C3")
    wb.active.merge_cells("E1:E500")
    wb.save(source)
    output = tmp_path / "out.xlsx"
    refs = ["C3", "E300", "E1", "b02", "B2", "", "A0", "$A$1", "XFD1048576", "A1048577"]

    summary = export_workbook(source, output, [CellFill("Sheet", ref, "x") for ref in refs])

    merged = "merged cell that is not the top-left cell of its range"
    assert summary.skipped == [
        ("Sheet", "C3", merged), ("Sheet", "E300", merged), ("Sheet", "B2", "an earlier fill already wrote this cell"),
        ("Sheet", "", "invalid cell reference"), ("Sheet", "A0", "invalid cell reference"),
        ("Sheet", "$A$1", "invalid cell reference"), ("Sheet", "A1048577", "invalid cell reference"),
    ]  # fmt: skip
    ws = load_workbook(output, read_only=True)["Sheet"]  # read-only: no iteration over a sheet to XFD1048576
    assert [ws[ref].value for ref in ("E1", "B2", "XFD1048576", "C3", "A1")] == ["x", "x", "x", None, None]
    assert '<dimension ref="B1:XFD1048576"/>' in sheet_xml(output, "Sheet")


def test_large_sheet_sparse_fills(tmp_path: Path) -> None:
    """Thousands of rows, some missing, a few fills: only the rows holding fills change."""
    source = tmp_path / "large.xlsx"
    wb = Workbook()
    ws = wb.active
    for row in range(1, 4001):
        if row % 7:
            ws.cell(row, 1, f"key {row}")
            ws.cell(row, 2, "source text " * 3)
            if row % 3:
                ws.cell(row, 3, f"done {row}")
    wb.save(source)
    output = tmp_path / "out.xlsx"
    refs = [f"C{row}" for row in (1, 3, 7, 14, 15, 999, 1000, 2001, 3999, 4000, 4001, 5000)]

    summary = export_workbook(source, output, [CellFill("Sheet", ref, f"new {ref}") for ref in refs])

    assert summary.skipped == [("Sheet", ref, "cell already has a value") for ref in ("C1", "C1000", "C4000")]
    written = {ref: f"new {ref}" for ref in refs if ref not in ("C1", "C1000", "C4000")}
    assert_workbooks_equal_except(source, output, {("Sheet", ref): text for ref, text in written.items()})
    assert row_numbers(sheet_xml(output, "Sheet")) == sorted(row_numbers(sheet_xml(output, "Sheet")))


def test_rows_out_of_order_leave_the_sheet_unchanged_with_one_reason_per_fill(tmp_path: Path) -> None:
    """Excel never writes rows out of order; a sheet that has them is copied as it is, never scrambled."""
    source = tmp_path / "unordered.xlsx"
    wb = Workbook()
    wb.active.title = "S"
    for row in range(1, 4):
        wb.active.cell(row, 1, f"key{row}")
    wb.save(source)
    xml = sheet_xml(source, "S")
    second, third = (re.search(rf'<row r="{n}".*?</row>', xml).group(0) for n in (2, 3))
    add_parts(source, {}, replace={"xl/worksheets/sheet1.xml": (second + third, third + second)})
    output = tmp_path / "unordered.translated.xlsx"

    summary = export_workbook(source, output, [CellFill("S", "B2", "two"), CellFill("S", "B3", "three")])

    reason = "worksheet XML the export cannot patch (rows or cells out of order, or unclosed)"
    assert summary.written == 0
    assert summary.skipped == [("S", "B2", reason), ("S", "B3", reason)]
    with zipfile.ZipFile(source) as before, zipfile.ZipFile(output) as after:
        assert after.read("xl/worksheets/sheet1.xml") == before.read("xl/worksheets/sheet1.xml")


ESCAPED = [
    ("_x0041__x0007_", "_x005F_x0041__x005F_x0007_"),
    ("a_x00e9_b", "a_x005F_x00e9_b"),
    ("_x41_ stays", "_x41_ stays"),
]


@pytest.mark.parametrize(("text", "stored"), ESCAPED)
def test_text_excel_would_decode_is_escaped_to_read_back_as_written(
    rich: Path, tmp_path: Path, text: str, stored: str
) -> None:
    """Excel decodes `_xHHHH_` in cell text; written as `_x005F_xHHHH_` it reads back exactly as the text."""
    output = tmp_path / "out.xlsx"
    export_workbook(rich, output, [CellFill("Strings", "C3", text)])
    xml = cell_xml(output, "Strings", "C3")
    assert f">{stored}</" in xml, xml


def _sheet_with_rows(path: Path, rows: str, before_rows: str = "") -> Path:
    """A one-sheet workbook whose sheetData is `rows` (after `before_rows` of the part's own)."""
    wb = Workbook()
    wb.active.title = "S"
    wb.active["A1"] = "key"
    wb.save(path)
    xml = sheet_xml(path, "S")
    first = re.search(r"<sheetData>.*</sheetData>", xml, re.S).group(0)
    add_parts(path, {}, replace={"xl/worksheets/sheet1.xml": (first, f"{before_rows}<sheetData>{rows}</sheetData>")})
    return path


def test_memory_of_a_patch_follows_the_rows_not_the_parts_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """64 MiB of whitespace between two rows (a 70 KB file): the export holds a chunk and a row, not the part.
    (Read 64 KiB at a time: 3 bytes at a time would take minutes here.)"""
    import tracemalloc

    monkeypatch.setattr(patching, "READ_CHUNK", 1 << 16)

    padding = " " * (64 << 20)
    row = '<row r="{0}"><c r="A{0}" t="inlineStr"><is><t>key{0}</t></is></c></row>'
    source = _sheet_with_rows(tmp_path / "padded.xlsx", row.format(1) + padding + row.format(2))
    del padding
    output = tmp_path / "padded.translated.xlsx"
    tracemalloc.start()
    try:
        summary = export_workbook(source, output, [CellFill("S", "B1", "one"), CellFill("S", "B2", "two")])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert summary.written == 2 and summary.skipped == []
    assert peak < 24 << 20, f"peak {peak / 2**20:.1f} MiB"
    after = load_workbook(output, read_only=True)["S"]
    assert [row for row in after.iter_rows(values_only=True)] == [("key1", "one"), ("key2", "two")]


def test_a_row_over_the_row_limit_leaves_the_sheet_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One row longer than ROW_LIMIT is refused with a reason; nothing of the sheet is written half."""
    monkeypatch.setattr(patching, "ROW_LIMIT", 4096)
    cells = "".join(f'<c r="{get_column_letter(n)}2" t="inlineStr"><is><t>x</t></is></c>' for n in range(3, 300))
    source = _sheet_with_rows(
        tmp_path / "wide.xlsx",
        '<row r="1"><c r="A1" t="inlineStr"><is><t>key</t></is></c></row>'
        f'<row r="2"><c r="A2" t="inlineStr"><is><t>k2</t></is></c>{cells}</row>',
    )
    output = tmp_path / "wide.translated.xlsx"

    summary = export_workbook(source, output, [CellFill("S", "B1", "one"), CellFill("S", "B2", "two")])

    reason = "worksheet XML the export cannot patch (rows or cells out of order, or unclosed)"
    assert summary.written == 0 and summary.skipped == [("S", "B1", reason), ("S", "B2", reason)]
    with zipfile.ZipFile(source) as before, zipfile.ZipFile(output) as after:
        assert after.read("xl/worksheets/sheet1.xml") == before.read("xl/worksheets/sheet1.xml")


def test_targets_give_back_each_target_as_it_was_added() -> None:
    added = [
        patching.Target(7, 1_048_576, 16_384, "最后一行", cleaned=True, overwrite=False, sheet="UI", cell="XFD1048576"),
        patching.Target(0, 2, 3, "=not a formula", cleaned=False, overwrite=True, sheet="Dialog", cell="C2"),
        patching.Target(3, 5, 1, "x", cleaned=True, overwrite=True, sheet="Dialog", cell="A5"),
        patching.Target(4, 7, 3, "y", cleaned=False, overwrite=False, sheet="Dialog", cell="$C$7"),  # as given
    ]
    targets = patching.Targets()
    for target in added:
        targets.append(target)
    assert list(targets) == added and len(targets) == 4
    assert targets[1] == added[1]
    assert targets.rows().tolist() == [1_048_576, 2, 5, 7]
    assert list(targets.positions()) == [(1_048_576, 16_384), (2, 3), (5, 1), (7, 3)]
    assert patching.Targets().rows().tolist() == []
