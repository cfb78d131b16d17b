"""Writing systems: the characters of each script and the scripts a language is written in. QA (check/qa.py)
looks for them in a translation; the pseudo provider writes its stand-in text in the target's own script."""

from __future__ import annotations

LATIN, HAN, KANA, HANGUL, CYRILLIC, THAI, ARABIC = "Latin", "Han", "Kana", "Hangul", "Cyrillic", "Thai", "Arabic"
# regex character-class ranges; Han with its supplementary planes, kana and hangul with their halfwidth forms
SCRIPT_CHARACTERS = {
    HAN: "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f",
    KANA: "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f",
    HANGUL: "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7ff\uffa0-\uffdc",
    CYRILLIC: "\u0400-\u04ff",
    THAI: "\u0e00-\u0e7f",
    ARABIC: "\u0600-\u06ff",
}
# by primary language subtag (`ja-JP` as `ja`), its own script first; a language not listed is written in Latin
LANGUAGE_SCRIPTS: dict[str, tuple[str, ...]] = {
    "zh": (HAN,),
    "ja": (KANA, HAN),
    "ko": (HANGUL, HAN),
    "ru": (CYRILLIC,),
    "th": (THAI,),
    "ar": (ARABIC,),
}


def language_scripts(language: str) -> tuple[str, ...]:
    """The scripts `language` is written in, its own first; (LATIN,) for a language not listed."""
    return LANGUAGE_SCRIPTS.get(language.split("-")[0].lower(), (LATIN,))


def script_pattern(*scripts: str) -> str:
    """A regex matching one character of any of `scripts`."""
    return "[" + "".join(SCRIPT_CHARACTERS[script] for script in scripts) + "]"
