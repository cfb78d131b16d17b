"""Offline pseudo-localization: deterministic, visibly marked, written in the target's script, placeholders and
tags kept. The result reads as a stand-in translation and passes QA's `untranslated` rule (check/qa.py).

- Into a Latin-script language, Han, kana and hangul become Latin syllables (kana and hangul as their Unicode
  names spell them, Han from a fixed table indexed by code point), CJK punctuation becomes ASCII and every Latin
  letter gets an accent: `勇者，欢迎来到晨曦村！` -> `[Ĝúóýúñ, ĥíúžĥà çàžíà çíàĺíñĝ ŵúñ!~~~~]`,
  `你的名字是{name}吗？` -> `[Ĵéñƒíñ ǫéñĝçĥíàó ĝí {name} ŵéñĝ?~~~~]`, `Start game` -> `[Šţàŕţ ĝàɱé~~~]`.
- Into Japanese, Han and hangul become katakana (`确定` -> `[サビアタ~]`); into Korean, Han and kana become
  hangul (`[랴춰~]`); into Chinese, kana and hangul become Han. Simplified and traditional Chinese share the Han
  text (the traditional forms would need data), so `zh-CN` -> `zh-TW` only brackets and pads (`[确定~]`); where
  `max_length` leaves no room for that, the text is cut to keep the brackets, never left as the source.
- Into a language written in Cyrillic, Thai or Arabic, the accented Latin text's letters become letters of that
  script, one for one (`确定` -> `[Хиежин~]` in Russian).

The text is wrapped in brackets (inside any leading or trailing whitespace) and padded by about 30%, then
shortened to fit `max_length`.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata

from translation_pipeline.localization.scripts import (
    ARABIC,
    CYRILLIC,
    HAN,
    HANGUL,
    KANA,
    LATIN,
    THAI,
    language_scripts,
    script_pattern,
)
from translation_pipeline.localization.translate.contract import BatchItem, ProviderReply, RequestBatch, Usage
from translation_pipeline.localization.translate.placeholders import PLACEHOLDER_RE, split_protected
from translation_pipeline.localization.translate.providers.base import TranslationProvider

ACCENTS = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "àƀçđéƒĝĥíĵķĺɱñóƥǫŕšţúṽŵẋýžÀƁÇĐÉƑĜĤÍĴĶĹṀÑÓƤǪŔŠŢÚṼŴẊÝŽ",
)
_ACCENTED = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".translate(ACCENTS)
# the accented Latin stand-in's letters as letters of a target written in another alphabet, one for one
LETTERS = {
    CYRILLIC: str.maketrans(_ACCENTED, "абцдефгхийклмнопкрстувшжызАБЦДЕФГХИЙКЛМНОПКРСТУВШЖЫЗ"),
    THAI: str.maketrans(_ACCENTED, "กขคงจฉชซญดตถทนบปผพฟมยรลวสห" * 2),
    ARABIC: str.maketrans(_ACCENTED, "ابتثجحخدذرزسشصضطظعغفقكلمنه" * 2),
}
EXPANSION = 0.3
PAD = "~"

PSEUDO_SCRIPTS = (HAN, KANA, HANGUL)  # the scripts it converts between; a target in any other is written in Latin
SPACED = {LATIN, HANGUL}  # target scripts with spaces between words
WORD_LENGTH = {HAN: 2, KANA: 3}  # source characters per word in a spaced target; a hangul run is one word
ASCII_PUNCTUATION = {"，": ",", "、": ",", "。": ".", "！": "!", "？": "?", "：": ":", "；": ";"}
SENTENCE_ENDS = ("", ".", "!", "?")  # the last character written before a sentence starts ("": none yet)
# where the target spaces words, a space goes between these (how one piece ends, how the next starts): a converted
# run ("run") and a word, a format placeholder, a tag or another run; punctuation and what follows it
GAPS = {("run", "run"), ("word", "run"), ("format", "run"), ("run", "word"), ("run", "format"),
        ("punctuation", "run"), ("punctuation", "word"), ("punctuation", "format")}  # fmt: skip

# syllables by code point, for what has no reading of its own in the target script
INITIALS = ("b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "zh", "ch", "sh", "r", "z", "c",
            "s", "y", "w")  # fmt: skip
FINALS = ("a", "o", "e", "ai", "ei", "ao", "ou", "an", "en", "ang", "eng", "ong", "i", "u", "ia", "ie", "iao", "iu",
          "ian", "in", "ing", "uo", "ui", "uan", "un")  # fmt: skip
KATAKANA = (
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"
    "ガギグゲゴザジズゼゾダデドバビブベボパピプペポ"
)
OPEN_HANGUL = "".join(chr(0xAC00 + (lead * 21 + vowel) * 28) for lead in range(19) for vowel in range(21))
# characters Chinese spells foreign names with, written the same in both Chinese scripts
HAN_SOUNDS = "阿巴比波布德多杜法菲弗加格吉戈古哈赫希胡卡科基克拉勒利莫米尼帕皮普西索塔特托瓦沃耶伊尤扎佐里"

_TOKENS = re.compile(
    f"(?P<placeholder>{PLACEHOLDER_RE.pattern})"
    + "".join(f"|(?P<{script}>{script_pattern(script)}+)" for script in PSEUDO_SCRIPTS)
    + f"|(?P<punctuation>[{''.join(ASCII_PUNCTUATION)}])",
    re.VERBOSE,
)
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_CJK = re.compile(f"{script_pattern(*PSEUDO_SCRIPTS)}|[{''.join(ASCII_PUNCTUATION)}]")


def target_script(language: str) -> str:
    """The script the pseudo text for `language` is written in."""
    own = language_scripts(language)[0]
    return own if own in PSEUDO_SCRIPTS else LATIN


def _sound(char: str, script: str, target: str) -> str:
    """One character of `script` as a syllable of the `target` script."""
    code = ord(char)
    if target == KANA:  # a Latin letter is one kana; a Han character, whose sound is longer, two
        first = KATAKANA[code % len(KATAKANA)]
        return first if script == LATIN else first + KATAKANA[code // len(KATAKANA) % len(KATAKANA)]
    if target == HANGUL:
        return OPEN_HANGUL[code % len(OPEN_HANGUL)]
    if target == HAN:
        return HAN_SOUNDS[code % len(HAN_SOUNDS)]
    if script == HAN:
        return INITIALS[code % len(INITIALS)] + FINALS[code // len(INITIALS) % len(FINALS)]
    name = unicodedata.name(char, "")  # `HIRAGANA LETTER KA`, `HANGUL SYLLABLE HAN`; a mark has no sound of its own
    return name.rsplit(" ", 1)[-1].lower() if " LETTER " in name or " SYLLABLE " in name else ""


@functools.lru_cache(maxsize=8192)  # the same words come back all over a string table
def _words(run: str, script: str, target: str) -> str:
    """A run of characters of `script` in the `target` script, cut into words where the target spaces words."""
    sounds = [_sound(char, script, target) for char in run]
    size = WORD_LENGTH.get(script, len(run)) if target in SPACED else len(run)
    return " ".join(filter(None, ("".join(sounds[i : i + size]) for i in range(0, len(sounds), size))))


def _punctuation(mark: str, target: str) -> str:
    """CJK punctuation as the target writes it: ASCII where words are spaced."""
    if target in SPACED:
        return ASCII_PUNCTUATION[mark]
    return "、" if target == KANA and mark == "，" else mark


def _placeholder_edges(placeholder: str) -> tuple[str, str]:
    """How a placeholder meets its neighbours (see GAPS): `{0}` and `%s` like a word, `<b>` only before its
    text, `</b>` only after it; `\\n` not at all."""
    if placeholder.startswith("</"):
        return "", "format"
    if placeholder.startswith("<"):
        return "format", ""
    return ("format", "format") if placeholder[0] in "{%" else ("", "")


def _word_edge(char: str) -> str:
    """How text ending or starting with `char` meets a converted run (see GAPS)."""
    return "word" if char.isalnum() else ""


def _pseudo_parts(text: str, target: str) -> list[tuple[bool, str]]:
    """`text` as (is_placeholder, part) runs in the `target` script, accented; placeholders exactly as they were.
    Where the target spaces words, a converted run is set apart from its neighbours (GAPS)."""
    if not _CJK.search(text):  # the words stay as they are, only accented; in a CJK target, sounded out in it
        def convert(part: str) -> str:
            if target == LATIN:
                return part.translate(ACCENTS)
            return _LATIN_WORD.sub(lambda word: _words(word.group(), LATIN, target), part)

        return [(is_ph, part if is_ph else convert(part)) for is_ph, part in split_protected(text)]
    parts: list[tuple[bool, str]] = []
    last = tail = ""  # the last character of text written so far; how the last piece ends (see GAPS)

    def add(piece: str, head: str, end: str, placeholder: bool = False) -> None:
        nonlocal last, tail
        if not piece:
            return
        if target in SPACED and (tail, head) in GAPS:
            parts.append((False, " "))
        parts.append((placeholder, piece if placeholder else piece.translate(ACCENTS)))
        last = last if placeholder else piece.rstrip()[-1:] or last
        tail = end

    def add_text(piece: str) -> None:
        if piece:
            add(piece, _word_edge(piece[0]), _word_edge(piece[-1]))

    position = 0
    for match in _TOKENS.finditer(text):
        add_text(text[position : match.start()])
        position = match.end()
        kind, found = match.lastgroup, match.group()
        if kind == "placeholder":
            add(found, *_placeholder_edges(found), placeholder=True)
        elif kind == "punctuation":
            add(_punctuation(found, target), "", "punctuation")
        elif kind == target:
            add(found, "word", "word")
        elif words := _words(found, str(kind), target):
            if target == LATIN and last in SENTENCE_ENDS:
                words = words[:1].upper() + words[1:]
            add(words, "run", "run")
    add_text(text[position:])
    return parts


MIN_TEXT = 3  # text characters a shortened pseudo translation keeps where its placeholders fill the budget


def _shorten(parts: list[tuple[bool, str]], budget: int) -> str:
    """Drop text characters from the end until the whole fits `budget`; placeholders always stay. Where they alone
    fill the budget, the first MIN_TEXT text characters stay too: a stand-in that overshoots (QA reports its
    length) tells more than bare markup. What is left of a cut text does not end in whitespace (QA
    compares the edges with the source's)."""
    text_length = sum(len(part) for is_ph, part in parts if not is_ph)
    room = budget - sum(len(part) for is_ph, part in parts if is_ph)
    if room <= 0:
        room = min(MIN_TEXT, text_length)
    cut = text_length > room
    kept: list[str] = []
    for is_ph, part in parts:
        if is_ph:
            kept.append(part)
        else:
            kept.append(part[:room])
            room -= len(kept[-1])
    shortened = "".join(kept)
    return shortened.rstrip() if cut else shortened


def pseudo_localize(text: str, max_length: int | None = None, target_language: str = "en") -> str:
    """The pseudo translation of `text` into `target_language`, no longer than `max_length` where placeholders
    allow."""
    parts = _pseudo_parts(text, target_script(target_language))
    letters = LETTERS.get(language_scripts(target_language)[0])
    if letters is not None:  # written in Latin above, spelled in the target's alphabet here
        parts = [(is_ph, part if is_ph else part.translate(letters)) for is_ph, part in parts]
    body = "".join(part for _, part in parts)
    core = body.strip()
    lead = body[: len(body) - len(body.lstrip())]
    trail = body[len(lead) + len(core) :]
    padding = PAD * math.ceil(len(text) * EXPANSION)
    full = f"{lead}[{core}{padding}]{trail}"
    if max_length is None or len(full) <= max_length:
        return full
    if max_length >= len(body) + 2:  # brackets and what padding fits
        return f"{lead}[{core}{PAD * (max_length - len(body) - 2)}]{trail}"
    markup = sum(len(part) for is_ph, part in parts if is_ph)
    if body != text or max_length - 2 - markup - len(lead) < 1:
        return _shorten(parts, max_length)
    # in the source's script (`zh-CN` -> `zh-TW`) the brackets are the only mark: keep them and cut the text, or
    # the stand-in reads as the source left untranslated
    return f"{lead}[{_shorten(parts, max_length - 2)[len(lead) :].strip()}]"


class PseudoProvider(TranslationProvider):
    """Answers every batch through the same JSON contract as a real model, with no network."""

    name = "pseudo"

    def __init__(self, model: str = "pseudo-v2") -> None:
        self.model = model

    def translate_item(self, item: BatchItem, target_language: str) -> str:
        return pseudo_localize(item.text, item.max_length, target_language)

    async def translate(self, batch: RequestBatch) -> ProviderReply:
        translations = [
            {"id": item.id, "text": self.translate_item(item, batch.target_language)} for item in batch.items
        ]
        content = json.dumps({"translations": translations}, ensure_ascii=False)
        usage = Usage(prompt_tokens=0, completion_tokens=0)  # nothing is billed
        return ProviderReply(content=content, usage=usage)
