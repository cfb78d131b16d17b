"""Find the string table of one sheet: its header rows, where data starts and ends, and each column's role.

Per sheet, the first rule that applies decides (DESIGN.md section 5): an explicit layout (YAML `layouts:`,
a CLI option, launchpad run config) > header names > column content. Every column decision records how it
was made (`header`, `content: 97% ja over 412 cells`, `layout`).

Header detection, over the first HEADER_SCAN_ROWS rows holding cells:
- the header row is the first row that names two languages, or a language or a source-role name
  (`Source`, `Original`, `Text`, `原文`) beside other column names, or a row of generic names
  (`Column1`...); a language-naming row below rows of data is data (a headerless table), not a header;
- directly under it, rows of the same header block are skipped: a second row naming languages (a code row
  `id | sc | en | jp` under Chinese names, reported as `second_header_row`; under a row naming no two languages,
  as `ID | Text | Remark` with `Text` merged over `CN | EN | JP`, that row names the columns), rows starting with `#`
  (config-table meta rows), type rows (`int | string`), export-flag rows (`c | cs | s`), field-id rows
  (`id | text_zh | text_en`);
- no header at all: the table starts at the first row, and every column's language comes from its content.

The data runs to the end of the sheet. A row naming languages ends it only when it really starts another
table: after a blank row, with a different set of language columns (`below_second_table`); the same header
repeated after a blank row is skipped as a header; inside the data such a row (a language picker string) is
data.
"""

from __future__ import annotations

import bisect
import fnmatch
import functools
import re
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string

from translation_pipeline.localization.read import ledger
from translation_pipeline.localization.read.content import identify_column, looks_like_keys, script_profile
from translation_pipeline.localization.read.grid import Row, Rows, SheetGrid, is_text
from translation_pipeline.localization.read.languages import LanguageMatcher, normalize_header
from translation_pipeline.localization.read.ledger import SkipEntry

HEADER_SCAN_ROWS = 20
HEADER_BLOCK_ROWS = 6  # at most this many rows under the header row belong to its block
MAX_HEADER_CHARS = 64  # longer cells are text, never a header
MIN_DISTINCT_TEXTS = 8  # content decides a column's language only over this many different texts (speaker
# names repeated down a column are not a language's evidence)
MAX_CELL_CHARS = 32767  # Excel's limit: a longer source cannot be translated into a cell
# the script a language's text is written in, to tell a new table's header row from a data row
SCRIPT_OF = {"zh-CN": {"han"}, "zh-TW": {"han"}, "ja": {"han", "kana"}, "ko": {"hangul", "han"},
             "ru": {"cyrillic"}, "uk": {"cyrillic"}, "bg": {"cyrillic"}, "th": {"thai"}, "ar": {"arabic"}}  # fmt: skip

