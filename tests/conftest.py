"""Shared fixtures: an isolated environment and data dir per test, sample workbooks made in code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from translation_pipeline.localization.inbox.archive import archive_file
from translation_pipeline.sample import write_sample_workbook
from translation_pipeline.settings import ENV_VARS

pytest_plugins = ["tests.mysql_server"]


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TRANSLATION_* setting or YAML file from the developer's shell leaks into a test."""
    for var in [*ENV_VARS, "TRANSLATION_CONFIG"]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "data"
    monkeypatch.setenv("TRANSLATION_DATA_DIR", str(root))
    return root


@pytest.fixture
def sample_workbook(tmp_path: Path) -> Path:
    return write_sample_workbook(tmp_path / "drop" / "sample_strings.xlsx")


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A temporary Dagster instance (SQLite in a temp dir), as `dagster dev` would use."""
    with dg.instance_for_test() as test_instance:
        yield test_instance


def register(instance: dg.DagsterInstance, workbook: Path, data_dir: Path) -> str:
    """Archive a workbook and add its partition, as the drop-folder sensor does; returns the key."""
    key = archive_file(workbook, data_dir / "archive").key
    instance.add_dynamic_partitions("workbooks", [key])
    return key
