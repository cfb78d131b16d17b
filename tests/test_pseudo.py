"""The offline pseudo-localization provider: a stand-in translation in the target's script that passes QA."""

from __future__ import annotations

import asyncio
import json
import re

import pandas as pd
import pytest

from translation_pipeline.localization.check.qa import findings
from translation_pipeline.localization.scripts import script_pattern
from translation_pipeline.localization.translate.contract import BatchItem, RequestBatch, parse_reply
from translation_pipeline.localization.translate.placeholders import find_placeholders, placeholder_problems
from translation_pipeline.localization.translate.providers.pseudo import PseudoProvider, pseudo_localize, target_script
from translation_pipeline.sample import DIALOG, UI

TARGETS = ["en", "fr", "ja", "ko", "zh-TW", "ru", "th", "ar"]
SAMPLE = [(text, limit) for _, _, text, *_, limit in DIALOG if isinstance(text, str) and text.strip()]
SAMPLE += [(text, limit) for _, text, *_, limit in UI]


def scripts(text: str) -> set[str]:
    """The CJK scripts QA looks for that `text` holds."""
    return {script for script in ("Han", "Kana", "Hangul") if re.search(script_pattern(script), text)}


def test_marks_text_visibly_and_expands_about_thirty_percent() -> None:
    out = pseudo_localize("Start the game now")
    assert out.startswith("[") and out.endswith("]")
    assert "Ŝ" in out or "Š" in out
    assert out != "Start the game now"
    assert 1.25 <= len(out) / len("Start the game now") <= 1.5


def test_cjk_into_a_latin_script_reads_as_accented_latin_words() -> None:
    assert pseudo_localize("勇者，欢迎来到晨曦村！") == "[Ĝúóýúñ, ĥíúžĥà çàžíà çíàĺíñĝ ŵúñ!~~~~]"
    out = pseudo_localize("背包已满。\\n请先整理物品。", target_language="fr")
    assert out.startswith("[Ẋéñƥúñ çĥíñĝƒàñĝ.\\nŠàñšĥéí")  # a sentence starts with a capital
    assert pseudo_localize("ひらがな カタカナ") == "[Ĥíŕàĝà ñà ķàţàķà ñà~~~]"  # kana and hangul as Unicode spells them
    assert pseudo_localize("한국어", target_language="de") == "[Ĥàñĝúĝéó~]"


@pytest.mark.parametrize(
    ("target", "script", "left_out"),
    [("ja", "Kana", {"Han", "Hangul"}), ("ko", "Hangul", {"Han", "Kana"}), ("zh-TW", "Han", {"Kana", "Hangul"})],
)
def test_a_cjk_target_gets_its_own_script(target: str, script: str, left_out: set[str]) -> None:
    for text in ("勇者，欢迎来到晨曦村！", "持ち物がいっぱいです。", "한국어 텍스트"):
        if scripts(text) == {script}:
            continue  # already in the target's script
        out = pseudo_localize(text, target_language=target)
        assert script in scripts(out) and not scripts(out) & left_out, out
        assert out.strip("[]~") != text


@pytest.mark.parametrize("target", ["ja", "ko", "zh-CN"])
def test_an_english_source_into_a_cjk_target_is_sounded_out_in_its_script_and_passes_qa(target: str) -> None:
    """QA lists a Japanese cell answered in Latin letters only; the pseudo text of `Open the door` is kana."""
    sources = ["Open the <b>door</b>, {0}!", "Press %s to start the game", "Inventory full"]
    texts = [pseudo_localize(text, target_language=target) for text in sources]
    assert all(scripts(text) == {target_script(target)} for text in texts), texts
    assert "<b>" in texts[0] and "{0}" in texts[0] and "%s" in texts[1]
    outcomes = pd.DataFrame({"sheet": "S", "cell": ["C2", "C3", "C4"], "key": "k", "language": target,
                             "source_language": "en", "source": sources, "text": texts, "status": "translated",
                             "error": None, "max_length": pd.array([None] * 3, dtype="Int64")})  # fmt: skip
    issues = findings(outcomes, {})
    assert issues.empty, issues[["source", "translation", "rule", "detail"]].to_string()


def test_simplified_into_traditional_chinese_is_bracketed_and_padded() -> None:
    """The traditional forms would need data: the Han text stays, marked as pseudo text."""
    assert pseudo_localize("退出游戏", target_language="zh-TW") == "[退出游戏~~]"