CONTEXT_HEADERS: dict[str, tuple[str, ...]] = {
    "key": (
        "key", "keys", "string id", "stringid", "str id", "text id", "textid", "string key", "id", "ids",
        "loc key", "lockey", "localization key", "term", "name id", "键", "键值", "键名", "编号", "文本id", "标识",
        "id号", "序号", "키", "아이디", "アイディー", "キー", "識別子",
    ),
    "speaker": (
        "speaker", "character", "char", "npc", "role", "actor", "talker", "说话人", "说话者", "角色", "人物",
        "发言人", "화자", "발화자", "캐릭터", "話者", "キャラクター",
    ),
    "note": (
        "note", "notes", "comment", "comments", "context", "description", "desc", "remark", "remarks", "memo",
        "scene", "category", "type", "tag", "tags", "group", "section", "file", "page", "备注", "说明", "注释",
        "上下文", "语境", "描述", "场景", "类型", "分类", "메모", "비고", "설명", "備考", "メモ", "説明",
        "translator notes", "translator note", "translator comments", "notes for translators", "loc notes",
        "localization notes", "context notes", "翻译备注", "翻译说明", "译者备注", "翻訳メモ", "번역 메모",
    ),
    "max_length": (
        "max_len", "maxlen", "max length", "maximum length", "length limit", "char limit", "character limit",
        "max chars", "limit", "length", "最大长度", "长度限制", "字数限制", "字符限制", "最大字数", "최대길이",
        "글자수제한", "文字数制限", "最大文字数",
    ),
}  # fmt: skip
SOURCE_ROLE_HEADERS = (
    "source", "src", "source text", "sourcetext", "source string", "original", "original text", "text", "string",
    "strings", "content", "message", "msg", "dialogue", "dialog", "line", "arguments", "value", "原文", "源文本",
    "原文本", "源文", "文本", "内容", "台词", "对白", "原文内容", "원문", "原文テキスト", "テキスト", "본문",
)  # fmt: skip
TARGET_ROLE_HEADERS = (
    "translation", "translated", "target", "target text", "localized", "localization", "译文", "翻译", "译文本",
    "目标语言", "번역", "翻訳", "訳文",
)  # fmt: skip
_CONTEXT_LOOKUP = {normalize_header(s): role for role, spellings in CONTEXT_HEADERS.items() for s in spellings}
_SOURCE_ROLES = {normalize_header(s) for s in SOURCE_ROLE_HEADERS}
_TARGET_ROLES = {normalize_header(s) for s in TARGET_ROLE_HEADERS}
_TARGET_LIKE = {*ledger.ATTENTION_CODES, ledger.REPEATED_LANGUAGE, ledger.NOT_A_TARGET}
_GENERIC_RE = re.compile(r"^(column|col|field|f|列|字段)\s*\d+$", re.IGNORECASE)
_TYPE_RE = re.compile(
    r"^(int|uint|int8|int16|int32|int64|long|short|byte|float|double|number|bool|boolean|string|str|text|lang|"
    r"i18n|loc|localized|json|vector\d?|date|datetime|enum|ref|object|any)(\[\])?$|^(list|array|map|set)[<(].*",
    re.IGNORECASE,
)
_FLAG_RE = re.compile(r"^(c|s|cs|sc|client|server|all|both|none|x|y|n|export|noexport|#+|\*|-)$", re.IGNORECASE)
_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class ExplicitLayout:
    """What a person says about a sheet's layout; columns are letters, rows 1-based, languages any spelling."""

    file: str = "*"
    sheet: str = "*"
    header_rows: tuple[int, ...] | None = None  # () for a table without header
    data_start: int | None = None
    key: str | None = None
    source: str | None = None
    source_language: str | None = None
    targets: dict[str, str] = field(default_factory=dict)  # column letter -> language
    ignore: tuple[str, ...] = ()

    def matches(self, file_name: str, sheet: str) -> bool:
        return fnmatch.fnmatchcase(file_name.casefold(), self.file.casefold()) and fnmatch.fnmatchcase(
            sheet.casefold(), self.sheet.casefold()
        )


@dataclass(frozen=True)
class ColumnDecision:
    column: str  # letter
    header: str
    role: str  # source, target, key, speaker, note, max_length, unused
    language: str | None
    how: str  # header, content: ..., layout, or why it is unused


@dataclass
class SheetLayout:
    """What was found on one sheet. `skipped` says why a sheet is left alone."""

    sheet: str
    header_rows: list[int] = field(default_factory=list)  # titles above the header row, it, and its block
    header_row: int | None = None  # the row naming the columns
    data_range: str = ""
    source_language: str | None = None
    source_column: str | None = None
    target_columns: dict[str, str] = field(default_factory=dict)  # language -> column letter
    context_columns: dict[str, str] = field(default_factory=dict)  # role -> column letter
    columns: list[ColumnDecision] = field(default_factory=list)
    data_rows: int = 0
    skipped: str | None = None
    hidden: bool = False


