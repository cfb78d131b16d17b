"""Patch the XML of one worksheet part (SpreadsheetML): fill empty cells with inline strings, touching only the
rows that hold them.

Byte-level regular expressions, never a tree: cells do not nest, and one pass over the row tags finds the rows
holding fills (only their cells are read) and makes sure the rows come in ascending order, as Excel writes them
(`NotPatchable` otherwise: the caller copies the part unchanged). Both the default namespace and a prefixed one
(`<x:row>`, as the .NET Open XML SDK writes) are handled, and a row or cell without an `r` attribute is the one
after the previous one. A new cell gets the style Excel would give it when typing there: the row's
(`customFormat`), else the column's.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from io import IOBase
from operator import itemgetter
from tempfile import SpooledTemporaryFile
from types import SimpleNamespace
from typing import IO, NamedTuple

from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries

MAX_ROW = 1_048_576
MAX_COLUMN = 16_384

MERGED = "merged cell that is not the top-left cell of its range"
ALREADY_WRITTEN = "an earlier fill already wrote this cell"
HOLDS_FORMULA = "cell holds a formula"
HAS_VALUE = "cell already has a value"

SPOOL_BYTES = 8 << 20  # a patched sheetData larger than this goes to a temporary file, not memory
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


class Target(NamedTuple):
    """A fill that passed the checks that need no sheet XML."""

    index: int  # position in the fills, so skips are reported in the fills' order
    row: int
    column: int
    text: str
    cleaned: bool
    overwrite: bool = False  # a value in the cell is replaced (a formula never is)


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
    """One worksheet part: `fill` reads the target cells and patches their rows, `pieces` gives the new part."""

    def __init__(self, data: bytes) -> None:
        root = re.search(rb"<(?:([\w.-]+):)?worksheet[\s/>]", data)
        if root is None:
            raise NotPatchable
        self.pt = _patterns(root.group(1) or b"")
        opening = self.pt.sheet_data_open.search(data)
        if opening is None or opening.group(0).endswith(b"/>"):
            data = self._with_open_sheet_data(data, opening, root.end())
            opening = self.pt.sheet_data_open.search(data)
            assert opening is not None
        closing = self.pt.sheet_data_close.search(data, opening.end())
        if closing is None:
            raise NotPatchable
        self.data = data
        self.rows_start, self.rows_end = opening.end(), closing.start()
        self.header_start = root.end()
        # the new content of sheetData; `write_pieces` closes it (else the collector does, as with any file)
        self.body = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self.bounds: list[int] | None = None  # [min row, min column, max row, max column] of the written cells
        p = self.pt.prefix
        self.cell_open, self.cell_close = b"<" + p + b"c", b"</" + p + b"t></" + p + b"is></" + p + b"c>"
        self.cell_middle = b' t="inlineStr"><' + p + b"is><" + p + b't xml:space="preserve">'
        self._column_style: Callable[[int], bytes | None] | None = None

    def _with_open_sheet_data(self, data: bytes, opening: re.Match[bytes] | None, root_end: int) -> bytes:
        """`data` with an empty `<sheetData/>` (or a missing one) written as a start and an end tag."""
        new = b"<" + self.pt.prefix + b"sheetData></" + self.pt.prefix + b"sheetData>"
        if opening is not None:
            return data[: opening.start()] + new + data[opening.end() :]
        before = [match.end() for match in self.pt.before_sheet_data.finditer(data)]
        position = before[-1] if before else data.find(b">", root_end - 1) + 1
        return data[:position] + new + data[position:]

    def fill(self, targets: list[Target], shared: SharedStrings) -> list[str | None]:
        """Decide each target in order (None: written, else why not) and patch the rows of the written ones."""
        merged = self._merged_check()
        reasons: list[str | None] = [None] * len(targets)
        by_row: dict[int, list[int]] = {}
        for index, target in enumerate(targets):
            if merged(target.row, target.column):
                reasons[index] = MERGED
            else:
                by_row.setdefault(target.row, []).append(index)
        view, write, position = memoryview(self.data), self.body.write, self.rows_start
        for row in self._rows(sorted(by_row)):
            indexes = by_row[row.number]
            if row.exists:
                self._read_cells(row, {targets[index].column for index in indexes})
            writes: dict[int, str] = {}
            for index in indexes:
                target = targets[index]
                if target.column in writes:
                    reasons[index] = ALREADY_WRITTEN
                    continue
                cell = row.cells.get(target.column)
                reason = None if cell is None else self._cell_status(cell, shared)
                if reason == HAS_VALUE and target.overwrite:
                    reason = None
                reasons[index] = reason
                if reason is None:
                    writes[target.column] = target.text
            if writes:
                for start, end, new in self._row_edits(row, writes):
                    if start < position:  # rows or cells out of order: never write a scrambled part
                        raise NotPatchable
                    write(view[position:start])
                    write(new)
                    position = end
                self._widen(row.number, writes)
        write(view[position : self.rows_end])
        return reasons

    def pieces(self) -> Pieces:
        """The patched part: what comes before sheetData (with `<dimension>` widened), the new sheetData
        content, and what comes after it."""
        header = self.data[: self.rows_start]
        match = self.pt.dimension.search(header, self.header_start)
        if match is not None and self.bounds is not None:
            tag = self._widened_dimension(match.group(0))
            header = header[: match.start()] + tag + header[match.end() :]
        return [header, self.body, memoryview(self.data)[self.rows_end :]]

    # --- reading

    def _merged_check(self) -> Callable[[int, int], bool]:
        """A function telling whether (row, column) is inside a merged range but not its top-left cell."""
        small: dict[int, list[tuple[int, int, int, int]]] = {}
        large: list[tuple[int, int, int, int]] = []
        for match in self.pt.merge.finditer(self.data, self.rows_end):
            area = _ref_area(match.group(0))
            if area is None:
                continue
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

    def _rows(self, numbers: list[int]) -> Iterator[_Row]:
        """The row of each wanted number (ascending), or where it goes when missing. One pass over every row tag
        (a row without `r` is the row after the previous one), which also makes sure the rows are in ascending
        order, as Excel writes them: a sheet where they are not is not patched."""
        wanted, current = iter(numbers), 0
        number = next(wanted, None)
        for match in self.pt.row.finditer(self.data, self.rows_start, self.rows_end):
            found = int(match.group(1)) if match.group(1) else current + 1
            if found <= current:
                raise NotPatchable
            current = found
            while number is not None and number < current:
                yield _Row(number, match.start(), exists=False)
                number = next(wanted, None)
            if number == current:
                yield self._row(number, match)
                number = next(wanted, None)
        while number is not None:
            yield _Row(number, self.rows_end, exists=False)
            number = next(wanted, None)

    def _row(self, number: int, match: re.Match[bytes]) -> _Row:
        row = _Row(number, match.start(), tag=match.group(0), tag_end=match.end())
        if row.self_closing:
            row.content_end = row.end = match.end()
        else:
            closing = self.pt.row_close.search(self.data, match.end(), self.rows_end)
            if closing is None:
                raise NotPatchable
            row.content_end, row.end = closing.span()
        return row

    def _read_cells(self, row: _Row, columns: set[int]) -> None:
        """Note the cells of the target `columns` and where every cell starts."""
        if row.self_closing:
            return
        column, match, cells, all_columns, starts = 0, None, row.cells, row.columns, row.starts
        for match in self.pt.cell.finditer(self.data, row.tag_end, row.content_end):
            letters = match[1]
            column = column_number(letters) if letters else column + 1
            all_columns.append(column)
            starts.append(match.start())
            if column in columns and column not in cells:
                cells[column] = match
        last_end = row.tag_end if match is None else match.end()
        extension = self.pt.extension_list.search(self.data, last_end, row.content_end)
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
            reference = b' r="' + f"{get_column_letter(column)}{row.number}".encode() + b'"'
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
            for match in self.pt.column.finditer(self.data, self.header_start, self.rows_start):
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
        first, last = f"{get_column_letter(new[0])}{new[1]}", f"{get_column_letter(new[2])}{new[3]}"
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
