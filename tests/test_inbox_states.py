"""Visible outcomes: every inbox file's state in the `inbox` observation, rejects without runs, `status` listing the
rejects and why a failed workbook failed, a bad input never retried, and check results per partition."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.definitions.partitions.context import partition_loading_context

from tests.conftest import register
from tests.test_schedules import evaluate
from tests.test_sensor import Harness, added_keys, package, requested_keys
from tests.test_skip_ledger import build as build_dialog
from tests.workbook_factory import build_table
from translation_pipeline import cli
from translation_pipeline.definitions import build_definitions
from translation_pipeline.hooks import FAILURE_TAG, NEVER, REASON_CHARS
from translation_pipeline.localization.inbox.intake import IntakeCursor, Observation
from translation_pipeline.localization.inbox.states import QUEUED, UNCHANGED, InboxCursor
from translation_pipeline.localization.translate.providers.base import ProviderError
from translation_pipeline.localization.translate.providers.pseudo import PseudoProvider
from translation_pipeline.partitions import workbooks
from translation_pipeline.resources.files import DataDirResource
from translation_pipeline.resources.llm import TranslationResource
from translation_pipeline.schedules.rerun_failed import GAVE_UP_TAG
from translation_pipeline.sensors import drop_folder
from translation_pipeline.sensors.inbox import INBOX
from translation_pipeline.settings import ConfigError, load_settings

CSV_RENAMED = (
    "not a readable .xlsx workbook: it is a text (CSV?) file renamed to .xlsx; open it in Excel and save it as .xlsx"
)
NO_LANGUAGE = "no sheet has a source and a target language column ('Items': no source and target language columns)"
JOB = "translate_workbook_job"
RUN_RETRIES = {"run_retries": {"enabled": True, "max_retries": 2, "retry_on_asset_or_op_failure": True}}


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """The sensor on the instance in DAGSTER_HOME, the one `translation-pipeline status` reads."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("TRANSLATION_DATA_DIR", str(tmp_path / "data"))
    data_dir = DataDirResource(data_dir=str(tmp_path / "data"))
    data_dir.ensure()
    with dg.DagsterInstance.get() as instance:
        yield Harness(data_dir, instance)


def observations(harness: Harness) -> list[dict[str, Any]]:
    """The metadata of every `inbox` observation stored, oldest first."""
    records = harness.instance.fetch_observations(INBOX.key, limit=1000, ascending=True).records
    return [{k: v.value for k, v in r.asset_observation.metadata.items()} for r in records if r.asset_observation]