@dataclass
class SheetPlan:
    """A sheet's layout, its data rows and column numbers, and its ledger entries."""

    layout: SheetLayout
    data: Rows = field(default_factory=lambda: SheetGrid().rows)
    source: int | None = None
    targets: dict[str, int] = field(default_factory=dict)
    context: dict[str, int] = field(default_factory=dict)
    extra_notes: list[int] = field(default_factory=list)  # more note-like columns, joined into the note
    skips: list[SkipEntry] = field(default_factory=list)


Cells = dict[int, object]  # a row's values by column


def _text_cells(row: Cells) -> dict[int, str]:
    return {c: value for c, value in row.items() if type(value) is str and not value.isspace()}


_is_text = is_text


class _Headers:
    """Header-word lookups shared by the rules below."""

    def __init__(self, matcher: LanguageMatcher) -> None:
        self.matcher = matcher

    def language(self, value: object) -> str | None:
        if not isinstance(value, str) or len(value) > MAX_HEADER_CHARS:
            return None
        return self.matcher.code_for(value)

    def languages(self, row: Cells) -> dict[int, str]:
        return {c: code for c, text in _text_cells(row).items() if (code := self.language(text))}

    @staticmethod
    def role(value: object) -> str | None:
        """key/speaker/note/max_length, `source`/`target` role names, `generic`, or None."""
        if not isinstance(value, str) or len(value) > MAX_HEADER_CHARS:
            return None
        norm = normalize_header(value)
        if norm in _CONTEXT_LOOKUP:
            return _CONTEXT_LOOKUP[norm]
        if norm in _SOURCE_ROLES:
            return "source"
        if norm in _TARGET_ROLES:
            return "target"
        if _GENERIC_RE.match(value.strip()):
            return "generic"
        return None

    def names_two_languages(self, row: Cells) -> bool:
        """A header row naming at least two languages (`中文 | English`, `sc | en | jp`)."""
        return len(set(self.languages(row).values())) >= 2 and self.is_header(row)

    def is_header(self, row: Cells) -> bool:
        texts = _text_cells(row)
        if len(texts) < 2 or any(len(t) > MAX_HEADER_CHARS for t in texts.values()):
            return False
        by_column = self.languages(row)
        if len(set(by_column.values())) >= 2:
            return True
        roles = {c: self.role(t) for c, t in texts.items()}
        named = sum(1 for c in texts if c in by_column or roles[c])
        anchor = bool(by_column) or "source" in roles.values() or "generic" in roles.values()
        return anchor and named >= 2 and named * 3 >= len(texts) * 2

    def is_meta(self, row: Cells, header: Cells) -> bool:
        """A type, flag, field-id or `#` row of a config table's header block."""
        texts = _text_cells(row)
        if not texts:
            return False
        first = row[min(row)]
        if isinstance(first, str) and first.strip().startswith("#"):
            return True
        if len(texts) != len(row):
            return False
        values = [t.strip() for t in texts.values()]
        if sum(1 for v in values if _TYPE_RE.match(v)) * 3 >= len(values) * 2:
            return True
        if all(_FLAG_RE.match(v) for v in values):
            return True
        return (
            len(values) >= 2
            and all(_IDENTIFIER_RE.match(v) for v in values)
            and sum(1 for v in values if "_" in v or any(ch.isdigit() for ch in v) or v.islower()) * 2 >= len(values)
            and set(texts) >= set(_text_cells(header))  # a field id for every named column
        )


def find_header(rows: Sequence[Row], matcher: LanguageMatcher) -> int | None:
    """Index in `rows` of the header row, or None for a table without one (see the module docstring)."""
    headers = _Headers(matcher)
    for index, (_, cells) in enumerate(rows[:HEADER_SCAN_ROWS]):
        if headers.is_header(cells):
            languages = headers.languages(cells)
            above = sum(1 for _, r in rows[:index] if len(set(_text_cells(r)) & set(languages)) >= 2)
            return None if above >= 2 else index
    return None


