"""The warm run launcher (translation_pipeline/run_launcher.py) against a real SQLite instance: runs forked from a
warm server, each importing the code location fresh; terminate; the health check run monitoring uses."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest
from dagster._core.launcher import LaunchRunContext, WorkerStatus
from dagster._core.test_utils import create_run_for_test, instance_for_test
from dagster._daemon.monitoring.run_monitoring import execute_run_monitoring_iteration

from tests.warm_job import warm_job
from translation_pipeline.processes import PID_TAG, process_tags
from translation_pipeline.run_launcher import WarmRunLauncher

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = {"module": "translation_pipeline.run_launcher", "class": "WarmRunLauncher"}
MONITORING = {"enabled": True, "poll_interval_seconds": 1, "max_resume_run_attempts": 0}
DONE = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    monkeypatch.setenv("WARM_JOB_DIR", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # `tests.warm_job` for the server (the tests run in tmp_path)
    (tmp_path / "greeting.txt").write_text("hello")
    overrides = {"run_launcher": LAUNCHER, "run_monitoring": MONITORING}
    (tmp_path / "home").mkdir()
    with instance_for_test(overrides=overrides, temp_dir=str(tmp_path / "home")) as instance:
        yield instance


def launch(instance: dg.DagsterInstance, sleep: float = 0.0) -> dg.DagsterRun:
    origin = dg.reconstructable(warm_job).get_python_origin()
    config = {"ops": {"record": {"config": {"sleep": sleep}}}}
    run = create_run_for_test(instance, job_name="warm_job", job_code_origin=origin, run_config=config)
    instance.run_launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    return run


def wait_until(instance: dg.DagsterInstance, run_id: str, statuses: tuple[dg.DagsterRunStatus, ...]) -> dg.DagsterRun:
    deadline = time.monotonic() + 120
    while (run := instance.get_run_by_id(run_id)).status not in statuses:
        assert time.monotonic() < deadline, f"run still {run.status}"
        time.sleep(0.1)
    return run


def seen(tmp_path: Path, run_id: str) -> dict:
    return json.loads((tmp_path / f"{run_id}.json").read_text())


def test_runs_fork_from_one_warm_server_and_load_the_code_fresh(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    assert isinstance(instance.run_launcher, WarmRunLauncher)
    first = launch(instance)
    assert wait_until(instance, first.run_id, DONE).status == dg.DagsterRunStatus.SUCCESS
    (tmp_path / "greeting.txt").write_text("bonjour")  # a settings change between two runs, no restart
    second = launch(instance)
    assert wait_until(instance, second.run_id, DONE).status == dg.DagsterRunStatus.SUCCESS

    one, two = seen(tmp_path, first.run_id), seen(tmp_path, second.run_id)
    assert (one["greeting"], two["greeting"]) == ("hello", "bonjour")
    assert one["warm"] and two["warm"]  # the server had imported the libraries before the run loaded its code
    assert one["ppid"] == two["ppid"] != os.getpid()  # both forked by the same server
    for run, record in ((first, one), (second, two)):
        tags = instance.get_run_by_id(run.run_id).tags
        assert tags[PID_TAG] == str(record["pid"])
        messages = [event.message for event in instance.all_logs(run.run_id)]
        assert f"Forked the run's process (pid {record['pid']}) from the warm server." in messages


def test_terminate_interrupts_the_run_and_it_ends_cancelled(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    run = launch(instance, sleep=60)
    wait_until(instance, run.run_id, (dg.DagsterRunStatus.STARTED,))
    deadline = time.monotonic() + 60
    while not (tmp_path / f"{run.run_id}.json").exists():  # inside the op
        assert time.monotonic() < deadline
        time.sleep(0.1)
    started = time.monotonic()
    assert instance.run_launcher.terminate(run.run_id)
    assert wait_until(instance, run.run_id, DONE).status == dg.DagsterRunStatus.CANCELED
    assert time.monotonic() - started < 20
    assert not instance.run_launcher.terminate(run.run_id)  # finished: nothing to stop


def test_run_monitoring_fails_a_run_whose_process_died(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    run = launch(instance, sleep=60)
    wait_until(instance, run.run_id, (dg.DagsterRunStatus.STARTED,))
    pid = int(instance.get_run_by_id(run.run_id).tags[PID_TAG])
    context = SimpleNamespace(instance=instance, create_request_context=lambda: None)
    logger = logging.getLogger("test_run_launcher")
    list(execute_run_monitoring_iteration(context, logger))
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED  # alive: left alone

    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    health = instance.run_launcher.check_run_worker_health
    while health(instance.get_run_by_id(run.run_id)).status != WorkerStatus.FAILED:
        assert time.monotonic() < deadline, "the killed process still looks alive"
        time.sleep(0.1)
    list(execute_run_monitoring_iteration(context, logger))
    failed = instance.get_run_by_id(run.run_id)
    assert failed.status == dg.DagsterRunStatus.FAILURE
    assert f"its process {pid} is gone" in instance.all_logs(run.run_id)[-1].message


def test_health_of_runs_it_did_not_fork(instance: dg.DagsterInstance) -> None:
    launcher = instance.run_launcher
    untagged = create_run_for_test(instance, job_name="warm_job")
    assert launcher.check_run_worker_health(untagged).status == WorkerStatus.RUNNING  # left to max_runtime
    # a run a `translation-pipeline translate` process tags itself: alive, then gone
    translate = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "translation-pipeline"])
    try:
        tagged = create_run_for_test(instance, job_name="warm_job", tags=process_tags(translate.pid))
        assert launcher.check_run_worker_health(tagged).status == WorkerStatus.RUNNING
    finally:
        translate.kill()
        translate.wait()
    assert launcher.check_run_worker_health(tagged).status == WorkerStatus.FAILED
    elsewhere = create_run_for_test(instance, job_name="warm_job", tags={**process_tags(), "translation/host": "other"})
    assert launcher.check_run_worker_health(elsewhere).status == WorkerStatus.RUNNING
    assert not launcher.terminate(elsewhere.run_id)
