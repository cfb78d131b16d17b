"""Step outputs as pickles in the data dir (Dagster's filesystem IO manager), a task plan in parts.

A plan of 1,000,000 rows is about 900 MB in memory, and no step reads all of it: `translations` reads the
tasks and their prompt contexts, the export everything but the contexts. So a plan is stored as its parts
(`plan/tasks.py` PLAN_PARTS): the tasks at the partition's own path, each other part beside it
(`<partition>.<part>`). An input says what it reads in its metadata, and a part it does not read is never
loaded:

- `{"plan_part": "tasks"}`: the task table alone (a DataFrame);
- `{"plan_without": ["contexts"]}`: the plan, its tasks without their prompt contexts;
- nothing: the whole plan.

A plan stored whole, by an earlier release, loads as it was.

A column of few distinct objects (a sheet name, a language, a status: the same string object in every row) is
pickled as those objects and a byte per row (`CompactPickler`), not as a list of every row's object, which pickle
keeps until the whole output is written and unpickling until it is read: 1,000,000 rows of two targets, a table
of 2 million cells, cost 16 MB per such column both ways. What it loads is the same table.
"""

from __future__ import annotations

import pickle
from typing import Any, NamedTuple

import dagster as dg
import numpy as np
import pandas as pd
from dagster import InputContext, OutputContext

# not exported by dagster (pinned in pyproject.toml); what dg.FilesystemIOManager makes: pickling, the paths
# and their escaping are its own
from dagster._core.storage.fs_io_manager import PICKLE_PROTOCOL, PickledObjectFilesystemIOManager
from upath import UPath

from translation_pipeline.localization.plan.tasks import (
    PLAN_PARTS,
    TaskPlan,
    plan_from_parts,
    plan_parts,
    tasks_with_contexts,
)


def part_path(path: UPath, part: str) -> UPath:
    """Where a part of the plan stored at `path` is; the tasks are at `path` itself."""
    return path if part == "tasks" else path.with_name(f"{path.name}.{part}")


COMPACT_MAX_DISTINCT = 255  # distinct objects of a column pickled as a byte per row


def _distinct(values: np.ndarray) -> tuple[list[object], np.ndarray] | None:
    """The distinct objects of a 1-D contiguous object array, told apart by identity as pickle's memo tells them,
    and each element's position among them (uint8); None when it has more than COMPACT_MAX_DISTINCT."""
    addresses = np.frombuffer(memoryview(values), dtype=np.intp)  # the elements' addresses, not a copy
    codes, uniques = pd.factorize(addresses, sort=False)  # codes in order of first appearance
    if len(uniques) > COMPACT_MAX_DISTINCT:
        return None
    first = np.unique(codes, return_index=True)[1]  # the first element of each, in the order of their codes
    return list(values[first]), codes.astype(np.uint8)


def _object_array(distinct: list[object], codes: np.ndarray) -> np.ndarray:
    """An object array from its distinct objects and each element's position among them (`CompactPickler`)."""
    objects = np.empty(len(distinct), dtype=object)
    for index, value in enumerate(distinct):  # one by one: a tuple among them stays one object
        objects[index] = value
    return objects[codes]


def _object_rows(rows: list[np.ndarray]) -> np.ndarray:
    """A 2-D object array from its rows (`CompactPickler`)."""
    values = np.empty((len(rows), len(rows[0])), dtype=object)
    for target, row in zip(values, rows, strict=True):
        target[:] = row
    return values


class CompactPickler(pickle.Pickler):
    """A pickler storing a C-contiguous 1-D object array (a table's column) with at most COMPACT_MAX_DISTINCT
    distinct objects as those objects and a byte per element; a 2-D one (a block of several columns) row by row."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is not np.ndarray or obj.dtype != object or not obj.size or not obj.flags.c_contiguous:
            return NotImplemented
        if obj.ndim == 2:
            return _object_rows, (list(obj),)
        distinct = _distinct(obj) if obj.ndim == 1 else None
        return NotImplemented if distinct is None else (_object_array, distinct)


class StoredPlan(NamedTuple):
    """What the partition's own path holds for a plan: its tasks, the other parts beside it."""

    tasks: pd.DataFrame


class PlanPartsIOManager(PickledObjectFilesystemIOManager):
    """Dagster's pickling filesystem IO manager, storing a TaskPlan in parts and loading only those an input
    reads."""

    def dump_to_path(self, context: OutputContext, obj: Any, path: UPath) -> None:
        if not isinstance(obj, TaskPlan):
            self._dump(context, obj, path)
            return
        parts = plan_parts(obj)
        for part in PLAN_PARTS[1:]:  # the tasks last: a plan whose tasks are stored has all its parts
            self._dump(context, parts[part], part_path(path, part))
        self._dump(context, StoredPlan(parts["tasks"]), path)

    def _dump(self, context: OutputContext, obj: Any, path: UPath) -> None:
        try:
            with path.open("wb") as file:
                CompactPickler(file, PICKLE_PROTOCOL).dump(obj)
        except (AttributeError, RecursionError, ImportError, pickle.PicklingError):
            super().dump_to_path(context, obj, path)  # Dagster's own pickling, and its message if that fails too

    def load_from_path(self, context: InputContext, path: UPath) -> Any:
        metadata = context.definition_metadata or {}
        return self.read(path, metadata.get("plan_part"), "contexts" not in metadata.get("plan_without", ()))

    def read(self, path: UPath, part: str | None = None, contexts: bool = True) -> Any:
        """The output stored at `path`; for a plan, only its task table when `part` is "tasks", and its tasks
        without their prompt contexts unless `contexts`."""
        stored = super().load_from_path(None, path)  # type: ignore[arg-type]  # the context is not read
        if isinstance(stored, TaskPlan):  # stored whole by an earlier release
            return stored.tasks if part == "tasks" else stored
        if not isinstance(stored, StoredPlan):
            return stored
        if part == "tasks":
            return tasks_with_contexts(stored.tasks, self._part(path, "contexts"))
        wanted = [p for p in PLAN_PARTS[1:] if contexts or p != "contexts"]
        if not part_path(path, "cells").exists():  # stored by an earlier release: the cells' two tables apart
            wanted = [*(p for p in wanted if p != "cells"), "assignments", "versions"]
        return plan_from_parts({"tasks": stored.tasks, **{p: self._part(path, p) for p in wanted}})

    def _part(self, path: UPath, part: str) -> Any:
        return super().load_from_path(None, part_path(path, part))  # type: ignore[arg-type]  # the context is not read


class PlanPartsFilesystemIOManager(dg.FilesystemIOManager):
    """dg.FilesystemIOManager (the same `base_dir`), making a PlanPartsIOManager."""

    def create_io_manager(self, context: dg.InitResourceContext) -> PlanPartsIOManager:
        return PlanPartsIOManager(base_dir=self.base_dir or context.instance.storage_directory())
