"""Write translations into a copy of an archived workbook, touching nothing but the empty target cells.

The archived `.xlsx`/`.xlsm` package (a zip) is copied entry by entry: every part keeps its bytes, its order,
its name, date and compression type, except the worksheet parts that receive fills. In those, only the rows
holding a target cell are rewritten (the XML of every other row is copied as it is), `<dimension>` is widened
when a fill falls outside it, and nothing else changes. There is no workbook load and save, so what a library
round trip would lose stays exactly as it was: parts it does not model (custom XML, shapes, slicers, threaded
comments...), comment box sizes, worksheet `extLst` extensions, styles, shared strings, the calculation chain,
VBA in `.xlsm`.

A fill goes into its cell only if that cell is empty (no formula, and no value or an empty text), or, for a fill
marked `overwrite` (stale machine text of a new version: `localization/versions`), if it holds a value but no
formula; it is written as an inline string keeping the cell's style, so a translation such as `=HYPERLINK(...)`
never becomes a formula. A cell that did not exist gets the style Excel would give it when typing there (the row's, then
the column's). The package is written to a temporary file next to `output_path`, then renamed over it.

Each worksheet part is patched by `sheet_xml.Worksheet`; a part it cannot patch (rows out of order, say) is
copied unchanged and its fills are reported as not written.
"""

from __future__ import annotations

import copy
import os
import posixpath
import re
import shutil
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.exceptions import CellCoordinatesException

from translation_pipeline.localization.write.sheet_xml import (
    HAS_VALUE,
    HOLDS_FORMULA,
    MAX_COLUMN,
    MAX_ROW,
    NotPatchable,
    Pieces,
    SharedStrings,
    Target,
    Targets,
    Worksheet,
    column_number,
    pieces_size,
    write_pieces,
)

MAX_CELL_CHARS = 32767  # Excel's limit
COPY_CHUNK = 1 << 20  # bytes per read when copying an entry the export does not change
NAME_MAX_BYTES = 255  # a file name (one path component) on ext4, XFS, APFS, NTFS

# openpyxl's illegal control characters, and what XML 1.0 cannot hold either: lone surrogates, U+FFFE, U+FFFF
_ILLEGAL_RE = re.compile(f"{ILLEGAL_CHARACTERS_RE.pattern}|[\ud800-\udfff\ufffe\uffff]")
_SIMPLE_REFERENCE_RE = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})")

SHEET_NOT_FOUND = "sheet not found"
NOT_A_WORKSHEET = "not a worksheet"
INVALID_REFERENCE = "invalid cell reference"
EMPTY_TEXT = "empty text"
TOO_LONG = f"text longer than Excel's {MAX_CELL_CHARS} characters"
UNPATCHABLE = "worksheet XML the export cannot patch (rows or cells out of order, or unclosed)"


@dataclass(frozen=True, slots=True)
class CellFill:
    sheet: str  # worksheet title
    cell: str  # A1-style reference, e.g. "C7"
    text: str  # translation to write
    overwrite: bool = False  # the cell may hold a value (never a formula): our stale text, replaced


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

    # each fill becomes a target (or a skip) as it comes, and is not kept: a million rows fill two million cells
    skipped: list[tuple[int, str, str, str]] = []  # (fill index, sheet, cell, reason)
    with zipfile.ZipFile(archive_path) as package:
        sheets, shared_strings_part = _sheet_parts(package, _Parts(package))
        by_part: dict[str, Targets] = {}
        for index, fill in enumerate(fills):
            target = _check(fill, sheets, index)
            if isinstance(target, str):
                skipped.append((index, fill.sheet, fill.cell, target))
            else:
                by_part.setdefault(sheets[fill.sheet], Targets()).append(target)
        reasons: dict[int, str] = {}  # by fill index, those not written: a dict of the few, not a list of all
        shared = SharedStrings(package, shared_strings_part)

        def patched(name: str) -> Pieces | None:
            targets = by_part.get(name)
            if not targets:
                return None
            sheet = None
            try:
                sheet = Worksheet(lambda: package.open(name))
                outcome = sheet.fill(targets, shared)
            except NotPatchable:
                outcome = dict.fromkeys(range(len(targets)), UNPATCHABLE)
            for position, reason in outcome.items():
                reasons[targets.fill_index(position)] = reason
            if sheet is not None and len(outcome) < len(targets):  # some written
                return sheet.pieces()
            if sheet is not None:
                sheet.close()
            return None

        _write_atomically(package, output_path, patched)

    written = cleaned = 0
    for targets in by_part.values():
        for target in targets:
            if (reason := reasons.get(target.index)) is None:
                written += 1
                cleaned += target.cleaned
            else:
                skipped.append((target.index, target.sheet, target.cell, reason))
    skipped.sort()  # in the fills' order
    return ExportSummary(
        written=written,
        skipped_not_empty=sum(reason in (HOLDS_FORMULA, HAS_VALUE) for *_, reason in skipped),
        cleaned=cleaned,
        output_path=str(output_path),
        skipped=[(sheet, cell, reason) for _, sheet, cell, reason in skipped],
    )


def _check(fill: CellFill, sheets: dict[str, str], index: int) -> Target | str:
    """The fill as a target, or why it cannot be written (the checks that need no sheet XML)."""
    text, removed = _ILLEGAL_RE.subn("", fill.text)
    if not text:
        return EMPTY_TEXT
    if len(text) > MAX_CELL_CHARS:
        return TOO_LONG
    part = sheets.get(fill.sheet, SHEET_NOT_FOUND)
    if part in (SHEET_NOT_FOUND, NOT_A_WORKSHEET):
        return part
    position = _position(fill.cell)
    if position is None:
        return INVALID_REFERENCE
    return Target(index, position[0], position[1], text, removed > 0, fill.overwrite, fill.sheet, fill.cell)


