"""QA rules, the summary and the reviewer's report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from translation_pipeline.localization.check import qa
from translation_pipeline.localization.check.glossary import Glossary, GlossaryEntry
from translation_pipeline.localization.check.qa import (
    REPORT_COLUMNS,
    SUMMARY_COLUMNS,
    cell_outcomes,
    findings,
    read_report,
    summarize,
    write_report,
)
from translation_pipeline.localization.plan.tasks import plan_tasks
from translation_pipeline.localization.read.workbook import CELL_COLUMNS
from translation_pipeline.localization.refs import code_of
from translation_pipeline.localization.translate.contract import GlossaryTerm

GLOSSARY = Glossary([GlossaryEntry("勇者", "en", "Hero"), GlossaryEntry("勇者", "ja", "勇者")])


def outcomes(rows: list[tuple]) -> pd.DataFrame:
    """Outcomes of (sheet, cell, target language, source, translation or None, max length) rows."""
    assignments = pd.DataFrame(
        [(sheet, code_of(cell), f"k.{cell}", i) for i, (sheet, cell, *_) in enumerate(rows)],
        columns=["sheet", "target_cell", "key", "task_id"],
    )
    tasks = pd.DataFrame(
        [(i, "b1", "zh-CN", lang, src, "", mx, 1) for i, (_, _, lang, src, _, mx) in enumerate(rows)],
        columns=["task_id", "batch_id", "source_language", "target_language", "source_text", "context",
                 "max_length", "cell_count"],
    )  # fmt: skip
    tasks["max_length"] = tasks["max_length"].astype("Int64")
    translations = pd.DataFrame(
        [
            (i, "failed" if text is None else "translated", text, "gave up" if text is None else "", 1, "m")
            for i, (*_, text, _) in enumerate(rows)
        ],
        columns=["task_id", "status", "text", "error", "attempts", "origin"],
    )
    return cell_outcomes(assignments, tasks, translations)


def rules_by_cell(issues: pd.DataFrame) -> dict[str, list[str]]:
    return {cell: group["rule"].tolist() for cell, group in issues.groupby("cell", sort=False)}


@pytest.mark.parametrize(
    ("source", "language", "text", "max_length", "rule", "detail"),
    [
        ("你好{name}", "en", "Hello", None, "placeholders", "placeholders lost {name}"),
        ("<b>确定</b>", "en", "<b>OK", None, "placeholders", "placeholders lost </b>"),
        ("确定", "en", "Confirm the choice", 8, "max_length", "18 characters, max 8"),
        ("勇者出发", "en", "The champion departs", None, "glossary", "source has '勇者': use 'Hero'"),
        ("Start", "en", "Start", None, "untranslated", "translation equals the source"),
        ("开始游戏", "en", "Start 游戏", None, "untranslated", "still in the source script: 2 Han characters left"),
        (" 确定", "en", "OK", None, "whitespace", "leading whitespace ' ' became ''"),
        ("确定\n", "en", "OK", None, "whitespace", "trailing whitespace '\\n' became ''"),
        ("第一行\n第二行", "en", "Line one, line two", None, "line_breaks", "line breaks: 1 in the source, 0"),
        ("链接", "en", '=HYPERLINK("http://x","y")', None, "formula_like", "starts with =: written as text"),
        ("命令", "en", "+cmd|' /C calc'!A0", None, "formula_like", "starts with +"),
        ("求和", "en", "@SUM(A1:A3)", None, "formula_like", "starts with @"),
        ("获得<color=#fc0>金币</color>x%d", "en", "<color=#fc0></color>%d", None, "untranslated",
         "no words left besides placeholders"),
        ("响铃", "en", "Ring\x07 bell", None, "control_characters", "removed U+0007"),
        ("孤立", "en", "lone \ufffd", None, "control_characters",
         "U+FFFD in place of a character the reply held that no cell can store"),
    ],
)  # fmt: skip
def test_each_rule_names_the_cell_and_the_problem(
    source: str, language: str, text: str, max_length: int | None, rule: str, detail: str
) -> None:
    issues = findings(outcomes([("S", "C2", language, source, text, max_length)]), {}, glossary=GLOSSARY)
    assert list(issues.columns) == REPORT_COLUMNS
    hits = issues[issues["rule"] == rule]
    assert len(hits) == 1, issues.to_dict("records")
    finding = hits.iloc[0]
    assert (finding["sheet"], finding["cell"], finding["key"], finding["language"]) == ("S", "C2", "k.C2", language)
    assert (finding["source"], finding["translation"], finding["status"]) == (source, text, "warning")
    assert finding["detail"].startswith(detail)


def test_clean_translations_have_no_findings() -> None:
    rows = [
        ("S", "C2", "en", "勇者，你好{name}！\n欢迎", "Hero, hello {name}!\nWelcome", 40),
        ("S", "D2", "ja", "勇者，你好{name}！\n欢迎", "勇者、こんにちは{name}！\nようこそ", None),  # Han is fine in ja
        ("S", "C3", "en", "-50%", "-50%", None),  # same as the source, but nothing to translate
        ("S", "C4", "en", "- 列表项", "- list item", None),  # a leading dash the source has too
    ]
    assert findings(outcomes(rows), {}, glossary=GLOSSARY).empty


def test_failed_and_unwritten_cells_are_findings_and_ordered_by_cell() -> None:
    rows = [
        ("S", "C2", "en", "确定", None, None),
        ("S", "C3", "en", "取消", "Cancel", None),
        ("S", "C4", "en", "确定 ", "OK", 1),
    ]
    issues = findings(outcomes(rows), {("S", code_of("C3")): "merged cell that is not the top-left cell of its range"})
    assert rules_by_cell(issues) == {"C2": ["translation"], "C3": ["export"], "C4": ["max_length", "whitespace"]}
    failed = issues.iloc[0]
    assert (failed["status"], failed["detail"], failed["translation"]) == ("failed", "gave up", None)
    assert issues.iloc[1]["status"] == "not written"


def test_cells_judged_a_chunk_at_a_time_give_the_same_findings_in_the_same_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kinds = [
        ("你好{name}", "Hello", None),
        ("确定", "Confirm the choice", 8),
        ("勇者出发", "The champion departs", None),
        ("开始游戏", "Start 游戏", None),
        ("确定\n", "OK", None),
        ("链接", "=HYPERLINK(1)", None),
        ("响铃", "Ring\x07 bell", None),
        ("取消", None, None),
        ("好的", "Fine", None),
    ]
    rows = [("S" if i % 7 else "T", f"C{i + 2}", "en" if i % 3 else "ja", *kinds[i % len(kinds)]) for i in range(60)]
    data = outcomes(rows)
    unwritten = {("S", code_of("C5")): "cell already has a value", ("T", code_of("C9")): "cell already has a value"}
    whole = findings(data, unwritten, glossary=GLOSSARY)
    summary = summarize(data, whole)
    monkeypatch.setattr(qa, "QA_CHUNK", 7)
    chunked = findings(data, unwritten, glossary=GLOSSARY)
    assert len(whole) > 40 and set(whole["rule"]) >= {"placeholders", "export", "translation", "formula_like"}
    pd.testing.assert_frame_equal(chunked, whole)
    pd.testing.assert_frame_equal(summarize(data, chunked), summary)  # the cells counted 7 at a time, then summed
    assert summary[["not_written", "failed"]].sum().tolist() == [1, 6] and summary["to_fill"].sum() == 60


def test_sheet_default_max_length_applies_where_the_row_has_none() -> None:
    rows = [
        ("UI", "C2", "en", "确定", "Confirm", None),  # default 5 for UI
        ("UI", "C3", "en", "取消", "Cancel", 10),  # the row's own limit wins
        ("Dialog", "C2", "en", "你好", "Hello there", None),  # no default for Dialog
    ]
    issues = findings(outcomes(rows), {}, max_length_defaults={"UI": 5})
    assert issues[["cell", "rule", "detail"]].values.tolist() == [["C2", "max_length", "7 characters, max 5"]]


def shared_task_outcomes(row_limits: list[int | None] | None, text: str) -> pd.DataFrame:
    """Rows C2, C3, ... with the same source, so one task (limit: the smallest row limit) fills them all.

    `row_limits` are the rows' own max lengths, carried by the assignments; None: assignments without them."""
    limits = row_limits or [5, 50]
    assignments = pd.DataFrame(
        [("S", code_of(f"C{row}"), f"k.C{row}", 1) for row in range(2, 2 + len(limits))],
        columns=["sheet", "target_cell", "key", "task_id"],
    )
    if row_limits is not None:
        assignments["max_length"] = pd.array(row_limits, dtype="Int64")
    smallest = min((limit for limit in limits if limit is not None), default=None)
    tasks = pd.DataFrame(
        [(1, "b1", "zh-CN", "en", "确定", "", smallest, len(limits))],
        columns=["task_id", "batch_id", "source_language", "target_language", "source_text", "context",
                 "max_length", "cell_count"],
    )  # fmt: skip
    tasks["max_length"] = tasks["max_length"].astype("Int64")
    translations = pd.DataFrame(
        [(1, "translated", text, "", 1, "m")], columns=["task_id", "status", "text", "error", "attempts", "origin"]
    )
    return cell_outcomes(assignments, tasks, translations)


