"""Read a string-table workbook: on each sheet the table (`layout.plan_sheet`), and every (row, target
language) cell of it, plus the skip ledger of everything left out (`ledger`).

The package is parsed once, with lxml, straight from its XML (`grid`): no styles, no trust in `<dimension>`.

A file that is not a usable workbook raises one `WorkbookError` for a person: empty, an old .xls or a
password-protected workbook (both OLE2 containers), a text/CSV file renamed to .xlsx, a damaged package, or no
sheet holding a table. `check_package` is the cheap part of that check (first bytes and zip directory only);
the drop-folder sensor uses it and `check_headers` (the first rows of each sheet), so such a file is reported
there with the same message and never gets a run.
"""

from __future__ import annotations

import itertools
import re
import zipfile
import zlib
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import olefile
import pandas as pd
from lxml import etree
from openpyxl.utils import get_column_letter

from translation_pipeline.localization.read import ledger
from translation_pipeline.localization.read.grid import Package, SheetGrid, kind_of, plain
from translation_pipeline.localization.read.languages import LanguageMatcher
from translation_pipeline.localization.read.layout import (
    HEADER_SCAN_ROWS,
    MAX_CELL_CHARS,
    ExplicitLayout,
    SheetLayout,
    SheetPlan,
    plan_sheet,
)
from translation_pipeline.localization.read.ledger import SkipEntry
from translation_pipeline.localization.read.limits import PackageLimits
from translation_pipeline.localization.read.stand_ins import stand_in
from translation_pipeline.localization.refs import cell_codes

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, and password-protected .xlsx
ZIP_MAGIC = b"PK\x03\x04"
CONTENT_TYPES = "[Content_Types].xml"  # every OOXML package has it
UNREADABLE = "not a readable .xlsx workbook"
# what reading raises on a damaged package: zip, deflate and XML errors, missing or inconsistent parts
READ_ERRORS = (
    zipfile.BadZipFile, zlib.error, EOFError, SyntaxError, etree.LxmlError, OSError,
    KeyError, IndexError, ValueError, TypeError,
)  # fmt: skip

CELL_COLUMNS = [
    "sheet",
    "row",
    "key",
    "source_language",
    "source_text",
    "source_kind",
    "target_language",
    "target_cell",
    "target_filled",
    "speaker",
    "note",
    "max_length",
]
# beside them: the target cell's current text (None when empty or not text), which tells a new version of a
# workbook our text from a reviewer's (localization/versions)
TARGET_TEXT = "target_text"


def to_translate(cells: pd.DataFrame) -> pd.Series:
    """Which rows of a cell table are work: the target cell is empty and the source is text."""
    return (~cells["target_filled"]) & (cells["source_kind"] == "text")


@dataclass
class ParsedWorkbook:
    cells: pd.DataFrame
    sheets: list[SheetLayout]
    skips: list[SkipEntry] = field(default_factory=list)

    @property
    def used_sheets(self) -> list[SheetLayout]:
        return [s for s in self.sheets if not s.skipped]

    @property
    def ledger(self) -> pd.DataFrame:
        return ledger.ledger_table(self.skips)

    @property
    def skipped_cells(self) -> set[tuple[str, str]]:
        """(sheet, cell) of every cell in the ledger."""
        return {(entry.sheet, ref) for entry in self.skips for ref in entry.references}


class WorkbookError(ValueError):
    """A workbook cannot be used; the message names the file and the problem, for a person."""

    def __init__(self, file_name: str, problem: str) -> None:
        super().__init__(f"{file_name}: {problem}")
        self.file_name = file_name
        self.problem = problem


def classify(value: object, data_type: str | None) -> str:
    """Kind of a source cell: text, blank, formula, number, bool, date or error."""
    if value is None:
        return "blank"
    if data_type == "f":
        return "formula"
    if data_type == "e":
        return "error"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text" if value.strip() else "blank"
    return "date"


