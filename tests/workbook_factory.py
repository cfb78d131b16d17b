"""Build feature-rich string-table workbooks in code and compare workbooks property by property."""

from __future__ import annotations

import io
import re
import zipfile
from copy import copy
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils.cell import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.dimensions import ColumnDimension, RowDimension
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.functions import tostring

HEADER_FONT = Font(name="Arial", bold=True, color="FFFFFF", size=11)
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
THIN = Side(style="thin", color="000000")
HEADER_BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
TARGET_FONT = Font(name="Calibri", italic=True, color="7F7F7F")
TARGET_FILL = PatternFill("solid", fgColor="FFF2CC")
TARGET_ALIGNMENT = Alignment(wrap_text=True, vertical="top")

# Empty, styled target cells of the rich workbook, per sheet.
RICH_TARGETS: dict[str, list[str]] = {
    "Strings": ["C3", "C4", "C6", "D3"],
    "Dialog": ["C2", "C3"],
    "Notes": ["B2"],
}

VBA_CONTENT_TYPE = "application/vnd.ms-office.vbaProject"
MACRO_WORKBOOK_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
PLAIN_WORKBOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
VBA_REL_TYPE = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"


def _header(ws: Worksheet, titles: list[str]) -> None:
    for column, title in enumerate(titles, start=1):
        cell = ws.cell(1, column, title)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.border = HEADER_BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center")


def _style_target(ws: Worksheet, ref: str) -> None:
    cell = ws[ref]
    cell.font = TARGET_FONT
    cell.fill = TARGET_FILL
    cell.alignment = TARGET_ALIGNMENT
    cell.border = Border(bottom=THIN)
    cell.protection = Protection(locked=False)


