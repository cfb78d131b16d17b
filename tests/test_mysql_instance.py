"""dagster-mysql on a real MariaDB server, configured by deploy/dagster.mysql.yaml.

MariaDB is not officially supported by dagster-mysql; these tests prove the storage paths the
pipeline relies on work (runs, events, dynamic partitions, sensor cursors/ticks, pool slots, CLI).
Also checks that deploy/dagster.sqlite.yaml loads and runs.
"""

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pytest
from dagster._core.definitions.sensor_definition import SensorType
from dagster._core.remote_origin import ManagedGrpcPythonEnvCodeLocationOrigin, RemoteRepositoryOrigin
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    SensorInstigatorData,
    TickData,
    TickStatus,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

if TYPE_CHECKING:  # imported by pytest_plugins below (a plain import first would skip assert rewriting)
    from tests.mysql_server import MySQLDatabase

# Registers the mysql_server / mysql_database fixtures when run on its own; a no-op if
# tests/conftest.py already lists the same plugin.
pytest_plugins = ["tests.mysql_server"]

REPO_ROOT = Path(__file__).resolve().parents[1]
MYSQL_YAML = REPO_ROOT / "deploy" / "dagster.mysql.yaml"
SQLITE_YAML = REPO_ROOT / "deploy" / "dagster.sqlite.yaml"
DAGSTER_BIN = Path(sys.executable).parent / "dagster"

workbooks = dg.DynamicPartitionsDefinition(name="workbooks")
# 3- and 4-byte UTF-8 keys: these need utf8mb4 end to end.
PARTITION_KEYS = ["ui_strings.xlsx", "任务文本.xlsx", "emoji_🎮.xlsx"]


@dg.asset(partitions_def=workbooks, pool="llm")
def translated_workbook(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3, "partition": context.partition_key, "sample": "你好，世界 ✓"})


@dg.asset
def broken_asset() -> None:
    raise RuntimeError("boom from broken_asset")


@dg.sensor(name="workbook_sensor", minimum_interval_seconds=30)
def workbook_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    seen = set(filter(None, (context.cursor or "").split("|")))
    new = [k for k in PARTITION_KEYS if k not in seen]
    return dg.SensorResult(
        dynamic_partitions_requests=[workbooks.build_add_request(new)] if new else [],
        cursor="|".join(sorted(seen | set(new))),
    )


