"""Split: what needs translating, deduplicated, cut into request batches.

A task is one (source language, target language, source text) that fills one or more empty target cells.
It carries the contexts of its cells (merged, capped) and the smallest max length among them; each assignment
keeps its own row's max length, which QA checks the cell against.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple, overload

import numpy as np
import pandas as pd

from translation_pipeline.localization.frames import ROW_CHUNK, row_codes, row_values
from translation_pipeline.localization.read.ledger import ledger_table
from translation_pipeline.localization.read.workbook import to_translate
from translation_pipeline.localization.schemas import AssignmentSchema, TaskSchema, validated
from translation_pipeline.localization.translate.contract import BatchItem, RequestBatch
from translation_pipeline.resources.compact_pickle import Packed

if TYPE_CHECKING:
    from translation_pipeline.localization.versions.plan import VersionPlan

MAX_CONTEXTS_PER_TASK = 3
MAX_CONTEXT_CHARS = 300


@dataclass
class TaskPlan:
    tasks: pd.DataFrame  # TaskSchema
    assignments: pd.DataFrame  # AssignmentSchema: which task fills which cell, and the row's own max length
    skipped: pd.DataFrame = field(default_factory=lambda: ledger_table([]))  # what reading left out
    layout: pd.DataFrame = field(default_factory=pd.DataFrame)  # how reading decided each column
    # the version in its lineage: classified cells (localization/versions); packed as the split stores it, as only
    # the export's last phase reads it
    versions: VersionPlan | Packed[VersionPlan] | None = None
    overwrite: frozenset[tuple[str, int]] = frozenset()  # (sheet, cell code) of stale machine text, `versions` packed
    # the rows its tasks' prompt contexts are made of (CONTEXT_COLUMNS) when its tasks carry none (`plan_work`): their
    # text is made as `translations` loads the tasks (`tasks_with_contexts`)
    contexts: pd.DataFrame | None = None

    @property
    def batch_count(self) -> int:
        return int(self.tasks["batch_id"].nunique())

    def stale_cells(self) -> Set[tuple[str, int]]:
        """(sheet, cell code) of the filled cells the export may overwrite: stale machine text."""
        if self.versions is None or isinstance(self.versions, Packed):
            return self.overwrite
        return self.versions.stale  # a plan made in process, or stored by an earlier release


class PlannedTasks(NamedTuple):
    """A stored plan's task table and its tasks' prompt contexts (`TaskContexts`; None when the table has them in its
    `context` column, as plans stored by earlier releases do)."""

    tasks: pd.DataFrame
    contexts: TaskContexts | None


def unpacked(versions: VersionPlan | Packed[VersionPlan] | None) -> VersionPlan | None:
    """A plan's version (`TaskPlan.versions`), unpacked (anew on each call when packed)."""
    return versions.unpack() if isinstance(versions, Packed) else versions


# A stored plan is these parts, each read only by a step that needs it (`resources/io_manager.py`): `tasks`
# without their prompt contexts, which only `translations` reads (a string per task: the largest part), the
# `contexts`, the `cells` (the assignments, the version's classified cells packed, and its stale cells: only the
# export reads them) and the `ledger` (skipped, layout). Plans stored by earlier releases have the version
# unpacked: beside the assignments (pickled together, a cell's sheet, reference and key were one string each), or
# as a part of its own (`assignments` and `versions` apart).
PLAN_PARTS = ("tasks", "contexts", "cells", "ledger")


def plan_parts(plan: TaskPlan) -> dict[str, object]:
    """The plan as the parts it is stored in (PLAN_PARTS)."""
    versions = plan.versions
    if versions is not None and not isinstance(versions, Packed):
        versions = Packed(versions.for_export())
    return {
        "tasks": plan.tasks.drop(columns="context", errors="ignore"),
        "contexts": plan.contexts if plan.contexts is not None else plan.tasks["context"],
        "cells": (plan.assignments, versions, frozenset(plan.stale_cells())),
        "ledger": (plan.skipped, plan.layout),
    }


