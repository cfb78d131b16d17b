"""Read a string-table workbook: find on each sheet the header row, the key, source-language,
target-language and context columns, and list every (row, target language) cell.

Reading is read-only and streaming (openpyxl `read_only=True`), so large workbooks stay cheap.

The table of a sheet starts at its header row and runs to the end of the sheet, across blank rows, up to the
first later row that is itself a header (names two or more languages): that row starts a second table, which
is left alone (reported as a sheet warning). Only the detected source, target and context columns are read:
cells in other columns (notes beside the table) are never cells to fill.

A file that is not a usable workbook raises one `WorkbookError` for a person: empty, an old .xls or a
password-protected workbook (both OLE2 containers), a text/CSV file renamed to .xlsx, a damaged package.
`check_package` is the cheap part of that check (first bytes and zip directory only); the drop-folder sensor
uses it too, so such a file is reported there with the same message and never gets a run.
"""

from __future__ import annotations

import itertools
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import olefile
import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from translation_pipeline.localization.read.languages import LanguageMatcher, normalize_header

HEADER_SCAN_ROWS = 20
NO_HEADER = "no header row naming two or more languages"
MAX_HEADER_CHARS = 64  # longer cells are text, never a language header

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, and password-protected .xlsx
ZIP_MAGIC = b"PK\x03\x04"
CONTENT_TYPES = "[Content_Types].xml"  # every OOXML package has it
UNREADABLE = "not a readable .xlsx workbook"
# what openpyxl raises on a damaged package: zip, deflate and XML errors, missing or inconsistent parts
READ_ERRORS = (
    zipfile.BadZipFile, zlib.error, EOFError, SyntaxError, InvalidFileException, OSError,
    KeyError, IndexError, ValueError, TypeError,
)  # fmt: skip

CONTEXT_HEADERS: dict[str, tuple[str, ...]] = {
    "key": (
        "key",
        "keys",
        "string id",
        "stringid",
        "str id",
        "text id",
        "textid",
        "string key",
        "id",
        "键",
        "键值",
        "键名",
        "编号",
        "文本id",
        "标识",
        "키",
        "アイディー",
        "キー",
    ),
    "speaker": (
        "speaker",
        "character",
        "char",
        "npc",
        "role",
        "说话人",
        "说话者",
        "角色",
        "人物",
        "发言人",
        "화자",
        "발화자",
        "캐릭터",
        "話者",
        "キャラクター",
    ),
    "note": (
        "note",
        "notes",
        "comment",
        "comments",
        "context",
        "description",
        "desc",
        "remark",
        "remarks",
        "备注",
        "说明",
        "注释",
        "上下文",
        "语境",
        "描述",
        "메모",
        "비고",
        "설명",
        "備考",
        "メモ",
    ),
    "max_length": (
        "max_len",
        "maxlen",
        "max length",
        "maximum length",
        "length limit",
        "char limit",
        "character limit",
        "max chars",
        "limit",
        "最大长度",
        "长度限制",
        "字数限制",
        "字符限制",
        "最大字数",
        "최대길이",
        "글자수제한",
        "文字数制限",
        "最大文字数",
    ),
}
_CONTEXT_LOOKUP = {normalize_header(s): role for role, spellings in CONTEXT_HEADERS.items() for s in spellings}

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


class WorkbookError(ValueError):
    """A workbook cannot be used; the message names the file and the problem, for a person."""

    def __init__(self, file_name: str, problem: str) -> None:
        super().__init__(f"{file_name}: {problem}")
        self.file_name = file_name
        self.problem = problem


@dataclass
class SheetLayout:
    """What was found on one sheet. `skipped` says why a sheet is left alone."""

    sheet: str
    header_row: int | None = None
    source_language: str | None = None
    source_column: str | None = None
    target_columns: dict[str, str] = field(default_factory=dict)  # language -> column letter
    context_columns: dict[str, str] = field(default_factory=dict)  # role -> column letter
    data_rows: int = 0
    skipped: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class ParsedWorkbook:
    cells: pd.DataFrame
    sheets: list[SheetLayout]

    @property
    def used_sheets(self) -> list[SheetLayout]:
        return [s for s in self.sheets if not s.skipped]


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


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _row_languages(row: tuple, matcher: LanguageMatcher) -> dict[int, str]:
    """{column index: language} of the cells of `row` that name a language."""
    return {
        i: code
        for i, cell in enumerate(row)
        if isinstance(cell, str) and len(cell) <= MAX_HEADER_CHARS and (code := matcher.code_for(cell)) is not None
    }


