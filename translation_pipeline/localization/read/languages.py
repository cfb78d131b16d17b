"""Language codes, header spellings and display names.

A column header names a language in many spellings; all of these give the same canonical code:

- BCP 47 / POSIX tags and Unreal culture names: `zh-Hans`, `zh_TW`, `pt-BR`, `es-419`, `en_US`, `sr-Latn`;
- names in English, in the language itself, in Chinese, Japanese and Korean, from CLDR through `langcodes`
  (`Romanian`, `Esperanto`, `日本語`, `한국어`, `español`, `英语`, `중국어 간체`), plus the Chinese shorthands
  CLDR lacks (`简中`, `繁中`, `日文`, `拉美西语` ...);
- Steam API language codes (`schinese`, `koreana`, `latam`, ...) and Unity `SystemLanguage` names;
- decorated forms: `EN (target)`, `英文（译文）`, `English (US)`, `Text_EN`, `Lang_ko`, `ja_JP_text`.

Canonical codes: `zh-CN` (simplified) and `zh-TW` (traditional) for Chinese; the regional varieties studios
localize separately keep their region (`pt-BR`, `es-419`, `fr-CA`); every other language is its lowercase
language subtag (`en`, `ja`, `pt`, `es`, `nb` for Norwegian).

Every cell of a sheet's first rows is passed to `LanguageMatcher.code_for`, so matching is strict: bare 2- and
3-letter codes count only for the languages games are commonly localized into (`id`, `is`, `to`, `hi`, `no`,
`he` ... alone are ordinary words or key columns), a name must be an exact CLDR name of a language that has
CLDR locale data (CLDR also lists obscure languages called `Even`, `Label`, `Kim` or `Male`), and a sentence
that merely starts with a language name (`English please`) is not a language.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import langcodes
from langcodes import Language, LanguageTagError, tag_is_valid
from language_data.language_lists import CLDR_LANGUAGES
from language_data.names import TRIES, name_to_code, normalize_name

MAX_HEADER_CHARS = 64  # longer cells are text, never a language header

_NOT_LETTER_OR_NUMBER = re.compile(r"[\W_]+")  # in C: every data row's cells pass through here
_BRACKETED = re.compile(r"[(\[（【<《{「『〔]([^)\]）】>》}」』〕]*)[)\]）】>》}」』〕]?")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _words(text: str) -> list[str]:
    return text.split()


# Steam's API language codes (partner.steamgames.com/doc/store/localization/languages), complete.
STEAM_LANGUAGES: dict[str, str] = {
    "arabic": "ar", "bulgarian": "bg", "schinese": "zh-CN", "tchinese": "zh-TW", "czech": "cs", "danish": "da",
    "dutch": "nl", "english": "en", "finnish": "fi", "french": "fr", "german": "de", "greek": "el",
    "hungarian": "hu", "indonesian": "id", "italian": "it", "japanese": "ja", "koreana": "ko", "norwegian": "nb",
    "polish": "pl", "portuguese": "pt", "brazilian": "pt-BR", "romanian": "ro", "russian": "ru",
    "spanish": "es", "latam": "es-419", "swedish": "sv", "thai": "th", "turkish": "tr", "ukrainian": "uk",
    "vietnamese": "vi",
}  # fmt: skip

# Unity's `SystemLanguage` enum names (`Unknown` is not a language).
UNITY_LANGUAGES: dict[str, str] = {
    "Afrikaans": "af", "Arabic": "ar", "Basque": "eu", "Belarusian": "be", "Bulgarian": "bg", "Catalan": "ca",
    "Chinese": "zh-CN", "ChineseSimplified": "zh-CN", "ChineseTraditional": "zh-TW", "Czech": "cs",
    "Danish": "da", "Dutch": "nl", "English": "en", "Estonian": "et", "Faroese": "fo", "Finnish": "fi",
    "French": "fr", "German": "de", "Greek": "el", "Hebrew": "he", "Hindi": "hi", "Hungarian": "hu",
    "Icelandic": "is", "Indonesian": "id", "Italian": "it", "Japanese": "ja", "Korean": "ko", "Latvian": "lv",
    "Lithuanian": "lt", "Norwegian": "nb", "Polish": "pl", "Portuguese": "pt", "Romanian": "ro",
    "Russian": "ru", "SerboCroatian": "sr", "Slovak": "sk", "Slovenian": "sl", "Spanish": "es",
    "Swedish": "sv", "Thai": "th", "Turkish": "tr", "Ukrainian": "uk", "Vietnamese": "vi",
}  # fmt: skip

# Bare codes accepted on their own: the languages games are commonly localized into, their ISO 639-2 forms
# and the informal codes studios use. Left out on purpose: `id` (a key column), `no`, `is`, `to`, `an`, `be`,
# `he`, `hi`, `my`, `so`, `am`, `as`, `or` (English words), `may`, `cat`, `per`, `nor`, `dan`, `ron`
# (words and names). All of them still count with a region or a script (`id-ID`, `no-NO`, `he-IL`).
_BARE_CODES: dict[str, str] = {
    **{code: code for code in _words(
        "en ja ko fr de es pt ru it th vi tr ar pl nl sv da fi nb cs hu ro uk el bg ms fil hr sk sl sr lt lv "
        "fa ur"
    )},
    "zh": "zh-CN", "tl": "fil",
    "eng": "en", "jpn": "ja", "kor": "ko", "chi": "zh-CN", "zho": "zh-CN", "cmn": "zh-CN", "fra": "fr",
    "fre": "fr", "deu": "de", "ger": "de", "spa": "es", "por": "pt", "rus": "ru", "ita": "it", "tha": "th",
    "vie": "vi", "ind": "id", "tur": "tr", "ara": "ar", "pol": "pl", "nld": "nl", "dut": "nl", "swe": "sv",
    "fin": "fi", "ces": "cs", "cze": "cs", "hun": "hu", "ukr": "uk", "ell": "el", "gre": "el", "bul": "bg",
    "msa": "ms", "tgl": "fil", "hrv": "hr", "slk": "sk", "slv": "sl", "srp": "sr", "heb": "he", "hin": "hi",
    "fas": "fa", "urd": "ur",
    "jp": "ja", "kr": "ko", "cn": "zh-CN", "chs": "zh-CN", "sc": "zh-CN", "cht": "zh-TW", "tc": "zh-TW",
    "tw": "zh-TW", "hk": "zh-TW", "cz": "cs", "ua": "uk", "gr": "el", "dk": "da", "vn": "vi",
}  # fmt: skip
_CURATED = {code.split("-")[0] for code in _BARE_CODES.values()} - {"he", "hi", "id"}

# Spellings CLDR lacks: Chinese, Japanese and Korean shorthands, accent-free native names, compact tags.
_SHORTHANDS: dict[str, tuple[str, ...]] = {
    "zh-CN": (
        "中文", "简体中文", "簡體中文", "简体中文版", "简中", "簡中", "简体", "簡體", "簡体", "简", "汉语", "漢語",
        "普通话", "中文简体", "中文簡體", "中文简", "简体字", "簡体字", "簡体字中国語", "中国語簡体字",
        "中国語簡体", "중국어간체", "간체", "간체자", "中国语", "中國語", "zhchs", "zhs", "zhhanscn", "zhhanssg",
        "chinesesimplified", "simplifiedchinese", "chinesesimp", "simpchinese", "chinesemainland",
    ),
    "zh-TW": (
        "繁體中文", "繁体中文", "正體中文", "正体中文", "繁中", "繁體", "繁体", "繁", "中文繁體", "中文繁体",
        "中文繁", "繁體字", "繁体字", "繁体字中国語", "中国語繁体字", "中国語繁体", "중국어번체", "번체", "번체자",
        "台灣華語", "港澳繁體", "zhcht", "zht", "zhhanttw", "zhhanthk", "zhhantmo",
        "chinesetraditional", "traditionalchinese", "chinesetrad", "tradchinese", "chinesetaiwan",
    ),
    "en": ("英文", "英语", "英語", "영어", "enus", "engb", "enau", "enca", "enin", "enuk", "englishus", "englishuk"),
    "ja": ("日文", "日语", "日語", "日本语", "日本語", "nihongo", "jajp", "japanesejp"),
    "ko": ("한국말", "韩文", "韓文", "韩语", "韓語", "韩国语", "韓國語", "韓国語", "朝鲜语", "kokr", "hangugeo"),
    "ru": ("俄文", "俄语", "俄語", "ruru", "russkiy"),
    "de": ("德文", "德语", "德語", "dede"),
    "fr": ("法文", "法语", "法語", "frfr", "francais"),
    "fr-CA": ("frca", "加拿大法语", "加拿大法語", "frenchcanadian", "quebecois", "francaiscanada", "francaiscanadien"),
    "es": (
        "西语", "西語", "西文", "西班牙文", "西班牙语", "西班牙語", "eses", "espanol", "espanolespana", "castellano",
    ),
    "es-419": (
        "拉美西语", "拉美西語", "拉美西班牙语", "拉丁美洲西班牙语", "拉丁美洲西班牙語", "es419", "esmx", "esla",
        "latinamerican", "latinamericanspanish", "spanishlatam", "latamspanish", "spanishlatinamerica",
        "spanishla", "espanollatam", "espanollatino", "espanollatinoamerica", "espanolmexico", "mexicanspanish",
    ),
    "pt": ("葡语", "葡語", "葡文", "葡萄牙文", "葡萄牙语", "葡萄牙語", "ptpt", "portugues", "portuguespt"),
    "pt-BR": (
        "巴西葡语", "巴西葡語", "巴葡", "巴西葡萄牙语", "巴西葡萄牙語", "葡萄牙语巴西", "ptbr", "portuguesbrasil",
        "portuguesdobrasil", "portuguêsdobrasil", "brazilianportuguese", "portuguesebrazil", "portuguesebrazilian",
        "portuguesbr",
    ),
    "it": ("意大利文", "意大利语", "意大利語", "意文", "义大利文", "itit", "italiano"),
    "th": ("泰文", "泰语", "泰語", "thth", "ภาษาไทย"),
    "vi": ("越南文", "越南语", "越南語", "越文", "vivn", "tiengviet"),
    "id": ("印尼文", "印尼语", "印尼語", "印度尼西亚语", "bahasaindonesia"),
    "ms": ("马来文", "马来语", "馬來語", "msmy", "bahasamelayu", "bahasamalaysia"),
    "tr": ("土耳其文", "土耳其语", "土耳其語", "trtr", "turkce"),
    "ar": ("阿拉伯文", "阿拉伯语", "阿拉伯語", "阿语", "arsa", "arae"),
    "pl": ("波兰文", "波兰语", "波蘭語", "plpl"),
    "nl": ("荷兰文", "荷兰语", "荷蘭語", "nlnl"),
    "uk": ("乌克兰文", "乌克兰语", "烏克蘭語", "ukua"),
    "el": ("希腊文", "希腊语", "希臘語", "elgr"),
    "sv": ("瑞典文", "瑞典语", "svse"),
    "cs": ("捷克文", "捷克语", "cscz", "cestina"),
    "hu": ("匈牙利文", "匈牙利语", "huhu"),
    "ro": ("罗马尼亚文", "罗马尼亚语", "roro", "romana"),
    "da": ("丹麦文", "丹麦语", "dadk"),
    "fi": ("芬兰文", "芬兰语", "fifi"),
    "nb": ("挪威文", "挪威语", "nbno", "norskbokmal", "bokmal"),
    "bg": ("保加利亚文", "保加利亚语", "bgbg"),
    "fil": ("菲律宾文", "菲律宾语", "tagalog"),
    "hi": ("印地文", "印地语"),
}  # fmt: skip
_ROLE_WORDS = frozenset(
    _words(
        "text txt string str strings lang language locale translation translated trans content value target source loc "
        "arguments args message msg"
    )
)
_CJK_ROLE_AFFIXES = ("原文", "译文", "譯文", "翻译", "翻譯", "翻訳", "訳文", "文本", "语言", "語言", "内容", "內容",
                     "版本", "版", "テキスト", "텍스트", "번역")  # fmt: skip
_SCRIPT_WORDS = {"Hans": "simplified simp 简体 簡體 簡体 简 简体字 簡体字 간체 간체자 hans",
                 "Hant": "traditional trad 繁体 繁體 繁 繁体字 繁體字 번체 번체자 hant"}  # fmt: skip
_REGION_WORDS = {"US": "美国 美國 米国 미국 usa america", "GB": "英国 英國 영국 uk britain", "BR": "巴西 브라질",
                 "419": "拉美 拉丁美洲 中南米 latam latinoamerica latino 라틴아메리카 중남미",
                 "MX": "墨西哥 メキシコ 멕시코", "CA": "加拿大 캐나다", "TW": "台湾 台灣 대만", "HK": "香港 홍콩",
                 "CN": "中国 中國 大陆 大陸 중국", "ES": "西班牙 espana 스페인",
                 "PT": "葡萄牙 portugal 포르투갈"}  # fmt: skip
_SCRIPT_OF = {normalize_name(w): script for script, words in _SCRIPT_WORDS.items() for w in _words(words)}
_REGION_OF = {normalize_name(w): region for region, words in _REGION_WORDS.items() for w in _words(words)}
_LATIN_AMERICA = frozenset(_words("419 MX AR CO CL PE VE EC GT CU BO DO HN PY SV NI CR PA UY PR US"))
_SAME_LANGUAGE = {"no": "nb", "cmn": "zh", "tl": "fil", "iw": "he", "in": "id", "ji": "yi", "mo": "ro"}

# A name counts only for a language with CLDR locale data (plus a few more games localize into).
_PLAUSIBLE = (
    (set(CLDR_LANGUAGES) - {"und"})
    | _CURATED
    | set(
        _words(
            "eo la no nn mt lb ga gd cy fo haw mi sm to fy yi ht ia oc br co tt ba ku ckb ps tg mg rw yo ig ha xh "
            "st tn sn ny sa bo ug ast an sc"
        )
    )
)
# CLDR name tries that a name must appear in exactly: English, Chinese, Japanese, Korean, the big European
# languages, and (added per lookup) the language's own, for its autonym.
_NAME_LANGUAGES = ("en", "zh", "ja", "ko", "es", "fr", "de", "pt", "it", "ru")


def normalize_header(text: object) -> str:
    """Lower-case, NFKC, with spaces, punctuation and symbols removed."""
    if text is None:
        return ""
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    return _NOT_LETTER_OR_NUMBER.sub("", folded)


_STATIC: dict[str, str] = {}
for _code, _spellings in _SHORTHANDS.items():
    _STATIC.update((normalize_header(s), _code) for s in _spellings)
_STATIC.update((normalize_header(s), c) for s, c in UNITY_LANGUAGES.items())
_STATIC.update((normalize_header(s), c) for s, c in STEAM_LANGUAGES.items())
_STATIC.update(_BARE_CODES)


def _canon(language: str, script: str | None = None, region: str | None = None) -> str:
    """The canonical code of a language subtag with an optional script and region."""
    language = _SAME_LANGUAGE.get(language, language)
    if language == "zh":
        if script == "Hant" or (script != "Hans" and region in ("TW", "HK", "MO")):
            return "zh-TW"
        return "zh-CN"
    if language == "pt" and region == "BR":
        return "pt-BR"
    if language == "es" and region in _LATIN_AMERICA:
        return "es-419"
    if language == "fr" and region == "CA":
        return "fr-CA"
    return language


def _tokens(text: str, fold: bool = True) -> list[str]:
    """Words of `text`: camelCase split, NFKC, casefolded, cut at spaces, punctuation and symbols."""
    folded = unicodedata.normalize("NFKC", _CAMEL.sub(" ", text))
    folded = folded.casefold() if fold else folded
    words, word = [], []
    for ch in folded:
        if ch.isalnum() or unicodedata.category(ch)[0] == "M":
            word.append(ch)
        elif word:
            words.append("".join(word))
            word = []
    if word:
        words.append("".join(word))
    return words


def _trie_value(category: str, name: str, in_language: str) -> str | None:
    """The code CLDR's `in_language` names `name` exactly (langcodes also accepts a name plus extra words)."""
    key = f"{in_language}/name_to_{category}"
    if key not in TRIES:
        try:
            name_to_code(category, "-", in_language)  # loads the trie
        except OSError:  # no names in that language
            TRIES[key] = {}
    trie = TRIES[key]
    lookup = normalize_name(name)
    return trie[lookup][0].decode("utf-8") if lookup in trie else None


