"""Stream the cells of a workbook's sheets straight from the package XML, without styles.

openpyxl parses `styles.xml` whole before the first cell (12 s for a 10 MB file of 50,000 cell formats, a
common Excel bloat) and trusts each sheet's `<dimension>`, which many tools write wrong. Here the package is
read part by part with lxml: the workbook part for sheet names and visibility, the shared strings once, and
each worksheet as a stream of `<row>` elements, each cleared once read. A sheet's extent is the cells it
holds, never what `<dimension>` claims. Styles are never opened.

A cell is its value: `str` (text), `bool`, `int`/`float` (number), a date, or `Special(value, kind)` for a
formula, an error or an ISO date cell (`kind_of` names them all); a formula cell keeps its cached value but is
never text to translate or a cell to fill. Ranges covered
by an array formula or a data table (`<f t="array|dataTable" ref=...>`) are collected: their cells other
than the top-left hold no `<f>` in the file, yet Excel owns them.

XML is parsed without DTDs, entities or network access: a part that declares or uses an entity fails as a
damaged file, never expands.
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import re
import zipfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import IO, NamedTuple, overload
from urllib.parse import unquote

import numpy as np
from lxml import etree
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries
from python_calamine import CalamineSheet, CalamineWorkbook

MAIN_NS = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # strict OOXML
)
HIDDEN_STATES = ("hidden", "veryHidden")
CALAMINE_FROM_BYTES = 2_000_000  # worksheet XML from this size is read with calamine (about 6,000 rows)
# a worksheet part compressed more than this is mostly padding (real sheets: 5-20:1); calamine would hold it
# whole, the squeezed lxml stream does not
CALAMINE_MAX_RATIO = 40
WHITESPACE_KEPT = 32_768  # longer runs of white space are cut: a cell holds at most 32,767 characters
_PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": True}


class Special(NamedTuple):
    """A cell whose value alone does not say what it is."""

    value: object  # the cached value of a formula, the error text, the ISO date
    kind: str  # formula, error, date


Row = tuple[int, dict[int, object]]  # (1-based row number, {1-based column: value}); only rows holding a cell


def kind_of(value: object) -> str:
    """text, number, bool, formula, error or date."""
    if type(value) is str:
        return "text"
    if isinstance(value, Special):
        return value.kind
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "date"


def plain(value: object) -> object:
    """The value a person sees: a formula's cached value, an error's text."""
    return value.value if isinstance(value, Special) else value


def is_text(value: object) -> bool:
    """Non-blank text (not a formula, even one whose cached value is text)."""
    return type(value) is str and not value.isspace()


@dataclass(frozen=True)
class SheetEntry:
    name: str
    part: str | None  # zip entry of the worksheet; None when the sheet is a chartsheet or its part is missing
    state: str  # visible, hidden, veryHidden

    @property
    def hidden(self) -> bool:
        return self.state in HIDDEN_STATES


class SheetGrid:
    """The non-empty cells of one sheet and the ranges Excel owns through array formulas.

    The cells are held row by row in flat arrays, as compressed sparse rows: each cell's column and value, and where
    each row's cells start, beside the rows' numbers. A million rows of seven cells take about 90 MB besides their
    values (a dict per row took about 490 MB), and memory follows the cells a sheet holds, however wide it is.
    `rows` gives them as (number, {column: value}), each row made when it is read; a column's cells are found
    through an index by column, made when first asked for."""

    def __init__(self, owned_ranges: list[tuple[int, int, int, int]] | None = None) -> None:
        self.numbers = array("i")  # the number of each row holding a cell, in file order (Excel's fit 32 bits)
        self.owned_ranges = owned_ranges if owned_ranges is not None else []  # (min_col, min_row, max_col, max_row)
        self._starts = array("q", [0])  # row i's cells are cells[starts[i]:starts[i + 1]]
        self._columns = array("i")  # each cell's column
        self._values: list[object] = []  # each cell's value
        self._by_column: dict[int, np.ndarray] | None = None  # column -> its cells, in row order

    @classmethod
    def of_rows(cls, rows: Iterable[Row]) -> SheetGrid:
        grid = cls()
        for number, cells in rows:
            grid.add(number, cells)
        return grid

    def add(self, number: int, cells: dict[int, object]) -> None:
        """One more row: its number and its non-empty cells, in the order the file gives them."""
        self.numbers.append(number)
        self._columns.extend(cells)
        self._values.extend(cells.values())
        self._starts.append(len(self._values))
        self._by_column = None

    @property
    def rows(self) -> Rows:
        return Rows(self, range(len(self.numbers)))

    def row(self, position: int) -> Row:
        start, end = self._starts[position], self._starts[position + 1]
        return self.numbers[position], dict(zip(self._columns[start:end], self._values[start:end], strict=True))

    def column_cells(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        """(row positions, cell indices) of the column's cells, in row order."""
        cells = self._index().get(column, np.empty(0, dtype=np.int64))
        return np.searchsorted(np.frombuffer(self._starts, dtype=np.int64), cells, side="right") - 1, cells

    def column_numbers(self) -> list[int]:
        """The columns holding a cell, left to right."""
        return sorted(self._index())

    def _index(self) -> dict[int, np.ndarray]:
        if self._by_column is None:
            columns = np.frombuffer(self._columns, dtype=np.int32).copy()
            order = np.argsort(columns, kind="stable")  # each column's cells together, in row order
            bounds = np.flatnonzero(np.diff(columns[order])) + 1
            self._by_column = {int(columns[cells[0]]): cells for cells in np.split(order, bounds) if len(cells)}
        return self._by_column

    def values(self, cells: np.ndarray) -> list[object]:
        return [self._values[i] for i in cells.tolist()]

    def owned(self, row: int, column: int) -> bool:
        return any(c1 <= column <= c2 and r1 <= row <= r2 for c1, r1, c2, r2 in self.owned_ranges)