def _find_header(rows: list[tuple], matcher: LanguageMatcher) -> tuple[int, dict[int, str]] | None:
    """(0-based row index, {column index: language}) of the first row naming two or more languages."""
    for index, row in enumerate(rows):
        languages = _row_languages(row, matcher)
        if len(set(languages.values())) >= 2:
            return index, languages
    return None


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


def check_package(path: Path) -> str | None:
    """Why the file at `path` cannot be a workbook, judged cheaply; None if it may be one.

    Reads the first bytes (`sniff`) and, for a zip, only its central directory: no part is decompressed, so
    this costs the same for a 60 MB workbook as for a small one. What it finds is what `read_workbook` would
    report: an empty file, an old .xls, a password-protected workbook, a renamed text file, a damaged zip,
    a zip without `[Content_Types].xml`. Damage inside the parts (a broken sheet) is only found by reading.
    OSError when the file cannot be opened.
    """
    if problem := sniff(path):
        return problem
    try:
        with zipfile.ZipFile(path) as package:
            package.getinfo(CONTENT_TYPES)  # the part openpyxl reads first: the same KeyError it would raise
    except READ_ERRORS as error:
        return _damaged(error)
    return None


def _no_usable_sheet(reasons: str) -> str:
    return f"no sheet has a source and a target language column ({reasons})"


def check_headers(path: Path, matcher: LanguageMatcher | None = None) -> str | None:
    """Why no sheet of the workbook at `path` can be used, judged from the first HEADER_SCAN_ROWS rows of each
    sheet (read-only, so the rest of a large sheet is never parsed); None when some sheet has a language header.

    Run after `check_package`. The message is what `read_workbook` reports for a workbook without any language
    header; damage further down a sheet is still only found by reading it.
    """
    matcher = matcher or LanguageMatcher()
    reasons = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(path, read_only=True, data_only=False, keep_links=False)
        try:
            for worksheet in workbook.worksheets:
                rows = itertools.islice(worksheet.iter_rows(values_only=True), HEADER_SCAN_ROWS)
                if _find_header(list(rows), matcher) is not None:
                    return None
                reasons.append(f"{worksheet.title!r}: {NO_HEADER}")
        finally:
            workbook.close()
    except READ_ERRORS as error:
        return _damaged(error)
    return _no_usable_sheet("; ".join(reasons) or "no sheets")


def _layout_for(
    sheet: str,
    header: tuple,
    languages: dict[int, str],
    source_language: str | None,
) -> tuple[SheetLayout, int | None, dict[str, int], dict[str, int]]:
    layout = SheetLayout(sheet=sheet)
    by_language: dict[str, int] = {}
    for column, code in languages.items():
        if code in by_language:
            layout.warnings.append(
                f"sheet {sheet!r}: column {get_column_letter(column + 1)} repeats language {code} "
                f"(first seen in column {get_column_letter(by_language[code] + 1)}); it is left alone"
            )
            continue
        by_language[code] = column
    seen: dict[str, list[int]] = {}
    for column, cell in enumerate(header):
        if column not in languages and cell is not None and (text := normalize_header(str(cell))):
            seen.setdefault(text, []).append(column)
    for columns in seen.values():
        if len(columns) > 1:
            letters = ", ".join(get_column_letter(c + 1) for c in columns)
            layout.warnings.append(
                f"sheet {sheet!r}: header {header[columns[0]]!r} appears in columns {letters}; "
                f"only column {get_column_letter(columns[0] + 1)} is read"
            )
    roles: dict[str, int] = {}
    for column, cell in enumerate(header):
        role = _CONTEXT_LOOKUP.get(normalize_header(cell)) if isinstance(cell, str) else None
        if role and column not in languages and role not in roles:
            roles[role] = column
    source_column = by_language.get(source_language) if source_language else None
    return layout, source_column, by_language, roles


