"""Inputs a step takes (`Stored`, resources/io_manager.py): loaded when taken, then held by the step alone."""

from __future__ import annotations

import gc
import weakref

import dagster as dg
import pandas as pd
import pytest
from upath import UPath

from translation_pipeline.resources.io_manager import PlanPartsIOManager, Stored


class Table(pd.DataFrame):
    """A DataFrame that a weak reference can follow."""

    @property
    def _constructor(self) -> type[Table]:
        return Table


def test_a_stored_input_loads_when_taken_once_and_is_not_kept(tmp_path: UPath) -> None:
    manager = PlanPartsIOManager(base_dir=str(tmp_path))
    path = UPath(tmp_path) / "table"
    manager.dump_to_path(dg.build_output_context(), Table({"a": [1, 2]}), path)
    handle = manager.load_from_path(dg.build_input_context(definition_metadata={"stored": True}), path)
    plain = manager.load_from_path(dg.build_input_context(), path)
    assert isinstance(handle, Stored) and isinstance(plain, pd.DataFrame)
    path.unlink()  # nothing was read yet: taking it now finds no file
    with pytest.raises(FileNotFoundError):
        handle.take()
    manager.dump_to_path(dg.build_output_context(), Table({"a": [1, 2]}), path)
    handle = manager.load_from_path(dg.build_input_context(definition_metadata={"stored": True}), path)
    table = handle.take()
    assert table["a"].tolist() == [1, 2]
    with pytest.raises(RuntimeError, match="taken once"):
        handle.take()
    gone = weakref.ref(table)
    del table
    gc.collect()
    assert gone() is None  # the handle, which Dagster holds for the whole step, does not keep what it loaded