@lru_cache(maxsize=8192)
def _named_language(name: str, plausible_only: bool = True) -> Language | None:
    """The language CLDR names exactly `name`, in English, Chinese, Japanese, Korean, ... or the language itself."""
    try:
        found = langcodes.find(name)
    except LookupError:
        return None
    for in_language in (*_NAME_LANGUAGES, found.language):
        if (code := _trie_value("language", name, in_language)) is not None:
            language = Language.get(code)
            if not plausible_only or _SAME_LANGUAGE.get(language.language or "", language.language) in _PLAUSIBLE:
                return language
    return None


def _qualifier(words: list[str]) -> tuple[str | None, str | None] | None:
    """(script, region) named by `words` (`simplified`, `US`, `Brazil`, `Latin America`, `简体`), else None."""
    text = " ".join(words)
    key = normalize_name(text)
    if key in _SCRIPT_OF:
        return _SCRIPT_OF[key], None
    if key in _REGION_OF:
        return None, _REGION_OF[key]
    if len(words) == 1 and text.isascii() and text.isalnum():
        if len(text) == 4 and text.isalpha() and tag_is_valid(f"und-{text}"):
            return text.title(), None
        if ((len(text) == 2 and text.isalpha()) or (len(text) == 3 and text.isdigit())) and tag_is_valid(f"und-{text}"):
            return None, text.upper()
        if len(text) < 4:
            return None
    if len(text) > 40 or any(ch.isdigit() for ch in text):
        return None
    for in_language in _NAME_LANGUAGES:
        if (region := _trie_value("territory", text, in_language)) is not None:
            return None, region
        if (script := _trie_value("script", text, in_language)) is not None:
            return script, None
    return None