def names_languages(cells: Cells, matcher: LanguageMatcher) -> bool:
    """The cheap test the drop-folder sensor uses on a sheet's first rows."""
    return _Headers(matcher).is_header(cells)


def plan_sheet(
    name: str,
    grid: SheetGrid,
    matcher: LanguageMatcher,
    *,
    wanted_source: str | None = None,
    target_filter: set[str] | None = None,
    explicit: ExplicitLayout | None = None,
    hidden: bool = False,
    include_hidden: bool = False,
) -> SheetPlan:
    """The table of one sheet (see the module docstring); every cell left out is in `plan.skips`."""
    plan = SheetPlan(SheetLayout(sheet=name, hidden=hidden))
    rows = grid.rows
    if hidden and not include_hidden:
        plan.layout.skipped = "hidden sheet"
        _skip_rows(plan, rows, ledger.HIDDEN_SHEET, "hidden sheet: not translated by default",
                   "set include_hidden_sheets: true (YAML) or TRANSLATION_INCLUDE_HIDDEN_SHEETS=true")  # fmt: skip
        return plan
    if not rows:
        plan.layout.skipped = "empty sheet"
        return plan
    headers = _Headers(matcher)
    header_rows, data = _split_header(plan, rows, headers, explicit)
    header_cells = rows.by_number(header_rows)  # the header rows' cells, found once
    named = _language_header(header_cells, header_rows, headers)
    data = _cut_second_table(plan, data, header_rows, headers, headers.languages(header_cells.get(named, {})))
    header_texts = _header_texts(header_cells, header_rows, named)
    _decide_columns(plan, data, header_texts, headers, wanted_source, target_filter or set(), explicit)
    plan.data = data
    if plan.layout.skipped:
        return plan
    plan.layout.data_rows = len(data)
    if data:
        columns = [c for c in [plan.source, *plan.targets.values(), *plan.context.values()] if c is not None]
        plan.layout.data_range = (
            f"{get_column_letter(min(columns))}{data[0][0]}:{get_column_letter(max(columns))}{data[-1][0]}"
        )
    return plan


def _skip_rows(plan: SheetPlan, rows: Iterable[Row], code: str, reason: str, how: str = "") -> None:
    cells = [(number, c) for number, row in rows for c in _text_cells(row)]
    if cells:
        plan.skips.append(SkipEntry(plan.layout.sheet, code, reason, how, cells))


def _split_header(
    plan: SheetPlan, rows: Rows, headers: _Headers, explicit: ExplicitLayout | None
) -> tuple[list[int], Rows]:
    """(header row numbers, data rows)."""
    if explicit is not None and (explicit.header_rows is not None or explicit.data_start is not None):
        header_rows = list(explicit.header_rows or [])
        start = explicit.data_start or (max(header_rows) + 1 if header_rows else 1)
        plan.layout.header_rows = header_rows
        plan.layout.header_row = header_rows[0] if header_rows else None
        return header_rows, rows.numbered(lambda number: number >= start and number not in header_rows)
    index = find_header(rows, headers.matcher)
    if index is None:
        return [], rows
    header_number, header = rows[index]
    plan.layout.header_row = header_number
    header_rows = [r[0] for r in rows[: index + 1]]  # titles and section labels above belong to the header
    languages_named = headers.names_two_languages(header)
    position = index + 1
    while position < len(rows) and position - index <= HEADER_BLOCK_ROWS:
        number, cells = rows[position]
        if headers.names_two_languages(cells):
            # under `ID | Text (merged over the languages) | Remark`, `CN | EN | JP` names the columns
            # (`_language_header`); under a row naming them already, it is a second header row
            if languages_named:
                plan.skips.append(SkipEntry(
                    plan.layout.sheet, ledger.SECOND_HEADER_ROW,
                    f"second header row (row {number}, under the header row {header_number})",
                    "give the layout's header_rows and data_start if this row is data",
                    [(number, c) for c in _text_cells(cells)],
                ))  # fmt: skip
            languages_named = True
        elif not headers.is_meta(cells, header):
            break
        header_rows.append(number)
        position += 1
    plan.layout.header_rows = header_rows
    return header_rows, rows[position:]