def test_max_length_is_checked_against_each_rows_own_limit() -> None:
    """The shared task's limit is 5; the row with limit 50 holds a 10-character translation fine."""
    issues = findings(shared_task_outcomes([5, 50], "Confirm it"), {})
    assert issues[["cell", "rule", "detail"]].values.tolist() == [["C2", "max_length", "10 characters, max 5"]]


def test_planned_rows_sharing_a_task_are_checked_against_their_own_limits() -> None:
    """Through the planner: two rows with the same source and limits 5 and 50 are one task with limit 5."""
    cells = pd.DataFrame(
        [("S", row, f"k{row}", "zh-CN", "确定", "text", "en", code_of(f"C{row}"), False, "", "", limit)
         for row, limit in ((2, 5), (3, 50))],
        columns=CELL_COLUMNS,
    )  # fmt: skip
    cells["max_length"] = cells["max_length"].astype("Int64")
    plan = plan_tasks(cells)
    assert plan.tasks["max_length"].tolist() == [5]
    translations = pd.DataFrame(
        [(1, "translated", "Confirm it", "", 1, "m")],
        columns=["task_id", "status", "text", "error", "attempts", "origin"],
    )
    issues = findings(cell_outcomes(plan.assignments, plan.tasks, translations), {})
    assert issues[["cell", "rule", "detail"]].values.tolist() == [["C2", "max_length", "10 characters, max 5"]]