def _from_tag(words: list[str], strict: bool = True, region_upper: bool = True) -> str | None:
    """A BCP 47 / POSIX tag with a script or region (`zh-Hans`, `pt_BR`, `sr-Latn`, `ja-JP`)."""
    if not (2 if strict else 1) <= len(words) <= 4 or not all(w.isascii() and w.isalnum() for w in words):
        return None
    if not (2 <= len(words[0]) <= 3 and words[0].isalpha()):
        return None
    tag = "-".join(words)
    try:
        if not tag_is_valid(tag):
            return None
        language = Language.get(tag)
    except LanguageTagError:
        return None
    base = _SAME_LANGUAGE.get(language.language or "", language.language or "")
    if strict:
        subtags = 1 + bool(language.script) + bool(language.territory)
        if base not in _PLAUSIBLE or subtags != len(words) or language.extlangs or language.variants:
            return None
        # `hi-fi`, `to-do`, `as-is`, `so-so`: a language outside the usual ones needs an upper-case region
        # where it is spoken (`he-IL`, `no-NO`, `id-ID`).
        if language.territory and base not in _CURATED and not (region_upper and language.speaking_population()):
            return None
    return _canon(language.language or "", language.script, language.territory)


def _from_name(words: list[str], strict: bool = True) -> str | None:
    """A language name, optionally followed by a script or region (`English US`, `중국어 간체`)."""
    text = " ".join(words)
    if len(words) > 4 or len(text) > 40 or any(ch.isdigit() for ch in text):
        return None
    if len(words) == 1 and text.isascii() and len(text) < 4:
        return None
    if (language := _named_language(text, strict)) is not None:
        return _canon(language.language or "", language.script, language.territory)
    for split in range(len(words) - 1, 0, -1):
        head = words[:split]
        if len(head) == 1 and head[0].isascii() and len(head[0]) < 4:
            continue
        language = _named_language(" ".join(head), strict)
        if language is not None and (qualifier := _qualifier(words[split:])) is not None:
            script, region = qualifier
            return _canon(language.language or "", script or language.script, region or language.territory)
    return None