def _render_home(home: Path, yaml_path: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(yaml_path, home / "dagster.yaml")
    return home


@pytest.fixture
def mysql_env(mysql_database: "MySQLDatabase", tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    home = _render_home(tmp_path / "dagster_home", MYSQL_YAML)
    env = {**mysql_database.dagster_env(), "DAGSTER_HOME": str(home)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def mysql_instance(mysql_env: dict[str, str]) -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.from_config(mysql_env["DAGSTER_HOME"]) as instance:
        yield instance


def test_instance_uses_mysql_storage_and_config(mysql_instance: dg.DagsterInstance) -> None:
    from dagster_mysql import MySQLEventLogStorage, MySQLRunStorage, MySQLScheduleStorage

    assert isinstance(mysql_instance.run_storage, MySQLRunStorage)
    assert isinstance(mysql_instance.event_log_storage, MySQLEventLogStorage)
    assert isinstance(mysql_instance.schedule_storage, MySQLScheduleStorage)
    assert "MariaDB" in (mysql_instance.run_storage.get_server_version() or "")

    assert mysql_instance.run_retries_enabled
    assert mysql_instance.run_retries_max_retries == 2
    assert mysql_instance.run_retries_retry_on_asset_or_op_failure
    assert type(mysql_instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    concurrency = mysql_instance.get_concurrency_config()
    assert concurrency.run_queue_config is not None
    assert concurrency.run_queue_config.max_concurrent_runs == 4
    assert concurrency.pool_config.default_pool_limit == 1
    assert concurrency.pool_config.pool_granularity is not None
    assert concurrency.pool_config.pool_granularity.value == "op"
    assert not mysql_instance.telemetry_enabled


def test_dynamic_partitions_and_materialization(mysql_instance: dg.DagsterInstance) -> None:
    instance = mysql_instance
    instance.add_dynamic_partitions("workbooks", PARTITION_KEYS)
    assert list(instance.get_dynamic_partitions("workbooks")) == PARTITION_KEYS
    assert instance.has_dynamic_partition("workbooks", "任务文本.xlsx")

    for key in PARTITION_KEYS[:2]:
        result = dg.materialize([translated_workbook], instance=instance, partition_key=key)
        assert result.success

    asset_key = dg.AssetKey("translated_workbook")
    event = instance.get_latest_materialization_event(asset_key)
    assert event is not None and event.asset_materialization is not None
    assert event.asset_materialization.partition == "任务文本.xlsx"
    metadata = event.asset_materialization.metadata
    assert metadata["rows"].value == 3
    assert metadata["sample"].value == "你好，世界 ✓"
    assert instance.get_materialized_partitions(asset_key) == set(PARTITION_KEYS[:2])

    # the pool="llm" step claimed and released a slot in the MySQL concurrency tables
    info = instance.event_log_storage.get_concurrency_info("llm")
    assert info.slot_count == 1  # default_limit from the yaml
    assert info.active_slot_count == 0 and info.pending_step_count == 0

    instance.delete_dynamic_partition("workbooks", "emoji_🎮.xlsx")
    assert list(instance.get_dynamic_partitions("workbooks")) == PARTITION_KEYS[:2]


def test_failed_run_and_run_queries(mysql_instance: dg.DagsterInstance) -> None:
    instance = mysql_instance
    instance.add_dynamic_partitions("workbooks", PARTITION_KEYS[:1])
    ok = dg.materialize([translated_workbook], instance=instance, partition_key=PARTITION_KEYS[0])
    failed = dg.materialize([broken_asset], instance=instance, raise_on_error=False, tags={"team": "l10n"})
    assert ok.success and not failed.success

    run = instance.get_run_by_id(failed.run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
    assert run.tags["team"] == "l10n"
    failure_events = instance.all_logs(failed.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    assert failure_events and "boom from broken_asset" in str(
        failure_events[0].dagster_event.step_failure_data.error  # type: ignore[union-attr]
    )

    runs = instance.get_runs()
    assert {r.run_id for r in runs} == {ok.run_id, failed.run_id}
    failed_runs = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    assert [r.run_id for r in failed_runs] == [failed.run_id]
    assert instance.get_runs_count(dg.RunsFilter(tags={"team": "l10n"})) == 1
    assert instance.get_runs(limit=1)[0].run_id == failed.run_id  # newest first
    records = instance.get_run_records(dg.RunsFilter(run_ids=[ok.run_id]))
    assert records[0].dagster_run.status == dg.DagsterRunStatus.SUCCESS
    assert records[0].end_time is not None


def test_sensor_cursor_and_ticks(mysql_instance: dg.DagsterInstance) -> None:
    instance = mysql_instance
    origin = RemoteRepositoryOrigin(
        ManagedGrpcPythonEnvCodeLocationOrigin(
            LoadableTargetOrigin(executable_path=sys.executable, module_name="translation_pipeline.definitions")
        ),
        "__repository__",
    ).get_instigator_origin("workbook_sensor")
    selector_id = origin.get_selector().get_id()

    # first evaluation from an empty cursor; persist the cursor as the sensor daemon would
    result = workbook_sensor(dg.build_sensor_context(instance=instance, cursor=None))
    assert result.cursor
    state = instance.add_instigator_state(
        InstigatorState(
            origin,
            InstigatorType.SENSOR,
            InstigatorStatus.RUNNING,
            SensorInstigatorData(min_interval=30, cursor=result.cursor, sensor_type=SensorType.STANDARD),
        )
    )
    now = time.time()
    tick = instance.create_tick(
        TickData(
            instigator_origin_id=origin.get_id(),
            instigator_name="workbook_sensor",
            instigator_type=InstigatorType.SENSOR,
            status=TickStatus.SUCCESS,
            timestamp=now,
            run_ids=[],
            selector_id=selector_id,
            cursor=result.cursor,
        )
    )
    instance.update_instigator_state(
        state.with_data(
            SensorInstigatorData(
                min_interval=30,
                cursor=result.cursor,
                last_tick_timestamp=now,
                sensor_type=SensorType.STANDARD,
            )
        )
    )

    stored = instance.get_instigator_state(origin.get_id(), selector_id)
    assert stored is not None and stored.status == InstigatorStatus.RUNNING
    assert isinstance(stored.instigator_data, SensorInstigatorData)
    assert stored.instigator_data.cursor == result.cursor
    assert "任务文本.xlsx" in stored.instigator_data.cursor  # type: ignore[operator]
    assert stored.instigator_data.last_tick_timestamp == now

    # second evaluation from the stored cursor finds nothing new
    again = workbook_sensor(dg.build_sensor_context(instance=instance, cursor=stored.instigator_data.cursor))
    assert again.dynamic_partitions_requests == []

    ticks = instance.get_ticks(origin.get_id(), selector_id)
    assert [t.tick_id for t in ticks] == [tick.tick_id]
    # batched tick query: window function path in dagster-mysql
    batch = instance.get_batch_ticks([selector_id], limit=5)
    assert [t.tick_id for t in batch[selector_id]] == [tick.tick_id]


def test_dagster_instance_info_cli(mysql_env: dict[str, str]) -> None:
    assert DAGSTER_BIN.exists(), DAGSTER_BIN
    env = {**os.environ, **mysql_env}
    proc = subprocess.run(
        [str(DAGSTER_BIN), "instance", "info"],
        env=env,
        cwd=mysql_env["DAGSTER_HOME"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for expected in (
        "run_storage: MySQLRunStorage",
        "event_log_storage: MySQLEventLogStorage",
        "schedule_storage: MySQLScheduleStorage",
        "max_concurrent_runs: 4",
        "retry_on_asset_or_op_failure: true",
    ):
        assert expected in proc.stdout, proc.stdout


def test_sqlite_yaml_loads_and_materializes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster._core.storage.runs import SqliteRunStorage

    home = _render_home(tmp_path / "sqlite_home", SQLITE_YAML)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, SqliteRunStorage)
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert not instance.telemetry_enabled
        instance.add_dynamic_partitions("workbooks", PARTITION_KEYS)
        result = dg.materialize([translated_workbook], instance=instance, partition_key="任务文本.xlsx")
        assert result.success
        event = instance.get_latest_materialization_event(dg.AssetKey("translated_workbook"))
        assert event is not None and event.asset_materialization is not None
        assert event.asset_materialization.partition == "任务文本.xlsx"
    assert any(home.rglob("*.db")), "SQLite files should live under DAGSTER_HOME"


def test_nothing_is_held_open_on_mysql_storage(mysql_instance: dg.DagsterInstance) -> None:
    from translation_pipeline.executor import sqlite_files, sqlite_files_held, sqlite_storage_kept_open

    assert sqlite_files(mysql_instance) == []
    with sqlite_files_held(mysql_instance) as held, sqlite_storage_kept_open(mysql_instance) as kept:
        assert held == []
        assert not kept