def test_a_row_without_a_limit_gets_the_sheet_default_not_the_shared_tasks_limit() -> None:
    data = shared_task_outcomes([5, None], "Confirm it")
    assert findings(data, {}, max_length_defaults={"S": 50})["cell"].tolist() == ["C2"]
    assert findings(data, {})["cell"].tolist() == ["C2"]


def test_assignments_without_row_limits_fall_back_to_the_tasks_limit() -> None:
    """A plan pickled before assignments carried the row's max length: every cell of the task gets its limit."""
    issues = findings(shared_task_outcomes(None, "Confirm it"), {})
    assert issues[["cell", "detail"]].values.tolist() == [
        ["C2", "10 characters, max 5"], ["C3", "10 characters, max 5"],
    ]  # fmt: skip


def test_script_check_only_for_targets_that_do_not_use_the_source_script() -> None:
    rows = [
        ("S", "C2", "ja", "开始游戏", "ゲーム開始", None),
        ("S", "D2", "ko", "开始游戏", "게임 시작", None),
        ("S", "E2", "ru", "开始游戏", "Начать 游戏", None),
        ("S", "F2", "fr", "开始游戏", "[开始游戏~~]", None),  # what the pseudo provider returns
    ]
    issues = findings(outcomes(rows), {})
    assert rules_by_cell(issues) == {"E2": ["untranslated"], "F2": ["untranslated"]}