class Rows(Sequence[Row]):
    """Some rows of a grid, in its order, each (number, {column: value}) made when it is read; a slice, `kept` and
    `numbered` are views of the same grid. A column is read whole with `column` or `cells`."""

    __slots__ = ("_grid", "_positions")

    def __init__(self, grid: SheetGrid, positions: range | np.ndarray) -> None:
        self._grid = grid
        self._positions = positions  # ascending

    def __len__(self) -> int:
        return len(self._positions)

    @overload
    def __getitem__(self, index: int) -> Row: ...
    @overload
    def __getitem__(self, index: slice) -> Rows: ...
    def __getitem__(self, index: int | slice) -> Row | Rows:
        if isinstance(index, slice):
            return Rows(self._grid, self._positions[index])
        return self._grid.row(int(self._positions[index]))

    def __iter__(self) -> Iterator[Row]:
        return map(self._grid.row, self._positions)

    def numbers(self) -> list[int]:
        return self._number_array().tolist()

    def _number_array(self) -> np.ndarray:
        numbers = np.frombuffer(self._grid.numbers, dtype=np.int32)
        positions = self._positions
        return numbers[positions.start : positions.stop] if isinstance(positions, range) else numbers[positions]

    def cells(self, column: int) -> tuple[list[int], list[object]]:
        """(indices in these rows, values) of the column's cells in these rows."""
        indices, cells = self._cells(column)
        return indices.tolist(), self._grid.values(cells)

    def _cells(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        rows, cells = self._grid.column_cells(column)
        positions = self._positions
        if isinstance(positions, range):
            low, high = np.searchsorted(rows, [positions.start, positions.stop])
            return rows[low:high] - positions.start, cells[low:high]
        at = np.searchsorted(positions, rows)
        hit = at < len(positions)
        hit[hit] = positions[at[hit]] == rows[hit]
        return at[hit], cells[hit]

    def column(self, column: int) -> list[object]:
        """The column's value in each of these rows (None: empty)."""
        values: list[object] = [None] * len(self)
        for index, value in zip(*self.cells(column), strict=True):
            values[index] = value
        return values

    def columns(self) -> set[int]:
        """The columns with a cell in these rows."""
        return {c for c in self._grid.column_numbers() if len(self._cells(c)[0])}

    def kept(self, positions: Sequence[int] | np.ndarray) -> Rows:
        """These rows at `positions` (ascending)."""
        return Rows(self._grid, np.asarray(self._positions, dtype=np.int64)[np.asarray(positions, dtype=np.int64)])

    def numbered(self, wanted: Callable[[int], bool]) -> Rows:
        """These rows whose number is `wanted`."""
        return self.kept([i for i, number in enumerate(self.numbers()) if wanted(number)])

    def by_number(self, numbers: Iterable[int]) -> dict[int, dict[int, object]]:
        """{number: cells} of these rows numbered `numbers` (a number twice in the file: its last row)."""
        mine = self._number_array().copy()  # not a view: the grid's array stays free to grow
        found = {}
        for number in numbers:
            if len(at := np.flatnonzero(mine == number)):
                found[number] = self[int(at[-1])][1]
        return found


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
        self._calamine: CalamineWorkbook | None = None
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
        self.declared_names: list[str] = []  # every sheet name the workbook part declares, repeats included
        for element in _parse(self.zip.read(workbook)).iter():
            name = element.get("name")
            if _local(element.tag) != "sheet" or name is None:
                continue
            self.declared_names.append(name)
            if name in seen:
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
                    for _, item in etree.iterparse(_Squeezed(stream), events=("end",), tag="{*}si", **_PARSER_OPTIONS):
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
            for _, element in etree.iterparse(_Squeezed(stream), events=("end",), tag="{*}row", **_PARSER_OPTIONS):
                number = _int(element.get("r")) or previous + 1
                previous = number
                cells = _row_cells(element, shared, grid)
                element.clear()
                while element.getprevious() is not None:
                    del element.getparent()[0]
                if cells:
                    yield number, cells

    def grid(self, sheet: SheetEntry) -> SheetGrid:
        """All of `sheet`'s non-empty cells. Values come from calamine (Rust) when it can read the sheet: about
        4x faster than walking the XML in Python; formula and error cells, which calamine reports as their
        cached values, are found by a byte scan of the part. Else (a small sheet, where calamine's fixed cost
        of opening the workbook, styles included, is more than the walk; calamine fails; a formula cell has
        no `r`, the part is mostly padding), the lxml stream."""
        info = self.zip.getinfo(sheet.part) if sheet.part is not None else None
        large = info is not None and info.file_size >= CALAMINE_FROM_BYTES
        padded = info is not None and info.file_size > CALAMINE_MAX_RATIO * max(info.compress_size, 1)
        if large and not padded and (grid := self._calamine_grid(sheet)) is not None:
            return grid
        grid = SheetGrid()
        for number, cells in self.rows(sheet, grid):
            grid.add(number, cells)
        return grid

    def _calamine_grid(self, sheet: SheetEntry) -> SheetGrid | None:
        data = self.zip.read(sheet.part)
        special = _special_cells(data)
        if special is None or not _dense_enough(data):
            return None
        del data
        kinds, owned = special
        try:
            if self._calamine is None:
                self._calamine = CalamineWorkbook.from_path(str(self.zip.filename))
            values = self._calamine.get_sheet_by_name(sheet.name)
            return self._calamine_rows(values, kinds, owned)
        except Exception:  # calamine raises its own error types on what it cannot read: the lxml path decides
            return None

    @staticmethod
    def _calamine_rows(
        values: CalamineSheet, kinds: dict[tuple[int, int], str], owned: list[tuple[int, int, int, int]]
    ) -> SheetGrid:
        """The sheet's grid, built one Python row at a time (never the whole sheet as lists at once).
        `iter_rows` counts rows from row 1 and columns from the first used one."""
        grid = SheetGrid(owned_ranges=owned)
        first_column = values.start[1] + 1 if values.start is not None else 1
        by_row: dict[int, list[tuple[int, str]]] = {}
        for (r, column), kind in kinds.items():
            by_row.setdefault(r, []).append((column, kind))
        repeated = _RepeatedTexts()
        for index, row in enumerate(values.iter_rows()):
            cells = {c: v for c, v in enumerate(row, start=first_column) if v != ""}
            if not cells:
                continue
            number = index + 1
            for column, value in cells.items():
                cells[column] = repeated.one(column, value) if type(value) is str else _number(value)
            for column, kind in by_row.get(number, ()):
                cells[column] = Special(cells.get(column), kind)
            grid.add(number, cells)
        return grid


class _RepeatedTexts:
    """One object per text that repeats in a column, as the shared-strings table gives the lxml path: calamine
    makes a new `str` for every cell, so a speaker or note column of a few values held a million copies of them
    in a million-row sheet, and so did every table built from the cells after it (pickling keeps one object
    per text). A column with INTERN_SAMPLE / 2 distinct texts among its first INTERN_SAMPLE (keys, source text)
    is left alone from then on; at most INTERN_LIMIT texts are kept per column."""

    def __init__(self) -> None:
        self.known: dict[int, dict[str, str]] = {}
        self.looked: dict[int, int] = {}
        self.distinct: set[int] = set()

    def one(self, column: int, text: str) -> str:
        if column in self.distinct:
            return text
        known = self.known.get(column)
        if known is None:
            known = self.known[column] = {}
        looked = self.looked[column] = self.looked.get(column, 0) + 1
        if (found := known.get(text)) is not None:
            return found
        if looked <= INTERN_SAMPLE and len(known) >= INTERN_SAMPLE // 2:
            self.distinct.add(column)
            del self.known[column]
        elif len(known) < INTERN_LIMIT:
            known[text] = text
        return text


INTERN_SAMPLE = 2048
INTERN_LIMIT = 65_536


class _Squeezed(io.RawIOBase):
    """A part's bytes with every run of white space cut to WHITESPACE_KEPT bytes. No cell text is that long,
    so every value reads the same, and a part padded with a gigabyte of white space costs the parser no
    memory (lxml keeps the white space after a row as that row's tail until the next row ends)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.run = 0  # white space at the end of what was given so far

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while chunk := self.raw.read(len(buffer)):
            if kept := self._squeeze(chunk):
                buffer[: len(kept)] = kept
                return len(kept)
        return 0

    def _squeeze(self, chunk: bytes) -> bytes:
        body = chunk.lstrip(_WHITE)
        head = chunk[: len(chunk) - len(body)][: max(0, WHITESPACE_KEPT - self.run)]
        if not body:
            self.run += len(chunk)
            return head
        self.run = len(body) - len(body.rstrip(_WHITE))
        return head + _LONG_WHITE.sub(rb"\1", body)


_WHITE = b" \t\r\n"
_LONG_WHITE = re.compile(rb"([ \t\r\n]{%d})[ \t\r\n]+" % WHITESPACE_KEPT)


_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*:)?worksheet\b")
_REF = re.compile(rb'\br="([A-Za-z]{1,3})([0-9]{1,7})"')
_REF_ATTRIBUTE = re.compile(rb'\bref="([^"]*)"')
_OWNING_FORMULA = re.compile(rb'\bt="(?:array|dataTable)"')


def _cell_at(data: bytes, prefix: bytes, before: int) -> tuple[int, int] | None:
    """(row, column) of the `<c>` start tag that opens last before `before`; None when it has no `r`."""
    start = data.rfind(b"<" + prefix + b"c", 0, before)
    end = data.find(b">", start)
    reference = _REF.search(data, start, end) if start != -1 and end != -1 else None
    if reference is None:
        return None
    return int(reference.group(2)), column_index_from_string(reference.group(1).decode().upper())


def _prefix(data: bytes) -> bytes:
    """The namespace prefix of a worksheet part's elements (`x:` in `<x:worksheet>`), b"" for none."""
    root = _ROOT.search(data, 0, 4096)
    return (root.group(1) or b"") if root else b""


def _special_cells(data: bytes) -> tuple[dict[tuple[int, int], str], list[tuple[int, int, int, int]]] | None:
    """({(row, column): "formula" | "error"}, ranges owned by array formulas and data tables) of a worksheet
    part, found by searching its bytes for `<f` and `t="e"` (both rare in a string table); None when such a
    cell has no `r` to place it."""
    prefix = _prefix(data)
    kinds: dict[tuple[int, int], str] = {}
    owned: list[tuple[int, int, int, int]] = []
    needle = b"<" + prefix + b"f"
    position = data.find(needle)
    while position != -1:
        after = data[position + len(needle) : position + len(needle) + 1]
        if after in (b" ", b">", b"/", b"\t", b"\n", b"\r"):
            place = _cell_at(data, prefix, position)
            if place is None:
                return None
            kinds[place] = "formula"
            tag_end = data.find(b">", position)
            if _OWNING_FORMULA.search(data, position, tag_end) and (
                ref := _REF_ATTRIBUTE.search(data, position, tag_end)
            ):
                with contextlib.suppress(TypeError, ValueError):  # a broken ref owns nothing
                    owned.append(range_boundaries(ref.group(1).decode()))
        position = data.find(needle, position + 1)
    position = data.find(b't="e"')
    while position != -1:
        opening = data.rfind(b"<", 0, position)
        if (
            data.startswith(b"<" + prefix + b"c", opening)
            and data[opening + len(prefix) + 2 : opening + len(prefix) + 3].isspace()
        ):
            place = _cell_at(data, prefix, position)
            if place is None:
                return None
            kinds.setdefault(place, "error")
        position = data.find(b't="e"', position + 1)
    return kinds, owned


_CELL_COLUMN = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?c r="([A-Z]{1,3})[0-9]')
_ROW_NUMBER = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?row r="([0-9]{1,7})"')
DENSE_MAX = 2  # calamine holds (rows x columns spanned) cells of 32 bytes: at most twice the cells the sheet has


def _dense_enough(data: bytes) -> bool:
    """Whether calamine's table of the worksheet part `data` (every cell of the rows and columns its cells span,
    empty or not) holds at most DENSE_MAX times the cells the part has. One cell in column XFD and one in row
    1,000,000 make 17 billion cells of 32 bytes: calamine aborts the process. A cell or row whose reference is not
    its first attribute leaves the extent unknown: False. About 1.4 s for 1,000,000 rows of seven cells."""
    prefix = _prefix(data)
    columns = _CELL_COLUMN.findall(data)
    cells = data.count(b"<" + prefix + b"c ") + data.count(b"<" + prefix + b"c>")
    if not columns or len(columns) != cells:
        return False
    numbers = {column_index_from_string(letters.decode()) for letters in set(columns)}
    width = max(numbers) - min(numbers) + 1
    del columns
    rows = [int(number) for number in _ROW_NUMBER.findall(data)]
    if not rows or len(rows) != data.count(b"<" + prefix + b"row ") + data.count(b"<" + prefix + b"row>"):
        return False
    return (max(rows) - min(rows) + 1) * width <= DENSE_MAX * cells + 65_536


def _number(value: object) -> object:
    """A whole float as an int (keys such as 80402 read back as written); other values unchanged."""
    if type(value) is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _rich_text(element: etree._Element) -> str:
    """The text of an `<si>` or `<is>`: its `<t>` runs, phonetic runs (`<rPh>`) left out."""
    if len(element) == 1 and _local(element[0].tag) == "t":  # a plain string: the common case
        return element[0].text or ""
    parts = []
    for node in element.iter("{*}t"):
        parent = node.getparent()
        if parent is not None and _local(parent.tag) == "rPh":
            continue
        parts.append(node.text or "")
    return "".join(parts)


_LETTERS = {get_column_letter(i): i for i in range(1, 703)}  # A..ZZ, the columns of nearly every sheet


def _column(reference: str | None) -> int | None:
    if not reference:
        return None
    letters = reference.rstrip("0123456789").upper()
    if (known := _LETTERS.get(letters)) is not None:
        return known
    try:
        return column_index_from_string(letters)
    except ValueError:
        return None


class _Tags(NamedTuple):
    c: str
    v: str
    f: str
    inline: str


@lru_cache(maxsize=8)
def _tags(row_tag: str) -> _Tags:
    namespace = row_tag[: row_tag.index("}") + 1] if row_tag.startswith("{") else ""
    return _Tags(f"{namespace}c", f"{namespace}v", f"{namespace}f", f"{namespace}is")


def _row_cells(row: etree._Element, shared: list[str], grid: SheetGrid | None) -> dict[int, object]:
    tags = _tags(row.tag)
    cells: dict[int, object] = {}
    column = 0
    for c in row:
        if c.tag != tags.c:
            continue
        column = _column(c.get("r")) or column + 1
        value_text = None
        formula = None
        inline = None
        for child in c:
            tag = child.tag
            if tag == tags.v:
                value_text = child.text
            elif tag == tags.f:
                formula = child
            elif tag == tags.inline:
                inline = child
        if formula is not None:
            if grid is not None and formula.get("t") in ("array", "dataTable") and formula.get("ref"):
                with contextlib.suppress(TypeError, ValueError):  # a broken ref owns nothing
                    grid.owned_ranges.append(range_boundaries(formula.get("ref")))
            cells[column] = Special(value_text, "formula")
            continue
        kind = c.get("t", "n")
        if kind == "s" and value_text is not None:  # the common case first
            index = _int(value_text)
            value = shared[index] if index is not None and 0 <= index < len(shared) else ""
            if value != "":
                cells[column] = value
            continue
        cell = _value(kind, value_text, inline, shared)
        if cell is not None:
            cells[column] = cell
    return cells


def _value(kind: str, text: str | None, inline: etree._Element | None, shared: list[str]) -> object:
    """The value of a cell without formula, None when it is empty."""
    if kind == "inlineStr":
        value = _rich_text(inline) if inline is not None else (text or "")
        return value if value != "" else None
    if text is None:
        return None
    if kind == "s":
        index = _int(text)
        value = shared[index] if index is not None and 0 <= index < len(shared) else ""
        return value if value != "" else None
    if kind == "str":
        return text if text != "" else None
    if kind == "b":
        return text.strip() in ("1", "true")
    if kind == "e":
        return Special(text, "error")
    if kind == "d":
        return Special(text, "date")
    try:
        number = float(text)
    except ValueError:
        return Special(text, "error")
    return _number(number)
