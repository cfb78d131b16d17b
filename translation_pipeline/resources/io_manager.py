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
"""

from __future__ import annotations

import pickle
from typing import Any, NamedTuple

import dagster as dg
import pandas as pd
from dagster import InputContext, OutputContext
from upath import UPath

from translation_pipeline.localization.plan.tasks import (
    PLAN_PARTS,
    TaskPlan,
    plan_from_parts,
    plan_parts,
    tasks_from_parts,
)


def part_path(path: UPath, part: str) -> UPath:
    """Where a part of the plan stored at `path` is; the tasks are at `path` itself."""
    return path if part == "tasks" else path.with_name(f"{path.name}.{part}")


class StoredPlan(NamedTuple):
    """What the partition's own path holds for a plan: its tasks, the other parts beside it."""

    tasks: pd.DataFrame


def _dump(obj: object, path: UPath) -> None:
    with path.open("wb") as file:
        pickle.dump(obj, file, pickle.HIGHEST_PROTOCOL)


def _load(path: UPath) -> Any:
    with path.open("rb") as file:
        return pickle.load(file)


class PlanPartsIOManager(dg.UPathIOManager):
    """Pickles under `base_dir`, at the paths of Dagster's FilesystemIOManager (`<asset>/<partition>`), a TaskPlan
    in parts, loading only those an input reads."""

    extension = ""

    def __init__(self, base_dir: str) -> None:
        super().__init__(base_path=UPath(base_dir))

    def make_safe_partition_path(self, base_path: UPath, partition: str) -> UPath:
        """As Dagster's FilesystemIOManager: a leading `/` and `..` segments escaped, never a path off the base."""
        segments = ["%2E%2E" if s == ".." else s for s in partition.split("/")]
        safe = "/".join(segments)
        return base_path / ("%2F" + safe[1:] if safe.startswith("/") else safe)

    def dump_to_path(self, context: OutputContext, obj: Any, path: UPath) -> None:
        if not isinstance(obj, TaskPlan):
            _dump(obj, path)
            return
        parts = plan_parts(obj)
        for part in PLAN_PARTS[1:]:  # the tasks last: a plan whose tasks are stored has all its parts
            _dump(parts[part], part_path(path, part))
        _dump(StoredPlan(parts["tasks"]), path)

    def load_from_path(self, context: InputContext, path: UPath) -> Any:
        metadata = context.definition_metadata or {}
        return read_stored(path, metadata.get("plan_part"), "contexts" not in metadata.get("plan_without", ()))


def read_stored(path: UPath, part: str | None = None, contexts: bool = True) -> Any:
    """The output stored at `path`; for a plan, only its task table when `part` is "tasks", and its tasks without
    their prompt contexts unless `contexts`."""
    stored = _load(path)
    if isinstance(stored, TaskPlan):  # stored whole by an earlier release
        return stored.tasks if part == "tasks" else stored
    if not isinstance(stored, StoredPlan):
        return stored

    def load(name: str) -> object:
        return stored.tasks if name == "tasks" else _load(part_path(path, name))

    return tasks_from_parts(load) if part == "tasks" else plan_from_parts(load, contexts)


class PlanPartsFilesystemIOManager(dg.ConfigurableIOManagerFactory):
    """`PlanPartsIOManager` under `base_dir`."""

    base_dir: str

    def create_io_manager(self, context: dg.InitResourceContext) -> PlanPartsIOManager:
        return PlanPartsIOManager(base_dir=self.base_dir)