def build_rich_workbook(path: Path) -> Path:
    """A 3-sheet string table (third sheet hidden) using every feature the export must leave alone.

    Empty target cells are listed in RICH_TARGETS; `Strings!C5` is pre-filled, `Strings!E2` holds a
    formula, `Strings!C7:D7` is merged.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = "Strings"
    _header(ws, ["Key", "Source (zh)", "Target (en)", "Target (ja)", "Length"])
    rows = [
        ("ui.ok", "确定"),
        ("ui.cancel", "取消"),
        ("ui.prefilled", "已填写"),
        ("ui.long", "这是一段很长的文本"),
    ]
    for row, (key, source) in enumerate(rows, start=2):
        ws.cell(row, 1, key)
        ws.cell(row, 2, source)
    ws["C2"] = "OK"
    ws["C5"] = "Already translated"
    ws["E2"] = "=LEN(B2)"
    ws["E3"] = 0.125
    ws["E3"].number_format = "0.00%"
    ws["E4"] = date(2024, 5, 1)
    ws["E4"].number_format = "yyyy-mm-dd"
    ws["E5"] = 1234567.891
    ws["E5"].number_format = "#,##0.00"
    for ref in RICH_TARGETS["Strings"]:
        _style_target(ws, ref)
    ws["B6"] = CellRichText(["普通", TextBlock(InlineFont(b=True, color="FF0000"), "加粗红色")])
    ws["A8"] = "docs"
    ws["A8"].hyperlink = "https://example.com/strings"
    ws["A8"].style = "Hyperlink"
    ws["B2"].comment = Comment("Keep it short", "Designer")
    ws["A7"] = "merged note"
    ws.merge_cells("C7:D7")
    ws["C7"] = "merged anchor"
    ws.column_dimensions["A"].width = 18.5
    ws.column_dimensions["B"].width = 42
    ws.column_dimensions["C"].width = 40
    ws.column_dimensions["F"].hidden = True
    ws.row_dimensions[1].height = 28.5
    ws.row_dimensions[9].hidden = True
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = "A1:E5"
    dv = DataValidation(type="list", formula1='"ok,review,todo"', allow_blank=True, showErrorMessage=True)
    dv.error = "Pick a status"
    dv.add("F2:F5")
    ws.add_data_validation(dv)
    red = PatternFill("solid", bgColor="FFC7CE")
    ws.conditional_formatting.add("E3:E5", CellIsRule(operator="greaterThan", formula=["1000"], fill=red))
    ws.sheet_properties.tabColor = "FF0000"
    ws.print_title_rows = "1:1"
    ws.print_area = "A1:E8"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.oddHeader.center.text = "String table"
    ws.defined_names["StringsLocal"] = DefinedName("StringsLocal", attr_text="Strings!$A$2:$A$5")

    dialog = wb.create_sheet("Dialog")
    _header(dialog, ["Key", "Source (zh)", "Target (en)"])
    dialog["A2"], dialog["B2"] = "npc.greet", "你好，旅行者"
    dialog["A3"], dialog["B3"] = "npc.bye", "再见"
    for ref in RICH_TARGETS["Dialog"]:
        _style_target(dialog, ref)
    dialog.column_dimensions["B"].width = 60
    dialog.row_dimensions[2].height = 45
    dialog.sheet_properties.tabColor = "00B050"
    dialog.freeze_panes = "A2"

    notes = wb.create_sheet("Notes")
    notes.sheet_state = "hidden"
    notes["A1"] = "internal"
    notes["A2"] = "glossary"
    _style_target(notes, "B2")

    wb.defined_names["SourceColumn"] = DefinedName("SourceColumn", attr_text="Strings!$B$2:$B$5")
    wb.save(path)
    return path


def add_parts(path: Path, parts: dict[str, bytes], replace: dict[str, tuple[str, str]] | None = None) -> None:
    """Rewrite the zip at `path` with extra `parts` and textual `replace`ments {part: (old, new)}."""
    with zipfile.ZipFile(path) as source:
        items = {name: source.read(name) for name in source.namelist()}
    for name, (old, new) in (replace or {}).items():
        text = items[name].decode()
        assert old in text, f"{old!r} not in {name}"
        items[name] = text.replace(old, new).encode()
    items.update(parts)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in items.items():
            target.writestr(name, data)
    path.write_bytes(buffer.getvalue())


def add_vba_project(path: Path, vba_bytes: bytes) -> None:
    """Make a saved workbook macro-enabled: the VBA part, its content type and its relationship."""
    add_parts(
        path,
        {"xl/vbaProject.bin": vba_bytes},
        replace={
            "[Content_Types].xml": (
                PLAIN_WORKBOOK_TYPE,
                f'{MACRO_WORKBOOK_TYPE}"/><Override PartName="/xl/vbaProject.bin" ContentType="{VBA_CONTENT_TYPE}',
            ),
            "xl/_rels/workbook.xml.rels": (
                "</Relationships>",
                f'<Relationship Id="rIdVba" Type="{VBA_REL_TYPE}" Target="vbaProject.bin"/></Relationships>',
            ),
        },
    )


def build_xlsm(path: Path, vba_bytes: bytes) -> Path:
    """A macro-enabled workbook: the rich workbook plus an `xl/vbaProject.bin` part wired into the package."""
    build_rich_workbook(path)
    add_vba_project(path, vba_bytes)
    return path


def sheet_xml(path: Path, sheet_title: str) -> str:
    """The raw XML of worksheet `sheet_title` inside the workbook package at `path`."""
    wb = load_workbook(path)
    index = wb.sheetnames.index(sheet_title)
    wb.close()
    with zipfile.ZipFile(path) as archive:
        rels = archive.read("xl/_rels/workbook.xml.rels").decode()
        workbook_xml = archive.read("xl/workbook.xml").decode()
        sheet_rids = re.findall(r'<sheet [^>]*r:id="([^"]+)"', workbook_xml)
        target = re.search(rf'<Relationship [^>]*Id="{sheet_rids[index]}"[^>]*/>', rels)
        assert target is not None
        part = re.search(r'Target="([^"]+)"', target.group(0))
        assert part is not None
        name = part.group(1).lstrip("/")
        return archive.read(name if name.startswith("xl/") else f"xl/{name}").decode()


def cell_xml(path: Path, sheet_title: str, ref: str) -> str:
    """The `<c r="ref">` element of one cell as written in the package."""
    match = re.search(rf'<c r="{ref}"(?:/>|[^>]*/>|[^>]*>.*?</c>)', sheet_xml(path, sheet_title), re.S)
    assert match is not None, f"{sheet_title}!{ref} not in sheet XML"
    return match.group(0)


# --- comparison -------------------------------------------------------------------------------------------


def _tree(obj: Any) -> bytes | None:
    return None if obj is None else tostring(obj.to_tree())


def _cell_style(cell: Any) -> tuple[Any, ...]:
    # copy() unwraps openpyxl's StyleProxy, whose == is not reliable between two proxies
    return (
        copy(cell.font),
        copy(cell.fill),
        copy(cell.border),
        copy(cell.alignment),
        cell.number_format,
        copy(cell.protection),
        cell.style,
    )


def _cell_extras(cell: Any) -> tuple[Any, ...]:
    comment = cell.comment
    link = cell.hyperlink
    return (
        None if comment is None else (comment.text, comment.author),
        None if link is None else (link.target, link.location, link.tooltip, link.display),
    )


def _value(cell: Any) -> Any:
    value = cell.value
    if isinstance(value, CellRichText):
        return [(block.text, _tree(block.font)) if isinstance(block, TextBlock) else block for block in value]
    return value


def _column_props(dim: ColumnDimension) -> tuple[Any, ...]:
    return (dim.width, dim.customWidth, dim.hidden, dim.outlineLevel, dim.collapsed, dim.bestFit, dim.style)


def _row_props(dim: RowDimension) -> tuple[Any, ...]:
    return (dim.height, dim.customHeight, dim.hidden, dim.outlineLevel, dim.collapsed, dim.s)


def _columns(ws: Worksheet) -> dict[int, tuple[Any, ...]]:
    """Non-default column properties per column index (openpyxl stores columns as min..max spans)."""
    default = _column_props(ColumnDimension(ws))
    columns: dict[int, tuple[Any, ...]] = {}
    for dim in ws.column_dimensions.values():
        props = _column_props(dim)
        if props != default:
            columns.update(dict.fromkeys(range(dim.min, dim.max + 1), props))
    return columns


def _rows(ws: Worksheet) -> dict[int, tuple[Any, ...]]:
    default = _row_props(RowDimension(ws))
    return {index: _row_props(dim) for index, dim in ws.row_dimensions.items() if _row_props(dim) != default}


def _conditional_formats(ws: Worksheet) -> list[tuple[str, list[tuple[bytes | None, bytes | None]]]]:
    formats = []
    for cf in ws.conditional_formatting:
        rules = []
        for rule in cf.rules:
            bare = copy(rule)
            bare.dxfId, bare.dxf = None, None  # differential style ids may be renumbered on save
            rules.append((_tree(bare), _tree(rule.dxf)))
        formats.append((str(cf.sqref), rules))
    return sorted(formats, key=lambda item: item[0])


def sheet_properties(ws: Worksheet) -> dict[str, Any]:
    """Everything sheet-level that an export must not change."""
    return {
        "sheet_state": ws.sheet_state,
        "freeze_panes": ws.freeze_panes,
        "merged": sorted(str(rng) for rng in ws.merged_cells.ranges),
        "columns": _columns(ws),
        "rows": _rows(ws),
        "data_validations": _tree(ws.data_validations),
        "conditional_formatting": _conditional_formats(ws),
        "auto_filter": (ws.auto_filter.ref, _tree(ws.auto_filter)),
        "print_titles": ws.print_titles,
        "print_area": ws.print_area,
        "page_setup": _tree(ws.page_setup),
        "print_options": _tree(ws.print_options),
        "page_margins": _tree(ws.page_margins),
        "header_footer": _tree(ws.HeaderFooter),
        "sheet_properties": _tree(ws.sheet_properties),
        "views": _tree(ws.views),
        "protection": _tree(ws.protection),
        "format": _tree(ws.sheet_format),
        "defined_names": {name: dn.attr_text for name, dn in ws.defined_names.items()},
        "tables": {name: table.ref for name, table in ws.tables.items()},
        "images": len(ws._images),
        "charts": len(ws._charts),
        "legacy_drawing": ws.legacy_drawing,
    }


def assert_workbooks_equal_except(input_path: Path, output_path: Path, changed: dict[tuple[str, str], str]) -> None:
    """Assert `output_path` equals `input_path` cell by cell and property by property, except `changed`.

    Each `(sheet, cell)` in `changed` must have been empty in the input and hold exactly the text (as a
    string, data_type "s") in the output, with the input cell's style, comment and hyperlink unchanged.
    Both files are read through openpyxl, so parts openpyxl does not model are not compared here.
    """
    before = load_workbook(input_path, rich_text=True)
    after = load_workbook(output_path, rich_text=True)
    assert after.sheetnames == before.sheetnames
    assert {n: d.attr_text for n, d in after.defined_names.items()} == {
        n: d.attr_text for n, d in before.defined_names.items()
    }
    assert [ws.title for ws in after.worksheets] == [ws.title for ws in before.worksheets]
    assert after.active.title == before.active.title
    assert {sheet for sheet, _ in changed} <= set(before.sheetnames), "changed names an unknown sheet"

    for ws_before in before.worksheets:
        ws_after = after[ws_before.title]
        assert sheet_properties(ws_after) == sheet_properties(ws_before), ws_before.title
        positions = set(ws_before._cells) | set(ws_after._cells)
        positions |= {(ws_before[ref].row, ws_before[ref].column) for sheet, ref in changed if sheet == ws_before.title}
        for row, column in sorted(positions):
            old, new = ws_before.cell(row, column), ws_after.cell(row, column)
            where = f"{ws_before.title}!{get_column_letter(column)}{row}"
            assert type(new) is type(old), where
            assert _cell_style(new) == _cell_style(old), f"{where}: style changed"
            assert _cell_extras(new) == _cell_extras(old), f"{where}: comment or hyperlink changed"
            text = changed.get((ws_before.title, old.coordinate))
            if text is None:
                assert (_value(new), new.data_type) == (_value(old), old.data_type), where
            else:
                assert old.value in (None, ""), f"{where}: expected an empty target in the input"
                assert (new.value, new.data_type) == (text, "s"), where
    before.close()
    after.close()


# --- hostile inputs (tests/test_hostile.py) ---------------------------------------------------------------

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FREE, _END, _FAT, _NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def build_ole2(path: Path, streams: dict[str, bytes]) -> Path:
    """A minimal OLE2 compound file (CFB v3, 512-byte sectors) holding `streams` in the root storage.

    Streams are padded to 4096 bytes so they live in regular sectors (no mini stream). An old `.xls` holds a
    `Workbook` stream; an `.xlsx` saved with a password holds `EncryptionInfo` and `EncryptedPackage`.
    """
    import struct

    datas = [data.ljust(4096, b"\0") for data in streams.values()]
    sectors_per_stream = [len(data) // 512 + bool(len(data) % 512) for data in datas]
    assert 2 + sum(sectors_per_stream) <= 128, "one FAT sector only"
    fat = [_FAT, _END]  # sector 0: the FAT, sector 1: the directory
    starts = []
    for count in sectors_per_stream:
        starts.append(len(fat))
        fat.extend(range(len(fat) + 1, len(fat) + count))
        fat.append(_END)
    fat.extend([_FREE] * (128 - len(fat)))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = name.encode("utf-16-le") + b"\0\0"
        return struct.pack(
            "<64sHBBIII16sIQQIQ", encoded, len(encoded), kind, 1, _NONE, right, child, b"", 0, 0, 0, start, size
        )

    names = list(streams)
    directory = [entry("Root Entry", 5, 1 if names else _NONE, _NONE, _END, 0)]
    for index, (name, data) in enumerate(zip(names, datas, strict=True), start=1):
        directory.append(
            entry(name, 2, _NONE, index + 1 if index < len(names) else _NONE, starts[index - 1], len(data))
        )
    while len(directory) % 4:
        directory.append(b"\0" * 64 + struct.pack("<HBBIII", 0, 0, 0, _NONE, _NONE, _NONE) + b"\0" * 48)
    assert len(directory) == 4, "one directory sector only"
    # version 3.62, little-endian, 512-byte sectors, 64-byte mini sectors; 1 FAT sector; directory at sector 1
    fields = (0x3E, 3, 0xFFFE, 9, 6, b"", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
    header = OLE2_MAGIC + b"\0" * 16 + struct.pack("<HHHHH6sIIIIIIIII", *fields)
    header += struct.pack("<109I", 0, *([_FREE] * 108))  # DIFAT: the FAT is sector 0
    padded = [data.ljust(count * 512, b"\0") for data, count in zip(datas, sectors_per_stream, strict=True)]
    path.write_bytes(header + struct.pack("<128I", *fat) + b"".join(directory) + b"".join(padded))
    return path


def build_table(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """A plain workbook whose sheets hold `rows` from A1 down (None leaves a cell empty)."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def build_large_workbook(path: Path, megabytes: float, empty_every: int = 500) -> int:
    """A realistic big string table (write-only, so cheap to make): key, 中文, English, notes, most English
    cells filled and one in `empty_every` empty. Returns the number of data rows; the file is about
    `megabytes` MB."""
    import random

    rng = random.Random(7)
    han = [chr(code) for code in range(0x4E00, 0x4E00 + 3000)]
    latin = "abcdefghijklmnopqrstuvwxyz     "
    rows = int(megabytes * 1e6 / 246)  # measured: about 246 bytes per row once zipped
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Strings")
    ws.append(["Key", "中文", "English", "Notes"])
    for number in range(1, rows + 1):
        english = None if number % empty_every == 0 else "".join(rng.choices(latin, k=120))
        ws.append([f"str_{number:07d}", "".join(rng.choices(han, k=40)), english, "".join(rng.choices(latin, k=60))])
    wb.save(path)
    return rows
