"""A column's language from its text, for headers that name a role (`Source`, `原文`, `Column3`) or no header at all.

The whole column is judged, one vote per cell:

1. Up to `sample` non-blank cells are taken, evenly spaced from top to bottom (deterministic: the same column
   always gives the same sample). Placeholders and markup (`{0}`, `{name}`, `{{...}}`, `%s`, `%1$s`, `%PLAYER%`,
   `<color=#fff>`, `[b]`, `[ff0000]`, `\\n` escapes, `&nbsp;`) are removed first, then cells with no letters
   (numbers, ids, punctuation) are dropped.
2. Script statistics decide most cells on their own: any Hangul -> `ko`; any kana -> `ja`; Han without kana ->
   Chinese; Thai -> `th`; Greek, Hebrew, Devanagari, Georgian, ... -> the one language of that script
   (`SCRIPT_LANGUAGE`). Kanji-only cells of a column that is clearly Japanese (`JA_MIN_KANA_SHARE`) count as
   Japanese, since item names and menu words (`攻撃力`, `設定`) often have no kana.
3. Latin, Cyrillic and Arabic-script cells go to lingua, restricted to the languages of the cell's script among
   `LINGUA_LANGUAGES` (one detector, built on first use and cached for the process).
4. The votes are combined with a column prior: short strings are ambiguous between related languages
   (`Continuar` is Spanish, Portuguese or Romanian), so the column's language mix is estimated by EM over the
   cells' lingua confidence values and each cell then votes for the language with the highest
   prior x confidence. A cell that is clearly in another language (a French sentence in an English column) still
   votes for it, so a half-English half-French column stays split.
5. The simplified/traditional question is settled once for the column, on all its Chinese cells together
   (`hanzidentifier`), because most characters are shared by both systems.

Plain Python, no Dagster: callers decide what to do with a `ContentDecision`.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import hanzidentifier

if TYPE_CHECKING:
    from lingua import LanguageDetector

__all__ = [
    "CHINESE_BOTH_DEFAULT",
    "CHINESE_VARIANT_MIN_SHARE",
    "DEFAULT_SAMPLE",
    "JA_MIN_KANA_SHARE",
    "KEY_MIN_SHARE",
    "LINGUA_LANGUAGES",
    "LINGUA_MIN_LETTERS",
    "MIN_CELLS",
    "MIN_LEAD",
    "MIN_SHARE",
    "SHORT_CELL_WEIGHT",
    "SHORT_CELL_WORDS",
    "ContentDecision",
    "clean_cell",
    "identify_column",
    "looks_like_keys",
    "script_profile",
]

# ---------------------------------------------------------------------------------------------------------------
# Thresholds
# ---------------------------------------------------------------------------------------------------------------
DEFAULT_SAMPLE = 300
"""Cells judged per column at most. 300 cells take ~50 ms with lingua's low-accuracy models; more adds little."""

MIN_CELLS = 5
"""Fewer judged cells than this and nothing is decided ("too few text cells"): 3 or 4 words prove nothing."""

MIN_SHARE = 0.8
"""The top language needs at least this share of the (weighted) votes. A real single-language column scores
0.93-1.0 even when it is full of short UI strings; a column mixing two languages half and half scores 0.5-0.7."""

MIN_LEAD = 0.5
"""...and must lead the runner-up by this much (share difference). With MIN_SHARE at 0.8 it always holds
(the runner-up has at most 0.2); it keeps the decision honest if MIN_SHARE is ever lowered below ~0.7."""

SHORT_CELL_WORDS = 2
SHORT_CELL_WEIGHT = 0.5
"""Cells of at most SHORT_CELL_WORDS words judged by lingua vote with SHORT_CELL_WEIGHT instead of 1: one or two
words (`Continuar`, `Idioma`, `Sprache`) are often valid in several languages. Cells decided by their script
(Han, kana, Hangul, Thai, ...) always weigh 1: the script is certain whatever the length."""

LINGUA_MIN_LETTERS = 4
"""Cells judged by lingua with fewer letters than this are dropped as too short to judge: `OK`, `HP`, `Lv.`,
`ATK`, `x2` are the same in every language and would only add noise, so they neither help nor sink a column."""

JA_MIN_KANA_SHARE = 0.2
"""When at least this share of a column's CJK cells (kana + Han-only) contain kana, its Han-only cells are
Japanese too (kanji item names and labels). A Chinese column has practically no kana, a Japanese one mostly kana."""