def _cut_second_table(
    plan: SheetPlan, data: Rows, header_rows: list[int], headers: _Headers, main: dict[int, str]
) -> Rows:
    """`data` up to a second table; `main`: the languages the header row names, by column."""
    if not header_rows:
        return data
    repeated: list[int] = []  # positions in `data` of the header repeated
    end = len(data)
    previous = header_rows[-1]
    for position, number in enumerate(data.numbers()):  # a row is made only after a blank row
        after_blank = number > previous + 1
        previous = number
        if not after_blank:
            continue
        cells = data[position][1]
        if headers.is_header(cells) or _foreign_header(cells, main):
            if headers.languages(cells) == main:
                plan.skips.append(SkipEntry(
                    plan.layout.sheet, ledger.SECOND_HEADER_ROW, f"the header repeated in row {number}",
                    "", [(number, c) for c in _text_cells(cells)],
                ))  # fmt: skip
                repeated.append(position)
                continue
            _skip_rows(plan, data[position:], ledger.BELOW_SECOND_TABLE,
                       f"below a second table starting in row {number} (blank row above, other columns)",
                       "give this sheet a layout, or move the second table to its own sheet")  # fmt: skip
            end = position
            break
    if not repeated and end == len(data):
        return data
    return data.kept(np.setdiff1d(np.arange(end), repeated))


def _foreign_header(cells: Cells, main: dict[int, str]) -> bool:
    """A row of short labels whose text in some language column is in another script than that language's
    (`修改内容` under `en`): the header of another table, not a row of this one."""
    texts = _text_cells(cells)
    if len(texts) < 2 or len(texts) != len(cells) or any(len(t) > 20 for t in texts.values()):
        return False
    for column, language in main.items():
        if column not in texts:
            continue
        scripts = set(script_profile([texts[column]])) - {"none"}
        expected = SCRIPT_OF.get(language, {"latin"})
        if scripts and not scripts & expected:
            return True
    return False


def _language_header(by_number: dict[int, Cells], header_rows: list[int], headers: _Headers) -> int | None:
    """The header row that names the languages: the first of the block naming two of them, else the first with
    a language or role name (`by_number`: the header rows' cells)."""
    for number in header_rows:
        if headers.names_two_languages(by_number.get(number, {})):
            return number
    for number in header_rows:
        if number in by_number and headers.is_header(by_number[number]):
            return number
    return header_rows[-1] if header_rows else None


def _header_texts(by_number: dict[int, Cells], header_rows: list[int], named: int | None) -> dict[int, str]:
    """{column: header text}: the language-naming row's (`named`) cell, else the nearest other header row's (a type
    row `int | string` under `ID | 简体中文 | EN` names no column)."""
    texts: dict[int, str] = {}
    for number in [named, *(n for n in reversed(header_rows) if n != named)]:
        for column, text in _text_cells(by_number.get(number, {})).items():
            texts.setdefault(column, text.strip())
    return texts


def _column_letter_number(letter: str) -> int:
    return column_index_from_string(letter.strip().upper())


