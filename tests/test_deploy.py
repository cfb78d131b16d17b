"""The multi-machine deploy example's instance config loads against a real MariaDB server.

Nothing here starts containers (no Docker engine on the build machines): it proves the YAML is a
valid Dagster instance whose storage is MySQL, with the queued coordinator, the Docker run launcher,
the LLM pool limit and compute logs on the shared volume; and that every shipped instance file turns on
run monitoring."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def use_home(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """DAGSTER_HOME holding a copy of `config` as dagster.yaml, with `env` set."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(config, home / "dagster.yaml")
    for name, value in {**env, "DAGSTER_HOME": str(home)}.items():
        monkeypatch.setenv(name, value)


def test_docker_instance_config_loads(mysql_database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_home(REPO / "deploy" / "docker" / "dagster.yaml", tmp_path, monkeypatch, mysql_database.dagster_env())
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


@pytest.mark.parametrize("config", ["dagster.sqlite.yaml", "dagster.mysql.yaml", "docker/dagster.yaml"])
def test_shipped_instances_enable_run_monitoring(
    config: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each shipped instance file loads with run monitoring on (a max_resume_run_attempts the launcher
    cannot honour would be rejected here), and the daemon would run the MONITORING daemon for it."""
    path = REPO / "deploy" / config
    mysql = "mysql:" in path.read_text()
    use_home(path, tmp_path, monkeypatch, request.getfixturevalue("mysql_database").dagster_env() if mysql else {})
    with dg.DagsterInstance.get() as instance:
        assert instance.run_monitoring_enabled
        assert "MONITORING" in instance.get_required_daemon_types()
        assert instance.run_monitoring_start_timeout_seconds > 0 and instance.run_monitoring_cancel_timeout_seconds > 0
        assert instance.run_monitoring_max_runtime_seconds == 6 * 3600
        assert instance.run_monitoring_max_resume_run_attempts == 0
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] == 300  # `llm` pool slots
        # both launchers check a run worker's health: the Docker one its container, the warm one its process
        launcher = "DockerRunLauncher" if config.startswith("docker/") else "WarmRunLauncher"
        assert type(instance.run_launcher).__name__ == launcher
        assert instance.run_launcher.supports_check_run_worker_health
        assert instance.run_retries_enabled  # a run monitoring marks FAILED is re-executed from failure