CHINESE_BOTH_DEFAULT = "zh-CN"
"""Chinese text whose characters all exist in both systems (hanzidentifier BOTH: `取消`, `音效`, `返回`) counts as
simplified, the far more common source; say so in the reason."""

CHINESE_VARIANT_MIN_SHARE = 0.8
"""When the column's Chinese text mixes simplified-only and traditional-only characters (hanzidentifier MIXED),
the system with at least this share of those characters (by occurrence) wins; otherwise the column is unclear."""

KEY_MIN_SHARE = 0.8
"""`looks_like_keys`: at least this share of the non-blank cells are identifiers (no spaces; snake, dot, kebab or
camel case, or digits)."""

_EM_ROUNDS = 50
_EM_TOLERANCE = 1e-4

# ---------------------------------------------------------------------------------------------------------------
# Languages
# ---------------------------------------------------------------------------------------------------------------
LINGUA_LANGUAGES: dict[str, tuple[str, ...]] = {
    "latin": (
        "ENGLISH", "FRENCH", "GERMAN", "SPANISH", "PORTUGUESE", "ITALIAN", "DUTCH", "POLISH", "TURKISH",
        "VIETNAMESE", "INDONESIAN", "MALAY", "TAGALOG", "ROMANIAN", "CZECH", "HUNGARIAN", "SWEDISH", "DANISH",
        "BOKMAL", "FINNISH", "ESPERANTO",
    ),
    "cyrillic": ("RUSSIAN", "UKRAINIAN", "BULGARIAN"),
    "arabic": ("ARABIC", "PERSIAN", "URDU"),
}  # fmt: skip
"""Languages games are localized into, per script, that lingua must tell apart (27). Scripts that name their
language (`SCRIPT_LANGUAGE`: Greek, Hebrew, Thai, Devanagari, ...) and the CJK scripts are decided without lingua.
The Latin language is left out on purpose: it attracts short Romance strings and is not a localization target.

The detector uses lingua's low-accuracy mode (trigram models only), measured on this machine (CPython 3.11,
lingua 2.1.1), first call on a Latin cell, which loads the models of all Latin-script candidates:

    from_all_languages()                                  13.1 s  +890 MB RSS
    from_languages(<these 27>)                             5.6 s  +500 MB RSS
    from_all_languages().with_low_accuracy_mode()          0.6 s   +64 MB RSS
    from_languages(<these 27>).with_low_accuracy_mode()    0.3 s   +45 MB RSS   <- used (incl. importing lingua)

A warm call on a 300-cell Latin column takes ~50 ms (Cyrillic ~20 ms; CJK columns ~3 ms, no lingua at all).
Low-accuracy mode is weaker on a single short string (about 60-90% of short UI cells right on their own), but the
column prior (EM, see the module docstring) recovers short strings: every test column scores 0.93-1.0."""

SCRIPT_LANGUAGE: dict[str, str] = {
    "hangul": "ko",
    "kana": "ja",
    "thai": "th",
    "greek": "el",
    "hebrew": "he",
    "devanagari": "hi",
    "bengali": "bn",
    "gurmukhi": "pa",
    "gujarati": "gu",
    "tamil": "ta",
    "telugu": "te",
    "kannada": "kn",
    "malayalam": "ml",
    "sinhala": "si",
    "lao": "lo",
    "khmer": "km",
    "myanmar": "my",
    "georgian": "ka",
    "armenian": "hy",
    "ethiopic": "am",
}
"""Scripts that name their language outright (for the purpose of game localization)."""

_CHINESE = "zh"  # provisional vote of a Han-only cell, until the column's simplified/traditional call