def _decide_columns(
    plan: SheetPlan,
    data: Rows,
    header_texts: dict[int, str],
    headers: _Headers,
    wanted_source: str | None,
    target_filter: set[str],
    explicit: ExplicitLayout | None,
) -> None:
    sheet = plan.layout.sheet
    matcher = headers.matcher
    columns = sorted(data.columns() | set(header_texts))
    # each column's text cells as two flat lists, their row numbers and their texts: not a (row, cell) tuple per
    # cell (a million rows of six columns: six million tuples, about 380 MB, held while the columns are decided)
    numbers = data.numbers()
    text_rows: dict[int, array[int]] = {}  # Excel's rows fit 32 bits
    text_cells: dict[int, list[str]] = {}
    for c in columns:
        text_rows[c], text_cells[c] = array("i"), []
        for index, cell in zip(*data.cells(c), strict=True):
            if _is_text(cell):
                text_rows[c].append(numbers[index])
                text_cells[c].append(cell)
    text_count = {c: len(text_cells[c]) for c in columns}
    ignored = {_column_letter_number(x) for x in (explicit.ignore if explicit else ())}
    explicit_targets = {_column_letter_number(k): matcher.canonical(v) for k, v in (explicit.targets or {}).items()} \
        if explicit else {}  # fmt: skip
    explicit_source = _column_letter_number(explicit.source) if explicit and explicit.source else None

    decisions: dict[int, ColumnDecision] = {}
    languages: dict[int, tuple[str, str]] = {}  # column -> (language, how)
    source_roles: list[int] = []
    unused: dict[int, tuple[str, str, str]] = {}  # column -> (code, reason, how to include)

    def letter(c: int) -> str:
        return get_column_letter(c)

    for c in columns:
        header = header_texts.get(c, "")
        if c in ignored:
            unused[c] = (ledger.IGNORED, "ignored by the layout", "remove the column from the layout's ignore list")
            continue
        if c in explicit_targets:
            languages[c] = (explicit_targets[c], "layout")
            continue
        if c == explicit_source:
            language = matcher.canonical(explicit.source_language) if explicit and explicit.source_language else None
            if language:
                languages[c] = (language, "layout")
            source_roles.append(c)
            if language:
                continue
        if explicit and explicit.key and c == _column_letter_number(explicit.key):
            plan.context["key"] = c
            continue
        if header and (code := headers.language(header)):
            languages[c] = (code, "header")
            continue
        role = headers.role(header) if header else None
        if role in CONTEXT_HEADERS and role not in plan.context:
            plan.context[role] = c
            continue
        if role == "target":  # `Translation`: a target, empty or not, whose language a person must say
            unused[c] = (ledger.UNKNOWN_LANGUAGE, f'column language unknown: "{header}" names no language',
                         f"say it in a layout: targets: {{{letter(c)}: <language>}}")  # fmt: skip
            continue
        if not text_count[c]:
            continue
        texts = text_cells[c]
        if role not in ("source", "generic", None) and role in CONTEXT_HEADERS:
            if role == "note":  # several note-like columns (comments, scene, ...) all go into the context
                plan.extra_notes.append(c)
                continue
            unused[c] = (ledger.OTHER_COLUMN, f'second {role} column "{header}", not read', "")
            continue
        if "key" not in plan.context and looks_like_keys(texts) and role != "source":
            plan.context["key"] = c
            decisions[c] = ColumnDecision(letter(c), header, "key", None, "content: identifiers")
            continue
        decision = identify_column(texts)
        if decision.language is not None and len(set(texts)) < MIN_DISTINCT_TEXTS:
            decision = type(decision)(None, decision.share, decision.cells, decision.language,
                                      f"content: only {len(set(texts))} different texts (at least "
                                      f"{MIN_DISTINCT_TEXTS} decide; they look {decision.language})")  # fmt: skip
        if decision.language is None and role is None and header and len(set(texts)) < MIN_DISTINCT_TEXTS:
            unused[c] = (ledger.OTHER_COLUMN, f'notes beside the table (column "{header}"): not a language column',
                         f"say it in a layout: targets: {{{letter(c)}: <language>}} (or source)")  # fmt: skip
            continue
        if decision.language is None:
            quoted = f'"{header}"' if header else "(no header)"
            how = f"say it in a layout: targets: {{{letter(c)}: <language>}} (or source, or ignore)"
            unused[c] = (ledger.AMBIGUOUS_COLUMN, f"ambiguous column {quoted}: {decision.reason}", how)
            continue
        languages[c] = (decision.language, decision.reason)
        if role == "source":
            source_roles.append(c)

    def column_cells(c: int, *, with_empty: bool) -> list[tuple[int, int]]:
        """Column c's text cells; `with_empty`: also its empty cells beside source text (what a person fills): all
        of them under a header, else those between its first and last cell (a stray cell far right of a
        million-row table is not a million cells to fill)."""
        cells = [(n, c) for n in text_rows[c]]
        if with_empty:
            filled = data.cells(c)[0]
            first, last = (0, len(data)) if header_texts.get(c) or not filled else (filled[0], filled[-1])
            taken = set(filled)
            beside = source_text_rows()
            span = beside[bisect.bisect_left(beside, first) : bisect.bisect_right(beside, last)]
            cells = sorted({*cells, *((numbers[i], c) for i in span if i not in taken)})
        return cells

    @functools.cache
    def source_text_rows() -> list[int]:
        """The rows (indices in `data`, ascending) whose source cell is text."""
        return [i for i, text in zip(*data.cells(source), strict=True) if _is_text(text)]

    # one column per language: a header or layout beats content, then the leftmost
    by_language: dict[str, int] = {}
    rank = {"layout": 0, "header": 1}
    for c in sorted(languages, key=lambda c: (rank.get(languages[c][1], 2), c)):
        code, how = languages[c]
        if code in by_language:
            first = by_language[code]
            reason = (f"column {letter(c)} repeats language {code} of column {letter(first)} ({how}); only "
                      f"column {letter(first)} is read")  # fmt: skip
            unused[c] = (ledger.REPEATED_LANGUAGE, reason, "say which column is which in a layout")
            continue
        by_language[code] = c

    # the source: layout, a source-role column, the configured language, else the fullest (leftmost on a tie)
    candidates = [c for c in source_roles if c in by_language.values()]
    source: int | None
    if candidates:
        source = candidates[0]
    elif wanted_source:
        source = by_language.get(wanted_source)
        if source is None:
            plan.layout.skipped = f"no {wanted_source} column"
    else:
        source = max(sorted(by_language.values()), key=lambda c: text_count[c]) if by_language else None
    targets = {code: c for code, c in by_language.items() if c != source}
    for code, c in list(targets.items()):
        if target_filter and code not in target_filter:
            del targets[code]
            unused[c] = (ledger.NOT_A_TARGET, f"{code} is not among TRANSLATION_TARGET_LANGUAGES",
                         "add it to TRANSLATION_TARGET_LANGUAGES")  # fmt: skip
    if source is None or not targets:
        if not plan.layout.skipped:
            wanted = f" among {', '.join(sorted(target_filter))}" if target_filter else ""
            plan.layout.skipped = (
                "no source and target language columns" if source is None or not by_language
                else f"no target language column{wanted}"
            )  # fmt: skip
        plan.source, plan.targets = None, {}
        named = set()
        for c, (code, reason, how) in unused.items():  # the columns a person must name come first
            if code not in ledger.ATTENTION_CODES or source is None:  # a sheet with no table at all: no_table
                continue
            cells = column_cells(c, with_empty=source is not None)
            if cells:
                plan.skips.append(SkipEntry(sheet, code, reason, how, cells))
                named.add(c)
        rest = [(n, {c: cell for c, cell in row.items() if c not in named}) for n, row in data]
        _skip_rows(plan, rest, ledger.NO_TABLE, f"not translated: {plan.layout.skipped}",
                   "name the languages in the header row, or give the sheet a layout (layouts:)")  # fmt: skip
        _record_decisions(plan, columns, header_texts, languages, decisions, unused, None, {})
        return
    plan.source, plan.targets = source, targets
    for c, (code, reason, how) in unused.items():
        cells = column_cells(c, with_empty=code in _TARGET_LIKE)
        if cells:
            plan.skips.append(SkipEntry(sheet, code, reason, how, cells))
    _record_decisions(plan, columns, header_texts, languages, decisions, unused, source, targets)


