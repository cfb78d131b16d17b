"""The batch lane as users drive it: `translation-pipeline translate` in batch mode (waiting, `--no-wait`, killed
with SIGKILL and started again), `estimate` with both lanes, `status`, `cancel`, and the daemon's path: a run
that submits and ends, `batch_jobs_sensor`, the run it requests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import dagster as dg
import pytest
from openpyxl import load_workbook

from tests.dagster_dev import BIN, instance_env, wait_for
from tests.fake_llm_server import FakeLLMServer
from translation_pipeline.localization.store import ProjectStore
from translation_pipeline.localization.translate.batch.records import BatchRecords
from translation_pipeline.sample import write_sample_workbook

BATCH = {"TRANSLATION_MODE": "batch", "TRANSLATION_BATCH_POLL_SECONDS": "0.2"}


@pytest.fixture
def server() -> FakeLLMServer:
    with FakeLLMServer() as fake:
        yield fake


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "translation-pipeline"), *args], env=env, capture_output=True, text=True,
                          timeout=240, check=False)  # fmt: skip


def _output(stdout: str) -> Path:
    line = next(line for line in stdout.splitlines() if line.strip().startswith("output:"))
    return Path(line.split("output:", 1)[1].strip())


def _store(tmp_path: Path) -> ProjectStore:
    return ProjectStore(f"sqlite:///{tmp_path / 'data' / 'translation_store.sqlite'}")


def _realtime(server: FakeLLMServer) -> list[dict]:
    return [r for r in server.requests if r.get("lane") != "batch"]


def test_translate_in_batch_mode_waits_and_fills_the_workbook(tmp_path: Path, server: FakeLLMServer) -> None:
    sample = write_sample_workbook(tmp_path / "sample_strings.xlsx")
    env = instance_env(tmp_path, server, BATCH)

    estimate = _cli(env, "estimate", str(sample))
    assert estimate.returncode == 0, estimate.stderr
    cost = next(line for line in estimate.stdout.splitlines() if "cost gpt-4o-mini" in line)
    realtime, batch = (float(part.split("$")[1].split("-")[0]) for part in cost.split("|"))
    assert batch == pytest.approx(realtime / 2)

    done = _cli(env, "translate", str(sample))
    assert done.returncode == 0, done.stderr
    assert "batch: 1 jobs open" in done.stdout
    assert len(server.batches_created) == 1 and not _realtime(server)
    sheet = load_workbook(_output(done.stdout))["Dialog"]
    assert sheet["D2"].value == "[en] 勇者，欢迎来到晨曦村！"
    status = _cli(env, "status").stdout
    assert "batch jobs open" not in status and " success " in status


def test_sigkill_while_waiting_then_again_re_attaches(tmp_path: Path, server: FakeLLMServer) -> None:
    server.batch_timing(manual=True)  # the job makes no progress until the test says so
    sample = write_sample_workbook(tmp_path / "sample_strings.xlsx")
    env = instance_env(tmp_path, server, BATCH)
    waiting = subprocess.Popen([str(BIN / "translation-pipeline"), "translate", str(sample)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(lambda: server.batches_created, 120, what="the batch job")
        wait_for(lambda: len(server.batch_api_calls) > 3, 30, what="polling")  # waiting, not submitting
    finally:
        os.kill(waiting.pid, signal.SIGKILL)
        waiting.wait(10)
    store = _store(tmp_path)
    (job,) = BatchRecords(store).jobs(open_only=True)
    assert job.batch_id == server.batches_created[0]["id"]

    server.advance_batches()
    done = _cli(env, "translate", str(sample))
    assert done.returncode == 0, done.stderr
    assert len(server.batches_created) == 1, "the same work was submitted twice"
    assert "was left running by a translate process that is gone: marked failed" in done.stdout
    assert load_workbook(_output(done.stdout))["Dialog"]["D2"].value == "[en] 勇者，欢迎来到晨曦村！"
    store.dispose()


def test_no_wait_submits_and_the_sensor_requests_the_run_that_completes_it(
    tmp_path: Path, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.batch_timing(manual=True)
    sample = write_sample_workbook(tmp_path / "sample_strings.xlsx")
    env = instance_env(tmp_path, server, BATCH)
    submitted = _cli(env, "translate", "--no-wait", str(sample))
    assert submitted.returncode == 0, submitted.stderr
    assert "submitted: waiting on 1 batch jobs (0/3 lines done)" in submitted.stdout
    assert "output:" not in submitted.stdout
    status = _cli(env, "status").stdout
    assert "batch jobs open: 1" in status and server.batches_created[0]["id"] in status

    for name, value in env.items():
        if name.startswith(("TRANSLATION_", "OPENAI_", "DAGSTER_HOME")):
            monkeypatch.setenv(name, value)
    from translation_pipeline.cli import _cli_job
    from translation_pipeline.definitions import build_definitions

    defs = build_definitions()
    resources = {name: defs.resources[name] for name in ("store", "translation")}
    batch_jobs_sensor = defs.resolve_sensor_def("batch_jobs_sensor")
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        (waiting_run,) = instance.get_runs()
        assert waiting_run.status == dg.DagsterRunStatus.SUCCESS
        assert waiting_run.tags["translation/batch"].startswith("waiting on 1 batch jobs")
        key = waiting_run.tags["dagster/partition"]
        observed = instance.fetch_observations(dg.AssetKey("translations"), limit=1).records
        assert observed and observed[0].asset_observation.metadata["batch_state"].value == "waiting"

        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            assert isinstance(batch_jobs_sensor(context), dg.SkipReason)  # nothing finished yet
        server.advance_batches()
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            result = batch_jobs_sensor(context)
        (request,) = result.run_requests
        assert request.partition_key == key

        run = dg.execute_job(dg.reconstructable(_cli_job), instance,
                             tags={**request.tags, "dagster/partition": key})  # fmt: skip
        assert run.success
        (exported,) = run.asset_materializations_for_node("translated_workbook")
        output = Path(str(exported.metadata["output_path"].value))
        assert load_workbook(output)["Dialog"]["D2"].value == "[en] 勇者，欢迎来到晨曦村！"
        assert len(server.batches_created) == 1
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            assert isinstance(batch_jobs_sensor(context), dg.SkipReason)


def _two_lines_answered(tmp_path: Path, server: FakeLLMServer) -> tuple[dict[str, str], Path]:
    """The sample submitted with `--no-wait` in jobs of 5-item lines; two lines answered, the rest never will
    be (unless cancelled). Returns the CLI's environment and the sample."""
    server.batch_timing(manual=True)
    sample = write_sample_workbook(tmp_path / "sample_strings.xlsx")
    env = instance_env(tmp_path, server, {**BATCH, "TRANSLATION_BATCH_MAX_ITEMS": "5"})
    assert _cli(env, "translate", "--no-wait", str(sample)).returncode == 0
    server.advance_batches(lines=2)
    server.batch_timing(seconds_per_line=1000)
    return env, sample