def _from_words(words: list[str], strict: bool = True, region_upper: bool = True) -> str | None:
    if not words:
        return None
    compact = normalize_header("".join(words))
    if compact in _STATIC:
        return _STATIC[compact]
    if compact.isascii():
        return _from_tag(words, strict, region_upper) or _from_name(words, strict)
    for affix in _CJK_ROLE_AFFIXES:  # `日文文本`, `中文版`, `原文中文`
        if len(compact) > len(affix) and compact.endswith(affix) and compact[: -len(affix)] in _STATIC:
            return _STATIC[compact[: -len(affix)]]
        if len(compact) > len(affix) and compact.startswith(affix) and compact[len(affix) :] in _STATIC:
            return _STATIC[compact[len(affix) :]]
    return _from_name(words, strict)


def _role_stripped(words: list[str]) -> list[str] | None:
    """`words` without one role word at either end (`Text_EN`, `en_text`, `Lang_ko`), or None."""
    if len(words) > 2 and words[:2] == ["system", "language"]:  # Unity's `SystemLanguage.ChineseSimplified`
        return words[2:]
    if len(words) > 1 and words[0] in _ROLE_WORDS:
        return words[1:]
    if len(words) > 1 and words[-1] in _ROLE_WORDS:
        return words[:-1]
    return None