def _record_decisions(
    plan: SheetPlan,
    columns: list[int],
    header_texts: dict[int, str],
    languages: dict[int, tuple[str, str]],
    decisions: dict[int, ColumnDecision],
    unused: dict[int, tuple[str, str, str]],
    source: int | None,
    targets: dict[str, int],
) -> None:
    layout = plan.layout
    context = {c: role for role, c in plan.context.items()}
    for c in columns:
        letter = get_column_letter(c)
        header = header_texts.get(c, "")
        language, how = languages.get(c, (None, ""))
        if c == source:
            decisions[c] = ColumnDecision(letter, header, "source", language, how)
        elif c in targets.values():
            decisions[c] = ColumnDecision(letter, header, "target", language, how)
        elif c in context and c not in decisions:
            decisions[c] = ColumnDecision(letter, header, context[c], None, "header" if header else "layout")
        elif c in plan.extra_notes:
            decisions[c] = ColumnDecision(letter, header, "note", None, "header")
        elif c in unused:
            decisions[c] = ColumnDecision(letter, header, "unused", language, unused[c][1])
    layout.columns = [decisions[c] for c in sorted(decisions)]
    if source is not None:
        layout.source_column = get_column_letter(source)
        layout.source_language = languages[source][0]
        layout.target_columns = {code: get_column_letter(c) for code, c in targets.items()}
        layout.context_columns = {role: get_column_letter(c) for role, c in plan.context.items()}