# ---------------------------------------------------------------------------------------------------------------
# Scripts
# ---------------------------------------------------------------------------------------------------------------
# (first, last, script); code points not listed are letters of no script we know ("other")
_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x024F, "latin"),
    (0x0250, 0x02AF, "latin"),
    (0x0370, 0x03FF, "greek"),
    (0x0400, 0x052F, "cyrillic"),
    (0x0530, 0x058F, "armenian"),
    (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"),
    (0x0750, 0x077F, "arabic"),
    (0x08A0, 0x08FF, "arabic"),
    (0x0900, 0x097F, "devanagari"),
    (0x0980, 0x09FF, "bengali"),
    (0x0A00, 0x0A7F, "gurmukhi"),
    (0x0A80, 0x0AFF, "gujarati"),
    (0x0B80, 0x0BFF, "tamil"),
    (0x0C00, 0x0C7F, "telugu"),
    (0x0C80, 0x0CFF, "kannada"),
    (0x0D00, 0x0D7F, "malayalam"),
    (0x0D80, 0x0DFF, "sinhala"),
    (0x0E00, 0x0E7F, "thai"),
    (0x0E80, 0x0EFF, "lao"),
    (0x1000, 0x109F, "myanmar"),
    (0x10A0, 0x10FF, "georgian"),
    (0x1100, 0x11FF, "hangul"),
    (0x1200, 0x139F, "ethiopic"),
    (0x1780, 0x17FF, "khmer"),
    (0x1C80, 0x1C8F, "cyrillic"),
    (0x1E00, 0x1EFF, "latin"),
    (0x1F00, 0x1FFF, "greek"),
    (0x2C60, 0x2C7F, "latin"),
    (0x2DE0, 0x2DFF, "cyrillic"),
    (0x3005, 0x3007, "han"),  # 々 〆 〇
    (0x3041, 0x309F, "kana"),
    (0x30A1, 0x30FA, "kana"),  # katakana without ・ (U+30FB, also used in Chinese names) and ー (U+30FC)
    (0x30FD, 0x30FF, "kana"),
    (0x3130, 0x318F, "hangul"),
    (0x31F0, 0x31FF, "kana"),
    (0x3400, 0x4DBF, "han"),
    (0x4E00, 0x9FFF, "han"),
    (0xA640, 0xA69F, "cyrillic"),
    (0xA720, 0xA7FF, "latin"),
    (0xA960, 0xA97F, "hangul"),
    (0xAC00, 0xD7FF, "hangul"),
    (0xF900, 0xFAFF, "han"),
    (0xFB1D, 0xFB4F, "hebrew"),
    (0xFB50, 0xFDFF, "arabic"),
    (0xFE70, 0xFEFF, "arabic"),
    (0xFF21, 0xFF5A, "latin"),  # full-width A-Z a-z
    (0xFF66, 0xFF6F, "kana"),  # half-width katakana, without ｰ (U+FF70)
    (0xFF71, 0xFF9D, "kana"),
    (0xFFA0, 0xFFDC, "hangul"),
    (0x20000, 0x3134F, "han"),
)
_NOT_LETTERS = frozenset({0x30FB, 0x30FC, 0xFF65, 0xFF70, 0x00AA, 0x00BA})  # ・ ー ･ ｰ ª º


def _script_of(ch: str) -> str | None:
    """The script of a letter, None for anything that is not a letter."""
    if not ch.isalpha():
        return None
    cp = ord(ch)
    if cp in _NOT_LETTERS:
        return None
    lo, hi = 0, len(_SCRIPT_RANGES) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        first, last, script = _SCRIPT_RANGES[mid]
        if cp < first:
            hi = mid - 1
        elif cp > last:
            lo = mid + 1
        else:
            return script
    return "other"


def _script_counts(text: str) -> Counter[str]:
    return Counter(s for s in map(_script_of, text) if s is not None)


def _cell_script(counts: Counter[str]) -> str | None:
    """The script a cell is judged by: Hangul, kana, Han and Thai win as soon as they appear; otherwise the most
    frequent script among the cell's letters. None when the cell has no letters."""
    if not counts:
        return None
    for script in ("hangul", "kana", "han", "thai"):
        if counts[script]:
            return script
    return counts.most_common(1)[0][0]