def table(meta: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The `files` table as file -> (state, partition key or reason, size, modified), markdown escapes undone."""
    lines = [line for line in meta["files"].splitlines()[2:] if line.startswith("|")]
    rows = [[re.sub(r"\\(.)", r"\1", cell.strip()) for cell in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines]
    return {row[0]: tuple(row[1:]) for row in rows}


def counts(meta: dict[str, Any]) -> dict[str, int]:
    return {state: meta[state] for state in ("accepted", "waiting", "rejected", "failed", "ignored")}


def info(harness: Harness) -> list[str]:
    return [r["dagster_meta"]["orig_message"] for r in harness.logs if r["levelname"] == "INFO"]


# --- the sensor: one state per file ------------------------------------------------------------------------


def test_a_file_waits_then_is_accepted_and_idle_ticks_report_nothing(harness: Harness) -> None:
    path = harness.drop("Dialog.xlsx")
    harness.tick()
    (first,) = observations(harness)
    assert table(first) == {"Dialog.xlsx": ("waiting", UNCHANGED, "", "")}
    assert counts(first) == {"accepted": 0, "waiting": 1, "rejected": 0, "failed": 0, "ignored": 0}

    with path.open("ab") as handle:  # still being written: same row, no new observation
        handle.write(b"more")
    harness.tick()
    assert len(observations(harness)) == 1
    path.write_bytes(package(b"dialog table"))

    harness.tick()
    key = requested_keys(harness.tick())[0]
    second = observations(harness)[-1]
    state, detail, size, modified = table(second)["Dialog.xlsx"]
    length = path.stat().st_size
    assert (state, detail, size) == ("accepted", key, f"{length} B" if length < 1024 else f"{length / 1024:.1f} KiB")
    assert modified.startswith("20") and counts(second)["accepted"] == 1

    stored = len(observations(harness))
    for _ in range(3):
        cursor = harness.cursor
        assert harness.tick().run_requests == []
        assert harness.cursor == cursor
    assert len(observations(harness)) == stored, "an idle tick writes nothing"


def test_rejected_files_are_listed_with_their_reason_and_get_no_run(harness: Harness) -> None:
    (harness.data_dir.inbox / "Dialog.xlsx").write_text("Key,中文,English\nk1,你好,\n", encoding="utf-8")
    build_table(harness.data_dir.inbox / "Items.xlsx", {"Items": [["ID", "Text", "Notes"], ["i1", "Sword", None]]})
    harness.tick()
    result = harness.tick()
    assert result.run_requests == [] and added_keys(result) == []
    assert harness.instance.get_runs() == [] and harness.instance.get_dynamic_partitions(workbooks.name) == []

    meta = observations(harness)[-1]
    rows = table(meta)
    assert rows["Dialog.xlsx"][:2] == ("rejected", CSV_RENAMED)
    assert rows["Items.xlsx"][0] == "rejected" and rows["Items.xlsx"][1].startswith(NO_LANGUAGE)
    assert counts(meta)["rejected"] == 2
    assert [(item["file"], item["state"]) for item in meta["rejects"]] == [("Dialog.xlsx", "rejected"),
                                                                          ("Items.xlsx", "rejected")]  # fmt: skip
    assert meta["rejects"][0]["reason"] == CSV_RENAMED, "the JSON keeps the reason as it is"

    restarted = Harness(harness.data_dir, harness.instance)  # the reasons live in the cursor
    restarted.cursor = harness.cursor
    restarted._records_read = harness._records_read  # ticks within a second share a log key: skip the old lines
    assert restarted.tick().run_requests == [] and restarted.errors() == []
    assert len(observations(harness)) == 2, "the same table: not reported again"


def test_a_plain_csv_is_listed_as_ignored_and_logged_once(harness: Harness) -> None:
    (harness.data_dir.inbox / "strings.csv").write_text("Key,中文\n", encoding="utf-8")
    (harness.data_dir.inbox / "~$Dialog.xlsx").write_bytes(b"lock")
    (harness.data_dir.inbox / ".DS_Store").write_bytes(b"")
    (harness.data_dir.inbox / "batch 2.xlsx").mkdir()
    harness.tick()
    assert sorted(info(harness)) == [
        "batch 2.xlsx: ignored, not a regular file",
        "strings.csv: ignored, not an .xlsx or .xlsm file",
    ]
    meta = observations(harness)[-1]
    assert table(meta) == {
        "batch 2.xlsx": ("ignored", "not a regular file", "", ""),
        "strings.csv": ("ignored", "not an .xlsx or .xlsm file", "", ""),
    }, "lock files and hidden files are not listed"
    assert harness.tick().run_requests == [] and harness.logs == [], "logged once"

    (harness.data_dir.inbox / "strings.csv").unlink()
    harness.tick()
    assert "strings.csv" not in table(observations(harness)[-1])


def test_a_file_that_cannot_be_read_is_failed_with_its_problem(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def archive_file(source: Path, archive_dir: Path, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied", str(source))

    monkeypatch.setattr(drop_folder, "archive_file", archive_file)
    path = harness.drop("Locked.xlsx")
    assert harness.two_ticks().run_requests == []
    meta = observations(harness)[-1]
    state, detail, *_ = table(meta)["Locked.xlsx"]
    problem = f"cannot be read: [Errno 13] Permission denied: '{path}'"
    assert (state, detail) == ("failed", problem)
    assert meta["rejects"] == [{"file": "Locked.xlsx", "state": "failed", "reason": problem}]


def test_a_refused_symlink_is_rejected_with_its_reason(harness: Harness, tmp_path: Path) -> None:
    outside = tmp_path / "secret.xlsx"
    outside.write_bytes(package(b"secret"))
    (harness.data_dir.inbox / "secret.xlsx").symlink_to(outside)
    assert harness.two_ticks().run_requests == []
    reason = f"symlink to {outside} not followed: it leads outside the inbox, to {outside}"
    assert observations(harness)[-1]["rejects"] == [{"file": "secret.xlsx", "state": "rejected", "reason": reason}]


def test_ready_files_left_for_the_next_tick_are_queued(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drop_folder, "MAX_FILES_PER_TICK", 1)
    for name in ("A.xlsx", "B.xlsx"):
        harness.drop(name, name.encode())
    harness.two_ticks()
    rows = table(observations(harness)[-1])
    assert rows["A.xlsx"][0] == "accepted" and rows["B.xlsx"] == ("waiting", QUEUED, "", "")


def test_the_table_is_capped_and_the_counts_cover_every_file(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("translation_pipeline.localization.inbox.states.MAX_ROWS", 3)
    for number in range(5):
        (harness.data_dir.inbox / f"notes {number}.txt").write_text("x")
    harness.tick()
    meta = observations(harness)[-1]
    assert len(table(meta)) == 3 and counts(meta)["ignored"] == 5
    assert meta["files"].endswith("... and 2 more files (counted above)")


def test_a_cursor_written_before_reasons_were_kept_checks_its_rejected_files_again(harness: Harness) -> None:
    path = harness.data_dir.inbox / "Dialog.xlsx"
    path.write_bytes(b"")
    stat = path.stat()
    harness.cursor = IntakeCursor(rejected={"Dialog.xlsx": Observation(stat.st_size, stat.st_mtime_ns)}).to_json()
    assert InboxCursor.from_json(harness.cursor).intake.pending == {"Dialog.xlsx": Observation(0, stat.st_mtime_ns)}
    harness.tick()
    assert harness.errors() == ["Dialog.xlsx: the file is empty (0 bytes)"], "checked on the first tick"
    assert table(observations(harness)[-1])["Dialog.xlsx"][:2] == ("rejected", "the file is empty (0 bytes)")


# --- failed runs: the reason on the run, in `status`; a bad input is final ----------------------------------


def tagged_job() -> dg.JobDefinition:
    """The job as definitions.py builds it: its assets record their failures (`records_failure`)."""
    return build_definitions().resolve_job_def(JOB)


def test_the_job_has_no_hooks_so_no_step_output_stays_in_memory() -> None:
    """With any hook on a job, Dagster keeps every step's output for it until the run ends (at 100,000 rows:
    220 MiB more peak RSS); failures are recorded by the assets instead."""
    job = tagged_job()
    assert not job.hook_defs
    assert not any(node.hook_defs for node in job.graph.nodes)


def run(instance: dg.DagsterInstance, key: str, **kwargs: Any) -> dg.DagsterRun:
    result = tagged_job().execute_in_process(instance=instance, partition_key=key, raise_on_error=False, **kwargs)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    return run


@pytest.fixture
def provider_down(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fail(self: PseudoProvider, batch: object) -> None:
        raise ProviderError("503 service unavailable", retryable=True)

    monkeypatch.setattr(PseudoProvider, "translate", fail)
    monkeypatch.setenv("TRANSLATION_MAX_ATTEMPTS", "1")


def test_a_bad_input_is_tagged_with_its_reason_never_retried_and_never_rerun(data_dir: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "对话 broken.xlsx"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with dg.instance_for_test(overrides=RUN_RETRIES) as instance:
        key = register(instance, corrupt, data_dir)
        failed = run(instance, key)
        assert failed.tags[FAILURE_TAG].startswith("对话 broken.xlsx: not a readable .xlsx workbook")
        assert failed.tags[GAVE_UP_TAG] == NEVER
        assert failed.tags["dagster/max_retries"] == "0"
        assert failed.tags["dagster/will_retry"] == "false", "Dagster's run retries pass over it"
        skipped = evaluate(build_definitions(), instance)
        assert isinstance(skipped, dg.SkipReason) and skipped.skip_message == "no failed workbook to rerun"


def test_a_failure_that_a_rerun_can_mend_is_tagged_with_its_reason_only(
    data_dir: Path, sample_workbook: Path, provider_down: None
) -> None:
    with dg.instance_for_test(overrides=RUN_RETRIES) as instance:
        key = register(instance, sample_workbook, data_dir)
        failed = run(instance, key)
        reason = failed.tags[FAILURE_TAG]
        # 35: the sample's prefilled "OK" for 确定 is a reviewer's approved text, which fills UI!C2 without a request
        assert reason.startswith("sample_strings.xlsx: 35 of 36 cells could not be translated")
        assert len(reason) <= REASON_CHARS and "\n" not in reason
        assert GAVE_UP_TAG not in failed.tags and failed.tags["dagster/will_retry"] == "true"
        assert [request.partition_key for request in evaluate(build_definitions(), instance)] == [key]


def test_status_lists_the_inbox_rejects_and_why_a_workbook_failed(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (harness.data_dir.inbox / "Dialog.xlsx").write_text("Key,中文,English\n", encoding="utf-8")
    (harness.data_dir.inbox / "notes.txt").write_text("x")
    harness.drop("Good.xlsx")
    harness.two_ticks()
    corrupt = tmp_path / "broken.xlsx"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    key = register(harness.instance, corrupt, harness.data_dir.root)
    reason = run(harness.instance, key).tags[FAILURE_TAG]
    capsys.readouterr()

    assert cli.status() == 0
    lines = capsys.readouterr().out.splitlines()
    (row,) = (line for line in lines if line.startswith(key))
    assert row.split()[1] == "failure" and row.endswith(f"{NEVER}; {reason}")
    inbox = lines.index(next(line for line in lines if line.startswith("inbox (")))
    assert lines[inbox].endswith("workbook_drop_sensor): 1 accepted, 0 waiting, 1 rejected, 0 failed, 1 ignored")
    assert lines[inbox + 1 :] == [f"  Dialog.xlsx  rejected  {CSV_RENAMED}"]


def test_status_without_a_sensor_report_lists_no_inbox(harness: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.status() == 0
    assert not any(line.startswith("inbox") for line in capsys.readouterr().out.splitlines())


# --- checks: per partition, of its latest materialization ---------------------------------------------------


def check_states(instance: dg.DagsterInstance, keys: list[dg.AssetCheckKey]) -> dict[str, dict[str, str]]:
    """Check name -> partition -> status, as the UI's partition view of an asset check reads it."""
    with partition_loading_context(dynamic_partitions_store=instance):
        states = instance.event_log_storage.get_asset_check_state([(key, workbooks) for key in keys])
    return {
        key.name: {
            partition: status.value
            for status, subset in states[key].subsets.items()
            for partition in subset.subset_value.get_partition_keys()
        }
        for key in keys
    }


