"""Stream the cells of a workbook's sheets straight from the package XML, without styles.

openpyxl parses `styles.xml` whole before the first cell (12 s for a 10 MB file of 50,000 cell formats, a
common Excel bloat) and trusts each sheet's `<dimension>`, which many tools write wrong. Here the package is
read part by part with lxml: the workbook part for sheet names and visibility, the shared strings once, and
each worksheet as a stream of `<row>` elements, each cleared once read. A sheet's extent is the cells it
holds, never what `<dimension>` claims. Styles are never opened.

A cell is `Cell(value, kind)`: kind is `text`, `number`, `bool`, `error`, `formula` or `date` (an ISO date
cell); a formula cell keeps its cached value but is never text to translate or a cell to fill. Ranges covered
by an array formula or a data table (`<f t="array|dataTable" ref=...>`) are collected: their cells other
than the top-left hold no `<f>` in the file, yet Excel owns them.

XML is parsed without DTDs, entities or network access: a part that declares or uses an entity fails as a
damaged file, never expands.
"""

from __future__ import annotations

import contextlib
import posixpath
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import unquote

from lxml import etree
from openpyxl.utils.cell import column_index_from_string, range_boundaries

MAIN_NS = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # strict OOXML
)
HIDDEN_STATES = ("hidden", "veryHidden")
_PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": True}


class Cell(NamedTuple):
    value: object
    kind: str  # text, number, bool, error, formula, date


Row = tuple[int, dict[int, Cell]]  # (1-based row number, {1-based column: cell}); only rows holding a cell


@dataclass(frozen=True)
class SheetEntry:
    name: str
    part: str | None  # zip entry of the worksheet; None when the sheet is a chartsheet or its part is missing
    state: str  # visible, hidden, veryHidden

    @property
    def hidden(self) -> bool:
        return self.state in HIDDEN_STATES


@dataclass
class SheetGrid:
    """The non-empty cells of one sheet, row by row, and the ranges Excel owns through array formulas."""

    rows: list[Row] = field(default_factory=list)
    owned_ranges: list[tuple[int, int, int, int]] = field(default_factory=list)  # (min_col, min_row, max_col, max_row)

    def owned(self, row: int, column: int) -> bool:
        return any(c1 <= column <= c2 and r1 <= row <= r2 for c1, r1, c2, r2 in self.owned_ranges)


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(**_PARSER_OPTIONS))