def test_cancel_cancels_the_jobs_and_keeps_what_was_answered(tmp_path: Path, server: FakeLLMServer) -> None:
    env, _ = _two_lines_answered(tmp_path, server)
    cancel = _cli(env, "cancel", "sample_strings.xlsx")
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    assert "cancelled 1 batch jobs (" in cancel.stdout and "answered lines read and kept" in cancel.stdout
    store = _store(tmp_path)
    assert not BatchRecords(store).jobs(open_only=True)
    assert store.workbook_usage(BatchRecords(store).jobs()[0].workbook_key)[0] == 2  # the two answered lines
    store.dispose()


def test_switch_to_realtime_cancels_jobs_and_pays_only_for_the_rest(tmp_path: Path, server: FakeLLMServer) -> None:
    env, sample = _two_lines_answered(tmp_path, server)
    answered = {item for r in server.batch_requests[:2] for item in _items(r)}

    done = _cli(env, "translate", "--mode", "realtime", str(sample))
    assert done.returncode == 0, done.stderr
    resent = {item for r in _realtime(server) for item in _items(r)}
    assert answered and not answered & resent, "items the batch lane answered were paid for again"
    submitted = server.file_bytes(server.batches_created[0]["input_file_id"]).decode().splitlines()
    everything = {item for line in submitted for item in _items(json.loads(line))}
    assert answered | resent == everything  # each task paid for once, by one lane
    assert load_workbook(_output(done.stdout))["Dialog"]["D2"].value == "[en] 勇者，欢迎来到晨曦村！"
    store = _store(tmp_path)
    assert not BatchRecords(store).jobs(open_only=True)
    store.dispose()


def _items(request: dict) -> list[tuple[str, str]]:
    content = json.loads(request["body"]["messages"][-1]["content"])
    return [(content["target_language"], item["text"]) for item in content["items"]]