def read_workbook(
    path: Path,
    *,
    display_name: str | None = None,
    source_language: str = "auto",
    target_languages: list[str] | None = None,
    matcher: LanguageMatcher | None = None,
) -> ParsedWorkbook:
    """Parse the workbook at `path`; WorkbookError when it cannot be used at all."""
    name = display_name or path.name
    matcher = matcher or LanguageMatcher()
    wanted_source = None if source_language in ("", "auto") else matcher.canonical(source_language)
    target_filter = {matcher.canonical(t) for t in (target_languages or [])}
    if problem := check_package(path):
        raise WorkbookError(name, problem)
    layouts: list[SheetLayout] = []
    frames: list[pd.DataFrame] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(path, read_only=True, data_only=False, keep_links=False)
        try:  # read-only sheets are parsed while iterating: a damaged sheet fails here
            for worksheet in workbook.worksheets:
                layout, frame = _read_sheet(worksheet, wanted_source, target_filter, matcher)
                layouts.append(layout)
                if frame is not None:
                    frames.append(frame)
        finally:
            workbook.close()
    except READ_ERRORS as error:
        raise WorkbookError(name, _damaged(error)) from error
    if not any(not layout.skipped for layout in layouts):
        reasons = "; ".join(f"{layout.sheet!r}: {layout.skipped}" for layout in layouts) or "no sheets"
        raise WorkbookError(name, _no_usable_sheet(reasons))
    cells = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CELL_COLUMNS, dtype=str)
    cells["max_length"] = cells["max_length"].astype("Int64")
    cells["row"] = cells["row"].astype("int64")
    cells["target_filled"] = cells["target_filled"].astype(bool)
    return ParsedWorkbook(cells=cells, sheets=layouts)


def _read_sheet(
    worksheet, wanted_source: str | None, target_filter: set[str], matcher: LanguageMatcher
) -> tuple[SheetLayout, pd.DataFrame | None]:
    sheet = worksheet.title
    rows = worksheet.iter_rows()
    head: list[tuple] = []
    for row in rows:
        head.append(row)
        if len(head) >= HEADER_SCAN_ROWS:
            break
    values = [tuple(cell.value for cell in row) for row in head]
    found = _find_header(values, matcher)
    if found is None:
        return SheetLayout(sheet=sheet, skipped=NO_HEADER), None
    header_index, languages = found
    layout, source_column, by_language, roles = _layout_for(sheet, values[header_index], languages, wanted_source)
    layout.header_row = header_index + 1
    if wanted_source and source_column is None:
        layout.skipped = f"no {wanted_source} column"
        return layout, None

    # data rows (1-based row number, ((value, data_type), ...)): those read with the header, then the rest,
    # up to a second header row
    data: list[tuple[int, tuple]] = []
    below = itertools.chain(head[header_index + 1 :], rows)
    for number, row in enumerate(below, start=header_index + 2):
        values = tuple(cell.value for cell in row)
        if all(value is None for value in values):
            continue
        if len(set(_row_languages(values, matcher).values())) >= 2:
            layout.warnings.append(
                f"sheet {sheet!r}: row {number} starts a second table; it and the rows below are left alone"
            )
            break
        data.append((number, tuple((cell.value, cell.data_type) for cell in row)))

    def at(row: tuple, column: int | None) -> tuple[object, str | None]:
        return row[column] if column is not None and column < len(row) else (None, None)

    if source_column is None:  # auto: the language column with the most text, leftmost on a tie

        def text_count(column: int) -> int:
            return sum(1 for _, row in data if classify(*at(row, column)) == "text")

        source_column = max(sorted(by_language.values()), key=text_count)
    source_language = languages[source_column]
    targets = {
        code: column
        for code, column in by_language.items()
        if column != source_column and (not target_filter or code in target_filter)
    }
    if not targets:
        wanted = f" among {', '.join(sorted(target_filter))}" if target_filter else ""
        layout.skipped = f"no target language column{wanted}"
        return layout, None
    layout.source_language = source_language
    layout.source_column = get_column_letter(source_column + 1)
    layout.target_columns = {code: get_column_letter(col + 1) for code, col in targets.items()}
    layout.context_columns = {role: get_column_letter(col + 1) for role, col in roles.items()}
    layout.data_rows = len(data)

    records = []
    for number, row in data:
        source_value, source_type = at(row, source_column)
        kind = classify(source_value, source_type)
        key = _text(at(row, roles.get("key"))[0]) or f"{sheet}!{number}"
        speaker = _text(at(row, roles.get("speaker"))[0])
        note = _text(at(row, roles.get("note"))[0])
        max_length = _max_length(at(row, roles.get("max_length"))[0])
        source_text = source_value if kind == "text" else None
        for code, letter in layout.target_columns.items():
            target_value = at(row, targets[code])[0]
            records.append(
                (
                    sheet,
                    number,
                    key,
                    source_language,
                    source_text,
                    kind,
                    code,
                    f"{letter}{number}",
                    target_value is not None and target_value != "",
                    speaker,
                    note,
                    max_length,
                )
            )
    return layout, pd.DataFrame.from_records(records, columns=CELL_COLUMNS) if records else None
