"""Offline pseudo-localization: deterministic, visibly marked, placeholders and tags kept.

`你好，{name}！` -> `[你好，{name}！~~]`; `Start game` -> `[Śţàŕţ ĝàɱé ~~~]`. Latin letters get accents,
text is wrapped in brackets and padded by about 30%, and the result is shortened to fit `max_length`.
"""

from __future__ import annotations

import json
import math

from translation_pipeline.localization.translate.contract import BatchItem, ProviderReply, RequestBatch, Usage
from translation_pipeline.localization.translate.placeholders import split_protected
from translation_pipeline.localization.translate.providers.base import TranslationProvider

ACCENTS = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "àƀçđéƒĝĥíĵķĺɱñóƥǫŕšţúṽŵẋýžÀƁÇĐÉƑĜĤÍĴĶĹṀÑÓƤǪŔŠŢÚṼŴẊÝŽ",
)
EXPANSION = 0.3
PAD = "~"


def _accent(parts: list[tuple[bool, str]]) -> list[tuple[bool, str]]:
    return [(is_ph, part if is_ph else part.translate(ACCENTS)) for is_ph, part in parts]


def _shorten(parts: list[tuple[bool, str]], budget: int) -> str:
    """Drop text characters from the end until the whole fits `budget`; placeholders always stay."""
    fixed = sum(len(part) for is_ph, part in parts if is_ph)
    room = max(budget - fixed, 0)
    kept: list[str] = []
    for is_ph, part in parts:
        if is_ph:
            kept.append(part)
        else:
            kept.append(part[:room])
            room -= len(kept[-1])
    return "".join(kept)


def pseudo_localize(text: str, max_length: int | None = None) -> str:
    """The pseudo translation of `text`, no longer than `max_length` where placeholders allow."""
    parts = _accent(split_protected(text))
    body = "".join(part for _, part in parts)
    padding = PAD * math.ceil(len(text) * EXPANSION)
    full = f"[{body}{padding}]"
    if max_length is None or len(full) <= max_length:
        return full
    if max_length >= len(body) + 2:  # brackets and what padding fits
        return f"[{body}{PAD * (max_length - len(body) - 2)}]"
    return _shorten(parts, max_length)


class PseudoProvider(TranslationProvider):
    """Answers every batch through the same JSON contract as a real model, with no network."""

    name = "pseudo"

    def __init__(self, model: str = "pseudo-v1") -> None:
        self.model = model

    def translate_item(self, item: BatchItem) -> str:
        return pseudo_localize(item.text, item.max_length)

    async def translate(self, batch: RequestBatch) -> ProviderReply:
        translations = [{"id": item.id, "text": self.translate_item(item)} for item in batch.items]
        content = json.dumps({"translations": translations}, ensure_ascii=False)
        usage = Usage(prompt_tokens=0, completion_tokens=0)  # nothing is billed
        return ProviderReply(content=content, usage=usage)