def _max_length(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(float(str(value).strip()))
    except ValueError:
        return None
    return number if number > 0 else None


# the ledger code of a target cell that holds something other than text, by its kind
_NOT_TEXT = {"formula": ledger.FORMULA_TARGET, "error": ledger.ERROR_TARGET, "number": ledger.VALUE_TARGET,
             "bool": ledger.VALUE_TARGET, "date": ledger.VALUE_TARGET}  # fmt: skip


def _target_text(value: object) -> str | None:
    """A target cell's text as it stands (not stripped), None when it is empty or holds no text."""
    return value if type(value) is str else None


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _looks_like_text(head: bytes) -> bool:
    """The first bytes of a file read as text (any ASCII-compatible encoding, or UTF-16 with a BOM)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    controls = sum(1 for byte in head if byte < 0x20 and byte not in b"\t\n\r")
    return b"\x00" not in head and controls <= len(head) // 100


def _is_encrypted(path: Path) -> bool:
    """An OLE2 container with an `EncryptionInfo` stream: an .xlsx saved with a password."""
    try:
        with olefile.OleFileIO(str(path)) as container:
            return bool(container.exists("EncryptionInfo"))
    except Exception:  # olefile raises many kinds of errors on a damaged container: then it is no .xlsx either
        return False


def sniff(path: Path) -> str | None:
    """Why the file at `path` is not an .xlsx/.xlsm package, judged by its first bytes; None if it may be one."""
    with path.open("rb") as file:
        head = file.read(4096)
    if not head:
        return "the file is empty (0 bytes)"
    if head.startswith(OLE2_MAGIC):
        if _is_encrypted(path):
            return "it is password-protected; remove the password and drop it again"
        return "it is an old Excel 97-2003 .xls file; save it as .xlsx (File > Save As > Excel Workbook)"
    if head.startswith(ZIP_MAGIC):
        return None
    if _looks_like_text(head):
        return f"{UNREADABLE}: it is a text (CSV?) file renamed to .xlsx; open it in Excel and save it as .xlsx"
    return f"{UNREADABLE}: it is not an Excel file"


def _damaged(error: Exception) -> str:
    return f"{UNREADABLE}: the file is damaged or not an Excel workbook ({type(error).__name__}: {error})"


def check_package(path: Path, limits: PackageLimits | None = None) -> str | None:
    """Why the file at `path` cannot be a workbook, judged cheaply; None if it may be one.

    Reads the first bytes (`sniff`), the zip's central directory, the first bytes of each XML part and the
    workbook part: this costs about the same for a 60 MB workbook as for a small one. What it finds is what
    `read_workbook` would report: an empty file, an old .xls, a password-protected workbook, a renamed text
    file, a damaged zip, a zip without `[Content_Types].xml`, a package over `limits` (a zip bomb), what no
    Excel package holds (`_package_problem`). Damage inside the parts (a broken sheet) is only found by
    reading. OSError when the file cannot be opened.
    """
    if problem := sniff(path):
        return problem
    try:
        with zipfile.ZipFile(path) as package:
            package.getinfo(CONTENT_TYPES)  # the part openpyxl reads first: the same KeyError it would raise
            if problem := _package_problem(package, limits or PackageLimits()):
                return f"{INVALID_PACKAGE}: {problem}"
    except READ_ERRORS as error:
        return _damaged(error)
    return None


INVALID_PACKAGE = "not a valid Excel package"
MAX_ENTRIES = 10_000  # far more parts than any workbook has; more is refused rather than scanned
PROLOG_MAX_BYTES = 64 * 1024  # what may come before an XML part's root element (Excel writes about 60 bytes)
# the XML declaration, processing instructions, comments and white space: all a prolog holds besides a DTD
_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.S)


def _prolog_problem(stream: IO[bytes]) -> str | None:
    """What is wrong before the root element of an XML part: a DTD (`<!DOCTYPE`, which alone can declare
    entities), or a prolog so long that it may hide one. Reads 4 KiB at a time, at most PROLOG_MAX_BYTES."""
    head = b""
    while chunk := stream.read(4096):
        head += chunk
        text = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
        position = 0
        while match := _PROLOG_ITEM.match(text, position):
            position = match.end()
        if text[position : position + 9].lower() == b"<!doctype":
            return "declares a DTD (Excel never writes one)"
        if _ROOT_START.match(text, position):
            return None
        if len(head) >= PROLOG_MAX_BYTES:  # an unending comment may hide a DTD after it
            return f"has more than {PROLOG_MAX_BYTES // 1024} KiB before its first element"
    return None  # a short part without a root element: the parser judges it


_ROOT_START = re.compile(rb"<[A-Za-z_:]")


def _package_problem(package: zipfile.ZipFile, limits: PackageLimits) -> str | None:
    """What no Excel file has, judged from the zip directory, the start of each XML part and the workbook
    part: more unpacked bytes than `limits` allow, entry names that escape the package or repeat, a DTD in any
    XML part, sheet names that repeat (Excel compares them ignoring case)."""
    entries = package.infolist()
    if len(entries) > MAX_ENTRIES:
        return f"{len(entries)} zip entries (a workbook has far fewer than {MAX_ENTRIES})"
    if problem := limits.problem(entries):
        return problem
    seen: set[str] = set()
    for entry in entries:
        name = entry.filename
        if name.startswith("/") or "\\" in name or ".." in name.split("/") or ":" in name.split("/")[0]:
            return f"zip entry {name!r} points outside the package"
        if name.casefold() in seen:
            return f"zip entry {name!r} appears twice"
        seen.add(name.casefold())
    for entry in entries:
        if entry.filename.lower().endswith((".xml", ".rels", ".vml")):
            with package.open(entry) as stream:
                if problem := _prolog_problem(stream):
                    return f"{entry.filename} {problem}"
    names: dict[str, str] = {}
    for name in Package(package).declared_names:
        if (first := names.get(name.casefold())) is not None:
            return f"two sheets are named {first!r} and {name!r} (sheet names must differ, ignoring case)"
        names[name.casefold()] = name
    return None


def _no_usable_sheet(reasons: str, skips: list[SkipEntry] | None = None) -> str:
    """The one message for a workbook without any table; it names the first column a person must name."""
    attention = [e for e in skips or [] if e.attention]
    if attention:
        reasons += f" ({attention[0].reason}: {attention[0].how_to_include})"
    return (
        f"no sheet has a source and a target language column ({reasons}); name the languages in a header row, "
        "add the studio's spellings to `language_aliases`, or say the layout (YAML `layouts:`, or "
        "--source B:zh-CN --target C:en)"
    )


def check_headers(
    path: Path,
    matcher: LanguageMatcher | None = None,
    *,
    layouts: list[ExplicitLayout] | None = None,
    include_hidden: bool = False,
) -> str | None:
    """Why no sheet of the workbook at `path` can hold a table, judged from the first HEADER_SCAN_ROWS rows of
    each visible sheet (streamed, so the rest of a large sheet is never parsed); None when some sheet may.

    The first rows go through the same layout rules as reading (header names, else column content), so a
    table without header passes when its columns' languages show. Run after `check_package`.
    """
    matcher = matcher or LanguageMatcher()
    reasons = []
    skips: list[SkipEntry] = []
    try:
        with zipfile.ZipFile(path) as archive:
            package = Package(archive)
            for sheet in package.sheets:
                if sheet.part is None:
                    continue
                grid = SheetGrid.of_rows(itertools.islice(package.rows(sheet), HEADER_SCAN_ROWS))
                explicit = next((x for x in (layouts or []) if x.matches(path.name, sheet.name)), None)
                plan = plan_sheet(sheet.name, grid, matcher, explicit=explicit, hidden=sheet.hidden,
                                  include_hidden=include_hidden)  # fmt: skip
                if not plan.layout.skipped:
                    return None
                reasons.append(f"{sheet.name!r}: {plan.layout.skipped}")
                skips += plan.skips
    except READ_ERRORS as error:
        return _damaged(error)
    return _no_usable_sheet("; ".join(reasons) or "no sheets", skips)


def read_workbook(
    path: Path,
    *,
    display_name: str | None = None,
    source_language: str = "auto",
    target_languages: list[str] | None = None,
    matcher: LanguageMatcher | None = None,
    layouts: list[ExplicitLayout] | None = None,
    include_hidden: bool = False,
    limits: PackageLimits | None = None,
) -> ParsedWorkbook:
    """Parse the workbook at `path`; WorkbookError when it cannot be used at all."""
    name = display_name or path.name
    matcher = matcher or LanguageMatcher()
    wanted_source = None if source_language in ("", "auto") else matcher.canonical(source_language)
    target_filter = {matcher.canonical(t) for t in (target_languages or [])}
    if problem := check_package(path, limits):
        raise WorkbookError(name, problem)
    plans: list[SheetPlan] = []
    frames: list[pd.DataFrame] = []
    try:
        with zipfile.ZipFile(path) as archive:
            _verify_parts(archive)
            package = Package(archive)
            for sheet in package.sheets:
                if sheet.part is None:
                    plans.append(SheetPlan(SheetLayout(sheet=sheet.name, skipped="not a worksheet")))
                    continue
                grid = package.grid(sheet)
                explicit = next((x for x in (layouts or []) if x.matches(name, sheet.name)), None)
                plan = plan_sheet(
                    sheet.name, grid, matcher, wanted_source=wanted_source, target_filter=target_filter,
                    explicit=explicit, hidden=sheet.hidden, include_hidden=include_hidden,
                )  # fmt: skip
                if (frame := _cell_frame(plan, grid)) is not None:
                    frames.append(frame)
                plan.data = SheetGrid().rows  # the sheet's rows are in its frame now: one sheet's grid at a time
                plans.append(plan)
    except READ_ERRORS as error:
        raise WorkbookError(name, _damaged(error)) from error
    layouts_found = [plan.layout for plan in plans]
    skips = [entry for plan in plans for entry in plan.skips]
    if not any(not layout.skipped for layout in layouts_found):
        reasons = "; ".join(f"{layout.sheet!r}: {layout.skipped}" for layout in layouts_found) or "no sheets"
        raise WorkbookError(name, _no_usable_sheet(reasons, skips))
    columns = [*CELL_COLUMNS, TARGET_TEXT]
    cells = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns, dtype=str)
    cells["max_length"] = cells["max_length"].astype("Int64")
    cells["row"] = cells["row"].astype("int64")
    cells["target_cell"] = cells["target_cell"].astype("int64")
    cells["target_filled"] = cells["target_filled"].astype(bool)
    return ParsedWorkbook(cells=cells, sheets=layouts_found, skips=skips)


def _verify_parts(archive: zipfile.ZipFile, chunk: int = 1 << 20) -> None:
    """Unpack every part once, in chunks, checking its size and CRC against the zip directory (BadZipFile,
    zlib.error or EOFError otherwise): a part that lies about its size, or is damaged, stops the workbook
    here, before any request is paid for, rather than in the export. Memory stays at one chunk."""
    for info in archive.infolist():
        with archive.open(info) as stream:
            while stream.read(chunk):
                pass


def _cell_frame(plan: SheetPlan, grid: SheetGrid) -> pd.DataFrame | None:
    """The plan's (row, target language) cells; target cells Excel owns (array formulas) go to the ledger."""
    if plan.layout.skipped or plan.source is None:
        return None
    sheet = plan.layout.sheet
    source_language = plan.layout.source_language
    context = plan.context
    too_long = SkipEntry(sheet, ledger.TOO_LONG, "source text at Excel's 32,767-character cell limit (cut off?): "
                         "its translation cannot fit a cell", "split the text over several rows")  # fmt: skip
    identifiers = SkipEntry(sheet, ledger.IDENTIFIER, "source is an identifier (an asset, label or variable name), "
                            "not text", "give the sheet a layout whose source column holds the text")  # fmt: skip
    owned = SkipEntry(sheet, ledger.ARRAY_FORMULA, "inside an array formula or data table range: never written",
                      "move the formula, or the text, out of that range")  # fmt: skip
    formulas = SkipEntry(sheet, ledger.FORMULA_SOURCE, "source is a formula: its text is computed, so there is "
                         "no fixed text to translate", "write the text itself in the source cell")  # fmt: skip
    never = "a cell that is not empty is never overwritten"
    stand_ins = {
        ledger.BLANK_TARGET: SkipEntry(sheet, ledger.BLANK_TARGET, "target cell holds only white space (a space "
                                       f"typed to clear it?): {never}", "clear the cell (Delete)"),
        ledger.MARKER_TARGET: SkipEntry(sheet, ledger.MARKER_TARGET, "target cell holds a to-do marker (TBD, TODO, "
                                        f"待翻译): {never}, nor learned", "clear the cell (Delete)"),
        ledger.SOURCE_COPY: SkipEntry(sheet, ledger.SOURCE_COPY, "target cell holds a copy of the source: "
                                      f"{never}, nor learned as its translation", "clear the cell (Delete)"),
        ledger.FORMULA_TARGET: SkipEntry(sheet, ledger.FORMULA_TARGET, "target cell is a formula (its text is "
                                         f"computed): {never}, nor learned", "replace the formula with its text, "
                                         "or clear the cell to have it translated"),
        ledger.ERROR_TARGET: SkipEntry(sheet, ledger.ERROR_TARGET, "target cell holds an error value (#N/A, #REF!): "
                                       f"{never}", "clear the cell (Delete) to have it translated"),
        ledger.VALUE_TARGET: SkipEntry(sheet, ledger.VALUE_TARGET, "target cell holds a number, date or TRUE/FALSE, "
                                       f"not text: {never}", "clear the cell (Delete) to have it translated"),
    }  # fmt: skip
    # one entry per data row kept, read column by column (`plan.data` makes no row), then the cells' columns
    data = plan.data
    targets = list(plan.targets.items())
    target_values = {column: data.column(column) for _, column in targets}
    numbers: list[int] = []
    kept = array("i")  # the rows' positions in `data`
    kinds: list[str] = []
    texts: list[str | None] = []
    for position, (number, source) in enumerate(zip(data.numbers(), data.column(plan.source), strict=True)):
        kind = "blank" if source is None else classify(source, None) if type(source) is str else kind_of(source)
        text = source if kind == "text" else None
        if text is not None and len(text) >= MAX_CELL_CHARS:
            too_long.cells.append((number, plan.source))
            continue
        if text is not None and _IDENTIFIER_RE.match(text):
            identifiers.cells.append((number, plan.source))
            continue
        if kind == "formula" and any(values[position] is None for values in target_values.values()):
            formulas.cells.append((number, plan.source))
        if kind == "text":
            for code, column in targets:
                value = target_values[column][position]
                found = (stand_in(value, text, code) if type(value) is str
                         else None if value is None else _NOT_TEXT[kind_of(value)])  # fmt: skip
                if found and not grid.owned(number, column):  # an owned cell is reported as such
                    stand_ins[found].cells.append((number, column))
        numbers.append(number)
        kept.append(position)
        kinds.append(kind)
        texts.append(text)
    if not numbers:
        plan.skips += [e for e in (owned, too_long, identifiers, formulas, *stand_ins.values()) if e.cells]
        return None

    def kept_values(column: int | None) -> list[object]:
        """The column's value (None: empty) in each row kept."""
        if column is None:
            return [None] * len(kept)
        values = data.column(column)
        return [values[position] for position in kept]

    def column_text(column: int | None) -> list[str]:
        return [_text(plain(value)) for value in kept_values(column)]

    keys = [k or f"{sheet}!{n}" for k, n in zip(column_text(context.get("key")), numbers, strict=True)]
    notes = [column_text(c) for c in [context.get("note"), *plan.extra_notes] if c is not None]
    note = ["; ".join(filter(None, parts)) for parts in zip(*notes, strict=True)] if notes else [""] * len(kept)
    limits = [_max_length(plain(value)) for value in kept_values(context.get("max_length"))]
    targets_kept = {column: [values[position] for position in kept] for column, values in target_values.items()}
    del target_values
    # one entry per cell, in the order the reader always had: row by row, each row's targets left to right. The
    # columns are built as arrays, never as a frame per target to concatenate and sort (each a copy of them all)
    keep = np.ones(len(kept) * len(targets), dtype=bool)
    if grid.owned_ranges:
        for index, (_, column) in enumerate(targets):
            mine = [grid.owned(n, column) for n in numbers]
            beside = zip(numbers, mine, kinds, targets_kept[column], strict=True)
            owned.cells += [(n, column) for n, m, k, value in beside if m and k == "text" and value is None]
            keep[index :: len(targets)] = [not m for m in mine]
    plan.skips += [e for e in (owned, too_long, identifiers, formulas, *stand_ins.values()) if e.cells]

    def spread(values: list, dtype: object = object) -> np.ndarray:
        """A per-row list as the per-cell column (the same objects, each row's once per target)."""
        return np.repeat(np.asarray(values, dtype=dtype), len(targets))[keep]

    def per_target(values: Callable[[int, str], list]) -> np.ndarray:
        """The per-cell column from each target's per-row list, `values(target column, column letter)`."""
        by_target = [np.asarray(values(c, get_column_letter(c)), dtype=object) for _, c in targets]
        return np.column_stack(by_target).ravel()[keep]

    columns = {
        "sheet": sheet, "row": spread(numbers, "int64"), "key": spread(keys), "source_language": source_language,
        "source_text": spread(texts), "source_kind": spread(kinds),
        "target_language": np.tile(np.asarray([code for code, _ in targets], dtype=object), len(kept))[keep],
        "target_cell": np.column_stack([cell_codes(numbers, c) for _, c in targets]).ravel()[keep],  # refs.py
        "target_filled": per_target(lambda column, _: [v is not None for v in targets_kept[column]]).astype(bool),
        "speaker": spread(column_text(context.get("speaker"))), "note": spread(note),
        "max_length": pd.array(limits, dtype="Int64").repeat(len(targets))[keep],
        TARGET_TEXT: per_target(lambda column, _: [_target_text(v) for v in targets_kept[column]]),
    }  # fmt: skip
    frame = pd.DataFrame(columns, index=pd.RangeIndex(int(keep.sum())))
    str_columns = ("key", "source_text", "source_kind", "target_language", "speaker", "note")
    return frame.astype(dict.fromkeys(str_columns, "str"))[[*CELL_COLUMNS, TARGET_TEXT]]


# `se_door_open`, `*chapter1_village`, `$player_name`, `dlg.intro.01`: no spaces, ASCII, and a separator
_IDENTIFIER_RE = re.compile(r"^[*#$@]?[A-Za-z][A-Za-z0-9]*(?:[_.][A-Za-z0-9]+)+$|^[*#$@][A-Za-z][A-Za-z0-9_]*$")
