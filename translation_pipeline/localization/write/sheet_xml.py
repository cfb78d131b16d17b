"""Patch the XML of one worksheet part (SpreadsheetML): fill empty cells with inline strings, touching only the
rows that hold them.

Byte-level regular expressions, never a tree, over the part read as a stream: cells do not nest, so a row can be
patched as soon as it is whole, and memory depends on the longest row (at most ROW_LIMIT), never on the part's
size. One pass over the row tags finds the rows holding fills (only their cells are read) and makes sure the rows
come in ascending order, as Excel writes them (`NotPatchable` otherwise: the caller copies the part unchanged).
Both the default namespace and a prefixed one (`<x:row>`, as the .NET Open XML SDK writes) are handled, and a row
or cell without an `r` attribute is the one after the previous one. A new cell gets the style Excel would give it
when typing there: the row's (`customFormat`), else the column's.
"""

from __future__ import annotations

import itertools
import re
import shutil
import zipfile
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from io import IOBase
from operator import itemgetter
from tempfile import SpooledTemporaryFile
from types import SimpleNamespace
from typing import IO, NamedTuple

import numpy as np
from openpyxl.utils.cell import column_index_from_string, range_boundaries

from translation_pipeline.localization.refs import a1

MAX_ROW = 1_048_576
MAX_COLUMN = 16_384

MERGED = "merged cell that is not the top-left cell of its range"
ALREADY_WRITTEN = "an earlier fill already wrote this cell"
HOLDS_FORMULA = "cell holds a formula"
HAS_VALUE = "cell already has a value"

SPOOL_BYTES = 8 << 20  # a patched sheetData larger than this goes to a temporary file, not memory
READ_CHUNK = 1 << 20  # bytes of a worksheet part read at a time
SEARCH_OVERLAP = 4096  # bytes kept from one chunk to the next when looking for a tag (no real tag is longer)
HEADER_LIMIT = 64 << 20  # what comes before the rows (sheetPr, dimension, views, cols); Excel writes kilobytes
ROW_LIMIT = 64 << 20  # one row element; Excel's longest (16,384 cells of a line of text each) is a few MiB
Pieces = list[bytes | memoryview | IO[bytes]]  # a part's new content, in order; a file is read from its start


def pieces_size(pieces: Pieces) -> int:
    """The number of bytes `pieces` hold."""
    return sum(piece.seek(0, 2) if isinstance(piece, IOBase | SpooledTemporaryFile) else len(piece) for piece in pieces)


def write_pieces(pieces: Pieces, stream: IO[bytes], chunk: int = 1 << 20) -> None:
    """Write `pieces` to `stream`; a file piece in chunks, then closed."""
    for piece in pieces:
        if isinstance(piece, IOBase | SpooledTemporaryFile):
            piece.seek(0)
            shutil.copyfileobj(piece, stream, chunk)
            piece.close()
        else:
            stream.write(piece)


def _row_groups(rows: np.ndarray, keep: np.ndarray) -> Iterator[tuple[int, list[int]]]:
    """(row number, indexes of its kept targets in their order) for each row with any, by row number: arrays
    and one row's list at a time, not a list per row for the whole sheet."""
    if len(rows) > 1 and bool((rows[1:] < rows[:-1]).any()):
        order = np.argsort(rows, kind="stable")
        order = order[keep[order]]
    else:  # in row order already, as the fills of a sheet come: no sort, nor an index of every target twice
        order = np.flatnonzero(keep)
    ordered = rows[order]
    start = 0
    for end in itertools.chain(np.flatnonzero(np.diff(ordered)) + 1, (len(order),)):
        if end > start:
            yield int(ordered[start]), order[start:end].tolist()
        start = end


class Target(NamedTuple):
    """A fill that passed the checks that need no sheet XML."""

    index: int  # position in the fills, so skips are reported in the fills' order
    row: int
    column: int
    text: str
    cleaned: bool
    overwrite: bool = False  # a value in the cell is replaced (a formula never is)
    sheet: str = ""  # the fill's sheet and reference as given, to report it when it is not written
    cell: str = ""


