"""Language codes, header spellings and display names.

Headers are matched case- and punctuation-insensitively (`zh-CN`, `ZH_cn`, `中文`, `English`, `日本語`,
`한국어`, ...). A header such as `en (target)` or `英文（译文）` also matches: the bracketed part is dropped.
"""

from __future__ import annotations

import re
import unicodedata

# canonical code -> (English name used in prompts, header spellings)
LANGUAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "zh-CN": (
        "Simplified Chinese",
        (
            "zh-CN",
            "zh",
            "zh-Hans",
            "zh-SG",
            "cn",
            "chs",
            "chinese",
            "simplified chinese",
            "中文",
            "简体中文",
            "简体",
            "简中",
            "汉语",
            "中文简体",
        ),
    ),
    "zh-TW": (
        "Traditional Chinese",
        (
            "zh-TW",
            "zh-HK",
            "zh-Hant",
            "cht",
            "traditional chinese",
            "繁體中文",
            "繁体中文",
            "繁體",
            "繁体",
            "繁中",
            "中文繁體",
        ),
    ),
    "en": ("English", ("en", "en-US", "en-GB", "eng", "english", "英文", "英语", "英語", "영어")),
    "ja": (
        "Japanese",
        ("ja", "jp", "ja-JP", "jpn", "japanese", "日本語", "日语", "日文", "日本语", "일본어"),
    ),
    "ko": (
        "Korean",
        ("ko", "kr", "ko-KR", "kor", "korean", "한국어", "한국말", "韩语", "韩文", "韓國語", "韩国语"),
    ),
    "fr": (
        "French",
        ("fr", "fr-FR", "fre", "fra", "french", "français", "francais", "法语", "法文", "프랑스어"),
    ),
    "de": ("German", ("de", "de-DE", "ger", "deu", "german", "deutsch", "德语", "德文", "독일어")),
    "es": (
        "Spanish",
        ("es", "es-ES", "es-419", "spa", "spanish", "español", "espanol", "西班牙语", "西语", "스페인어"),
    ),
    "pt": (
        "Portuguese",
        ("pt", "pt-BR", "pt-PT", "por", "portuguese", "português", "portugues", "葡萄牙语", "葡语"),
    ),
    "ru": ("Russian", ("ru", "ru-RU", "rus", "russian", "русский", "俄语", "俄文", "러시아어")),
    "it": ("Italian", ("it", "it-IT", "ita", "italian", "italiano", "意大利语")),
    "th": ("Thai", ("th", "th-TH", "tha", "thai", "ไทย", "ภาษาไทย", "泰语", "泰文", "태국어")),
    "vi": ("Vietnamese", ("vi", "vi-VN", "vie", "vietnamese", "tiếng việt", "越南语", "越南文", "베트남어")),
    "id": ("Indonesian", ("id-ID", "ind", "indonesian", "bahasa indonesia", "印尼语", "印度尼西亚语")),
    "tr": ("Turkish", ("tr", "tr-TR", "tur", "turkish", "türkçe", "turkce", "土耳其语")),
    "ar": ("Arabic", ("ar", "ara", "arabic", "العربية", "阿拉伯语")),
    "pl": ("Polish", ("pl", "pl-PL", "pol", "polish", "polski", "波兰语")),
}
# `id` alone is far more often a key column than Indonesian, so it is deliberately not a language alias.

_NOT_LETTER_OR_NUMBER = re.compile(r"[\W_]+")  # in C: every data row's cells pass through here
_BRACKETS = re.compile(r"[(\[（【<《].*?[)\]）】>》]")


def normalize_header(text: object) -> str:
    """Lower-case, NFKC, with spaces, punctuation and symbols removed."""
    if text is None:
        return ""
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    return _NOT_LETTER_OR_NUMBER.sub("", folded)


def _build_alias_table(extra: dict[str, str] | None = None) -> dict[str, str]:
    table: dict[str, str] = {}
    for code, (_, spellings) in LANGUAGES.items():
        for spelling in (code, *spellings):
            if spelling != "id":  # see the note above LANGUAGES' end
                table[normalize_header(spelling)] = code
    for spelling, code in (extra or {}).items():
        table[normalize_header(spelling)] = code
    return table


class LanguageMatcher:
    """Maps header text to a canonical language code, with optional extra aliases from configuration."""

    def __init__(self, extra_aliases: dict[str, str] | None = None) -> None:
        self._table = _build_alias_table(extra_aliases)

    def code_for(self, header: object) -> str | None:
        if header is None or not isinstance(header, str):
            return None
        for candidate in (header, _BRACKETS.sub("", header)):
            if code := self._table.get(normalize_header(candidate)):
                return code
        return None

    def canonical(self, code_or_name: str) -> str:
        """Canonical code for a configured language (`zh`, `中文`, `en-US` ...), or ValueError."""
        code = self.code_for(code_or_name)
        if code is None:
            raise ValueError(f"unknown language {code_or_name!r}")
        return code


def language_name(code: str) -> str:
    return LANGUAGES.get(code, (code, ()))[0]
