"""Target cells that hold something other than a translation: white space, a to-do marker (`TBD`, `待翻译`), or a
copy of the source put there as a stand-in (`开始游戏` in the English column). Such a cell is not empty, so it is
never overwritten; it is not a translation either, so it is listed in the skip ledger (read/workbook.py) and never
learned as a reviewer's text (versions/classify.py), where it would be reused in every other workbook."""

from __future__ import annotations

import re

from translation_pipeline.localization.read import ledger
from translation_pipeline.localization.read.content import script_profile
from translation_pipeline.localization.read.layout import SCRIPT_OF

# compared case-folded, without surrounding brackets, punctuation and white space
MARKERS = frozenset({
    "tbd", "tbc", "tba", "todo", "to do", "to-do", "fixme", "n/a", "#n/a", "null", "-", "--", "---", "?", "??",
    "???", "xx", "xxx", "placeholder", "missing", "untranslated", "not translated", "needs translation",
    "translation needed", "translate me", "待翻译", "待翻譯", "未翻译", "未翻譯", "需翻译", "需翻譯", "翻译中",
    "翻譯中", "待定", "待补充", "未訳", "翻訳待ち", "要翻訳", "翻訳中",
    "미번역", "번역 필요", "번역필요", "번역중", "번역 중",
})  # fmt: skip
MARKER_CHARS = 2 * max(map(len, MARKERS))  # room for brackets and punctuation around one
_EDGES = re.compile(r"^[\s\[\](){}<>【】「」（）*_.:!！。：]+|[\s\[\](){}<>【】「」（）*_.:!！。：]+$")


def is_marker(text: str) -> bool:
    """`TBD`, `[TODO]`, `待翻译`, `#N/A`, `???`: a note that the translation is still to come."""
    stripped = text.strip()
    if len(stripped) > MARKER_CHARS:  # the cost stays off the long texts of a filled column
        return False
    return stripped.casefold() in MARKERS or _EDGES.sub("", stripped).casefold() in MARKERS


def copies_source(text: str, source: str, target_language: str) -> bool:
    """The text is the source itself, in a script the target language is not written in (`开始游戏` as English).
    A Latin source kept as it is (`OK`, `Steam`) can be a real translation, and so can Han text between the two
    Chinese scripts."""
    if text.strip() != source.strip():
        return False
    scripts = set(script_profile([source])) - {"none", "latin"}
    return bool(scripts - SCRIPT_OF.get(target_language, {"latin"}))


def stand_in(text: str, source: str, target_language: str) -> str | None:
    """The ledger code of a target text that is not a translation (BLANK_TARGET, MARKER_TARGET, SOURCE_COPY), or
    None."""
    if not text.strip():
        return ledger.BLANK_TARGET
    if is_marker(text) and (any(ch.isalnum() for ch in text) or any(ch.isalpha() for ch in source)):
        return ledger.MARKER_TARGET  # `?` is the translation of a source `？`, a marker under `退出游戏`
    if copies_source(text, source, target_language):
        return ledger.SOURCE_COPY
    return None
