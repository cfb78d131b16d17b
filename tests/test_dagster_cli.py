"""The chain through the `dagster` CLI against real instances: the shipped SQLite and MySQL (MariaDB)
`dagster.yaml` files, as an operator would run it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from openpyxl import load_workbook

from translation_pipeline.localization.inbox.archive import archive_file
from translation_pipeline.localization.translate.providers.pseudo import pseudo_localize

REPO = Path(__file__).resolve().parents[1]
DAGSTER = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"


@pytest.fixture(params=["sqlite", "mariadb"])
def instance_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "TRANSLATION_DATA_DIR": str(tmp_path / "data")}
    if request.param == "sqlite":
        shutil.copy(REPO / "deploy" / "dagster.sqlite.yaml", home / "dagster.yaml")
    else:
        shutil.copy(REPO / "deploy" / "dagster.mysql.yaml", home / "dagster.yaml")
        env.update(request.getfixturevalue("mysql_database").dagster_env())
    return env


def test_dagster_asset_materialize_runs_the_chain(
    instance_env: dict[str, str], sample_workbook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in instance_env.items():
        monkeypatch.setenv(name, value)
    data = Path(instance_env["TRANSLATION_DATA_DIR"])
    key = archive_file(sample_workbook, data / "archive").key
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions("workbooks", [key])

    done = subprocess.run(
        [DAGSTER, "asset", "materialize", "-m", "translation_pipeline.definitions", "--select", "*",
         "--partition", key],
        capture_output=True, text=True, env=instance_env, cwd=REPO, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]

    output = data / "outbox" / key / "sample_strings.translated.xlsx"
    assert load_workbook(output)["UI"]["C3"].value == pseudo_localize("取消", 8)
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("translated_workbook"))
        assert event is not None and event.dagster_event.partition == key
        assert event.asset_materialization.metadata["cells_written"].value == 36
        assert [run.status for run in instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS]