# ---------------------------------------------------------------------------------------------------------------
# Cleaning and sampling
# ---------------------------------------------------------------------------------------------------------------
_MARKUP = re.compile(
    r"""
      \{\{.*?\}\}                                   # {{player_name}}, {{#if}}
    | \{[^{}]*\}                                    # {0}, {name}, {0:N2}
    | %[A-Za-z_][A-Za-z0-9_]*%                      # %PLAYER%
    | %(?:\d+\$)?[-+0\#]*(?:\d+|\*)?(?:\.\d+)?(?:hh|h|ll|l|L|z|j|t|q)?[diouxXeEfFgGaAcspn@]   # %s %d %1$s %.2f
    | %\d+\b                                        # %1 (Qt, Windows)
    | </?[A-Za-z][^<>]*>                            # <color=#fff>, </b>, <sprite=3>, <br/>
    | \[/?(?:b|i|u|s|color|size|url|img|font|sup|sub|center|left|right|quote|code|c)(?:=[^\]]*)?\]   # [b] [/color]
    | \[[0-9A-Fa-f]{6}(?:[0-9A-Fa-f]{2})?\] | \[-\]  # NGUI colours [ff0000] ... [-]
    | \\[nrt]                                       # \n \r \t written as two characters
    | &(?:[A-Za-z]+|\#\d+|\#x[0-9A-Fa-f]+);          # &nbsp; &lt; &#160;
    """,
    re.VERBOSE | re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")


def clean_cell(text: str) -> str:
    """The cell's text without placeholders, markup and escapes, whitespace collapsed."""
    return _SPACES.sub(" ", _MARKUP.sub(" ", text)).strip()


def _sample(texts: Iterable[object], sample: int) -> list[str]:
    """Up to `sample` non-blank cells, evenly spaced across the column (the same column, the same sample)."""
    cells = [
        t if isinstance(t, str) else str(t)
        for t in texts
        if t is not None and not (isinstance(t, float) and math.isnan(t))
    ]
    cells = [t for t in cells if t.strip()]
    n = len(cells)
    if sample <= 0 or n <= sample:
        return cells
    return [cells[int((i + 0.5) * n / sample)] for i in range(sample)]


# ---------------------------------------------------------------------------------------------------------------
# lingua
# ---------------------------------------------------------------------------------------------------------------
_detector_lock = threading.Lock()
_detector_cache: list[LanguageDetector] = []
_CODE_BY_LINGUA: dict[str, str] = {}  # lingua Language name -> our code
_SCRIPT_BY_LINGUA: dict[str, str] = {}  # lingua Language name -> script


def _detector() -> LanguageDetector:
    """The process's one lingua detector (built on first use; loading its models is lazy inside lingua too)."""
    if not _detector_cache:
        with _detector_lock:
            if not _detector_cache:
                from lingua import Language, LanguageDetectorBuilder

                languages = []
                for script, names in LINGUA_LANGUAGES.items():
                    for name in names:
                        language = getattr(Language, name)
                        languages.append(language)
                        _CODE_BY_LINGUA[name] = language.iso_code_639_1.name.lower()
                        _SCRIPT_BY_LINGUA[name] = script
                builder = LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode()
                _detector_cache.append(builder.build())
    return _detector_cache[0]


def _lingua_confidences(text: str, script: str) -> dict[str, float]:
    """lingua's confidence per language of `script`, renormalized to sum to 1; empty when lingua has no idea."""
    values: dict[str, float] = {}
    for value in _detector().compute_language_confidence_values(text):
        name = value.language.name
        if _SCRIPT_BY_LINGUA.get(name) == script and value.value > 0:
            code = _CODE_BY_LINGUA[name]
            values[code] = values.get(code, 0.0) + value.value
    total = sum(values.values())
    return {code: v / total for code, v in values.items()} if total > 0 else {}


# ---------------------------------------------------------------------------------------------------------------
# Column decision
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ContentDecision:
    language: str | None  # canonical code, None when the evidence is not clear
    share: float  # share of the judged cells (weighted votes) voting for the top language (0..1)
    cells: int  # cells judged (after dropping cells with no letters and lingua cells too short to judge)
    runner_up: str | None
    reason: str  # for a person: "content: 97% ja over 412 cells", "content unclear: 55% en, 40% fr over 20 cells"


@dataclass
class _Cell:
    confidences: dict[str, float]  # language -> likelihood-like confidence (one-hot for script-decided cells)
    weight: float


def _judge(text: str) -> tuple[str | None, _Cell | None]:
    """A cleaned cell's script and evidence; (script, None) when the cell cannot be judged."""
    counts = _script_counts(text)
    script = _cell_script(counts)
    if script is None:
        return None, None
    if script == "han":
        return script, _Cell({_CHINESE: 1.0}, 1.0)
    if script in SCRIPT_LANGUAGE:
        return script, _Cell({SCRIPT_LANGUAGE[script]: 1.0}, 1.0)
    if script not in LINGUA_LANGUAGES or counts[script] < LINGUA_MIN_LETTERS:
        return script, None
    confidences = _lingua_confidences(text, script)
    if not confidences:
        return script, None
    words = sum(1 for word in text.split() if any(ch.isalpha() for ch in word))
    return script, _Cell(confidences, SHORT_CELL_WEIGHT if words <= SHORT_CELL_WORDS else 1.0)


def _column_prior(cells: Sequence[_Cell]) -> dict[str, float]:
    """The column's language mix: EM for the mixture weights, the cells' confidences taken as likelihoods."""
    languages = sorted({code for cell in cells for code in cell.confidences})
    prior = dict.fromkeys(languages, 1.0 / len(languages))
    total_weight = sum(cell.weight for cell in cells)
    for _ in range(_EM_ROUNDS):
        mass = dict.fromkeys(languages, 0.0)
        for cell in cells:
            z = sum(prior[code] * p for code, p in cell.confidences.items())
            if z <= 0:
                continue
            for code, p in cell.confidences.items():
                mass[code] += cell.weight * prior[code] * p / z
        new = {code: mass[code] / total_weight for code in languages}
        shift = max(abs(new[code] - prior[code]) for code in languages)
        prior = new
        if shift < _EM_TOLERANCE:
            break
    return prior


def _chinese_variant(texts: Sequence[str]) -> tuple[str, bool, str]:
    """(zh-CN or zh-TW, clear?, note) for a column's Chinese cells, judged together."""
    joined = "".join(texts)
    identity = hanzidentifier.identify(joined)
    if identity == hanzidentifier.SIMPLIFIED:
        return "zh-CN", True, "simplified characters"
    if identity == hanzidentifier.TRADITIONAL:
        return "zh-TW", True, "traditional characters"
    if identity in (hanzidentifier.BOTH, hanzidentifier.UNKNOWN):
        return CHINESE_BOTH_DEFAULT, True, f"characters shared by both systems, taken as {CHINESE_BOTH_DEFAULT}"
    # MIXED: count the characters that belong to one system only
    simplified = traditional = 0
    for ch, n in Counter(joined).items():
        kind = hanzidentifier.identify(ch)
        if kind == hanzidentifier.SIMPLIFIED:
            simplified += n
        elif kind == hanzidentifier.TRADITIONAL:
            traditional += n
    counted = f"{simplified} simplified-only, {traditional} traditional-only characters"
    if simplified >= traditional:
        return "zh-CN", simplified >= CHINESE_VARIANT_MIN_SHARE * (simplified + traditional), counted
    return "zh-TW", traditional >= CHINESE_VARIANT_MIN_SHARE * (simplified + traditional), counted


def identify_column(texts: Sequence[str], *, sample: int = DEFAULT_SAMPLE) -> ContentDecision:
    """The language of a column from its text (see the module docstring for how, and the constants for when)."""
    judged: list[tuple[str, str, _Cell]] = []  # (cleaned text, script, evidence)
    for raw in _sample(texts, sample):
        text = clean_cell(raw)
        script, cell = _judge(text)
        if cell is not None and script is not None:
            judged.append((text, script, cell))
    if len(judged) < MIN_CELLS:
        return ContentDecision(None, 0.0, len(judged), None, f"content: too few text cells ({len(judged)})")

    kana = sum(1 for _, script, _ in judged if script == "kana")
    han = sum(1 for _, script, _ in judged if script == "han")
    kanji_as_ja = kana > 0 and kana >= JA_MIN_KANA_SHARE * (kana + han)
    if kanji_as_ja:
        for _, script, cell in judged:
            if script == "han":
                cell.confidences = {"ja": 1.0}
    chinese_texts = [text for text, _, cell in judged if _CHINESE in cell.confidences]
    variant, variant_clear, variant_note = _chinese_variant(chinese_texts) if chinese_texts else ("", True, "")
    for _, _, cell in judged:
        if _CHINESE in cell.confidences:
            cell.confidences = {variant: 1.0}

    cells = [cell for _, _, cell in judged]
    prior = _column_prior(cells)
    votes: Counter[str] = Counter()
    for cell in cells:
        best = max(cell.confidences, key=lambda code: (prior[code] * cell.confidences[code], code))
        votes[best] += cell.weight
    total = sum(votes.values())
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    top, top_votes = ranked[0]
    share = top_votes / total
    runner_up, second = (ranked[1][0], ranked[1][1] / total) if len(ranked) > 1 else (None, 0.0)
    n = len(cells)

    if share < MIN_SHARE or share - second < MIN_LEAD:
        shares = f"{share:.0%} {top}" + (f", {second:.0%} {runner_up}" if runner_up else "")
        pooled = _pooled_decision([text for text, script, _ in judged if script in set(_SCRIPT_BY_LINGUA.values())])
        if pooled is not None and pooled.language == top and share >= POOL_MIN_LEADER and second <= POOL_MAX_RUNNER_UP:
            return ContentDecision(top, pooled.share, n, runner_up, f"{pooled.reason} (single cells: {shares})")
        return ContentDecision(None, share, n, runner_up, f"content unclear: {shares} over {n} cells")
    if top == variant and not variant_clear:
        return ContentDecision(
            None, share, n, runner_up, f"content unclear: {share:.0%} Chinese over {n} cells, but {variant_note}"
        )
    reason = f"content: {share:.0%} {top} over {n} cells"
    notes = []
    if top == variant:
        notes.append(variant_note)
    if top == "ja" and kanji_as_ja and han:
        notes.append(f"{han} kanji-only cells counted as Japanese")
    if notes:
        reason += f" ({'; '.join(notes)})"
    return ContentDecision(top, share, n, runner_up, reason)


POOL_CELLS = 10
"""Cells joined into one text for the pooled second opinion: short item names (`Rare Iron Sword +1`) are too
short for lingua one by one, ten of them are not."""
MIN_POOLS = 5
"""Pooled texts needed for a pooled decision; with fewer, single cells decide alone."""
POOL_MIN_LEADER = 0.5
POOL_MAX_RUNNER_UP = 0.35
"""The pooled opinion is taken only for the single-cell leader, when that leader holds at least half of the
votes and the runner-up at most 35%: lingua's noise on short strings (61% en, 32% nl), not a column that mixes
two languages row by row (47% fr, 42% en), where runs of ten cells would hide the mix."""


def _pooled_decision(texts: list[str]) -> ContentDecision | None:
    """A second opinion for a column of lingua-judged cells the single-cell vote left unclear: runs of
    POOL_CELLS cells, taken in sample order (spread over the column), judged as one text each. It decides only
    when MIN_SHARE of the runs agree, so a column that mixes two languages row by row stays unclear; the
    caller takes it only as POOL_MIN_LEADER and POOL_MAX_RUNNER_UP allow."""
    pools = [" ".join(texts[i : i + POOL_CELLS]) for i in range(0, len(texts) - POOL_CELLS + 1, POOL_CELLS)]
    if len(pools) < MIN_POOLS:
        return None
    votes: Counter[str] = Counter()
    for pool in pools:
        script = _cell_script(_script_counts(pool))
        confidences = _lingua_confidences(pool, script) if script else {}
        if confidences:
            votes[max(confidences, key=lambda code: (confidences[code], code))] += 1
    if not votes:
        return None
    top, count = votes.most_common(1)[0]
    share = count / len(pools)
    if share < MIN_SHARE:
        return None
    return ContentDecision(top, share, len(pools), None,
                           f"content: {share:.0%} {top} over {len(pools)} runs of {POOL_CELLS} cells")  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# Script profile and key columns
# ---------------------------------------------------------------------------------------------------------------
def script_profile(texts: Sequence[str], *, sample: int = DEFAULT_SAMPLE) -> dict[str, float]:
    """Share of the sampled non-blank cells per script (`latin`, `han`, `kana`, `hangul`, `cyrillic`, `thai`, ...,
    `other`), `none` for cells without letters once placeholders are removed; largest share first, summing to 1.
    A cell counts once, for the script it is judged by (any kana makes a cell `kana`, even with kanji)."""
    cells = _sample(texts, sample)
    if not cells:
        return {}
    counts = Counter(_cell_script(_script_counts(clean_cell(cell))) or "none" for cell in cells)
    return {script: n / len(cells) for script, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


_IDENTIFIER = re.compile(r"[A-Za-z0-9_.\-/:#$@\[\]]+")
_SEPARATED = re.compile(r"[A-Za-z0-9][_.\-/:][A-Za-z0-9]")
_CAMEL_HUMP = re.compile(r"[a-z][A-Z]")


def _is_identifier(cell: str) -> bool:
    """`ui_start_btn`, `80402`, `dlg.intro.01`, `menuSettingsTitle`, `title`; not `Settings`, `OK`, `Lv.`."""
    cell = cell.strip()
    if not _IDENTIFIER.fullmatch(cell):
        return False
    return (
        any(ch.isdigit() for ch in cell)
        or bool(_SEPARATED.search(cell))
        or bool(_CAMEL_HUMP.search(cell))
        or (cell.isalpha() and cell.islower())
    )


def looks_like_keys(texts: Sequence[str], *, sample: int = DEFAULT_SAMPLE) -> bool:
    """True when most cells (KEY_MIN_SHARE) are identifiers without spaces: a key/id column, not text to translate."""
    cells = _sample(texts, sample)
    if not cells:
        return False
    return sum(map(_is_identifier, cells)) >= math.ceil(KEY_MIN_SHARE * len(cells))
