"""The multi-machine deploy example's instance config loads against a real MariaDB server.

Nothing here starts containers (no Docker engine on the build machines): it proves the YAML is a
valid Dagster instance whose storage is MySQL, with the queued coordinator, the Docker run launcher,
the LLM pool limit and compute logs on the shared volume."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def test_docker_instance_config_loads(mysql_database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "docker" / "dagster.yaml", home / "dagster.yaml")
    for name, value in mysql_database.dagster_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "MySQLRunStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        launcher = instance.run_launcher
        assert type(launcher).__name__ == "DockerRunLauncher"
        assert launcher.image == "translation-pipeline:latest"
        assert "OPENAI_API_KEY" in launcher.env_vars and "TRANSLATION_DB_URL" in launcher.env_vars
        assert instance.compute_log_manager._base_dir == "/data/compute_logs"


def test_compose_services_share_one_image_and_the_data_volume() -> None:
    compose = yaml.safe_load((REPO / "deploy" / "docker" / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("code", "webserver", "daemon"):
        assert services[name]["image"] == "translation-pipeline:latest"
        assert "translation-data:/data" in services[name]["volumes"]
    assert services["daemon"]["environment"]["TRANSLATION_DB_URL"].startswith("mysql+mysqlconnector://")