def _from_part(text: str, strict: bool = True) -> str | None:
    words = _tokens(text)
    if not words or len(words) > 6:
        return None
    raw = _tokens(text, fold=False)
    upper = len(raw) == len(words) and any(w.isupper() or w.isdigit() for w in raw[1:])
    if (code := _from_words(words, strict, upper)) is not None:
        return code
    stripped = _role_stripped(words)
    return _from_words(stripped, strict, upper) if stripped else None


def _is_role_only(text: str) -> bool:
    words = _tokens(text)
    return len(words) <= 1 and all(w in _ROLE_WORDS or w in _CJK_ROLE_AFFIXES for w in words)


@lru_cache(maxsize=65536)
def _builtin_code(header: str, strict: bool = True) -> str | None:
    """The canonical code `header` names, from the built-in knowledge only."""
    if len(header) > MAX_HEADER_CHARS:
        return None
    compact = normalize_header(header)
    if not compact:
        return None
    if compact in _STATIC:
        return _STATIC[compact]
    inside = [m.group(1) for m in _BRACKETED.finditer(header)]
    outside = _BRACKETED.sub(" ", header) if inside else header
    if (code := _from_part(outside, strict)) is not None:
        for part in inside:  # `Portuguese (Brazil)`, `中国語（簡体字）`; `EN (target)` keeps `en`
            if code.split("-")[0] in ("zh", "pt", "es", "fr") and (qualifier := _qualifier(_tokens(part))):
                script, region = qualifier
                return _canon(code.split("-")[0], script, region) if script or region else code
        return code
    if inside and _is_role_only(outside):  # `Target (EN)`, `Translation (Japanese)`
        return _from_part(inside[0], strict)
    return None


