"""The offline pseudo-localization provider."""

from __future__ import annotations

import asyncio
import json

import pytest

from translation_pipeline.localization.translate.contract import BatchItem, RequestBatch, parse_reply
from translation_pipeline.localization.translate.placeholders import find_placeholders, placeholder_problems
from translation_pipeline.localization.translate.providers.pseudo import PseudoProvider, pseudo_localize


def test_marks_text_visibly_and_expands_about_thirty_percent() -> None:
    out = pseudo_localize("Start the game now")
    assert out.startswith("[") and out.endswith("]")
    assert "Ŝ" in out or "Š" in out
    assert out != "Start the game now"
    assert 1.25 <= len(out) / len("Start the game now") <= 1.5


@pytest.mark.parametrize(
    "text",
    [
        "Hello {0}, you have %d gold",
        "<color=#fff>Sword</color> %1$s {{player}}",
        "第{0}章：{1}\\n%.2f",
        "100%%",
    ],
)
def test_placeholders_and_tags_are_kept_exactly(text: str) -> None:
    out = pseudo_localize(text)
    assert placeholder_problems(text, out) is None
    assert find_placeholders(out) == find_placeholders(text)


def test_deterministic() -> None:
    assert pseudo_localize("Quit game") == pseudo_localize("Quit game")


@pytest.mark.parametrize(("text", "limit"), [("确定", 8), ("Start game", 10), ("Start game", 5), ("Go {0} now", 6)])
def test_respects_max_length_keeping_placeholders(text: str, limit: int) -> None:
    out = pseudo_localize(text, limit)
    assert len(out) <= limit
    assert placeholder_problems(text, out) is None


def test_answers_through_the_batch_contract() -> None:
    batch = RequestBatch("b1", "zh-CN", "en", (BatchItem("t1", "你好{0}"), BatchItem("t2", "确定", max_length=4)))
    reply = asyncio.run(PseudoProvider().translate(batch))
    assert set(json.loads(reply.content)["translations"][0]) == {"id", "text"}
    check = parse_reply(batch, reply)
    assert not check.failures
    assert check.translations["t1"].startswith("[你好{0}")
    assert len(check.translations["t2"]) <= 4
