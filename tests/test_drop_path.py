"""The drop path as a user meets it: `dagster dev` (webserver, daemon, sensor, queued runs) on a fresh instance,
files dropped into the inbox, a run terminated through the UI's GraphQL API; and `translation-pipeline cancel`
stopping a `translate` process. The fake OpenAI server answers; nothing is mocked."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest

from benchmarks.generate import write_workbook
from tests.dagster_dev import BIN, DagsterDev, instance_env, wait_for
from tests.fake_llm_server import FakeLLMServer
from translation_pipeline.sample import write_sample_workbook
from translation_pipeline.schedules.rerun_failed import failed_workbook_states

TERMINATE = """mutation Terminate($runId: String!) {
  terminateRun(runId: $runId) { __typename ... on TerminateRunFailure { message } ... on PythonError { message } }
}"""


def _outputs(data: Path) -> list[Path]:
    return sorted((data / "outbox").rglob("*.translated.xlsx"))


def _runs_of(instance: dg.DagsterInstance, prefix: str) -> list[dg.DagsterRun]:
    return [run for run in instance.get_runs() if run.tags.get("dagster/partition", "").startswith(prefix)]


def _sources_sent(requests: list[dict]) -> list[tuple[str, str]]:
    """(target language, source text) of each item of the chat requests in `requests`."""
    sent = []
    for request in requests:
        content = json.loads(request["body"]["messages"][-1]["content"])
        sent.extend((content["target_language"], item["text"]) for item in content["items"])
    return sent


def _stored_sources(data: Path, key: str) -> set[tuple[str, str]]:
    """(target language, source text) of the memory entries workbook `key` paid for."""
    with sqlite3.connect(data / "translation_store.sqlite") as db:
        rows = db.execute("select target_language, source_text from translation_memory where workbook_key = ?", (key,))
        return {(target, source) for target, source in rows}


def _cli(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "translation-pipeline"), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip


def test_drop_to_output_and_terminate_from_the_ui(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, home = tmp_path / "data", tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # deploy/dagster.sqlite.yaml reads it
    inbox = data / "inbox"
    inbox.mkdir(parents=True)
    sample = write_sample_workbook(tmp_path / "sample_strings.xlsx")
    big, _ = write_workbook(tmp_path / "big.xlsx", 1500)
    with FakeLLMServer(latency_ms=100) as server:
        env = instance_env(tmp_path, server, {"TRANSLATION_CONCURRENCY": "2"})
        with DagsterDev(env, tmp_path / "dev.log") as dev, dg.DagsterInstance.from_config(str(home)) as instance:
            # 1. a drop reaches its output through the sensor and a queued run
            shutil.copy(sample, inbox / sample.name)
            wait_for(lambda: _outputs(data), 240, every=0.5, what="the sample's output")
            (run,) = _runs_of(instance, "sample_strings-")
            wait_for(lambda: instance.get_run_by_id(run.run_id).is_finished, 60, what="the sample's run to end")
            run = instance.get_run_by_id(run.run_id)
            assert run.status == dg.DagsterRunStatus.SUCCESS
            assert run.tags["translation/provider"] == "openai" and run.tags["translation/source"] == "drop folder"
            assert server.request_count > 0
            # forked from the warm server (deploy/dagster.sqlite.yaml's run launcher), its process tagged
            messages = [event.message for event in instance.all_logs(run.run_id)]
            assert f"Forked the run's process (pid {run.tags['translation/pid']}) from the warm server." in messages

            # 2. Terminate from the UI while requests are in flight
            server.latency_ms = 1000
            before = server.request_count
            shutil.copy(big, inbox / big.name)
            wait_for(lambda: server.request_count >= before + 4, 240, what="requests for big.xlsx")
            (running,) = _runs_of(instance, "big-")
            key = running.tags["dagster/partition"]
            terminated_at = time.time()
            answer = dev.graphql(TERMINATE, {"runId": running.run_id})["data"]["terminateRun"]
            assert answer["__typename"] == "TerminateRunSuccess", answer
            wait_for(lambda: instance.get_run_by_id(running.run_id).status == dg.DagsterRunStatus.CANCELED, 30,
                     what="the terminated run to be cancelled")  # fmt: skip
            stopped = server.request_count
            time.sleep(3)
            assert server.request_count == stopped, "requests were still sent after the run was cancelled"
            # every reply that arrived before the termination was checkpointed
            first_run = server.requests[before:stopped]
            answered_early = [r for r in first_run if r["time"] + 1.0 < terminated_at - 0.5 and r["status"] == 200]
            stored = _stored_sources(data, key)
            assert set(_sources_sent(answered_early)) <= stored
            assert stored, "nothing answered was kept"
            # a cancelled partition is not the rerun schedule's business
            assert key not in {state.key for state in failed_workbook_states(instance)}

        # 3. someone reruns it: only what was not answered is requested
        server.latency_ms = 0
        sent_before = server.request_count
        done = _cli(env, "translate", str(big))
        assert done.returncode in (0, 3), done.stderr
        resent = set(_sources_sent(server.requests[sent_before:])) & stored
        assert not resent, f"{len(resent)} answered sources were paid for twice"
        status = _cli(env, "status").stdout
        assert key in status


def test_cancel_stops_a_translate_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    big, _ = write_workbook(tmp_path / "big.xlsx", 1500)
    with FakeLLMServer(latency_ms=1000) as server:
        env = instance_env(tmp_path, server, {"TRANSLATION_CONCURRENCY": "2"})
        translate = subprocess.Popen([str(BIN / "translation-pipeline"), "translate", str(big)], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            wait_for(lambda: server.request_count >= 4, 120, what="the first requests")
            cancel = _cli(env, "cancel", "big.xlsx", "--wait", "20")
            _, err = translate.communicate(timeout=30)
        finally:
            translate.kill()
        assert cancel.returncode == 0, cancel.stdout + cancel.stderr
        assert "cancelled (interrupted its process" in cancel.stdout
        assert translate.returncode == 1
        assert "cancelled: " in err and "Traceback" not in err
        stopped = server.request_count
        time.sleep(2)
        assert server.request_count == stopped

        with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
            (run,) = instance.get_runs()
            assert run.status == dg.DagsterRunStatus.CANCELED
            assert not failed_workbook_states(instance)
        status = _cli(env, "status").stdout.splitlines()
        assert any(line.startswith(run.tags["dagster/partition"]) and " canceled " in line for line in status)
        again = _cli(env, "cancel", "big.xlsx")
        assert again.returncode == 0 and "nothing to cancel" in again.stdout
        unknown = _cli(env, "cancel", "nope.xlsx")
        assert unknown.returncode == 1 and "nope.xlsx: no such workbook" in unknown.stderr


def test_a_batch_mode_drop_is_submitted_then_completed_by_the_batch_sensor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, home = tmp_path / "data", tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    inbox = data / "inbox"
    inbox.mkdir(parents=True)
    sample = write_sample_workbook(tmp_path / "sample_strings.xlsx")
    with FakeLLMServer() as server:
        server.batch_timing(in_progress_polls=0)  # a job is done when first asked about
        env = instance_env(tmp_path, server, {"TRANSLATION_MODE": "batch", "TRANSLATION_BATCH_POLL_SECONDS": "5"})
        with DagsterDev(env, tmp_path / "dev.log"), dg.DagsterInstance.from_config(str(home)) as instance:
            shutil.copy(sample, inbox / sample.name)
            wait_for(lambda: _outputs(data), 240, every=0.5, what="the output")
            completing, submitting = _runs_of(instance, "sample_strings-")  # newest first
            assert submitting.tags["translation/source"] == "drop folder"
            assert submitting.tags["translation/batch"].startswith("waiting on 1 batch jobs")
            assert completing.tags["translation/source"] == "batch jobs sensor"
            assert len(server.batches_created) == 1 and server.request_count == 0  # nothing went realtime