def test_checks_of_a_partition_that_failed_then_succeeded_pass_for_its_latest_materialization(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run 1 fails (provider down; column D names no language): the export's checks could not run and
    `skipped_text` fails. Run 2 (provider back, D named in the launchpad) passes every check of that partition,
    for its latest materialization; another partition failing `skipped_text` later leaves the first one passing."""
    defs = build_definitions()
    job = defs.resolve_job_def(JOB)
    checks = sorted(defs.resolve_asset_graph().asset_check_keys, key=str)
    layout = {"ops": {"source_workbook": {"config": {"layouts": [{"sheet": "Dialog", "targets": {"D": "ja"}}]}}}}
    answer = PseudoProvider.translate

    async def down(self: PseudoProvider, batch: object) -> None:
        raise ProviderError("503 service unavailable", retryable=True)

    monkeypatch.setenv("TRANSLATION_MAX_ATTEMPTS", "1")
    with dg.instance_for_test() as instance:
        key = register(instance, build_dialog(tmp_path / "Dialog.xlsx"), data_dir)
        monkeypatch.setattr(PseudoProvider, "translate", down)
        assert not job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False).success
        first = check_states(instance, checks)
        assert first["skipped_text"] == {key: "FAILED"} and first["coverage"] == {key: "EXECUTION_FAILED"}

        monkeypatch.setattr(PseudoProvider, "translate", answer)  # back, with answers QA has nothing against
        monkeypatch.setattr(PseudoProvider, "translate_item", lambda self, item, language: f"{language} {item.id}")
        fixed = job.execute_in_process(instance=instance, partition_key=key, run_config=layout)
        assert fixed.success
        assert check_states(instance, checks) == {check.name: {key: "SUCCEEDED"} for check in checks}
        for check, record in instance.event_log_storage.get_latest_asset_check_execution_by_key(checks).items():
            target = record.evaluation.target_materialization_data
            assert (record.partition, record.run_id, target.run_id) == (key, fixed.run_id, fixed.run_id), check

        second = register(instance, build_dialog(tmp_path / "Dialog 2.xlsx"), data_dir)
        assert job.execute_in_process(instance=instance, partition_key=second).success
        assert check_states(instance, checks)["skipped_text"] == {key: "SUCCEEDED", second: "FAILED"}


def test_a_matching_priority_glob_sets_the_run_priority(harness: Harness) -> None:
    """YAML `priorities`: the first glob a file name matches (ignoring case) gives its run `dagster/priority`."""
    harness.translation = TranslationResource(priorities={"hotfix*": 10, "*backlog*": -5, "HOTFIX_OLD*": 1})
    for name, data in (("Hotfix_UI.xlsx", b"a"), ("dialog_backlog.xlsx", b"b"), ("plain.xlsx", b"c")):
        harness.drop(name, data)
    result = harness.two_ticks()
    by_key = {request.partition_key: request.tags.get("dagster/priority") for request in result.run_requests}
    assert {key.split("-")[0]: tag for key, tag in by_key.items()} == {
        "Hotfix_UI": "10", "dialog_backlog": "-5", "plain": None}  # fmt: skip


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [("priorities: [hotfix]", "must map file-name patterns"), ("priorities: {'hot*': high}", "'priorities.hot*'")],
)
def test_bad_priorities_fail_at_start_naming_the_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yaml_text: str, problem: str
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text, encoding="utf-8")
    monkeypatch.setenv("TRANSLATION_CONFIG", str(config))
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load_settings()