def written_text(text: str) -> str:
    """The text a fill writes: `text` without the control characters no cell can hold."""
    return _ILLEGAL_RE.sub("", text)


def _position(reference: str) -> tuple[int, int] | None:
    """(row, column) of an A1-style reference within Excel's grid, as openpyxl reads it; None if invalid."""
    if not isinstance(reference, str) or not reference:
        return None
    simple = _SIMPLE_REFERENCE_RE.fullmatch(reference)
    try:
        if simple:
            row, column = int(simple.group(2)), column_number(simple.group(1))
        else:
            row, column = coordinate_to_tuple(reference)
    except (CellCoordinatesException, ValueError):
        return None
    return (row, column) if 1 <= row <= MAX_ROW and 1 <= column <= MAX_COLUMN else None


# --- the package -----------------------------------------------------------------------------------------


class _Parts:
    """Zip entry names by part name (OPC part names are case-insensitive)."""

    def __init__(self, package: zipfile.ZipFile) -> None:
        self.package = package
        self.names = {info.filename.lower(): info.filename for info in package.infolist()}

    def get(self, name: str) -> str | None:
        return self.names.get(name.lower())

    def relationships(self, source: str) -> list[tuple[str, str, str | None]]:
        """(id, type, zip entry of the target or None) of each internal relationship of part `source`."""
        folder, name = posixpath.split(source)
        rels = self.get(posixpath.join(folder, "_rels", f"{name}.rels"))
        if rels is None:
            return []
        found = []
        for element in ElementTree.fromstring(self.package.read(rels)):
            if _local(element.tag) != "Relationship" or element.get("TargetMode") == "External":
                continue
            target = unquote(element.get("Target", ""))
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            found.append((element.get("Id", ""), element.get("Type", ""), self.get(posixpath.normpath(path))))
        return found


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _sheet_parts(package: zipfile.ZipFile, parts: _Parts) -> tuple[dict[str, str], str | None]:
    """({sheet title: worksheet part, or SHEET_NOT_FOUND / NOT_A_WORKSHEET}, shared strings part)."""
    workbook = next(
        (target for _, kind, target in parts.relationships("") if kind.endswith("/officeDocument") and target),
        parts.get("xl/workbook.xml"),
    )
    if workbook is None:
        raise ValueError(f"{package.filename}: no workbook part in the package")
    relationships = parts.relationships(workbook)
    by_id = {rel_id: (kind, target) for rel_id, kind, target in relationships}
    shared = next((t for _, kind, t in relationships if kind.endswith("/sharedStrings") and t), None)
    sheets: dict[str, str] = {}
    for element in ElementTree.fromstring(package.read(workbook)).iter():
        name = element.get("name")
        if _local(element.tag) != "sheet" or name is None or name in sheets:
            continue
        rel_id = next((value for key, value in element.attrib.items() if key.endswith("relationships}id")), "")
        kind, target = by_id.get(rel_id, ("", None))
        if target is None:
            continue  # as openpyxl: a sheet whose part is missing is not there
        sheets[name] = target if kind.endswith("/worksheet") else NOT_A_WORKSHEET
    return sheets, shared


def _write_atomically(package: zipfile.ZipFile, output_path: Path, patched: Callable[[str], Pieces | None]) -> None:
    """Write the package next to `output_path`, then rename it over, so readers never see half a workbook.

    `patched(name)` gives the new content of an entry as pieces, or None to copy it as it is. A copied entry
    goes through in chunks of COPY_CHUNK bytes, so memory never depends on its size (a 2 GiB picture costs
    what a small one does); it is decompressed and compressed again with its own method.
    """
    output_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = output_path.with_name(_temporary_name(output_path.name))
    try:
        with zipfile.ZipFile(tmp_path, "w", allowZip64=True) as target:
            target.comment = package.comment
            for info in package.infolist():
                entry = copy.copy(info)  # name, date, permissions, comment, compression type of the original
                entry.extra = _without_zip64_extra(info.extra)  # sizes are written anew
                pieces = patched(info.filename)
                if pieces is None:
                    if info.is_dir():
                        target.writestr(entry, b"")
                        continue
                    with package.open(info) as source, target.open(entry, "w") as stream:
                        shutil.copyfileobj(source, stream, COPY_CHUNK)
                    continue
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.file_size = pieces_size(pieces)
                with target.open(entry, "w") as stream:
                    write_pieces(pieces, stream)
        os.replace(tmp_path, output_path)
    finally:
        tmp_path.unlink(missing_ok=True)


def _temporary_name(name: str) -> str:
    """`.<name>.<random>.part`, with `name` cut so the whole stays within the 255 bytes a file name may have."""
    suffix = f".{uuid.uuid4().hex}.part"
    room = NAME_MAX_BYTES - len(suffix) - 1
    return f".{os.fsdecode(os.fsencode(name)[:room])}{suffix}"


def _without_zip64_extra(extra: bytes) -> bytes:
    """`extra` without its ZIP64 record (header id 1): zipfile adds one itself when the sizes need it."""
    kept, position = [], 0
    while position + 4 <= len(extra):
        header, size = (
            int.from_bytes(extra[position : position + 2], "little"),
            int.from_bytes(extra[position + 2 : position + 4], "little"),
        )
        if header != 1:
            kept.append(extra[position : position + 4 + size])
        position += 4 + size
    return b"".join(kept)