class LanguageMatcher:
    """Maps header text to a canonical language code; `extra_aliases` (header spelling -> code) win."""

    _CACHE_LIMIT = 100_000

    def __init__(self, extra_aliases: dict[str, str] | None = None) -> None:
        self._extra = {
            normalize_header(spelling): _builtin_code(str(code).strip(), False) or str(code).strip()
            for spelling, code in (extra_aliases or {}).items()
        }
        self._cache: dict[str, str | None] = {}

    def code_for(self, header: object) -> str | None:
        if not isinstance(header, str):
            return None
        try:
            return self._cache[header]
        except KeyError:
            pass
        code = self._lookup(header)
        if len(self._cache) >= self._CACHE_LIMIT:
            self._cache.clear()
        self._cache[header] = code
        return code

    def _lookup(self, header: str) -> str | None:
        if len(header) > MAX_HEADER_CHARS:
            return None
        if self._extra:
            bare = _BRACKETED.sub(" ", header)
            words = _tokens(bare)
            stripped = _role_stripped(words) or []
            for form in (header, bare, " ".join(stripped)):
                if (code := self._extra.get(normalize_header(form))) is not None:
                    return code
        return _builtin_code(header)

    def canonical(self, code_or_name: str) -> str:
        """Canonical code for a configured language (`zh`, `中文`, `en-US`, `he` ...), or ValueError."""
        code = self.code_for(code_or_name)
        if code is None and isinstance(code_or_name, str):
            code = _builtin_code(code_or_name.strip(), False)  # any real tag or name, not just headers
        if code is None:
            raise ValueError(f"unknown language {code_or_name!r}")
        return code


# The prompt's names of the usual targets, so that a prompt asks langcodes' CLDR name tables (70 ms to load) only
# for a rarer language: Unity's one-word names are CLDR's English names (tests/test_languages.py holds them to it)
_PROMPT_NAMES = {
    **{code: name for name, code in UNITY_LANGUAGES.items() if name.isalpha() and name[1:].islower()},
    "nb": "Norwegian Bokmål",
    "zh-CN": "Simplified Chinese",
    "zh-TW": "Traditional Chinese",
    "pt-BR": "Brazilian Portuguese",
    "es-419": "Latin American Spanish",
    "fr-CA": "Canadian French",
}


def language_name(code: str) -> str:
    """English name of a language for prompts: `Simplified Chinese`, `Japanese`, `Brazilian Portuguese`."""
    canonical = _builtin_code(code.strip(), False) or code
    if canonical in _PROMPT_NAMES:
        return _PROMPT_NAMES[canonical]
    try:
        language = Language.get(canonical)
    except LanguageTagError:
        return code
    return language.display_name("en") if language.is_valid() and language.language else code