def test_a_translation_with_no_letter_of_the_targets_own_script_is_untranslated() -> None:
    """An answer in English for the Japanese or Russian column; short Latin words games keep (`HP`, `Steam`) and
    Latin beside the target's own letters are fine."""
    rows = [
        ("S", "C2", "ja", "开始游戏", "Start the game", None),
        ("S", "D2", "ru", "开始游戏", "Start the game", None),
        ("S", "E2", "ko", "开始游戏", "게임 Start the game", None),
        ("S", "F2", "ja", "生命值", "HP", None),
        ("S", "G2", "ja", "商店", "Steam Store", None),  # 10 letters: flagged, a person decides
        ("S", "H2", "en", "开始游戏", "Start the game", None),
        ("S", "I2", "ja-JP", "开始游戏", "ゲーム開始", None),
    ]
    issues = findings(outcomes(rows), {})
    assert rules_by_cell(issues) == {"C2": ["untranslated"], "D2": ["untranslated"], "G2": ["untranslated"]}
    details = dict(zip(issues["cell"], issues["detail"], strict=True))
    assert details["C2"] == "not in the target's script: 12 letters, none Han or Kana"
    assert details["D2"] == "not in the target's script: 12 letters, none Cyrillic"


def test_literal_line_breaks_are_counted() -> None:
    issues = findings(outcomes([("S", "C2", "en", "背包已满。\\n请整理", "Bag full. Sort it", None)]), {})
    assert set(issues["rule"]) == {"placeholders", "line_breaks"}
    assert "literal \\n: 1 in the source, 0 in the translation" in issues["detail"].tolist()


def test_summary_per_sheet_and_language() -> None:
    rows = [
        ("S", "C2", "en", "确定", "OK", None),
        ("S", "C3", "en", "取消", None, None),
        ("S", "C4", "en", "勇者", "Champion", None),
        ("S", "D2", "ja", "确定", "OK", None),
        ("T", "C2", "en", "开始", "Start", 3),
    ]
    data = outcomes(rows)
    issues = findings(data, {("S", code_of("D2")): "cell already has a value"}, glossary=GLOSSARY)
    summary = summarize(data, issues)
    assert list(summary.columns) == SUMMARY_COLUMNS
    table = summary.set_index(["sheet", "language"])
    assert table.loc[("S", "en"), ["to_fill", "filled", "failed", "not_written"]].tolist() == [3, 2, 1, 0]
    assert table.loc[("S", "en"), "coverage"] == pytest.approx(2 / 3, abs=1e-4)
    assert table.loc[("S", "en"), ["translation", "glossary"]].tolist() == [1, 1]
    assert table.loc[("S", "ja"), ["filled", "not_written", "export"]].tolist() == [0, 1, 1]
    assert table.loc[("T", "en"), ["filled", "max_length"]].tolist() == [1, 1]


def test_report_is_filterable_keeps_hostile_text_as_text_and_reads_back(tmp_path: Path) -> None:
    rows = [
        ("S", "C2", "en", "链接", '=HYPERLINK("http://evil","click")', None),
        ("S", "C3", "en", "响铃", "Ring\x07", None),
        ("S", "C4", "en", "确定", None, None),
    ]
    data = outcomes(rows)
    issues = findings(data, {})
    path = tmp_path / "qa" / "report.qa.xlsx"
    write_report(path, issues, summarize(data, issues))

    book = load_workbook(path)
    assert book.sheetnames == ["summary", "findings", "skipped"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == sheet.dimensions
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    cells = {(row[1].value, row[7].value): row[5].value for row in book["findings"].iter_rows(min_row=2)}
    assert cells["C2", "formula_like"] == '=HYPERLINK("http://evil","click")'
    assert cells["C3", "control_characters"] == "Ring\\x07"

    read_findings, read_summary = read_report(path)
    assert read_findings["rule"].tolist() == issues["rule"].tolist()
    assert read_summary["to_fill"].tolist() == [3]


def test_empty_run_has_empty_findings_and_summary(tmp_path: Path) -> None:
    data = outcomes([])
    issues = findings(data, {})
    summary = summarize(data, issues)
    assert issues.empty and summary.empty
    write_report(tmp_path / "r.xlsx", issues, summary)
    assert read_report(tmp_path / "r.xlsx")[0].empty


def test_glossary_term_objects_are_the_contract_type() -> None:
    assert GLOSSARY.terms_for(["勇者出发"], "en") == [GlossaryTerm("勇者", "Hero")]
