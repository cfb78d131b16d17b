"""Recovery with Dagster's own tools after a SIGKILL, on the shipped SQLite instance file.

A `dagster job execute` run of `translate_workbook_job` is killed (its whole process group) in the
middle of `translations`: the run is left STARTED and keeps its `llm` pool slot. The daemon's run
monitoring iteration, run here in-process, marks it FAILED once `max_runtime_seconds` has passed (no process
of the run launcher is tagged on such a run to check, so nothing sooner), and its concurrency iteration gives
the slot back. A re-execution FROM_FAILURE then sends only the batches with no stored answer and writes
the same workbook as an uninterrupted run.

Also: two CLI processes creating the same brand-new SQLite DAGSTER_HOME at the same instant."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest
import yaml
from dagster._core.launcher import WorkerStatus
from dagster._daemon.monitoring import concurrency as slot_monitoring
from dagster._daemon.monitoring import (
    execute_concurrency_slots_iteration,
    execute_run_monitoring_iteration,
    run_monitoring,
)

from tests.conftest import register
from tests.fake_llm_server import FakeLLMServer
from tests.test_resume import CLI, STRINGS, cli_env, count, store_of, write_workbook
from tests.workbook_factory import assert_workbooks_equal_except
from translation_pipeline.cli import JOB_NAME, QUIET_LOGS
from translation_pipeline.localization.store import batch_checkpoints, llm_calls

REPO = Path(__file__).resolve().parents[1]
DAGSTER = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
BATCHES = 12  # tests.test_resume: 60 strings, batches of 5, one target language
# the job runs in one process (in_process_executor), so a kill of the process group is the whole run worker
# (a dead container)
RUN_CONFIG = QUIET_LOGS
LOGGER = logging.getLogger("test_reexecution")


def translate_workbook_job() -> dg.JobDefinition:
    """The job as a code server would load it; built from the environment at call time."""
    from translation_pipeline.definitions import build_definitions

    return build_definitions().resolve_job_def(JOB_NAME)


def use_instance(root: Path, fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """`root/home` with the shipped SQLite dagster.yaml, `root/data`, the openai provider on the fake
    server; set in this process too (the re-execution runs here). Returns the environment."""
    env = cli_env(fake, root)
    (root / "home").mkdir(parents=True)
    shutil.copy(REPO / "deploy" / "dagster.sqlite.yaml", root / "home" / "dagster.yaml")
    for name, value in env.items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
    return env


def daemon_context(instance: dg.DagsterInstance) -> SimpleNamespace:
    """What the monitoring iterations use of the daemon's workspace: the instance, and a request
    context only handed on to `resume_run` (never called: max_resume_run_attempts is 0)."""
    return SimpleNamespace(instance=instance, create_request_context=lambda: None)


def translated(root: Path) -> Path:
    return next((root / "data" / "outbox").glob("*/*.translated.xlsx"))


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(latency_ms=250) as fake:  # as in tests/test_resume.py: the kill lands mid-step
        yield fake


def test_sigkilled_run_is_failed_by_run_monitoring_and_reexecuted_from_failure(
    server: FakeLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workbook = write_workbook(tmp_path / "drop" / "Dialog.xlsx", STRINGS)
    killed = tmp_path / "killed"
    env = use_instance(killed, server, monkeypatch)
    with dg.DagsterInstance.get() as instance:
        key = register(instance, workbook, killed / "data")
    store = store_of(killed)  # create the project tables now: the run and this test's polling both open it
    run_config = killed / "run_config.yaml"
    run_config.write_text(yaml.safe_dump(RUN_CONFIG))
    with (killed / "run.log").open("wb") as log:
        process = subprocess.Popen(
            [DAGSTER, "job", "execute", "-m", "translation_pipeline.definitions", "-j", JOB_NAME,
             "-c", str(run_config), "--tags", json.dumps({"dagster/partition": key})],
            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while count(store, batch_checkpoints) < 4:
        assert process.poll() is None, (killed / "run.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "no checkpoint appeared in time"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    sent_before = server.request_count
    checkpointed = count(store, batch_checkpoints)
    assert 4 <= checkpointed < BATCHES, "the kill must land in the middle of the translations step"

    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs()
        assert (run.job_name, run.tags["dagster/partition"]) == (JOB_NAME, key)
        assert run.status == dg.DagsterRunStatus.STARTED  # nobody was left to say otherwise
        held = instance.event_log_storage.get_concurrency_info("llm").claimed_slots
        assert [(slot.run_id, slot.step_key) for slot in held] == [(run.run_id, "translations")]

        # the daemon's monitoring iteration now: the run launcher finds no process of its own tagged on a
        # `dagster job execute` run, so it cannot tell the run is dead
        assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
        assert set(execute_run_monitoring_iteration(daemon_context(instance), LOGGER)) == {None}
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
        # ... and once max_runtime_seconds (6 h in the shipped file) have passed: canceled, then forced FAILED
        assert instance.run_monitoring_max_runtime_seconds == 6 * 3600
        later = time.time() + instance.run_monitoring_max_runtime_seconds + 1
        monkeypatch.setattr(run_monitoring, "get_current_timestamp", lambda: later)
        assert set(execute_run_monitoring_iteration(daemon_context(instance), LOGGER)) == {None}
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
        # free_slots_after_run_end_seconds after the failure, the concurrency iteration frees the slot
        freed_at = datetime.now(UTC) + timedelta(
            seconds=instance.run_monitoring_settings["free_slots_after_run_end_seconds"] + 1
        )
        monkeypatch.setattr(slot_monitoring, "get_current_datetime", lambda: freed_at)
        list(execute_concurrency_slots_iteration(daemon_context(instance), LOGGER))
        assert instance.event_log_storage.get_concurrency_info("llm").claimed_slots == []

        assert instance.get_run_by_id(run.run_id).tags["dagster/will_retry"] == "true"  # run_retries is on
        # what the daemon's run retry would launch; unlike it (and the UI), `execute_job` does not copy the
        # parent's tags to the new run, and without its partition tag the run fails in `translations`
        result = dg.execute_job(
            dg.reconstructable(translate_workbook_job),
            instance,
            tags={"dagster/partition": key},
            reexecution_options=dg.ReexecutionOptions.from_failure(run.run_id, instance),
        )
        assert result.success
        started = {event.step_key for event in result.all_events if event.is_step_start}
        assert {"translations", "translated_workbook"} <= started
        assert not started & {"source_workbook", "translation_tasks"}  # their stored outputs are loaded
        assert result.dagster_run.tags["dagster/partition"] == key

    assert server.request_count - sent_before == BATCHES - checkpointed  # exactly the unanswered batches
    assert count(store, llm_calls) == BATCHES  # each batch answered and logged once

    clean = tmp_path / "clean"
    use_instance(clean, server, monkeypatch)
    with dg.DagsterInstance.get() as instance:
        key = register(instance, workbook, clean / "data")
        result = dg.execute_job(
            dg.reconstructable(translate_workbook_job), instance, run_config=RUN_CONFIG,
            tags={"dagster/partition": key},
        )  # fmt: skip
        assert result.success
    assert_workbooks_equal_except(translated(clean), translated(killed), {})
    filled = {("Dialog", f"C{row}"): f"[en] {text}" for row, text in enumerate(STRINGS, start=2)}
    assert_workbooks_equal_except(workbook, translated(killed), filled)


def test_two_cli_processes_creating_a_new_sqlite_home_at_once_both_succeed(tmp_path: Path) -> None:
    """Without the lock in `translation_pipeline.cli._instance`, about 7 rounds in 10 failed here with
    "table ... already exists" from Dagster's SQLite storage."""
    for round_ in range(5):
        root = tmp_path / f"round{round_}"
        env = {**os.environ, "DAGSTER_HOME": str(root / "home"), "TRANSLATION_DATA_DIR": str(root / "data")}
        pair = [subprocess.Popen([CLI, "status"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for _ in range(2)]  # fmt: skip
        for process in pair:
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, f"round {round_}: {stderr[-2000:]}"
        assert (root / "home" / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
