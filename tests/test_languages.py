"""Language headers: every common spelling gives the canonical code, and ordinary words give None."""

from __future__ import annotations

from pathlib import Path

import pytest

from translation_pipeline.localization.read.languages import (
    STEAM_LANGUAGES,
    UNITY_LANGUAGES,
    LanguageMatcher,
    language_name,
    normalize_header,
)

_TABLE = Path(__file__).parent / "data" / "header_spellings.tsv"


def _spellings() -> list[tuple[str, str | None]]:
    rows = []
    for line in _TABLE.read_text(encoding="utf-8").split("\n"):
        if line and not line.startswith("#"):
            spelling, code = line.split("\t")
            rows.append((spelling, None if code == "-" else code))
    return rows


SPELLINGS = _spellings()
MATCHER = LanguageMatcher()

# Steam's published API language codes (partner.steamgames.com/doc/store/localization/languages).
STEAM_CODES = str.split(
    "arabic bulgarian schinese tchinese czech danish dutch english finnish french german greek hungarian indonesian "
    "italian japanese koreana norwegian polish portuguese brazilian romanian russian spanish latam swedish thai "
    "turkish ukrainian vietnamese"
)


def test_the_table_is_large_enough() -> None:
    assert len([s for s, code in SPELLINGS if code]) >= 300
    assert len([s for s, code in SPELLINGS if code is None]) >= 40


@pytest.mark.parametrize(("spelling", "code"), SPELLINGS, ids=[f"{i}:{s[:30]}" for i, (s, _) in enumerate(SPELLINGS)])
def test_header_spelling(spelling: str, code: str | None) -> None:
    assert MATCHER.code_for(spelling) == code


@pytest.mark.parametrize("header", [None, 12, 3.5, True, "", "   ", "-", "（）", "x" * 65])
def test_non_text_and_empty_headers(header: object) -> None:
    assert LanguageMatcher().code_for(header) is None


def test_every_steam_code_is_covered() -> None:
    assert set(STEAM_CODES) == set(STEAM_LANGUAGES)
    tsv = {normalize_header(s) for s, code in SPELLINGS if code}
    for steam in STEAM_CODES:
        assert steam in tsv
        assert MATCHER.code_for(steam) == STEAM_LANGUAGES[steam]
        assert MATCHER.code_for(steam.upper()) == STEAM_LANGUAGES[steam]
    assert MATCHER.code_for("schinese") == "zh-CN" and MATCHER.code_for("tchinese") == "zh-TW"
    assert MATCHER.code_for("brazilian") == "pt-BR" and MATCHER.code_for("latam") == "es-419"


def test_every_unity_system_language() -> None:
    for name, code in UNITY_LANGUAGES.items():
        assert MATCHER.code_for(name) == code
    assert MATCHER.code_for("Unknown") is None


def test_extra_aliases_win_over_everything() -> None:
    aliases = {"Klingon": "tlh", "Source Text": "zh-CN", "Loc EN": "en", "English": "en-GB", "ID": "id"}
    matcher = LanguageMatcher(aliases)
    assert matcher.code_for("klingon") == "tlh"
    assert matcher.code_for("Source Text") == "zh-CN" and matcher.code_for("source_text") == "zh-CN"
    assert matcher.code_for("Loc EN") == "en"
    assert matcher.code_for("English") == "en"  # the alias's code is canonicalized too
    assert matcher.code_for("ID") == "id" and matcher.code_for("ID (key)") == "id"
    assert LanguageMatcher({"Français": "fr-CA"}).code_for("Français") == "fr-CA"
    assert LanguageMatcher({"Français": "fr-CA"}).code_for("French") == "fr"
    assert LanguageMatcher({"Texte": "ja"}).code_for("Texte (target)") == "ja"
    assert LanguageMatcher().code_for("klingon") is None


def test_canonical() -> None:
    matcher = LanguageMatcher()
    cases = {"zh": "zh-CN", "中文": "zh-CN", "en-US": "en", "pt-br": "pt-BR", "es-MX": "es-419", "zh-Hant": "zh-TW",
             "ro": "ro", "Romanian": "ro", "he": "he", "id": "id", "hi": "hi", "no": "nb",
             "Klingon": "tlh"}  # fmt: skip
    for configured, code in cases.items():
        assert matcher.canonical(configured) == code
    assert LanguageMatcher({"Lingo": "pt_BR"}).canonical("Lingo") == "pt-BR"
    for bad in ("x", "Text", "", "English please", "Source (target)"):
        with pytest.raises(ValueError, match="unknown language"):
            matcher.canonical(bad)


def test_language_name() -> None:
    names = {"zh-CN": "Simplified Chinese", "zh-TW": "Traditional Chinese", "pt-BR": "Brazilian Portuguese",
             "es-419": "Latin American Spanish", "fr-CA": "Canadian French", "ro": "Romanian", "ja": "Japanese",
             "en": "English", "pt": "Portuguese", "es": "Spanish", "eo": "Esperanto", "id": "Indonesian"}  # fmt: skip
    for code, name in names.items():
        assert language_name(code) == name
    assert language_name("zh") == "Simplified Chinese"
    assert language_name("x1") == "x1"


def test_the_prompt_names_kept_at_hand_are_cldr_english_names() -> None:
    """The usual targets' names are kept in a table (no CLDR load on the way to a first request); each is the
    name langcodes gives, so the prompt reads the same either way."""
    from langcodes import Language

    from translation_pipeline.localization.read.languages import _PROMPT_NAMES

    plain = {code: name for code, name in _PROMPT_NAMES.items() if "-" not in code}
    assert {"ja", "ko", "en", "fr", "de", "ru", "th", "vi", "nb"} <= set(plain)
    assert {code: Language.get(code).display_name("en") for code in plain} == plain


def test_normalize_header() -> None:
    assert normalize_header(" ZH_cn ") == "zhcn"
    assert normalize_header("英文（译文）") == "英文译文"
    assert normalize_header(None) == ""