_LAYOUT_KEYS = {"file", "sheet", "header_rows", "header_row", "data_start", "key", "source", "source_language",
                "targets", "ignore"}  # fmt: skip


def _letter(value: object, where: str) -> str:
    text = str(value).strip().upper()
    try:
        column_index_from_string(text)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a column letter") from None
    return text


def parse_layouts(raw: object) -> list[ExplicitLayout]:
    """Layouts from YAML/JSON-like data: a list of mappings. ValueError naming the entry and the problem.

    `source` is a column letter or `{column: B, language: zh-CN}`; `targets` maps letters to languages;
    `header_rows` is a list of row numbers (`header_row: 2` for one; `[]` for no header row).
    """
    if raw in (None, "", []):
        return []
    if not isinstance(raw, list):
        raise ValueError("layouts: expected a list of layouts")
    layouts = []
    for position, entry in enumerate(raw, start=1):
        where = f"layouts[{position}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a mapping")
        if unknown := sorted(set(entry) - _LAYOUT_KEYS):
            raise ValueError(f"{where}: unknown keys {', '.join(unknown)} (known: {', '.join(sorted(_LAYOUT_KEYS))})")
        source = entry.get("source")
        source_language = entry.get("source_language")
        if isinstance(source, dict):
            source_language = source.get("language", source_language)
            source = source.get("column")
        header_rows = entry.get("header_rows", [entry["header_row"]] if "header_row" in entry else None)
        try:
            rows = None if header_rows is None else tuple(int(r) for r in header_rows)
            data_start = int(entry["data_start"]) if entry.get("data_start") is not None else None
        except (TypeError, ValueError):
            raise ValueError(f"{where}: header_rows and data_start must be row numbers") from None
        targets = entry.get("targets") or {}
        if not isinstance(targets, dict):
            raise ValueError(f"{where}: targets must map column letters to languages, e.g. {{C: en}}")
        layouts.append(ExplicitLayout(
            file=str(entry.get("file", "*")), sheet=str(entry.get("sheet", "*")), header_rows=rows,
            data_start=data_start, key=_letter(entry["key"], where) if entry.get("key") else None,
            source=_letter(source, where) if source else None,
            source_language=str(source_language) if source_language else None,
            targets={_letter(k, where): str(v) for k, v in targets.items()},
            ignore=tuple(_letter(c, where) for c in entry.get("ignore") or ()),
        ))  # fmt: skip
    return layouts