class Targets(Sequence[Target]):
    """The targets of a sheet, a column each: about 40 bytes a target instead of a tuple of eight fields (128),
    and two million targets at 1,000,000 rows of two languages. An item is a Target, made when it is read."""

    _CLEANED, _OVERWRITE = 1, 2

    def __init__(self) -> None:
        self._indexes = array("q")
        self._rows = array("i")  # Excel's rows (1,048,576) and columns (16,384) fit
        self._columns = array("i")
        self._flags = bytearray()
        self._texts: list[str] = []
        self._sheet = ""  # the sheet name of the first target; another one is kept apart, as are these:
        # a target's reference as given where it is not the A1 form of its row and column (`$C$7`): each other
        # one is made again when read, not held (the fills of a large workbook make theirs as they come)
        self._given: dict[int, tuple[str, str]] = {}

    def append(self, target: Target) -> None:
        if not self._indexes:
            self._sheet = target.sheet
        if target.sheet != self._sheet or target.cell != a1(target.row, target.column):
            self._given[len(self._indexes)] = (target.sheet, target.cell)
        self._indexes.append(target.index)
        self._rows.append(target.row)
        self._columns.append(target.column)
        self._flags.append(self._CLEANED * target.cleaned | self._OVERWRITE * target.overwrite)
        self._texts.append(target.text)

    def __len__(self) -> int:
        return len(self._indexes)

    def __getitem__(self, position: int) -> Target:  # type: ignore[override]  # no slices
        flags, row, column = self._flags[position], self._rows[position], self._columns[position]
        sheet, cell = self._given.get(position) or (self._sheet, a1(row, column))
        return Target(self._indexes[position], row, column, self._texts[position], bool(flags & self._CLEANED),
                      bool(flags & self._OVERWRITE), sheet, cell)  # fmt: skip

    def fill_index(self, position: int) -> int:
        """The fill index (`Target.index`) of the target at `position`, without making the target."""
        return self._indexes[position]

    def positions(self) -> Iterator[tuple[int, int]]:
        """(row, column) of each target, in order, without making the targets."""
        return zip(self._rows, self._columns, strict=True)

    def rows(self) -> np.ndarray:
        """The targets' row numbers, as an array (no copy)."""
        return np.frombuffer(self._rows, dtype=np.int32) if self._rows else np.zeros(0, dtype=np.int32)


@lru_cache(maxsize=4096)
def column_number(letters: str | bytes) -> int:
    """Column index of "C" or b"c"; a column past Excel's last one (as "ZZZ") is MAX_COLUMN + 1."""
    try:
        return column_index_from_string(letters.upper() if isinstance(letters, str) else letters.decode().upper())
    except ValueError:
        return MAX_COLUMN + 1


class SharedStrings:
    """Which entries of the shared string table hold text. The table is read only when a target cell refers
    to it, and scanned only as far as the highest index asked for."""

    def __init__(self, package: zipfile.ZipFile, part: str | None) -> None:
        self.package, self.part = package, part
        self.data = b""
        self.patterns = SimpleNamespace()
        self.entries: Iterator[re.Match[bytes]] | None = None
        self.spans = array("q")  # content start and end of each entry read so far (-1, -1: no content)

    def has_text(self, index: int) -> bool:
        """Whether entry `index` holds text; an entry past the table counts as text (never overwritten)."""
        if self.part is None:
            return True
        if self.entries is None:
            self.data = self.package.read(self.part)
            root = re.search(rb"<(?:([\w.-]+):)?sst[\s/>]", self.data)
            self.patterns = _patterns(root.group(1) or b"" if root else b"")
            self.entries = self.patterns.si.finditer(self.data)
        while len(self.spans) <= 2 * index:
            entry = next(self.entries, None)
            if entry is None:
                return True
            self.spans.extend(entry.span(1))
        start, end = self.spans[2 * index], self.spans[2 * index + 1]
        return start >= 0 and _holds_text(self.data[start:end], self.patterns)