@pytest.mark.parametrize("target", TARGETS)
def test_the_sample_passes_every_qa_rule_in_every_target(target: str) -> None:
    """No finding at all: not untranslated, placeholders, max length, whitespace, line breaks, formula-like."""
    texts = [pseudo_localize(text, limit, target) for text, limit in SAMPLE]
    outcomes = pd.DataFrame(
        {
            "sheet": "S",
            "cell": [f"C{row}" for row in range(2, len(SAMPLE) + 2)],
            "key": "k",
            "language": target,
            "source_language": "zh-CN",
            "source": [text for text, _ in SAMPLE],
            "text": texts,
            "status": "translated",
            "error": None,
            "max_length": pd.array([limit for _, limit in SAMPLE], dtype="Int64"),
        }
    )
    issues = findings(outcomes, {})
    assert issues.empty, issues[["source", "translation", "rule", "detail"]].to_string()


@pytest.mark.parametrize(
    "text",
    [
        "Hello {0}, you have %d gold",
        "<color=#fff>Sword</color> %1$s {{player}}",
        "第{0}章：{1}\\n%.2f",
        "<b>勇者</b>你好，{name}！%%",
        "100%%",
    ],
)
@pytest.mark.parametrize("target", TARGETS)
def test_placeholders_and_tags_are_kept_exactly(text: str, target: str) -> None:
    out = pseudo_localize(text, target_language=target)
    assert placeholder_problems(text, out) is None
    assert find_placeholders(out) == find_placeholders(text)


def test_leading_and_trailing_whitespace_stay_outside_the_brackets() -> None:
    assert pseudo_localize("  Start\n") == "  [Šţàŕţ~~~]\n"


def test_deterministic() -> None:
    assert pseudo_localize("Quit game") == pseudo_localize("Quit game")
    assert pseudo_localize("退出游戏", 12, "ja") == pseudo_localize("退出游戏", 12, "ja")


@pytest.mark.parametrize(
    ("text", "limit"), [("确定", 8), ("确定", 2), ("Start game", 10), ("Start game", 5), ("Go {0} now", 6)]
)
@pytest.mark.parametrize("target", TARGETS)
def test_respects_max_length_keeping_placeholders(text: str, limit: int, target: str) -> None:
    out = pseudo_localize(text, limit, target)
    assert len(out) <= limit
    assert placeholder_problems(text, out) is None


def test_placeholders_that_fill_the_limit_alone_still_leave_a_stand_in_text() -> None:
    """31 characters, 25 of them markup: no text fits, so a few letters overshoot rather than none at all."""
    out = pseudo_localize("获得 <color=#ffcc00>金币</color> x%d", 25)
    assert out == "Ƥíà<color=#ffcc00></color>%d"
    assert placeholder_problems("获得 <color=#ffcc00>金币</color> x%d", out) is None


def test_a_cut_text_does_not_end_in_a_space() -> None:
    """Cut right after `Ĝúóýúñ, `: QA would report the trailing space."""
    assert pseudo_localize("勇者，欢迎来到晨曦村！", 8) == "Ĝúóýúñ,"


def test_answers_through_the_batch_contract_in_the_batch_target_language() -> None:
    batch = RequestBatch("b1", "zh-CN", "ja", (BatchItem("t1", "你好{0}"), BatchItem("t2", "确定", max_length=4)))
    reply = asyncio.run(PseudoProvider().translate(batch))
    assert set(json.loads(reply.content)["translations"][0]) == {"id", "text"}
    check = parse_reply(batch, reply)
    assert not check.failures
    assert check.translations["t1"] == pseudo_localize("你好{0}", None, "ja") == "[トヤパキ{0}~~]"
    assert len(check.translations["t2"]) <= 4


@pytest.mark.parametrize(("text", "target"), [("勇者，欢迎来到晨曦村！你的名字是{name}吗？", "zh-TW"),
                                              ("ようこそ", "ja"), ("시작하기", "ko")])  # fmt: skip
def test_a_same_script_target_at_its_limit_keeps_the_brackets_not_the_source(text: str, target: str) -> None:
    """Found in a user trial: a 30-character zh-CN source with a limit of 30 came back as the source itself."""
    for limit in (len(text), len(text) - 1):
        out = pseudo_localize(text, limit, target)
        assert out.startswith("[") and out.endswith("]") and len(out) == limit
        assert text.startswith(out[1:-1]) or "{name}" in out
        assert placeholder_problems(text, out) is None
