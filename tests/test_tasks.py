"""Splitting: what needs work, deduplication across sheets, batch limits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from translation_pipeline.localization.plan.tasks import (
    TaskContexts,
    TaskTexts,
    assign_batches,
    item_id,
    plan_tasks,
    plan_work,
    request_batches,
    tasks_with_contexts,
    work_cells,
)
from translation_pipeline.localization.read.workbook import CELL_COLUMNS
from translation_pipeline.localization.refs import code_of
from translation_pipeline.localization.schemas import CellSchema
from translation_pipeline.localization.translate.contract import BatchItem


def cells(rows: list[tuple]) -> pd.DataFrame:
    """rows of (sheet, row, key, source_text, kind, target, filled, speaker, note, max_length)."""
    records = [
        (sheet, row, key, "zh-CN", text, kind, target, code_of(f"{'DE'[target == 'ja']}{row}"), filled, sp, note, ml)
        for sheet, row, key, text, kind, target, filled, sp, note, ml in rows
    ]
    frame = pd.DataFrame.from_records(records, columns=CELL_COLUMNS)
    frame["max_length"] = frame["max_length"].astype("Int64")
    return CellSchema.validate(frame)


def test_only_empty_targets_with_text_sources_become_tasks() -> None:
    plan = plan_tasks(
        cells([
            ("S", 2, "k1", "你好", "text", "en", False, "", "", None),
            ("S", 3, "k2", "好的", "text", "en", True, "", "", None),  # filled: never touched
            ("S", 4, "k3", None, "number", "en", False, "", "", None),
            ("S", 5, "k4", None, "formula", "en", False, "", "", None),
            ("S", 6, "k5", None, "blank", "en", False, "", "", None),
        ])
    )  # fmt: skip
    assert plan.tasks["source_text"].tolist() == ["你好"]
    assert plan.assignments[["target_cell", "key"]].values.tolist() == [[code_of("D2"), "k1"]]


def test_identical_strings_are_one_task_with_merged_context_and_smallest_max_length() -> None:
    plan = plan_tasks(
        cells([
            ("Dialog", 2, "d1", "确定", "text", "en", False, "商人", "button", 12),
            ("UI", 7, "u1", "确定", "text", "en", False, "", "menu", 8),
            ("UI", 7, "u1", "确定", "text", "ja", False, "", "menu", 8),
            ("UI", 9, "u2", "取消", "text", "en", False, "", "", None),
        ])
    )  # fmt: skip
    tasks = plan.tasks.set_index(["target_language", "source_text"])
    assert len(plan.tasks) == 3 and len(plan.assignments) == 4
    assert tasks.loc[("en", "确定"), "cell_count"] == 2
    assert tasks.loc[("en", "确定"), "max_length"] == 8
    assert tasks.loc[("en", "确定"), "context"] == "speaker: 商人; note: button; key: d1 | note: menu; key: u1"
    assert pd.isna(tasks.loc[("en", "取消"), "max_length"])
    same_task = plan.assignments.groupby("task_id").size()
    assert sorted(same_task.tolist()) == [1, 1, 2]


def test_merged_context_keeps_the_first_three_distinct_contexts_in_row_order_capped() -> None:
    rows = [
        ("S", 2, "k", "好", "text", "en", False, "", "a", None),
        ("S", 3, "k", "好", "text", "en", False, "", "a", None),
    ]
    rows += [("S", n, f"k{n}", "好", "text", "en", False, "", "", None) for n in range(4, 8)]
    rows += [
        ("S", 8, "x", "长", "text", "en", False, "", "n" * 400, None),
        ("S", 9, "y", "无", "text", "ja", False, "", "", 1),
    ]
    tasks = plan_tasks(cells(rows)).tasks.set_index("source_text")["context"]
    assert tasks["好"] == "note: a; key: k | key: k4 | key: k5"  # the repeat of row 2 counts once
    assert tasks["长"] == ("note: " + "n" * 400)[:300]
    assert tasks["无"] == "key: y"


def test_the_split_holds_the_rows_of_each_context_and_their_text_is_made_once_loaded() -> None:
    """`plan_work` keeps, per task, the rows its prompt context is made of (no string per task);
    `tasks_with_contexts` makes the same text `plan_tasks` gives, for the whole table or any cut of it."""
    rows = [
        ("S", 2, "k", "好", "text", "en", False, "村长", "a", None),
        ("S", 3, "k2", "好", "text", "en", False, "村长", "a", None),
        ("S", 4, "k", "好", "text", "en", False, "村长", "a", None),  # the context of row 2 again: not a row of its own
        ("S", 5, "k3", "坏", "text", "ja", False, "", "", None),
    ]
    frame = cells(rows)
    plan = plan_work(work_cells(frame))
    assert "context" not in plan.tasks.columns
    assert plan.contexts.values.tolist() == [[1, "村长", "a", "k"], [1, "村长", "a", "k2"], [2, "", "", "k3"]]
    formatted = plan_tasks(frame).tasks
    merged = "speaker: 村长; note: a; key: k | speaker: 村长; note: a; key: k2"
    assert formatted["context"].tolist() == [merged, "key: k3"]
    assert tasks_with_contexts(plan.tasks.copy(), plan.contexts).equals(formatted)
    cut = plan.tasks.iloc[[1]].copy()
    assert tasks_with_contexts(cut, plan.contexts)["context"].tolist() == ["key: k3"]
    made = TaskContexts(plan.contexts)  # as `translations` holds them: each made as its batch item is
    items = [item for batch in request_batches(plan.tasks, made) for item in batch.items]
    assert [item.context for item in items] == [merged, "key: k3"] and made(99) == ""


def test_batches_respect_item_and_character_limits_and_never_mix_languages() -> None:
    tasks = pd.DataFrame({
        "source_language": ["zh-CN"] * 7,
        "target_language": ["en", "en", "en", "ja", "en", "en", "en"],
        "source_text": ["a" * 10, "b" * 10, "c" * 10, "d", "e" * 50, "f", "g"],
    })  # fmt: skip
    ids = assign_batches(tasks, max_items=3, max_chars=30)
    assert ids == ["b1", "b1", "b1", "b2", "b3", "b4", "b4"]


def test_request_batches_carry_ids_context_and_max_length() -> None:
    plan = plan_tasks(
        cells([("S", i, f"k{i}", f"文本{i}", "text", "en", False, "", "", 5 if i == 2 else None) for i in range(2, 6)]),
        max_items=3,
    )
    batches = request_batches(plan.tasks)
    assert [len(b.items) for b in batches] == [3, 1]
    first = batches[0].items[0]
    assert (first.id, first.text, first.max_length, first.context) == ("t1", "文本2", 5, "key: k2")
    assert all(b.source_language == "zh-CN" and b.target_language == "en" for b in batches)


def test_planned_items_are_the_tasks_of_their_batch_in_plan_order() -> None:
    rows = [("S", i, f"k{i}", f"句{i}", "text", target, False, "村长" if i % 2 else "", "", 7 if i == 3 else None)
            for i in range(2, 9) for target in ("en", "ja")]  # fmt: skip
    plan = plan_tasks(cells(rows), max_items=3)
    batches = request_batches(plan.tasks)
    tasks = plan.tasks
    expected = {
        batch_id: tuple(
            BatchItem(f"t{t}", text, context, None if pd.isna(limit) else int(limit))
            for t, text, context, limit in group[["task_id", "source_text", "context", "max_length"]].itertuples(
                index=False, name=None
            )
        )
        for batch_id, group in tasks.groupby("batch_id", sort=False)
    }
    assert [b.batch_id for b in batches] == list(expected)  # the en and ja tasks alternate in the table
    for batch in batches:
        pair = tasks.loc[tasks["batch_id"] == batch.batch_id, ["source_language", "target_language"]].iloc[0]
        assert (batch.source_language, batch.target_language) == tuple(pair)
        assert tuple(batch.items) == expected[batch.batch_id] and batch.items == expected[batch.batch_id]
        assert batch.items[1:] == expected[batch.batch_id][1:] and isinstance(batch.items[:2], tuple)
        assert batch.items[-1] == expected[batch.batch_id][-1] and len(batch.items) == len(expected[batch.batch_id])
    assert request_batches(tasks.iloc[:0]) == []


def test_nothing_to_do_is_an_empty_valid_plan() -> None:
    plan = plan_tasks(cells([("S", 2, "k", "好", "text", "en", True, "", "", None)]))
    assert plan.tasks.empty and plan.assignments.empty and plan.batch_count == 0


def test_task_texts_hold_each_answer_by_its_task_row() -> None:
    """Answers put by item id, a batch at a time, come back by the task table's rows, exactly as put (CJK, a lone
    surrogate, an empty text); a task put again keeps its last answer, a task never put is None."""
    texts = TaskTexts(np.array([5, 3, 9, 1, 12]))
    texts.put_items({item_id(3): "Hé", item_id(9): "勇者\ud800出发", item_id(12): ""})
    texts.put_items({})
    texts.put_items({item_id(1): "OK", item_id(3): "Hello 🎮"})
    assert list(texts.texts()) == [None, "Hello 🎮", "勇者\ud800出发", "OK", ""]
    assert list(TaskTexts(np.array([], dtype=np.int64)).texts()) == []


def test_group_numbers_are_groupbys_in_order_of_first_appearance() -> None:
    """Tasks are numbered by their cells' groups as pandas would number them."""
    from translation_pipeline.localization.plan.tasks import _group_numbers

    keys = ["source_language", "target_language", "source_text"]
    frame = pd.DataFrame({
        "source_language": ["zh", "zh", "zh", "ja", "zh", "zh"],
        "target_language": ["en", "ja", "en", "en", "en", "ja"],
        "source_text": ["甲", "甲", "乙", "甲", "甲", "乙"],
    })  # fmt: skip
    assert _group_numbers(frame, keys).tolist() == [0, 1, 2, 3, 0, 4]
    assert _group_numbers(frame, keys).tolist() == frame.groupby(keys, sort=False).ngroup().tolist()
