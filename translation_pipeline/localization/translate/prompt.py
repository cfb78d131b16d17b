"""The system prompt of a batch request. Bump PROMPT_VERSION whenever the text changes meaning:
the translation memory is keyed by it, so translations made by an older prompt are not reused."""

from __future__ import annotations

from dataclasses import dataclass

from translation_pipeline.localization.read.languages import language_name

PROMPT_VERSION = "p1"


@dataclass(frozen=True)
class GameInfo:
    game_type: str = ""
    world: str = ""
    style: str = ""
    audience: str = ""

    @classmethod
    def from_mapping(cls, values: dict[str, str]) -> GameInfo:
        return cls(**{k: str(v) for k, v in values.items() if k in cls.__dataclass_fields__})


def system_prompt(source_language: str, target_language: str, game: GameInfo) -> str:
    source, target = language_name(source_language), language_name(target_language)
    about = [
        line
        for line in (
            f"Game type: {game.game_type}." if game.game_type else "",
            f"World: {game.world}." if game.world else "",
            f"Style and tone: {game.style}." if game.style else "",
            f"Audience: {game.audience}." if game.audience else "",
        )
        if line
    ]
    rules = [
        f"You are a professional video game localizer translating {source} into {target}.",
        *about,
        "The user message is one JSON object with `items`; translate the `text` of every item.",
        "Use `context` (speaker, notes, string key) to choose tone and meaning; do not translate it.",
        "Keep every placeholder and markup exactly as written, same count: {0}, {name}, %s, %d, %1$s, "
        "%.2f, <color=#fff>, </b>, <br/>, and the literal sequences \\n and \\t. Never translate or "
        "reorder their inner text; you may move them within the sentence where grammar requires.",
        "Keep real line breaks where the source has them, and leading or trailing spaces.",
        "When an item has `max_length`, the translation must be at most that many characters.",
        "When a `glossary` is given, use its target terms for its source terms.",
        "Never start a translation with =, +, - or @ unless the source does.",
        'Reply with one JSON object only: {"translations": [{"id": "<item id>", "text": "<translation>"}]}, '
        "one entry per item id, no other keys, no comments, no code fences.",
    ]
    return "\n".join(rules)