class Package:
    """An open .xlsx/.xlsm package: its sheets in workbook order and their shared strings."""

    def __init__(self, zip_file: zipfile.ZipFile) -> None:
        self.zip = zip_file
        self._names = {info.filename.lower(): info.filename for info in zip_file.infolist()}
        self._shared: list[str] | None = None
        workbook = next(
            (target for _, kind, target in self._relationships("") if kind.endswith("/officeDocument") and target),
            self._entry("xl/workbook.xml"),
        )
        if workbook is None:
            raise KeyError("no workbook part in the package")
        relationships = self._relationships(workbook)
        by_id = {rel_id: (kind, target) for rel_id, kind, target in relationships}
        self._shared_part = next((t for _, kind, t in relationships if kind.endswith("/sharedStrings") and t), None)
        self.sheets: list[SheetEntry] = []
        seen: set[str] = set()
        for element in _parse(self.zip.read(workbook)).iter():
            name = element.get("name")
            if _local(element.tag) != "sheet" or name is None or name in seen:
                continue
            seen.add(name)
            rel_id = next((value for key, value in element.attrib.items() if key.endswith("relationships}id")), "")
            kind, target = by_id.get(rel_id, ("", None))
            if target is None:
                continue  # as Excel and openpyxl: a sheet whose part is missing is not there
            part = target if kind.endswith("/worksheet") else None
            self.sheets.append(SheetEntry(name, part, element.get("state", "visible")))

    def _entry(self, name: str) -> str | None:
        return self._names.get(name.lower())

    def _relationships(self, source: str) -> list[tuple[str, str, str | None]]:
        folder, name = posixpath.split(source)
        rels = self._entry(posixpath.join(folder, "_rels", f"{name}.rels"))
        if rels is None:
            return []
        found = []
        for element in _parse(self.zip.read(rels)):
            if _local(element.tag) != "Relationship" or element.get("TargetMode") == "External":
                continue
            target = unquote(element.get("Target", ""))
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            found.append((element.get("Id", ""), element.get("Type", ""), self._entry(posixpath.normpath(path))))
        return found

    @property
    def shared_strings(self) -> list[str]:
        if self._shared is None:
            self._shared = []
            if self._shared_part is not None:
                with self.zip.open(self._shared_part) as stream:
                    for _, item in etree.iterparse(stream, events=("end",), tag="{*}si", **_PARSER_OPTIONS):
                        self._shared.append(_rich_text(item))
                        item.clear()
        return self._shared

    def rows(self, sheet: SheetEntry, grid: SheetGrid | None = None) -> Iterator[Row]:
        """The rows of `sheet` holding at least one non-empty cell, in file order; owned ranges go to `grid`."""
        if sheet.part is None:
            return
        shared = self.shared_strings
        with self.zip.open(sheet.part) as stream:
            previous = 0
            for _, element in etree.iterparse(stream, events=("end",), tag="{*}row", **_PARSER_OPTIONS):
                number = _int(element.get("r")) or previous + 1
                previous = number
                cells = _row_cells(element, shared, grid)
                element.clear()
                while element.getprevious() is not None:
                    del element.getparent()[0]
                if cells:
                    yield number, cells

    def grid(self, sheet: SheetEntry) -> SheetGrid:
        grid = SheetGrid()
        grid.rows = list(self.rows(sheet, grid))
        return grid


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _rich_text(element: etree._Element) -> str:
    """The text of an `<si>` or `<is>`: its `<t>` runs, phonetic runs (`<rPh>`) left out."""
    parts = []
    for node in element.iter("{*}t"):
        parent = node.getparent()
        if parent is not None and _local(parent.tag) == "rPh":
            continue
        parts.append(node.text or "")
    return "".join(parts)


def _column(reference: str | None) -> int | None:
    if not reference:
        return None
    letters = reference.rstrip("0123456789").upper()
    try:
        return column_index_from_string(letters)
    except ValueError:
        return None


def _row_cells(row: etree._Element, shared: list[str], grid: SheetGrid | None) -> dict[int, Cell]:
    cells: dict[int, Cell] = {}
    column = 0
    for c in row:
        if _local(c.tag) != "c":
            continue
        column = _column(c.get("r")) or column + 1
        kind = c.get("t", "n")
        value_text = None
        formula = None
        inline = None
        for child in c:
            name = _local(child.tag)
            if name == "v":
                value_text = child.text
            elif name == "f":
                formula = child
            elif name == "is":
                inline = child
        if formula is not None:
            if grid is not None and formula.get("t") in ("array", "dataTable") and formula.get("ref"):
                with contextlib.suppress(TypeError, ValueError):  # a broken ref owns nothing
                    grid.owned_ranges.append(range_boundaries(formula.get("ref")))
            cells[column] = Cell(value_text, "formula")
            continue
        cell = _value(kind, value_text, inline, shared)
        if cell is not None:
            cells[column] = cell
    return cells


def _value(kind: str, text: str | None, inline: etree._Element | None, shared: list[str]) -> Cell | None:
    if kind == "inlineStr":
        value = _rich_text(inline) if inline is not None else (text or "")
        return Cell(value, "text") if value != "" else None
    if text is None:
        return None
    if kind == "s":
        index = _int(text)
        value = shared[index] if index is not None and 0 <= index < len(shared) else ""
        return Cell(value, "text") if value != "" else None
    if kind == "str":
        return Cell(text, "text") if text != "" else None
    if kind == "b":
        return Cell(text.strip() in ("1", "true"), "bool")
    if kind == "e":
        return Cell(text, "error")
    if kind == "d":
        return Cell(text, "date")
    try:
        number = float(text)
    except ValueError:
        return Cell(text, "error")
    return Cell(int(number) if number.is_integer() and abs(number) < 2**53 else number, "number")
