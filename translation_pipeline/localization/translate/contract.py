"""The LLM batch contract (DESIGN.md section 2): one JSON object in, one JSON object out, items
matched by id only, every item validated on its own."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from translation_pipeline.localization.translate.placeholders import placeholder_problems
from translation_pipeline.localization.write.export import MAX_CELL_CHARS


@dataclass(frozen=True, slots=True)  # slots: a workbook of a million rows plans over a million of them
class BatchItem:
    id: str
    text: str
    context: str = ""
    max_length: int | None = None


@dataclass(frozen=True)
class RequestBatch:
    """Items of one source language into one target language, sent in one request."""

    batch_id: str
    source_language: str
    target_language: str
    items: Sequence[BatchItem]  # a tuple, or the items of a planned batch made as they are read

    def subset(self, ids: set[str], suffix: str) -> RequestBatch:
        return RequestBatch(
            f"{self.batch_id}{suffix}",
            self.source_language,
            self.target_language,
            tuple(item for item in self.items if item.id in ids),
        )

    @property
    def source_chars(self) -> int:
        return sum(len(item.text) for item in self.items)


@dataclass(frozen=True)
class GlossaryTerm:
    source: str
    target: str


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens


@dataclass(frozen=True)
class ProviderReply:
    """What a provider answered for one request: the message content, why it stopped, its usage."""

    content: str
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)


@dataclass
class ReplyCheck:
    """Outcome of validating one reply: good translations and failed items, both by id."""

    translations: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    ignored_ids: list[str] = field(default_factory=list)


def user_message(batch: RequestBatch, glossary: list[GlossaryTerm] | None = None) -> str:
    """The request's user message: one JSON object and nothing else."""
    items = []
    for item in batch.items:
        entry: dict[str, object] = {"id": item.id, "text": item.text}
        if item.context:
            entry["context"] = item.context
        if item.max_length is not None:
            entry["max_length"] = item.max_length
        items.append(entry)
    payload: dict[str, object] = {
        "source_language": batch.source_language,
        "target_language": batch.target_language,
        "items": items,
    }
    if glossary:
        payload["glossary"] = [{"source": term.source, "target": term.target} for term in glossary]
    return json.dumps(payload, ensure_ascii=False)


_FENCE = re.compile(r"^\s*```[A-Za-z]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


FORMULA_STARTS = ("=", "+", "-", "@")  # what Excel reads as the start of a formula


def formula_like(source: str, text: str) -> bool:
    """`text` starts as a formula would (after leading whitespace) while its source does not: almost never a
    translation, rather a prompt injection or a glitch. `+5 攻击` -> `+5 Attack` is fine."""
    return text.lstrip().startswith(FORMULA_STARTS) and not source.lstrip().startswith(FORMULA_STARTS)


# what no cell, XML part or utf8mb4 column can hold: lone surrogates (valid in JSON as "\ud800"), U+FFFE, U+FFFF
_UNSTORABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")
REPLACEMENT = "\ufffd"


def _unstorable(text: str) -> str | None:
    """Why `text` cannot be stored, naming its first such character; None when it can."""
    found = _UNSTORABLE.search(text)
    return f"reply holds a character no cell can store (U+{ord(found.group()):04X})" if found else None


def _check_text(item: BatchItem, text: object, last_attempt: bool) -> tuple[str | None, str]:
    """(why the answer fails, None when it passes; the text to keep) for one item's answer."""
    if not isinstance(text, str) or not text.strip():
        return "empty translation", ""
    if len(text) > MAX_CELL_CHARS:
        return f"reply longer than a cell holds ({len(text)} characters, max {MAX_CELL_CHARS})", text
    if problem := _unstorable(text):
        if not last_attempt:
            return problem, text
        text = _UNSTORABLE.sub(REPLACEMENT, text)
    if problem := placeholder_problems(item.text, text):
        return problem, text
    if not last_attempt and formula_like(item.text, text):
        return f"formula-like reply (starts with {text.lstrip()[0]!r})", text
    return None, text


def parse_reply(batch: RequestBatch, reply: ProviderReply, *, last_attempt: bool = False) -> ReplyCheck:
    """Validate a reply item by item. A cut-off or unparseable reply fails every item of the batch. A text
    longer than a cell holds fails its item on every attempt. A formula-like text fails its item like a lost
    placeholder, except on the `last_attempt`: then it is kept (written as text, and the QA report flags it).
    So does a text holding a character nothing can store (a lone surrogate): on the last attempt each such
    character becomes U+FFFD, which the QA report flags, before the other checks (so no failure reason holds
    one either)."""
    check = ReplyCheck()
    if reply.finish_reason == "length":
        check.failures = {item.id: "reply cut off (finish_reason=length)" for item in batch.items}
        return check
    content = reply.content.strip()
    fenced = _FENCE.match(content)
    if fenced:
        content = fenced.group(1)
    try:
        payload = json.loads(content)
        entries = payload["translations"]
        if not isinstance(entries, list):
            raise TypeError("translations is not a list")
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        check.failures = {item.id: f"reply is not the expected JSON ({exc})" for item in batch.items}
        return check

    by_id: dict[str, list[object]] = {}
    for entry in entries:
        if isinstance(entry, dict) and "id" in entry:
            by_id.setdefault(str(entry["id"]), []).append(entry.get("text"))
    requested = {item.id for item in batch.items}
    check.ignored_ids = sorted(set(by_id) - requested)
    for item in batch.items:
        answers = by_id.get(item.id, [])
        if not answers:
            check.failures[item.id] = "missing from the reply"
        elif len(answers) > 1:
            check.failures[item.id] = "answered more than once"
        else:
            problem, text = _check_text(item, answers[0], last_attempt)
            if problem:
                check.failures[item.id] = problem
            else:
                check.translations[item.id] = text
    return check