def tasks_with_contexts(tasks: pd.DataFrame, contexts: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """A task table with its prompt contexts in their column, made from the rows of `_task_contexts` (or as stored,
    a string per task, by an earlier release)."""
    if isinstance(contexts, pd.DataFrame):
        texts = TaskContexts(contexts).texts(tasks["task_id"].to_numpy(dtype="int64"))
        contexts = pd.Series(texts, index=tasks.index, dtype=str)
    tasks.insert(list(_TASK_DTYPES).index("context"), "context", contexts)
    return tasks


def plan_from_parts(parts: Mapping[str, Any]) -> TaskPlan:
    """The plan from its stored parts (PLAN_PARTS, or `assignments` and `versions` apart for a plan stored by an
    earlier release); its tasks without their prompt contexts when `parts` has none."""
    tasks = parts["tasks"] if "contexts" not in parts else tasks_with_contexts(parts["tasks"], parts["contexts"])
    skipped, layout = parts["ledger"]
    cells = parts["cells"] if "cells" in parts else (parts["assignments"], parts["versions"])
    assignments, versions, *overwrite = cells  # no stale cells stored with a version stored unpacked
    if versions is not None and not isinstance(versions, Packed):  # stored unpacked, by an earlier release
        _share_sources(tasks, versions.classified["source_text"])
    return TaskPlan(tasks, assignments, skipped, layout, versions, *overwrite)


def _share_sources(tasks: pd.DataFrame, sources: pd.Series) -> None:
    """Give the tasks the source texts of the version's cells (`sources`) where they are equal: the two parts are
    pickled apart, so each holds its own copy of every text (200,000 rows: 17 MB of task texts held twice)."""
    held = {text: text for text in sources.tolist()}
    column = tasks["source_text"]
    tasks["source_text"] = pd.array([held.get(text, text) for text in column.tolist()], dtype=column.dtype)


CONTEXT_COLUMNS = ["task_id", "speaker", "note", "key"]


def _context(speaker: str, note: str, key: str) -> str:
    """A row's prompt context: `speaker: …; note: …; key: …` without the parts that are empty."""
    return "; ".join(filter(None, (speaker and f"speaker: {speaker}", note and f"note: {note}", f"key: {key}")))


def _task_contexts(work: pd.DataFrame, first: np.ndarray) -> pd.DataFrame:
    """The rows a task's prompt context is made of (CONTEXT_COLUMNS, by task, in row order: `TaskContexts`): per task
    (`work["task_id"]`, `first`: the position in `work` of each task's first row), its first row and each later row
    whose context differs from those before it, up to MAX_CONTEXTS_PER_TASK.

    Their text is made when `translations` makes each batch item: the split holds their rows'
    objects, not a string per task (1,000,000 rows of two targets: 1.6 million contexts, about 270 MiB, each with
    its row's key in it). Only the rows after their task's first are compared, a task at a time."""
    numbers = work["task_id"].to_numpy(dtype="int64") - 1
    later = np.flatnonzero(first[numbers] != np.arange(len(work)))  # the rows after their task's first
    later = later[np.argsort(numbers[later], kind="stable")]  # a task's together, in row order
    speakers, notes, keys = (work[column].to_numpy(dtype=object) for column in ("speaker", "note", "key"))
    extra: list[int] = []  # the rows adding a distinct context to their task's
    current, seen = -1, []  # the task compared, and its distinct contexts so far
    for position, number in zip(later.tolist(), numbers[later].tolist(), strict=True):
        if number != current:
            head = first[number]
            current, seen = number, [_context(speakers[head], notes[head], keys[head])]
        if len(seen) < MAX_CONTEXTS_PER_TASK:
            context = _context(speakers[position], notes[position], keys[position])
            if context not in seen:
                seen.append(context)
                extra.append(position)
    del speakers, notes, keys
    rows = np.concatenate([first, np.asarray(extra, dtype=np.int64)])
    rows = rows[np.argsort(work["task_id"].to_numpy(dtype="int64")[rows], kind="stable")]  # a task's first row first
    return work[CONTEXT_COLUMNS].iloc[rows].reset_index(drop=True)  # the columns first: no copy of the others


class TaskContexts:
    """The prompt context of each task, made from the rows of `_task_contexts` when asked for: a task's distinct row
    contexts joined with " | ", capped at MAX_CONTEXT_CHARS. `translations` holds these rows, not a string per
    task: made all at once as the tasks load, 1.6 million contexts at 1,000,000 rows of two targets left the step
    184 MiB larger than the strings themselves (their parts, freed among them, are memory Python keeps)."""

    __slots__ = ("_keys", "_notes", "_speakers", "_starts")

    def __init__(self, rows: pd.DataFrame) -> None:
        task_ids = rows["task_id"].to_numpy(dtype="int64")  # ascending, a task's rows together
        last = int(task_ids[-1]) if len(task_ids) else 0
        self._starts = np.searchsorted(task_ids, np.arange(last + 2))  # where each task id's rows start
        self._speakers, self._notes, self._keys = (
            rows[column].to_numpy(dtype=object) for column in ("speaker", "note", "key")
        )

    def __call__(self, task_id: int) -> str:
        """The prompt context of a task (empty for a task without rows)."""
        starts = self._starts
        start, end = (int(starts[task_id]), int(starts[task_id + 1])) if task_id + 1 < len(starts) else (0, 0)
        parts = (_context(self._speakers[i], self._notes[i], self._keys[i]) for i in range(start, end))
        return " | ".join(parts)[:MAX_CONTEXT_CHARS]

    def texts(self, task_ids: np.ndarray) -> list[str]:
        """The prompt contexts of `task_ids`, a context equal to the one before it that string (a row's cells for
        each target language come one after the other, and so do their tasks)."""
        texts, previous = [], ""
        for task_id in task_ids.tolist():
            context = self(task_id)
            previous = previous if context == previous else context
            texts.append(previous)
        return texts


def plan_tasks(
    cells: pd.DataFrame, max_items: int = 40, max_chars: int = 6000, also: Set[tuple[str, int]] = frozenset()
) -> TaskPlan:
    """Tasks for every empty target cell whose source is non-blank text, and for the filled cells in `also`
    ((sheet, cell code): stale machine text of a new version), cut into batches; with their prompt contexts."""
    plan = plan_work(work_cells(cells, also), max_items, max_chars)
    return replace(plan, tasks=tasks_with_contexts(plan.tasks, plan.contexts), contexts=None)


_GROUP_KEYS = ["source_language", "target_language", "source_text"]


def work_cells(cells: pd.DataFrame, also: Set[tuple[str, int]] = frozenset()) -> pd.DataFrame:
    """The cells `plan_tasks` makes tasks of, with the columns `plan_work` reads: a copy, so the cell table can be
    let go of while the plan is made."""
    wanted = to_translate(cells)
    if also:
        stale = pd.Series([pair in also for pair in row_values(cells, "sheet", "target_cell")],
                          index=cells.index, dtype=bool)  # fmt: skip
        wanted |= stale & (cells["source_kind"] == "text")
    return cells.loc[wanted, [*_GROUP_KEYS, "sheet", "target_cell", "key", "speaker", "note", "max_length"]]


def plan_work(work: pd.DataFrame, max_items: int = 40, max_chars: int = 6000) -> TaskPlan:
    """The tasks of the cells `work` (`work_cells`), cut into batches, and the rows their prompt contexts are made
    of (`TaskPlan.contexts`); `work` gets their task ids."""
    group_keys = _GROUP_KEYS
    columns = [c for c in _TASK_DTYPES if c != "context"]
    if work.empty:
        empty_tasks = pd.DataFrame({c: pd.Series(dtype=_TASK_DTYPES[c]) for c in columns})
        empty_assign = pd.DataFrame({c: pd.Series(dtype=_ASSIGNMENT_DTYPES[c]) for c in AssignmentSchema.columns})
        empty_contexts = pd.DataFrame({c: pd.Series(dtype="int64" if c == "task_id" else str) for c in CONTEXT_COLUMNS})
        return TaskPlan(validated(TaskSchema, empty_tasks), validated(AssignmentSchema, empty_assign),
                        contexts=empty_contexts)  # fmt: skip
    # each cell's task, numbered in order of first appearance; the grouping itself (a hash table and codes per key)
    # is not kept while the contexts are made
    group = _group_numbers(work, group_keys)
    count = int(group.max()) + 1
    first = np.flatnonzero(np.concatenate([[True], group[1:] > np.maximum.accumulate(group)[:-1]]))
    tasks = work[group_keys].iloc[first].reset_index(drop=True)
    smallest = np.full(count, np.inf)
    np.minimum.at(smallest, group, work["max_length"].to_numpy(dtype="float64", na_value=np.inf))
    tasks["max_length"] = pd.Series(smallest).replace(np.inf, np.nan).astype("Int64")
    tasks["cell_count"] = np.bincount(group, minlength=count).astype("int64")
    work["task_id"] = group + 1
    del group
    contexts = _task_contexts(work, first)
    tasks.insert(0, "task_id", np.arange(1, count + 1, dtype="int64"))
    tasks["batch_id"] = assign_batches(tasks, max_items, max_chars)
    tasks = tasks[columns]
    assignments = work[list(_ASSIGNMENT_DTYPES)].reset_index(drop=True)
    assignments["max_length"] = assignments["max_length"].astype("Int64")
    return TaskPlan(validated(TaskSchema, tasks), validated(AssignmentSchema, assignments), contexts=contexts)


def _group_numbers(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Each row's group of equal `keys`, numbered in order of first appearance (`groupby(sort=False).ngroup()`),
    from `row_codes`. (A cell to translate has all its keys; a frame with a missing one is grouped.)"""
    codes = row_codes(frame, keys)
    if codes is None:
        return frame.groupby(keys, sort=False).ngroup().to_numpy(dtype="int64")
    return pd.factorize(codes)[0].astype("int64", copy=False)


_TASK_DTYPES = {
    "task_id": "int64",
    "batch_id": str,
    "source_language": str,
    "target_language": str,
    "source_text": str,
    "context": str,
    "max_length": "Int64",
    "cell_count": "int64",
}
_ASSIGNMENT_DTYPES = {"sheet": str, "target_cell": "int64", "key": str, "task_id": "int64", "max_length": "Int64"}


def assign_batches(tasks: pd.DataFrame, max_items: int, max_chars: int) -> list[str]:
    """Batch id per task: one language pair per batch, at most `max_items` items and `max_chars`
    source characters (a longer single item gets a batch of its own)."""
    batch_ids: list[str] = []
    current: dict[tuple[str, str], tuple[str, int, int]] = {}  # pair -> (batch id, items, chars)
    count = 0
    for source, target, text in row_values(tasks, "source_language", "target_language", "source_text"):
        pair = (source, target)
        batch_id, items, chars = current.get(pair, ("", 0, 0))
        if not batch_id or items >= max_items or (items and chars + len(text) > max_chars):
            count += 1
            batch_id, items, chars = f"b{count}", 0, 0
        current[pair] = (batch_id, items + 1, chars + len(text))
        batch_ids.append(batch_id)
    return batch_ids


def item_id(task_id: int) -> str:
    """A task's id in its request batch and the engine's results (`t1`: the model reads a word, not a number).
    The tables keep the number: a million ids as strings cost about 60 MB in each table that holds them."""
    return f"t{task_id}"


def task_id_of(item: str) -> int:
    """The task id of an item id (`item_id`)."""
    return int(item[1:])


_UTF8 = ("utf-8", "surrogatepass")  # an answer's lone surrogate held as it is (the store cleans replies first)


class TaskTexts:
    """A text (or None) per task of a task table, put by item id as answers are stored, and held UTF-8 encoded: a
    bytes object per put (a batch's answers) and each task's place in it, not a str object per answer. 1,000,000
    rows of two targets: 1.6 million answers are 108 MiB of UTF-8 and 235 MiB as str objects (a pseudo answer
    holds characters beyond Latin-1, two bytes each and 74 bytes of object), held through the whole request run."""

    def __init__(self, task_ids: np.ndarray) -> None:
        self._rows = np.full(int(task_ids.max()) + 1 if len(task_ids) else 1, -1, dtype=np.int64)
        self._rows[task_ids] = np.arange(len(task_ids))
        self._chunks: list[bytes] = []
        # by the task's row in its table: its chunk (-1: no text), and its text's end in that chunk's bytes
        self._chunk = np.full(len(task_ids), -1, dtype=np.int32)
        self._start = np.zeros(len(task_ids), dtype=np.int64)
        self._end = np.zeros(len(task_ids), dtype=np.int64)

    def put_items(self, answers: Mapping[str, str]) -> None:
        """Texts by item id (`item_id`); a text put again replaces the one before."""
        if not answers:
            return
        rows = np.fromiter((self._rows[task_id_of(item)] for item in answers), dtype=np.int64, count=len(answers))
        encoded = [text.encode(*_UTF8) for text in answers.values()]
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        ends = np.cumsum(lengths)
        self._chunk[rows] = len(self._chunks)
        self._start[rows] = ends - lengths
        self._end[rows] = ends
        self._chunks.append(b"".join(encoded))

    def texts(self) -> Iterator[str | None]:
        """Each task's text (None: none put), in the order of the task table's rows."""
        chunks, chunk, start, end = self._chunks, self._chunk, self._start, self._end
        for first in range(0, len(chunk), ROW_CHUNK):
            rows = slice(first, first + ROW_CHUNK)
            for c, a, b in zip(chunk[rows].tolist(), start[rows].tolist(), end[rows].tolist(), strict=True):
                yield None if c < 0 else chunks[c][a:b].decode(*_UTF8)


class PlannedItems(Sequence[BatchItem]):
    """The items of one planned batch, each made from the task table's columns when it is read: a plan of
    1,000,000 rows of two targets has 1.6 million items, each a BatchItem and an id string held for the whole of
    the `translations` step before (which peaked at 1,546 MiB instead of 1,644 without them, and without a hash
    per source text in the memory lookups). A cut of them (a slice) is a tuple."""

    __slots__ = ("_columns", "_rows")

    def __init__(self, columns: _ItemColumns, rows: np.ndarray) -> None:
        self._columns = columns
        self._rows = rows  # the batch's rows of the task table, in plan order

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> BatchItem: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[BatchItem, ...]: ...
    def __getitem__(self, index: int | slice) -> BatchItem | tuple[BatchItem, ...]:
        if isinstance(index, slice):
            return tuple(map(self._columns.item, self._rows[index].tolist()))
        return self._columns.item(int(self._rows[index]))

    def __iter__(self) -> Iterator[BatchItem]:
        return map(self._columns.item, self._rows.tolist())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))


@dataclass(frozen=True)
class _ItemColumns:
    """The task table's columns that make its batch items."""

    task_ids: np.ndarray
    texts: np.ndarray
    contexts: np.ndarray | TaskContexts  # the task table's `context` column, or made when an item is
    max_lengths: list[int | None]

    def item(self, row: int) -> BatchItem:
        task_id = int(self.task_ids[row])
        contexts = self.contexts
        context = contexts(task_id) if isinstance(contexts, TaskContexts) else contexts[row]
        return BatchItem(item_id(task_id), self.texts[row], context, self.max_lengths[row])


def request_batches(tasks: pd.DataFrame, contexts: TaskContexts | None = None) -> list[RequestBatch]:
    """The request batches of a task table, in the order their batch ids first appear; their items are made as
    they are read (`PlannedItems`), with the prompt contexts of `contexts` or else of the table's `context`."""
    columns = _ItemColumns(
        tasks["task_id"].to_numpy(dtype="int64"),  # not a Python int per task, held for the step
        np.asarray(tasks["source_text"], dtype=object),
        contexts if contexts is not None else np.asarray(tasks["context"], dtype=object),
        [None if pd.isna(value) else int(value) for value in tasks["max_length"].tolist()],
    )
    codes, batch_ids = pd.factorize(tasks["batch_id"], sort=False)  # numbered in order of first appearance
    rows = np.argsort(codes, kind="stable").astype(np.int64)  # each batch's rows together, in plan order
    ends = np.cumsum(np.bincount(codes, minlength=len(batch_ids))).tolist()
    starts = [0, *ends[:-1]] if ends else []
    pairs = tasks[["source_language", "target_language"]].to_numpy(dtype=object)[rows[starts]]
    return [
        RequestBatch(str(batch_id), source, target, PlannedItems(columns, rows[start:end]))
        for batch_id, (source, target), start, end in zip(batch_ids, pairs, starts, ends, strict=True)
    ]