def _holds_text(rich: bytes | None, patterns: SimpleNamespace) -> bool:
    """Whether the content of an `<si>` or `<is>` element holds any text (phonetic runs aside)."""
    if not rich:
        return False
    rich = patterns.phonetic.sub(b"", rich)
    return any(_raw_text(match.group(1)) for match in patterns.text.finditer(rich))


def _raw_text(raw: bytes | None) -> bytes:
    """Element text as raw XML; empty exactly when the text is (comments and empty CDATA sections aside)."""
    if raw and b"<!" in raw:
        raw = re.sub(rb"<!--.*?-->|<!\[CDATA\[\]\]>", b"", raw, flags=re.S)
    return raw or b""


# --- the worksheet XML -----------------------------------------------------------------------------------

_ATTRIBUTE_RE = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_T_ATTRIBUTE_RE = re.compile(rb"""\s+t\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_SPANS_ATTRIBUTE_RE = re.compile(rb"""(\sspans\s*=\s*)(["'])[^"']*\2""")
_REF_ATTRIBUTE_RE = re.compile(rb"""(\sref\s*=\s*)(["'])[^"']*\2""")


@lru_cache(maxsize=8)
def _patterns(prefix: bytes) -> SimpleNamespace:
    """Regular expressions for SpreadsheetML elements written with namespace `prefix` (b"" or e.g. b"x")."""
    p = re.escape(prefix + b":") if prefix else b""

    def rx(pattern: bytes) -> re.Pattern[bytes]:  # "~" stands for the prefix
        return re.compile(pattern.replace(b"~", p), re.S)

    r_start, r_end = rb"""(?:(?=[^>]*?\sr\s*=\s*["']""", rb"""["']))?"""  # an optional look-ahead at `r`

    def element(name: bytes) -> re.Pattern[bytes]:  # group 1: the content, None when self-closing
        return rx(rb"<~" + name + rb"(?=[\s/>])[^>]*?(?:/>|>(.*?)</~" + name + rb"\s*>)")

    return SimpleNamespace(
        prefix=prefix + b":" if prefix else b"",
        sheet_data_open=rx(rb"<~sheetData(?=[\s/>])[^>]*>"),
        sheet_data_close=rx(rb"</~sheetData\s*>"),
        row=rx(rb"<~row(?=[\s/>])" + r_start + rb"(\d+)" + r_end + rb"[^>]*>"),  # group 1: the row number
        row_close=rx(rb"</~row\s*>"),
        # group 1: the column letters, 2: the attributes, 3: the content (None when self-closing)
        cell=rx(rb"<~c(?=[\s/>])" + r_start + rb"\$?([A-Za-z]{1,3})\$?\d+" + r_end + rb"([^>]*?)(?:/>|>(.*?)</~c\s*>)"),
        extension_list=rx(rb"<~extLst(?=[\s/>])"),
        formula=rx(rb"<~f(?=[\s/>])"),
        value=element(b"v"),
        inline=element(b"is"),
        text=element(b"t"),
        phonetic=element(b"rPh"),
        si=element(b"si"),
        dimension=rx(rb"<~dimension(?=[\s/>])[^>]*>"),
        column=rx(rb"<~col(?=[\s/>])[^>]*>"),
        merge=rx(rb"<~mergeCell(?=[\s/>])[^>]*>"),
        # the end of an element that comes before sheetData (where a missing sheetData goes)
        before_sheet_data=rx(
            rb"<~(?:cols|sheetFormatPr|sheetViews|dimension|sheetPr)(?=[\s/>])[^>]*/>|</~(?:cols|sheetViews|sheetPr)\s*>"
        ),
    )


class NotPatchable(Exception):
    """The part is not worksheet XML this module can patch."""


_ROOT_RE = re.compile(rb"<(?:([\w.-]+):)?worksheet[\s/>]")


def _read_all(stream: IO[bytes], limit: int) -> bytes:
    """The rest of `stream`, if it is at most `limit` bytes."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise NotPatchable
    return data


def _skip(stream: IO[bytes], size: int) -> None:
    """Read and drop `size` bytes of `stream`."""
    while size > 0:
        chunk = stream.read(min(READ_CHUNK, size))
        if not chunk:
            raise NotPatchable
        size -= len(chunk)


def _attributes(tag: bytes) -> dict[bytes, bytes]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTRIBUTE_RE.finditer(tag)}


def _ref_area(tag: bytes) -> tuple[int, int, int, int] | None:
    """(min column, min row, max column, max row) of the `ref` attribute of `tag`; None if absent or unreadable."""
    reference = _attributes(tag).get(b"ref", b"").decode("ascii", "replace")
    try:
        area = range_boundaries(reference)
    except (ValueError, TypeError):
        return None
    return None if None in area else area  # type: ignore[return-value]


# Excel reads `_x0041_` in cell text as "A"; a look-ahead, so `_x005F_x0041_` (two sharing an underscore) is
# escaped twice
_EXCEL_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")


def _escape(text: str) -> bytes:
    """Cell text as XML; `_xHHHH_` in the text is escaped (`_x005F_xHHHH_`) so Excel reads it back as written."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return _EXCEL_ESCAPE.sub("_x005F_", text).encode("utf-8")


@dataclass(slots=True)
class _Row:
    number: int
    start: int  # where the row element starts, or where a missing row goes
    exists: bool = True
    tag: bytes = b""  # the start tag
    tag_end: int = 0
    content_end: int = 0  # where cells after the last one go: the row's extLst or end tag
    end: int = 0  # just after the row element
    cells: dict[int, re.Match[bytes]] = field(default_factory=dict)  # target column -> its cell
    columns: list[int] = field(default_factory=list)  # column of every cell, in order
    starts: list[int] = field(default_factory=list)  # start of every cell, in order

    @property
    def self_closing(self) -> bool:
        return self.tag.endswith(b"/>")


class Worksheet:
    """One worksheet part, read as a stream (twice) and never held whole: memory depends on the longest row, not
    on the part's size. `fill` patches the rows holding targets, `pieces` gives the new part.

    The first pass keeps what comes before the rows (the header, with `<dimension>` and `<cols>`) and what comes
    after them (the tail, spooled, with the merged ranges a fill must respect), and notes where the rows are. The
    second pass reads the rows chunk by chunk: a row is handled once it is whole, and everything between rows is
    written through."""

    def __init__(self, open_part: Callable[[], IO[bytes]]) -> None:
        self.open_part = open_part
        # the new content of sheetData, and what follows it; `write_pieces` closes them (else `close` does)
        self.body = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self.tail = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self.bounds: list[int] | None = None  # [min row, min column, max row, max column] of the written cells
        self._column_style: Callable[[int], bytes | None] | None = None
        with open_part() as stream:
            self._scan(stream)
        p = self.pt.prefix
        self.cell_open, self.cell_close = b"<" + p + b"c", b"</" + p + b"t></" + p + b"is></" + p + b"c>"
        self.cell_middle = b' t="inlineStr"><' + p + b"is><" + p + b't xml:space="preserve">'

    def close(self) -> None:
        self.body.close()
        self.tail.close()

    def _scan(self, stream: IO[bytes]) -> None:
        """First pass: the header, the rows' place (`rows_start`, `rows_end`: offsets in the part) and the tail."""
        header, root, opening, searched = bytearray(), None, None, 0
        while opening is None:
            chunk = stream.read(READ_CHUNK)
            header += chunk
            if root is None:
                root = _ROOT_RE.search(header, max(0, searched - SEARCH_OVERLAP))
                if root is not None:
                    self.pt = _patterns(root.group(1) or b"")
                    searched = root.end()
            if root is not None:
                opening = self.pt.sheet_data_open.search(header, max(root.end(), searched - SEARCH_OVERLAP))
            searched = len(header)
            if not chunk:
                break
            if len(header) > HEADER_LIMIT:
                raise NotPatchable
        if root is None:
            raise NotPatchable
        self.header_start = root.end()
        if opening is None or opening.group(0).endswith(b"/>"):  # no rows: a small part, held whole
            header += _read_all(stream, HEADER_LIMIT - len(header))
            data = self._with_open_sheet_data(bytes(header), opening, root.end())
            opening = self.pt.sheet_data_open.search(data)
            assert opening is not None
            closing = self.pt.sheet_data_close.search(data, opening.end())
            assert closing is not None
            self.header, self.rows_start = data[: opening.end()], opening.end()
            self.rows_end = self.rows_start
            self.tail.write(data[closing.start() :])
        else:
            self.header, self.rows_start = bytes(header[: opening.end()]), opening.end()
            self._find_rows_end(stream, bytes(header[opening.end() :]))
        self.merges = self._merged_ranges()

    def _find_rows_end(self, stream: IO[bytes], buffer: bytes) -> None:
        """Read on from the rows' start to `</sheetData>`; spool it and the rest of the part as the tail."""
        offset = self.rows_start  # where `buffer` starts in the part
        while (closing := self.pt.sheet_data_close.search(buffer)) is None:
            chunk = stream.read(READ_CHUNK)
            if not chunk:
                raise NotPatchable
            keep = max(0, len(buffer) - SEARCH_OVERLAP)
            offset, buffer = offset + keep, buffer[keep:] + chunk
        self.rows_end = offset + closing.start()
        self.tail.write(buffer[closing.start() :])
        shutil.copyfileobj(stream, self.tail, READ_CHUNK)

    def _with_open_sheet_data(self, data: bytes, opening: re.Match[bytes] | None, root_end: int) -> bytes:
        """`data` with an empty `<sheetData/>` (or a missing one) written as a start and an end tag."""
        new = b"<" + self.pt.prefix + b"sheetData></" + self.pt.prefix + b"sheetData>"
        if opening is not None:
            return data[: opening.start()] + new + data[opening.end() :]
        before = [match.end() for match in self.pt.before_sheet_data.finditer(data)]
        position = before[-1] if before else data.find(b">", root_end - 1) + 1
        return data[:position] + new + data[position:]

    def fill(self, targets: Targets, shared: SharedStrings) -> dict[int, str]:
        """Decide each target and patch the rows of the written ones; why each other one was not written, by its
        position in `targets` (a dict of the few: not a list of every target's reason, 2 million at 1,000,000
        rows of two languages)."""
        merged = self._merged_check()
        self.targets, self.shared = targets, shared
        self.reasons: dict[int, str] = {}
        keep = np.fromiter((not merged(row, column) for row, column in targets.positions()), dtype=bool,
                           count=len(targets))  # fmt: skip
        for index in np.flatnonzero(~keep).tolist():
            self.reasons[index] = MERGED
        self.wanted = _row_groups(targets.rows(), keep)
        self.current = 0
        self._next_row()
        with self.open_part() as stream:
            _skip(stream, self.rows_start)
            carry, left = b"", self.rows_end - self.rows_start
            while left > 0:
                chunk = stream.read(min(READ_CHUNK, left))
                if not chunk:
                    raise NotPatchable
                left -= len(chunk)
                buffer = carry + chunk
                carry = buffer[self._patch(buffer, final=False) :]
                if len(carry) > ROW_LIMIT:
                    raise NotPatchable
            self._patch(carry, final=True)
        while self.number is not None:  # rows past the last one
            self._edit_row(_Row(self.number, 0, exists=False), b"", memoryview(b""), 0)
            self._next_row()
        return self.reasons

    def _next_row(self) -> None:
        """Move on to the next row that has targets: its number (None after the last) and target indexes."""
        self.number, self.indexes = next(self.wanted, (None, []))

    def _patch(self, buffer: bytes, final: bool) -> int:
        """Patch and write the whole rows in `buffer` (all of it when `final`); the length written. What is left
        (an unfinished row, or a tag cut by the chunk's end) starts the next buffer."""
        view, position, done, search = memoryview(buffer), 0, 0, 0
        while (match := self.pt.row.search(buffer, search)) is not None:
            row = self._row(buffer, match)
            if row is None:
                if final:
                    raise NotPatchable
                break
            found = int(match.group(1)) if match.group(1) else self.current + 1
            if found <= self.current:
                raise NotPatchable
            self.current = found
            while self.number is not None and self.number < found:
                position = self._edit_row(_Row(self.number, match.start(), exists=False), buffer, view, position)
                self._next_row()
            if self.number == found:
                row.number = found
                position = self._edit_row(row, buffer, view, position)
                self._next_row()
            done = search = row.end
        if final:
            cut = len(buffer)
        else:  # between rows there is only whitespace (or a comment): written through, up to a `<`
            cut = buffer.find(b"<", done)
            cut = len(buffer) if cut < 0 else cut
        self.body.write(view[position:cut])
        return cut

    def _edit_row(self, row: _Row, buffer: bytes, view: memoryview, position: int) -> int:
        """Decide the targets of `row` and write their edits (and what comes before them); the new position."""
        indexes, targets, reasons = self.indexes, self.targets, self.reasons  # row.number is self.number
        if row.exists:
            self._read_cells(buffer, row, {targets[index].column for index in indexes})
        writes: dict[int, str] = {}
        for index in indexes:
            target = targets[index]
            if target.column in writes:
                reasons[index] = ALREADY_WRITTEN
                continue
            cell = row.cells.get(target.column)
            reason = None if cell is None else self._cell_status(cell, self.shared)
            if reason == HAS_VALUE and target.overwrite:
                reason = None
            if reason is None:
                writes[target.column] = target.text
            else:
                reasons[index] = reason
        if not writes:
            return position
        write = self.body.write
        for start, end, new in self._row_edits(row, writes):
            if start < position:  # rows or cells out of order: never write a scrambled part
                raise NotPatchable
            write(view[position:start])
            write(new)
            position = end
        self._widen(row.number, writes)
        return position

    def pieces(self) -> Pieces:
        """The patched part: what comes before sheetData (with `<dimension>` widened), the new sheetData
        content, and what comes after it."""
        header = self.header
        match = self.pt.dimension.search(header, self.header_start)
        if match is not None and self.bounds is not None:
            tag = self._widened_dimension(match.group(0))
            header = header[: match.start()] + tag + header[match.end() :]
        return [header, self.body, self.tail]

    # --- reading

    def _merged_ranges(self) -> list[tuple[int, int, int, int]]:
        """The `ref` area of every `<mergeCell>` in the tail, read from its spool in chunks."""
        areas, carry = [], b""
        self.tail.seek(0)
        while chunk := self.tail.read(READ_CHUNK):
            buffer, done = carry + chunk, 0
            for match in self.pt.merge.finditer(buffer):
                areas.append(_ref_area(match.group(0)))
                done = match.end()
            carry = buffer[max(done, len(buffer) - SEARCH_OVERLAP) :]
        self.tail.seek(0, 2)
        return [area for area in areas if area is not None]

    def _merged_check(self) -> Callable[[int, int], bool]:
        """A function telling whether (row, column) is inside a merged range but not its top-left cell."""
        small: dict[int, list[tuple[int, int, int, int]]] = {}
        large: list[tuple[int, int, int, int]] = []
        for area in self.merges:
            min_col, min_row, max_col, max_row = area
            bounds = (min_row, min_col, max_row, max_col)
            if max_row - min_row < 64:
                for row in range(min_row, max_row + 1):
                    small.setdefault(row, []).append(bounds)
            else:
                large.append(bounds)

        def check(row: int, column: int) -> bool:
            for min_row, min_col, max_row, max_col in (*small.get(row, ()), *large):
                if min_row <= row <= max_row and min_col <= column <= max_col:
                    return (row, column) != (min_row, min_col)
            return False

        return check

    def _row(self, buffer: bytes, match: re.Match[bytes]) -> _Row | None:
        """The row starting at `match`, its number still 0; None when its end is not in `buffer`."""
        row = _Row(0, match.start(), tag=match.group(0), tag_end=match.end())
        if row.self_closing:
            row.content_end = row.end = match.end()
            return row
        closing = self.pt.row_close.search(buffer, match.end())
        if closing is None:
            return None
        row.content_end, row.end = closing.span()
        if row.end - row.start > ROW_LIMIT:  # the same limit whether or not the row was cut by a chunk's end
            raise NotPatchable
        return row

    def _read_cells(self, buffer: bytes, row: _Row, columns: set[int]) -> None:
        """Note the cells of the target `columns` and where every cell starts."""
        if row.self_closing:
            return
        column, match, cells, all_columns, starts = 0, None, row.cells, row.columns, row.starts
        for match in self.pt.cell.finditer(buffer, row.tag_end, row.content_end):
            letters = match[1]
            column = column_number(letters) if letters else column + 1
            all_columns.append(column)
            starts.append(match.start())
            if column in columns and column not in cells:
                cells[column] = match
        last_end = row.tag_end if match is None else match.end()
        extension = self.pt.extension_list.search(buffer, last_end, row.content_end)
        if extension is not None:
            row.content_end = extension.start()

    def _cell_status(self, cell: re.Match[bytes], shared: SharedStrings) -> str | None:
        """HOLDS_FORMULA, HAS_VALUE or None when the cell is empty."""
        content = cell.group(3)
        if content is None:
            return None
        if self.pt.formula.search(content):
            return HOLDS_FORMULA
        kind_match = _T_ATTRIBUTE_RE.search(cell.group(2))
        kind = b"n" if kind_match is None else kind_match.group(1) or kind_match.group(2) or b""
        if kind == b"inlineStr":
            inline = self.pt.inline.search(content)
            return HAS_VALUE if inline and _holds_text(inline.group(1), self.pt) else None
        value = self.pt.value.search(content)
        raw = _raw_text(value.group(1) if value else None)
        if not raw:
            return None
        if kind == b"s" and raw.strip().isdigit() and not shared.has_text(int(raw)):
            return None
        return HAS_VALUE

    # --- writing

    def _cell(self, attributes: bytes, text: str) -> bytes:
        return self.cell_open + attributes + self.cell_middle + _escape(text) + self.cell_close

    def _row_edits(self, row: _Row, writes: dict[int, str]) -> list[tuple[int, int, bytes]]:
        """(start, end, new bytes) replacing parts of the row, in order, that write `writes` {column: text}."""
        edits: list[tuple[int, int, int, bytes]] = []  # (start, end, column, new bytes)
        new_cells: list[tuple[int, bytes]] = []
        row_style: bytes | None = None
        if row.exists and b"customFormat" in row.tag:
            attributes = _attributes(row.tag)
            row_style = attributes.get(b"s") if attributes.get(b"customFormat") in (b"1", b"true") else None
        for column in sorted(writes):
            reference = b' r="' + a1(row.number, column).encode() + b'"'
            cell = row.cells.get(column)
            if cell is not None:
                attributes = _T_ATTRIBUTE_RE.sub(b"", cell.group(2)).rstrip(b" \t\r\n/")
                if cell.group(1) is None:
                    attributes = reference + attributes
                edits.append((cell.start(), cell.end(), column, self._cell(attributes, writes[column])))
                continue
            style = row_style or self._style_of_column(column)
            attributes = reference + (b' s="' + style + b'"' if style and style != b"0" else b"")
            new_cells.append((column, self._cell(attributes, writes[column])))
        if not row.exists:
            start_tag = b"<" + self.pt.prefix + b'row r="' + str(row.number).encode() + b'">'
            return [(row.start, row.start, self._row_element(start_tag, new_cells))]
        if new_cells:
            tag = row.tag
            spans = _widened_spans(_attributes(tag).get(b"spans") if b"spans" in tag else None, list(writes))
            if spans is not None:
                tag = _SPANS_ATTRIBUTE_RE.sub(lambda m: m.group(1) + b'"' + spans + b'"', tag, count=1)
            if row.self_closing:
                return [(row.start, row.tag_end, self._row_element(tag[:-2].rstrip() + b">", new_cells))]
            if spans is not None:
                edits.append((row.start, row.tag_end, 0, tag))
            for column, cell in new_cells:
                after = bisect_right(row.columns, column)
                position = row.starts[after] if after < len(row.starts) else row.content_end
                edits.append((position, position, column, cell))
        edits.sort(key=itemgetter(0, 1, 2))
        return [(start, end, new) for start, end, _, new in edits]

    def _row_element(self, start_tag: bytes, cells: list[tuple[int, bytes]]) -> bytes:
        """A whole row element: `start_tag`, the cells, the end tag."""
        return start_tag + b"".join(cell for _, cell in cells) + b"</" + self.pt.prefix + b"row>"

    def _style_of_column(self, column: int) -> bytes | None:
        """The style of the `<col>` covering `column`, if any."""
        if self._column_style is None:
            spans = []
            for match in self.pt.column.finditer(self.header, self.header_start):
                attributes = _attributes(match.group(0))
                try:
                    spans.append((int(attributes[b"min"]), int(attributes[b"max"]), attributes.get(b"style")))
                except (KeyError, ValueError):
                    continue
            self._column_style = lambda c: next((style for low, high, style in spans if low <= c <= high), None)
        return self._column_style(column)

    def _widen(self, row: int, columns: Iterable[int]) -> None:
        low, high = min(columns), max(columns)
        if self.bounds is None:
            self.bounds = [row, low, row, high]
        else:
            bounds = self.bounds
            bounds[0], bounds[1] = min(bounds[0], row), min(bounds[1], low)
            bounds[2], bounds[3] = max(bounds[2], row), max(bounds[3], high)

    def _widened_dimension(self, tag: bytes) -> bytes:
        """The `<dimension>` tag covering the written cells too (unchanged if it already does or is unreadable)."""
        assert self.bounds is not None
        area = _ref_area(tag)
        if area is None:
            return tag
        min_col, min_row, max_col, max_row = area
        low_row, low_col, high_row, high_col = self.bounds
        new = (min(min_col, low_col), min(min_row, low_row), max(max_col, high_col), max(max_row, high_row))
        if new == (min_col, min_row, max_col, max_row):
            return tag
        first, last = a1(new[1], new[0]), a1(new[3], new[2])
        widened = (first if first == last else f"{first}:{last}").encode()
        return _REF_ATTRIBUTE_RE.sub(lambda m: m.group(1) + b'"' + widened + b'"', tag, count=1)


def _widened_spans(spans: bytes | None, columns: list[int]) -> bytes | None:
    """A row's `spans` hint ("1:5" or "1:3 7:9") widened to the new columns; None if absent or unchanged."""
    if not spans:
        return None
    try:
        ranges = [[int(bound) for bound in part.split(b":")] for part in spans.split()]
        lows, highs = [bounds[0] for bounds in ranges], [bounds[-1] for bounds in ranges]
    except (ValueError, IndexError):
        return None
    if all(any(low <= column <= high for low, high in zip(lows, highs, strict=True)) for column in columns):
        return None
    return f"{min(*lows, *columns)}:{max(*highs, *columns)}".encode()
