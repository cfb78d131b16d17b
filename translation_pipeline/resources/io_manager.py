"""Step outputs as pickles in the data dir (Dagster's filesystem IO manager), a task plan in parts.

A plan of 1,000,000 rows is about 900 MB in memory, and no step reads all of it: `translations` reads the
tasks and their prompt contexts, the export everything but the contexts. So a plan is stored as its parts
(`plan/tasks.py` PLAN_PARTS): the tasks at the partition's own path, each other part beside it
(`<partition>.<part>`). An input says what it reads in its metadata, and a part it does not read is never
loaded:

- `{"plan_part": "tasks"}`: the task table and its prompt contexts (`PlannedTasks`);
- `{"plan_without": ["contexts"]}`: the plan, its tasks without their prompt contexts;
- nothing: the whole plan.

A plan stored whole, by an earlier release, loads as it was. With `{"stored": True}` too, an input is loaded when
the step takes it (`Stored`).

Outputs are pickled by `CompactPickler` (`resources/compact_pickle.py`).
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

import dagster as dg
import pandas as pd
from dagster import InputContext, OutputContext

# not exported by dagster (pinned in pyproject.toml); what dg.FilesystemIOManager makes: pickling, the paths
# and their escaping are its own
from dagster._core.storage.fs_io_manager import PICKLE_PROTOCOL, PickledObjectFilesystemIOManager
from upath import UPath

from translation_pipeline.localization.plan.tasks import (
    PLAN_PARTS,
    PlannedTasks,
    TaskContexts,
    TaskPlan,
    plan_from_parts,
    plan_parts,
    tasks_with_contexts,
)
from translation_pipeline.resources.compact_pickle import (  # outputs pickled by earlier releases name its loaders here
    CompactPickler,
    _object_array,  # noqa: F401
    _object_rows,  # noqa: F401
)

T = TypeVar("T")


def part_path(path: UPath, part: str) -> UPath:
    """Where a part of the plan stored at `path` is; the tasks are at `path` itself."""
    return path if part == "tasks" else path.with_name(f"{path.name}.{part}")


class Stored(Generic[T]):
    """An input loaded when the step takes it (`{"stored": True}` in its metadata), and then held by the step alone.

    Dagster holds a step's inputs until the step ends; a step that needs a large input for part of its work takes
    it and lets go of it once used: the split its cell table (2 million rows at 1,000,000 rows of two targets)
    before it stores its plan, the export the plan's tasks and assignments and the translations once they are
    merged into the cells' outcomes."""

    def __init__(self, load: Callable[[], T]) -> None:
        self._load: Callable[[], T] | None = load

    def take(self) -> T:
        """The input, loaded now; once only."""
        load, self._load = self._load, None
        if load is None:
            raise RuntimeError("a stored input is taken once")
        return load()


# the `dagster_type` of a stored input: Dagster makes no type of a generic class's annotation
STORED = dg.PythonObjectDagsterType(Stored, name="Stored")


def stored_in(**metadata: Any) -> dg.AssetIn:
    """An asset input its step takes (`Stored`), with the IO manager's other `metadata` (`plan_without`)."""
    return dg.AssetIn(metadata={**metadata, "stored": True}, dagster_type=STORED)


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
                CompactPickler(file, max(PICKLE_PROTOCOL, 5)).dump(obj)  # 5: arrays stored as they are, not copied
        except (AttributeError, RecursionError, ImportError, pickle.PicklingError):
            super().dump_to_path(context, obj, path)  # Dagster's own pickling, and its message if that fails too

    def load_from_path(self, context: InputContext, path: UPath) -> Any:
        metadata = context.definition_metadata or {}
        part, contexts = metadata.get("plan_part"), "contexts" not in metadata.get("plan_without", ())
        if metadata.get("stored"):
            return Stored(functools.partial(self.read, path, part, contexts))
        return self.read(path, part, contexts)

    def read(self, path: UPath, part: str | None = None, contexts: bool = True) -> Any:
        """The output stored at `path`; for a plan, only its task table and prompt contexts when `part` is "tasks"
        (`PlannedTasks`), and its tasks without their prompt contexts unless `contexts`."""
        stored = super().load_from_path(None, path)  # type: ignore[arg-type]  # the context is not read
        if isinstance(stored, TaskPlan):  # stored whole by an earlier release
            return PlannedTasks(stored.tasks, None) if part == "tasks" else stored
        if not isinstance(stored, StoredPlan):
            return stored
        if part == "tasks":
            contexts = self._part(path, "contexts")
            if isinstance(contexts, pd.DataFrame):  # the rows each context is made of
                return PlannedTasks(stored.tasks, TaskContexts(contexts))
            return PlannedTasks(tasks_with_contexts(stored.tasks, contexts), None)  # a string per task
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
