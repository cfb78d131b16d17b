"""A corpus of string-table workbooks shaped like the ones studios and modders publish.

Every workbook is built in code. Each :class:`Case` states what a localization engineer reading the workbook
expects: the empty target cells a person would fill (``fills``) and the skip reasons the project must report.
``fills`` is derived from the data written (see :meth:`Sheet.fills`), never typed by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula
from openpyxl.worksheet.table import Table, TableStyleInfo

from . import phrases as P
from . import xml_tools

REASONS = frozenset(
    {
        "unknown_language",
        "ambiguous_column",
        "second_header_row",
        "below_second_table",
        "hidden_sheet",
        "array_formula",
        "repeated_language",
        "no_table",
        "too_long",
    }
)
EXCEL_CELL_LIMIT = 32767


@dataclass(frozen=True)
class Case:
    name: str  # file name stem, e.g. "luban_four_header_rows"
    build: Callable[[Path], None]  # writes the .xlsx/.xlsm at the given path
    fills: frozenset[tuple[str, str]]  # (sheet, cell) a person would fill, e.g. ("Dialog", "D7")
    reasons: frozenset[str] = frozenset()  # skip-reason codes that must be reported
    layout: dict | None = None  # an explicit layout entry when detection cannot know
    source_language: str = "auto"  # what the user would configure, normally auto
    note: str = ""  # the real-world pattern it reproduces
    suffix: str = ".xlsx"  # file extension the build is meant for

    @property
    def filename(self) -> str:
        return self.name + self.suffix


# --------------------------------------------------------------------------------------------------------------------
# sheet model


@dataclass
class Region:
    """Rows of one string table: the source column and the target columns a person fills from it."""

    source: str
    targets: tuple[str, ...]
    rows: tuple[int, ...]


@dataclass
class Sheet:
    title: str
    rows: list[list[Any]]  # rows[0] is row 1; None = no cell
    regions: list[Region] = field(default_factory=list)
    state: str = "visible"
    merges: list[str] = field(default_factory=list)
    hidden_rows: list[int] = field(default_factory=list)
    hidden_cols: list[str] = field(default_factory=list)
    tables: list[tuple[str, str]] = field(default_factory=list)  # (displayName, ref) Excel Tables
    special: dict[str, Any] = field(default_factory=dict)  # cell -> ArrayFormula / DataTableFormula
    inline: set[str] = field(default_factory=set)  # cells left as inline strings
    bold_rows: tuple[int, ...] = (1,)
    freeze: str | None = None

    def value(self, row: int, col: str) -> Any:
        if row < 1 or row > len(self.rows):
            return None
        cells = self.rows[row - 1]
        i = column_index_from_string(col) - 1
        return cells[i] if i < len(cells) else None

    def covered(self) -> set[str]:
        """Cells that are not free: inside array/data-table ranges, or merged-over (not the top-left)."""
        out: set[str] = set()
        refs = [v.ref for v in self.special.values() if isinstance(v, ArrayFormula | DataTableFormula)]
        for ref in refs:
            out |= _cells(ref)
        for ref in self.merges:
            out |= _cells(ref) - {ref.split(":")[0]}
        return out

    def fills(self) -> set[tuple[str, str]]:
        if self.state != "visible":  # hidden sheets are not translated by default
            return set()
        covered = self.covered() | set(self.special)
        out = set()
        for region in self.regions:
            for r in region.rows:
                src = self.value(r, region.source)
                if not is_text(src) or len(str(src)) > EXCEL_CELL_LIMIT:
                    continue
                for t in region.targets:
                    cell = f"{t}{r}"
                    if cell not in covered and self.value(r, t) is None:
                        out.add((self.title, cell))
        return out


def _cells(ref: str) -> set[str]:
    c1, r1, c2, r2 = range_boundaries(ref)
    return {f"{get_column_letter(c)}{r}" for c in range(c1, c2 + 1) for r in range(r1, r2 + 1)}


def is_text(v: Any) -> bool:
    """Source text a person translates: a non-blank string that is not a formula."""
    if isinstance(v, CellRichText):
        v = str(v)
    return isinstance(v, str) and v.strip() != "" and not v.startswith("=")


def col(n: int) -> str:
    return get_column_letter(n)


def region(source: str, targets: str | Iterable[str], first: int, last: int) -> Region:
    return Region(source, tuple(targets), tuple(range(first, last + 1)))


def write_book(path: Path, sheets: Sequence[Sheet], share: bool = True, post: Callable[[Path], None] | None = None):
    wb = Workbook()
    wb.remove(wb.active)
    head_font = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    for s in sheets:
        ws = wb.create_sheet(s.title)
        ws.sheet_state = s.state
        for r, cells in enumerate(s.rows, 1):
            for c, v in enumerate(cells, 1):
                if v is not None:
                    cell = ws.cell(r, c)
                    cell.value = v
                    if r in s.bold_rows:
                        cell.font = head_font
                        cell.fill = head_fill
        for ref, v in s.special.items():
            ws[ref] = v
        for ref in s.merges:
            ws.merge_cells(ref)
        for r in s.hidden_rows:
            ws.row_dimensions[r].hidden = True
        for letter in s.hidden_cols:
            ws.column_dimensions[letter].hidden = True
        width = max((len(cells) for cells in s.rows), default=0)
        for c in range(1, width + 1):
            ws.column_dimensions[col(c)].width = 14 if c == 1 else 32
        for name, ref in s.tables:
            table = Table(displayName=name, ref=ref)
            table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
            ws.add_table(table)
        if s.freeze:
            ws.freeze_panes = s.freeze
    wb.save(path)
    if share:
        xml_tools.share_strings(path, {s.title: s.inline for s in sheets if s.inline})
    if post:
        post(path)


CASES: list[Case] = []


def add(
    name: str,
    sheets: Sequence[Sheet],
    *,
    note: str,
    reasons: Iterable[str] = (),
    layout: dict | None = None,
    source_language: str = "auto",
    share: bool = True,
    post: Callable[[Path], None] | None = None,
    suffix: str = ".xlsx",
    fills: Iterable[tuple[str, str]] | None = None,
) -> Case:
    sheets = list(sheets)
    titles = [s.title for s in sheets]
    assert len(set(titles)) == len(titles), name
    computed = set().union(*(s.fills() for s in sheets)) if fills is None else set(fills)
    case = Case(
        name=name,
        build=lambda path: write_book(Path(path), sheets, share=share, post=post),
        fills=frozenset(computed),
        reasons=frozenset(reasons),
        layout=layout,
        source_language=source_language,
        note=note,
        suffix=suffix,
    )
    assert case.reasons <= REASONS, name
    CASES.append(case)
    return case


# --------------------------------------------------------------------------------------------------------------------
# data


def _dicts(rows, keys):
    return [dict(zip(keys, r, strict=True)) for r in rows]


CORE = _dicts(P.CORE, ("key", "zh", "tw", "en", "ja", "ko"))
DLG = _dicts(P.DIALOGUE, ("speaker", "speaker_zh", "key", "zh", "tw", "en", "ja", "ko"))
EURO = _dicts(P.EURO, ("key", "en", "de", "fr", "es", "pt", "ru"))
COMMUNITY = _dicts(P.COMMUNITY, ("key", "en", "ro", "eo", "id"))


def gear(n: int | None = None, tiers: int = 1) -> list[dict]:
    """Generated equipment names: quality + material + item (+ tier)."""
    out = []
    for m_i, m in enumerate(P.MATERIALS):
        for g_i, g in enumerate(P.GEAR):
            for q_i, q in enumerate(P.QUALITIES):
                for t in range(1, tiers + 1):
                    plus = f" +{t}" if tiers > 1 else ""
                    out.append(
                        {
                            "key": f"equip_{m_i:02d}{g_i:02d}{q_i}_t{t}_name",
                            "zh": f"{q[0]}{m[0]}{g[0]}{plus}",
                            "tw": f"{q[1]}{m[1]}{g[1]}{plus}",
                            "en": f"{q[2]} {m[2]} {g[2]}{plus}",
                            "ja": f"{q[3]}{m[3]}の{g[3]}{plus}",
                            "ko": f"{q[4]} {m[4]} {g[4]}{plus}",
                        }
                    )
            out.append(
                {
                    "key": f"equip_{m_i:02d}{g_i:02d}_desc",
                    "zh": f"用{m[0]}打造的{g[0]}。耐久度：{{0}}/{{1}}",
                    "tw": f"用{m[1]}打造的{g[1]}。耐久度：{{0}}/{{1}}",
                    "en": f"A {g[2].lower()} forged from {m[2].lower()}. Durability: {{0}}/{{1}}",
                    "ja": f"{m[3]}で鍛えられた{g[3]}。耐久度：{{0}}/{{1}}",
                    "ko": f"{m[4]} 재질의 {g[4]}. 내구도: {{0}}/{{1}}",
                }
            )
    return out if n is None else out[:n]


def blanked(i: int, j: int, mod: int, shift: int) -> bool:
    return (i + 2 * j + shift) % mod == 0


def grid(
    entries: Sequence[dict],
    fields: Sequence[Any],
    targets: Iterable[str],
    mod: int = 3,
    shift: int = 0,
) -> list[list[Any]]:
    """Data rows: one per entry, a field is a dict key, a callable (i, entry) or a constant.

    Target fields are left empty on a deterministic pattern (the cells a translator has not done yet).
    """
    targets = list(targets)
    rows = []
    for i, e in enumerate(entries):
        row = []
        for f in fields:
            if callable(f):
                v = f(i, e)
            elif isinstance(f, str) and f in e:
                v = e[f]
                if f in targets and blanked(i, targets.index(f), mod, shift):
                    v = None
            else:
                v = f
            row.append(v)
        rows.append(row)
    return rows


def table_sheet(
    title: str,
    header: Sequence[Any] | None,
    fields: Sequence[Any],
    entries: Sequence[dict],
    source: str,
    targets: Sequence[str],
    *,
    above: Sequence[Sequence[Any]] = (),
    below_header: Sequence[Sequence[Any]] = (),
    mod: int = 3,
    shift: int = 0,
    **kw: Any,
) -> Sheet:
    """A sheet holding one table: ``above`` rows, the header, ``below_header`` rows (not data), then data."""
    rows = [list(r) for r in above]
    if header is not None:
        rows.append(list(header))
    rows += [list(r) for r in below_header]
    first = len(rows) + 1
    rows += grid(entries, fields, targets, mod, shift)
    src = col(list(fields).index(source) + 1)
    tgt = [col(list(fields).index(t) + 1) for t in targets]
    kw.setdefault("bold_rows", tuple(range(1, first)))
    return Sheet(title, rows, [region(src, tgt, first, len(rows))], **kw)


def const(v: Any) -> Callable[[int, dict], Any]:
    return lambda _i, _e: v


def seq(start: int, step: int = 1) -> Callable[[int, dict], int]:
    return lambda i, _e: start + i * step


def sometimes(values: Sequence[Any], every: int = 2) -> Callable[[int, dict], Any]:
    return lambda i, _e: values[i % len(values)] if i % every == 0 else None


NOTES_ZH = ["按钮文字，尽量简短", "弹窗标题", "保留占位符 {0}", "战斗内提示", "商店界面"]
NOTES_EN = ["Button label, keep it short", "Popup title", "Keep the {0} placeholder", "Combat hint", "Shop UI"]


# --------------------------------------------------------------------------------------------------------------------
# 1. plain tables

_speaker = lambda _i, e: e.get("speaker")  # noqa: E731
_maxlen = lambda i, _e: [16, 40, 24, None][i % 4]  # noqa: E731
_ui_and_dialogue = CORE[:14] + DLG

add(
    "plain_key_zh_en_ja_ko",
    [
        table_sheet(
            "Strings",
            ["Key", "Speaker", "zh-CN", "en", "ja", "ko", "Notes", "Max Length"],
            ["key", _speaker, "zh", "en", "ja", "ko", sometimes(NOTES_ZH, 3), _maxlen],
            _ui_and_dialogue,
            "zh",
            ["en", "ja", "ko"],
            freeze="A2",
        )
    ],
    note="Unity/Godot CSV-style string table saved as xlsx: Key | Speaker | zh-CN | en | ja | ko | Notes | Max Length;"
    " targets partly translated.",
)

add(
    "readme_sheet_no_table",
    [
        Sheet(
            "说明",
            [
                ["本地化表使用说明"],
                ["1. Key 列由程序维护，请勿修改。"],
                ["2. 占位符 {0}、%d 与 <color> 标签请保持原样。"],
                ["3. 翻译完成后在备注列标记“已校对”。"],
                ["负责人：王策划　更新：2024-03-18"],
            ],
        ),
        table_sheet(
            "Text",
            ["ID", "Chinese", "English", "Japanese", "Comment"],
            [seq(1001), "zh", "en", "ja", sometimes(["已校对", None, "待确认"], 2)],
            CORE,
            "zh",
            ["en", "ja"],
            shift=1,
        ),
    ],
    reasons=["no_table"],
    note="A studio workbook with a readme sheet of instructions in front of the string table.",
)

# --------------------------------------------------------------------------------------------------------------------
# 2. config-table pipelines with several header rows

add(
    "luban_four_header_rows",
    [
        table_sheet(
            "l10n_text",
            ["编号", "中文", "英文", "日文", "备注"],
            [seq(100001), "zh", "en", "ja", sometimes(NOTES_ZH, 4)],
            CORE,
            "zh",
            ["en", "ja"],
            below_header=[
                ["id", "text_zh", "text_en", "text_ja", "comment"],
                ["int", "string", "string", "string", "string"],
                ["cs", "c", "c", "c", "s"],
            ],
        )
    ],
    note="Config-table export (Luban/xlsx2lua style): names row, field-id row, type row, export-flag row, then data.",
)

add(
    "short_table_type_row_under_names",
    [
        table_sheet(
            "任务文本",
            ["ID", "说明", "简体中文", "EN", "日本語", "字数限制"],
            [seq(3001), const("任务"), "zh", "en", "ja", const(40)],
            CORE[:5],
            "zh",
            ["en", "ja"],
            above=[["第三章 任务文本 (策划: 王)"], []],
            below_header=[["int", "string", "string", "string", "string", "int"]],
        )
    ],
    note="A title, a blank row, the names row, then a type row naming no column; too few rows for the content to"
    " decide, so the names row must: the type row under it is not the header.",
)

add(
    "xlsx2lua_sparse_header_rows",
    [
        table_sheet(
            "Language",
            ["ID", "Chinese", "English", "Japanese", "Remark"],
            [seq(2001), "zh", "en", "ja", sometimes(NOTES_EN, 3)],
            CORE[5:] + DLG[:4],
            "zh",
            ["en", "ja"],
            below_header=[
                ["id", "zh", "en", "ja"],
                ["int", "string", None, "string"],
                ["cs", None, "c", "c"],
            ],
            shift=2,
        )
    ],
    note="Config-table header rows that are sparse: the type row and the export-flag row leave some columns empty"
    " (C3, B4 ... are header cells, not text to fill).",
)

add(
    "luban_var_markers",
    [
        table_sheet(
            "TbText",
            ["##var", "id", "zh", "en", "ja", "ko"],
            [None, seq(1), "zh", "en", "ja", "ko"],
            CORE[:12] + DLG[:5],
            "zh",
            ["en", "ja", "ko"],
            below_header=[
                ["##type", "int", "string", "string", "string", "string"],
                ["##", "编号", "中文", "英文", "日文", "韩文"],
            ],
        )
    ],
    note="Luban table: ##var / ##type / ## (comment) marker rows in column A, data rows with column A empty.",
)

# 3. a code row under Chinese header names
_code_row = table_sheet(
    "Dialog",
    ["编号", "备注", "场景", "中文", "英文", "日文", "韩文"],
    [seq(30001), sometimes(["主角第一次出场", "语气要冷淡", None], 2), const("雪原村"), "zh", "en", "ja", "ko"],
    DLG + CORE[:6],
    "zh",
    ["en", "ja", "ko"],
    below_header=[["id", "comments", "scene", "sc", "en", "jp", None]],
)
add(
    "code_row_under_chinese_header",
    [_code_row],
    reasons=["second_header_row"],
    note="Chinese column names with a row of codes under them (id|comments|scene|sc|en|jp); the code row leaves the"
    " Korean code empty (G2 is not a fill).",
)

# 3b. a group label merged over the language codes
_grouped = table_sheet(
    "Items",
    ["ID", "Text", None, None, None, "Remark"],
    [seq(1001), "zh", "en", "ja", "ko", sometimes(["weapon", "恢复50点生命", None], 2)],
    CORE[:3],  # too few rows for the content to name the column `Text`: only the code row can
    "zh",
    ["en", "ja", "ko"],
    below_header=[[None, "CN", "EN", "JP", "KR", None]],
    merges=["B1:E1"],
)
add(
    "group_label_over_language_codes",
    [_grouped],
    note="ID | Text | Remark with `Text` merged over the language columns, and the language codes CN | EN | JP | KR"
    " in the row under it (found in a user trial: `Text` was taken for the column name and EN for the source).",
)

# 4. language-picker strings inside the data
_picker_entries = [
    {"key": 80401, "zh": "语言", "en": "Language", "ja": "言語"},
    {"key": 80402, "zh": "中文", "en": "English", "ja": "日本語"},
    {"key": 80403, "zh": "简体中文", "en": "Simplified Chinese", "ja": None},
    {"key": 80404, "zh": "繁體中文", "en": None, "ja": None},
    {"key": 80405, "zh": "切换语言后需要重启游戏", "en": "Restart the game to apply the language.", "ja": None},
] + [{**e, "key": 80406 + i} for i, e in enumerate(CORE[:10])]
_picker = table_sheet(
    "Text", ["ID", "中文", "English", "日本語"], ["key", "zh", "en", "ja"], _picker_entries, "zh", ["en", "ja"], mod=4
)
_picker.rows.append([80420, "中文", "English", None])  # the same picker once more, in the options list
_picker.regions[0] = region("B", "CD", 2, len(_picker.rows))
add(
    "language_picker_row_in_data",
    [_picker],
    note="A language-picker string (80402 | 中文 | English | 日本語) among normal rows: it is data, not a header;"
    " the rows below it and its later copy with an empty 日本語 cell are filled.",
)

# 5. locale-info sheet
_locale_entries = [
    {"key": "Title", "ja": "雪原の旅人", "en": "Snowfield Wanderer", "zh": "雪原旅人"},
    {"key": "Subtitle", "ja": "〜白き狼の伝説〜", "en": None, "zh": "白狼传说"},
] + [{"key": e["key"], "ja": e["ja"], "en": e["en"], "zh": e["zh"]} for e in CORE[:12]]
add(
    "locale_info_language_name_header",
    [
        table_sheet(
            "LocaleInfo",
            ["LanguageName", "日本語", "English", "简体中文"],
            ["key", "ja", "en", "zh"],
            _locale_entries,
            "ja",
            ["en", "zh"],
            shift=1,
        )
    ],
    note="Godot-style locale sheet whose first row is LanguageName | 日本語 | English | 简体中文"
    " (endonyms as headers).",
)
add(
    "locale_info_language_name_row",
    [
        table_sheet(
            "Locale",
            ["keys", "ja", "en", "zh_CN"],
            ["key", "ja", "en", "zh"],
            _locale_entries,
            "ja",
            ["en", "zh"],
            above=[],
            below_header=[["LanguageName", "日本語", "English", "简体中文"]],
            bold_rows=(1,),
        )
    ],
    note="Locale codes as headers and a LanguageName row (the display names) at the top of the data block.",
)

# --------------------------------------------------------------------------------------------------------------------
# 6. language names in every spelling

_euro_es = [
    {**e, "zh": c["zh"], "tw": c["tw"], "ja": c["ja"], "ko": c["ko"]}
    for e in EURO
    for c in CORE
    if c["key"] == e["key"]
]
add(
    "steam_api_codes",
    [
        table_sheet(
            "Localization",
            [
                "token",
                "english",
                "schinese",
                "tchinese",
                "japanese",
                "koreana",
                "brazilian",
                "latam",
                "russian",
                "german",
                "french",
            ],
            ["key", "en", "zh", "tw", "ja", "ko", "pt", "es", "ru", "de", "fr"],
            _euro_es,
            "en",
            ["zh", "tw", "ja", "ko", "pt", "es", "ru", "de", "fr"],
            mod=4,
        )
    ],
    note="Steam API language codes as headers (schinese, tchinese, koreana, brazilian, latam ...), English source.",
)
add(
    "unity_system_language_names",
    [
        table_sheet(
            "StringTable",
            ["Key", "ChineseSimplified", "ChineseTraditional", "English", "Japanese", "Korean"],
            ["key", "zh", "tw", "en", "ja", "ko"],
            CORE,
            "zh",
            ["tw", "en", "ja", "ko"],
            shift=1,
        )
    ],
    note="Unity SystemLanguage enum names as headers.",
)
add(
    "unreal_culture_names",
    [
        table_sheet(
            "ST_UI",
            ["Key", "SourceString", "Comment", "zh-Hans", "ja", "pt-BR", "es-419"],
            ["key", "en", sometimes(NOTES_EN, 3), "zh", "ja", "pt", "es"],
            _euro_es,
            "en",
            ["zh", "ja", "pt", "es"],
        )
    ],
    note="Unreal string table export: Key | SourceString (English) | Comment, then culture names zh-Hans, pt-BR,"
    " es-419.",
)
add(
    "community_english_language_names",
    [
        table_sheet(
            "Translations",
            ["Key", "English", "Romanian", "Esperanto", "Indonesia"],
            ["key", "en", "ro", "eo", "id"],
            COMMUNITY,
            "en",
            ["ro", "eo", "id"],
        )
    ],
    note="A mod's community translation sheet: English language names, including the country name 'Indonesia'.",
)
add(
    "decorated_headers_affixes",
    [
        table_sheet(
            "Items",
            ["ID", "Text_EN", "Text_JA", "Text_ZH"],
            [seq(501), "en", "ja", "zh"],
            CORE[11:22],
            "en",
            ["ja", "zh"],
        ),
        table_sheet(
            "Dialog",
            ["key", "speaker", "en_text", "ja_text", "ko_text"],
            ["key", _speaker, "en", "ja", "ko"],
            DLG,
            "en",
            ["ja", "ko"],
            shift=1,
        ),
        table_sheet(
            "System",
            ["Key", "Language_en", "Language_ja", "Language_zh-TW"],
            ["key", "en", "ja", "tw"],
            CORE[:10],
            "en",
            ["ja", "tw"],
            shift=2,
        ),
    ],
    note="Language codes decorated with prefixes and suffixes: Text_EN, en_text, Language_ja.",
)
add(
    "decorated_headers_roles_regions",
    [
        table_sheet(
            "UI",
            ["Key", "ZH (source)", "EN (target)", "JA (target)"],
            ["key", "zh", "en", "ja"],
            CORE,
            "zh",
            ["en", "ja"],
        ),
        table_sheet(
            "Store",
            ["Key", "English_US", "French_FR", "German_DE", "Spanish_ES", "Portuguese_BR"],
            ["key", "en", "fr", "de", "es", "pt"],
            EURO,
            "en",
            ["fr", "de", "es", "pt"],
            shift=1,
        ),
    ],
    note="Vendor handoff sheets: 'EN (target)' role markers and English_US / Portuguese_BR region-suffixed names.",
)
add(
    "chinese_language_names",
    [
        table_sheet(
            "多语言",
            ["ID", "简中", "繁中", "英语", "日语", "韩文"],
            [seq(1), "zh", "tw", "en", "ja", "ko"],
            CORE + DLG,
            "zh",
            ["tw", "en", "ja", "ko"],
            mod=4,
        )
    ],
    note="Chinese short names for languages: 简中 | 繁中 | 英语 | 日语 | 韩文.",
)
add(
    "japanese_korean_language_names",
    [
        table_sheet(
            "テキスト",
            ["ID", "日本語", "英語", "中国語（簡体字）", "韓国語"],
            [seq(1), "ja", "en", "zh", "ko"],
            CORE,
            "ja",
            ["en", "zh", "ko"],
        ),
        table_sheet(
            "텍스트",
            ["키", "한국어", "영어", "일본어", "중국어(번체)"],
            ["key", "ko", "en", "ja", "tw"],
            DLG + CORE[:8],
            "ko",
            ["en", "ja", "tw"],
            shift=1,
        ),
    ],
    note="Japanese and Korean names for languages in headers (a Japanese studio's and a Korean studio's sheet).",
)

# --------------------------------------------------------------------------------------------------------------------
# 7. role-named source columns

add(
    "source_named_source",
    [table_sheet("Sheet1", ["Key", "Source", "en", "ja"], ["key", "zh", "en", "ja"], CORE, "zh", ["en", "ja"])],
    note="Key | Source | en | ja: the source column is named by its role, its content is Chinese.",
)
add(
    "yuanwen_header",
    [
        table_sheet(
            "翻译",
            ["ID", "原文", "英文", "日文"],
            [seq(10001), "zh", "en", "ja"],
            CORE + DLG,
            "zh",
            ["en", "ja"],
            shift=1,
        )
    ],
    note="ID | 原文 | 英文 | 日文: the source column is called 原文 (original text).",
)
add(
    "text_column_english_source",
    [table_sheet("Strings", ["ID", "Text", "ja"], ["key", "en", "ja"], CORE, "en", ["ja"], mod=2)],
    note="ID | Text | ja: a 'Text' column holding English, one Japanese target.",
)

_vn_rows = [
    ["Name", "Command", "Arguments", "Arguments_ja", "Arguments_zh"],
    [None, "bg", "snow_village_night", None, None],
    [None, "bgm", "bgm_wind_02", None, None],
    ["Hunter", "say", DLG[0]["en"], DLG[0]["ja"], None],
    [None, "wait", 1.5, None, None],
    ["Elin", "say", DLG[1]["en"], None, DLG[1]["zh"]],
    ["Hunter", "say", DLG[2]["en"], None, None],
    [None, "se", "se_door_open", None, None],
    [None, "choice", "Ask about the sword", "剣のことを聞く", None],
    [None, "choice", "Drink the soup", None, None],
    ["Elin", "say", DLG[4]["en"], DLG[4]["ja"], DLG[4]["zh"]],
    [None, "jump", "*chapter1_village", None, None],
    ["Chief", "say", DLG[5]["en"], None, None],
    [None, "fadeout", 0.8, None, None],
]
_vn_text = tuple(r for r, row in enumerate(_vn_rows, 1) if row[1] in ("say", "choice"))
add(
    "visual_novel_arguments_export",
    [Sheet("Scenario_01", _vn_rows, [Region("C", ("D", "E"), _vn_text)])],
    note="Visual-novel script export: Name | Command | Arguments | Arguments_ja | Arguments_zh. Only say/choice rows"
    " carry English text; bg/bgm/se/jump arguments are asset names and labels, not text.",
)

_section = table_sheet(
    "Sheet1",
    ["ID", "中文", "英文", "日文"],
    [seq(1), "zh", "en", "ja"],
    CORE[:16],
    "zh",
    ["en", "ja"],
    above=[[None, "第一块", None, None]],
    bold_rows=(1, 2),
)
_section.merges.append("B1:D1")
add(
    "section_label_above_header",
    [_section],
    note="A section label (第一块) merged over the language columns on the row above the real header.",
)

add(
    "power_query_names_in_first_row",
    [
        table_sheet(
            "Query1",
            [f"Column{i}" for i in range(1, 8)],
            ["key", _speaker, "zh", "en", "ja", "ko", sometimes(NOTES_ZH, 3)],
            DLG + CORE[:10],
            "zh",
            ["en", "ja", "ko"],
            below_header=[["Key", "Speaker", "中文", "English", "日本語", "한국어", "Note"]],
            bold_rows=(1,),
            tables=[("Query1", "A1:G20")],
        )
    ],
    note="Power Query output without promoted headers: Column1..Column7, the real names in the first data row.",
)
add(
    "power_query_no_names",
    [
        table_sheet(
            "Sheet2",
            [f"Column{i}" for i in range(1, 6)],
            ["key", "zh", "en", "ja", "ko"],
            CORE,
            "zh",
            ["en", "ja", "ko"],
            shift=2,
            tables=[("Table_Merge", "A1:E27")],
        )
    ],
    note="Power Query output Column1..Column5 with no language names anywhere: the content decides.",
)

# --------------------------------------------------------------------------------------------------------------------
# 8. no header row

add(
    "headerless_six_columns",
    [
        table_sheet(
            "Sheet1",
            None,
            ["key", "zh", "en", "tw", "ja", "ko"],
            CORE,
            "zh",
            ["en", "tw", "ja", "ko"],
            shift=1,
            mod=4,
            bold_rows=(),
        )
    ],
    note="No header at all: key | 中文 | English | 繁體 | 日本語 | 한국어 as data from row 1 (keys like ui_start).",
)
_large = gear(tiers=5)
add(
    "headerless_large_generated",
    [
        table_sheet(
            "items",
            None,
            ["key", "zh", "en", "tw", "ja", "ko"],
            _large,
            "zh",
            ["en", "tw", "ja", "ko"],
            mod=5,
            shift=2,
            bold_rows=(),
        )
    ],
    note=f"A headerless generated item-name table of {len(_large)} rows (zh source, en/zh-TW/ja/ko targets).",
)

# --------------------------------------------------------------------------------------------------------------------
# 9. a target column with no language


def _translation_sheet() -> Sheet:
    return table_sheet(
        "Sheet1",
        ["Key", "中文", "Translation", "Notes", "Tag"],
        ["key", "zh", const(None), sometimes(NOTES_ZH, 2), lambda i, _e: ["ui", "combat", "shop", "quest"][i % 4]],
        CORE,
        "zh",
        [],
    )


_translation_layout = {
    "sheet": "*",
    "header_rows": [1],
    "data_start": 2,
    "key": "A",
    "source": {"column": "B", "language": "zh-CN"},
    "targets": {"C": "en"},
    "ignore": ["E"],
}
_tr = _translation_sheet()
_tr.regions = [region("B", "C", 2, len(_tr.rows))]
add(
    "translation_column_with_layout",
    [_tr],
    layout=_translation_layout,
    note="Key | 中文 | Translation | Notes | Tag sent to a freelancer: 'Translation' names no language, the user's"
    " layout says it is English and that Tag is ignored.",
)
add(
    "translation_column_without_layout",
    [_translation_sheet()],
    reasons=["unknown_language"],
    note="The same workbook without a layout: nobody can tell the target language of 'Translation' (empty column),"
    " and Tag is a text column whose header is neither a language nor a context role.",
)

# --------------------------------------------------------------------------------------------------------------------
# 10. stale <dimension>

_stale_entries = CORE + DLG + gear(22)
_stale = table_sheet(
    "Text", ["Key", "zh-CN", "en", "ja"], ["key", "zh", "en", "ja"], _stale_entries, "zh", ["en", "ja"], mod=4
)
assert len(_stale.rows) == 57
add(
    "stale_dimension",
    [_stale],
    post=lambda p: xml_tools.set_dimension(p, "Text", "A1:C10"),
    note="A tool appended rows and a ja column without updating <dimension ref='A1:C10'/>; rows go to 57, ja is D.",
)

# --------------------------------------------------------------------------------------------------------------------
# 11. array formula and data table over target cells

_arr = table_sheet(
    "Strings", ["Key", "zh-CN", "en", "ja"], ["key", "zh", "en", "ja"], CORE[:14], "zh", ["en", "ja"], mod=2
)
for r in (2, 3, 4):
    _arr.rows[r - 1][3] = None
for r in (8, 9, 10):
    _arr.rows[r - 1][2] = None
_arr.special["D2"] = ArrayFormula("D2:D4", '=IF(C2:C4="","",C2:C4)')
_arr.special["C8"] = DataTableFormula("C8:C10", r1="B1")
add(
    "array_formula_and_data_table",
    [_arr],
    reasons=["array_formula"],
    note="A legacy array formula {=IF(C2:C4=...)} over ja cells D2:D4 and a what-if data table over en cells C8:C10;"
    " only the top-left cell holds the formula, the rest of each range is empty in the XML.",
)

# --------------------------------------------------------------------------------------------------------------------
# 12. hidden and very hidden sheets

add(
    "hidden_and_very_hidden_sheets",
    [
        table_sheet("UI", ["Key", "zh-CN", "en", "ja"], ["key", "zh", "en", "ja"], CORE, "zh", ["en", "ja"]),
        table_sheet(
            "Dialogue_old",
            ["Key", "zh-CN", "en", "ja"],
            ["key", "zh", "en", "ja"],
            DLG,
            "zh",
            ["en", "ja"],
            state="hidden",
            shift=1,
        ),
        table_sheet(
            "Debug",
            ["Key", "zh-CN", "en", "ja"],
            ["key", "zh", "en", "ja"],
            CORE[:8],
            "zh",
            ["en", "ja"],
            state="veryHidden",
            shift=2,
        ),
    ],
    reasons=["hidden_sheet"],
    note="A visible string table plus a hidden old dialogue sheet and a veryHidden debug sheet, both full tables.",
)

# --------------------------------------------------------------------------------------------------------------------
# 13. Excel Tables, several tables and many sheets


def _with_table(sheet: Sheet, name: str, first_row: int = 1) -> Sheet:
    width = max(len(r) for r in sheet.rows[first_row - 1 :])
    sheet.tables.append((name, f"A{first_row}:{col(width)}{len(sheet.rows)}"))
    return sheet


_ui_tbl = _with_table(
    table_sheet(
        "UI", ["Key", "zh-CN", "en", "ja", "ko"], ["key", "zh", "en", "ja", "ko"], CORE, "zh", ["en", "ja", "ko"]
    ),
    "tblUI",
)
_weapons = table_sheet(
    "Items", ["WeaponID", "中文", "English", "日本語"], [seq(1), "zh", "en", "ja"], gear(9), "zh", ["en", "ja"]
)
_weapons.tables.append(("tblWeapons", f"A1:D{len(_weapons.rows)}"))
_second_first = len(_weapons.rows) + 3
_weapons.rows += [[], []]
_weapons.rows.append(["ItemID", "中文", "English", "日本語"])
_weapons.rows += grid(CORE[11:15], [seq(900), "zh", "en", "ja"], ["en", "ja"], shift=1)
_weapons.tables.append(("tblConsumables", f"A{_second_first}:D{len(_weapons.rows)}"))
_weapons.regions.append(region("B", "CD", _second_first + 1, len(_weapons.rows)))
_weapons.bold_rows = (1, _second_first)
add(
    "excel_tables_several",
    [_ui_tbl, _weapons],
    note="String tables held in Excel Tables (ListObjects): one per sheet, and two stacked tables on the Items sheet"
    " separated by blank rows (both are string tables with the same language columns).",
)

_small_titles = [
    "UI",
    "Items",
    "Skills",
    "Quests",
    "NPC",
    "Tutorial",
    "Achievements",
    "Shop",
    "Map",
    "Settings",
    "Credits",
    "Tips",
]
add(
    "many_small_sheets",
    [
        table_sheet(
            t,
            ["Key", "en", "fr", "de", "es"],
            ["key", "en", "fr", "de", "es"],
            EURO[(i * 3) % 12 : (i * 3) % 12 + 4],
            "en",
            ["fr", "de", "es"],
            shift=i,
        )
        for i, t in enumerate(_small_titles)
    ],
    note="Twelve small sheets, one per game system, each Key | en | fr | de | es.",
)

# --------------------------------------------------------------------------------------------------------------------
# 14. bloated styles

_bloat = table_sheet(
    "Text",
    ["Key", "zh-CN", "en", "ja", "ko"],
    ["key", "zh", "en", "ja", "ko"],
    CORE + DLG + gear(28),
    "zh",
    ["en", "ja", "ko"],
)
assert len(_bloat.rows) == 63
add(
    "bloated_styles",
    [_bloat],
    post=lambda p: xml_tools.bloat_styles(p, 50_000, restyle={"Text": 40_000}),
    note="A 63-row table in a workbook whose styles.xml holds 50,000 cellXfs (~10 MB), the style explosion of"
    " workbooks copy-pasted between studios for years.",
)

# --------------------------------------------------------------------------------------------------------------------
# 15. merged cells, hidden rows and columns

_m_rows: list[list[Any]] = [["Scene", "Speaker", "zh-CN", "en", "ja", "Hash"], ["第一章　雪原"]]
_m_merges = ["A2:F2"]
_line_rows: list[tuple[int, str]] = []
for i, d in enumerate(DLG):
    if i == 4:
        _m_rows.append(["第二章　村庄"])
        _m_merges.append(f"A{len(_m_rows)}:F{len(_m_rows)}")
    en = None if i % 3 == 1 else d["en"]
    ja = None if i % 2 == 0 else d["ja"]
    _m_rows.append([f"snow_{i + 1:02d}", d["speaker_zh"], d["zh"], en, ja, f"{(i * 2654435761) % 16**8:08x}"])
    _line_rows.append((len(_m_rows), d["speaker_zh"]))
_run = [_line_rows[0]]
for r, who in [*_line_rows[1:], (0, "")]:
    if r == _run[-1][0] + 1 and who == _run[-1][1]:
        _run.append((r, who))
        continue
    if len(_run) > 1:  # the same speaker on consecutive lines: one merged cell, the name only in the top cell
        _m_merges.append(f"B{_run[0][0]}:B{_run[-1][0]}")
        for rr, _who in _run[1:]:
            _m_rows[rr - 1][1] = None
    _run = [(r, who)]
_merged = Sheet(
    "Dialogue",
    _m_rows,
    [region("C", "DE", 2, len(_m_rows))],
    merges=_m_merges,
    hidden_rows=[4, 8],
    hidden_cols=["F"],
    freeze="C2",
)
add(
    "merged_speaker_hidden_rows",
    [_merged],
    note="Dialogue sheet with chapter titles merged across the table, the speaker merged down over consecutive lines,"
    " two hidden rows (still data) and a hidden Hash column.",
)

# --------------------------------------------------------------------------------------------------------------------
# 16. mixed scripts in the source column

_mixed_entries = []
for i, e in enumerate(CORE[:14]):
    _mixed_entries.append(e)
    if i % 3 == 0:
        term = ["HP", "MP", "Boss", "DLC", "Steam", "OK"][i // 3 % 6]
        _mixed_entries.append({"key": f"term_{term.lower()}", "zh": term, "en": None, "ja": None})
_mixed_entries.append({"key": "ui_steam_friends", "zh": "Steam 好友", "en": "Steam Friends", "ja": None})
_mixed_entries.append({"key": "ui_boss_hp", "zh": "Boss HP：{0}/{1}", "en": None, "ja": "ボスHP：{0}/{1}"})
add(
    "mixed_script_zh_source",
    [
        table_sheet(
            "UI",
            ["ID", "中文", "English", "日本語"],
            ["key", "zh", "en", "ja"],
            _mixed_entries,
            "zh",
            ["en", "ja"],
            mod=4,
        )
    ],
    note="A Chinese source column where some cells are English UI terms (HP, Boss, DLC, Steam 好友).",
)
_kanji = [
    ("sys_settings", "設定", "Settings", "设置", "설정"),
    ("sys_start", "開始", "Start", "开始", "시작"),
    ("sys_volume", "音量", "Volume", "音量", "음량"),
    ("sys_decide", "決定", "Confirm", "确定", "결정"),
    ("sys_difficulty", "難易度", "Difficulty", "难度", "난이도"),
    ("stat_attack", "攻撃力", "Attack", "攻击力", "공격력"),
    ("stat_defense", "防御力", "Defense", "防御力", "방어력"),
    ("stat_money", "所持金", "Money", "持有金钱", "소지금"),
]
_kanji_entries = [dict(zip(("key", "ja", "en", "zh", "ko"), k, strict=True)) for k in _kanji]
_ja_entries = [{"key": e["key"], "ja": e["ja"], "en": e["en"], "zh": e["zh"], "ko": e["ko"]} for e in CORE]
_ja_mixed = [x for pair in zip(_ja_entries, _kanji_entries + [None] * 30, strict=False) for x in pair if x]
add(
    "japanese_kanji_only_source",
    [
        table_sheet(
            "System",
            ["Key", "日本語", "English", "简体中文", "한국어"],
            ["key", "ja", "en", "zh", "ko"],
            _ja_mixed,
            "ja",
            ["en", "zh", "ko"],
            shift=1,
        )
    ],
    note="A Japanese source column where several cells are kanji only (設定, 開始, 攻撃力) and read like Chinese.",
)

# --------------------------------------------------------------------------------------------------------------------
# 17. blank rows: a second table, or the same table continued

_two = table_sheet("Text", ["Key", "zh-CN", "en", "ja"], ["key", "zh", "en", "ja"], CORE[:15], "zh", ["en", "ja"])
_two.rows.append([])
_two.rows += [
    ["版本", "日期", "修改内容", "负责人"],
    ["v0.3", "2024-01-08", "新增商店与背包相关文本", "王策划"],
    ["v0.4", "2024-02-19", "调整战斗提示的语气，删除旧的教学文本", "李文案"],
    ["v0.5", "2024-03-18", "补充雪原章节对话，待翻译", "王策划"],
]
_two.bold_rows = (1, 18)
add(
    "below_second_table_changelog",
    [_two],
    reasons=["below_second_table"],
    note="A string table, a blank row, then a change log with other columns (版本 | 日期 | 修改内容 | 负责人).",
)

_cont_rows: list[list[Any]] = [["Key", "Speaker", "zh-CN", "en", "ja"]]
for chunk, shift in ((DLG[:4], 0), (DLG[4:], 1), (CORE[14:20], 2)):
    if len(_cont_rows) > 1:
        _cont_rows += [[]] if shift == 1 else [[], []]
    _cont_rows += grid(chunk, ["key", _speaker, "zh", "en", "ja"], ["en", "ja"], shift=shift)
add(
    "blank_rows_same_table",
    [Sheet("Dialogue", _cont_rows, [region("C", "DE", 2, len(_cont_rows))])],
    note="Blank separator rows between scenes of one table: the rows after them are more rows of the same table.",
)

# --------------------------------------------------------------------------------------------------------------------
# 18. the same language twice

_rep = table_sheet(
    "Text",
    ["Key", "zh-CN", "en", "ja", "en"],
    ["key", "zh", "en", "ja", "old_en"],
    [{**e, "old_en": (e["en"].upper() if i % 3 == 0 else None)} for i, e in enumerate(CORE)],
    "zh",
    ["en", "ja"],
)
add(
    "repeated_language_column",
    [_rep],
    reasons=["repeated_language"],
    note="An 'en' column twice: the second one (E) is a stale copy someone left behind; only the first is filled.",
)

# --------------------------------------------------------------------------------------------------------------------
# 19. kinds of cell content

_rich_src = CellRichText([TextBlock(InlineFont(b=True, color="FFFF0000"), "火焰"), "伤害提升 {0}%"])
_rich_tgt = CellRichText(["Deals ", TextBlock(InlineFont(i=True), "extra"), " damage"])
_kinds: list[list[Any]] = [
    ["Key", "zh-CN", "en", "ja"],
    ["k_shared", "开始游戏", None, "ゲームスタート"],  # 2 shared string source
    ["k_inline", "继续游戏", None, None],  # 3 inline string source
    ["k_rich", _rich_src, None, None],  # 4 rich-text source
    ["k_space_target", "设置", " ", None],  # 5 en holds a space: not empty
    ["k_formula_target", "退出游戏", "=B5", None],  # 6 en holds a formula
    ["k_number_source", 100, None, None],  # 7 number source
    ["k_formula_source", '="HP "&A1', None, None],  # 8 formula source
    ["k_blank_source", "  ", None, None],  # 9 whitespace source
    ["k_newline", "第一行\n第二行", None, "一行目\n二行目"],  # 10 real line break
    ["k_zero_target", "金币", None, 0],  # 11 number in a target
    ["k_inline_target", "取消", "Cancel", None],  # 12 inline string target
    ["k_rich_target", "额外伤害", _rich_tgt, None],  # 13 rich-text target
    ["k_padded", " 确定 ", None, None],  # 14 padded source
    ["k_empty_source", None, None, None],  # 15 no source
]
add(
    "cell_kinds_strings_formulas_numbers",
    [Sheet("Text", _kinds, [region("B", "CD", 2, len(_kinds))], inline={"B3", "C12"})],
    note="Shared strings, inline strings and rich-text runs; a target holding a space, a formula or 0 is not empty;"
    " number, formula and whitespace sources are not text.",
)

# --------------------------------------------------------------------------------------------------------------------
# 20. macro-enabled workbook

add(
    "macro_enabled_xlsm",
    [
        table_sheet(
            "Strings",
            ["Key", "zh-CN", "en", "ja", "ko"],
            ["key", "zh", "en", "ja", "ko"],
            CORE,
            "zh",
            ["en", "ja", "ko"],
            shift=1,
        )
    ],
    post=xml_tools.make_macro_enabled,
    suffix=".xlsm",
    note="An .xlsm (macro-enabled content type, the VBA project removed) holding a plain string table.",
)

# --------------------------------------------------------------------------------------------------------------------
# rarer reasons

_amb_words = ["開始", "設定", "確認", "音量", "商店", "任務", "技能", "成功"]
_amb_entries = [{**e, "amb": _amb_words[i] if i % 3 else None} for i, e in enumerate(CORE[: len(_amb_words)])]
_amb_entries += [{**e, "amb": None} for e in CORE[len(_amb_words) : 14]]
add(
    "ambiguous_kanji_column",
    [
        table_sheet(
            "Query1",
            ["Column1", "Column2", "Column3", "Column4"],
            ["key", "zh", "en", "amb"],
            _amb_entries,
            "zh",
            ["en"],
            shift=1,
        )
    ],
    reasons=["ambiguous_column"],
    note="Generic Column1..Column4 headers; Column4 holds only kanji words (開始, 設定, 任務) that are equally"
    " Japanese or Traditional Chinese, so its empty cells cannot be filled.",
)

_long = "感谢所有参与封闭测试的玩家，你们的反馈让雪原变得更加真实。" * 1400
_too_long = table_sheet("Credits", ["Key", "zh-CN", "en"], ["key", "zh", "en"], CORE[:10], "zh", ["en"])
_too_long.rows.insert(5, ["credits_full", _long, None])
_too_long.regions[0] = region("B", "C", 2, len(_too_long.rows))
assert len(_long) > EXCEL_CELL_LIMIT
add(
    "too_long_source",
    [_too_long],
    reasons=["too_long"],
    note="A credits text pasted into one cell, over Excel's 32,767-character limit (written by a script, not Excel).",
)
