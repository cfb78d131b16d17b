"""Retention cleanup (schedule job and CLI) and the `status` / `retry-failed` commands."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from translation_pipeline.cli import main
from translation_pipeline.definitions import build_definitions
from translation_pipeline.localization.inbox.archive import archive_file
from translation_pipeline.localization.store import MemoryScope
from translation_pipeline.localization.translate.prompt import PROMPT_VERSION
from translation_pipeline.localization.translate.providers.base import ProviderError
from translation_pipeline.localization.translate.providers.pseudo import PseudoProvider, pseudo_localize
from translation_pipeline.resources.store import ProjectStoreResource
from translation_pipeline.sample import write_sample_workbook


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> Path:
    path = tmp_path / "dagster_home"
    path.mkdir()
    (path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(path))
    return path


def translate_one(instance: dg.DagsterInstance, workbook: Path, data_dir: Path) -> str:
    key = archive_file(workbook, data_dir / "archive").key
    instance.add_dynamic_partitions("workbooks", [key])
    job = build_definitions().resolve_job_def("translate_workbook_job")
    job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False)
    return key


def backdate(data_dir: Path, key: str, iso: str) -> None:
    sidecar = data_dir / "archive" / f"{key}.json"
    entry = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**entry, "archived_at": iso}))


def test_cleanup_forgets_old_workbooks_but_keeps_the_memory(
    home: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with dg.DagsterInstance.get() as instance:
        old = translate_one(instance, write_sample_workbook(tmp_path / "old" / "Old.xlsx"), data_dir)
        new = translate_one(instance, write_sample_workbook(tmp_path / "new" / "New.xlsx"), data_dir)
        backdate(data_dir, old, "2020-01-01T00:00:00+00:00")

        schedule = build_definitions().resolve_schedule_def("cleanup_old_workbooks")
        request = schedule.evaluate_tick(dg.build_schedule_context(instance=instance)).run_requests[0]
        assert request.job_name in (None, "cleanup_old_workbooks_job")
        job = build_definitions().resolve_job_def("cleanup_old_workbooks_job")
        assert job.execute_in_process(instance=instance).success

        assert list(instance.get_dynamic_partitions("workbooks")) == [new]
    assert not list((data_dir / "archive").glob(f"{old}.*"))
    assert not (data_dir / "outbox" / old).exists() and not list((data_dir / "storage").glob(f"*/{old}*"))
    assert (data_dir / "outbox" / new).is_dir() and list((data_dir / "storage").glob(f"*/{new}"))
    assert len(list((data_dir / "storage" / "translation_tasks").glob(f"{new}.*"))) == 3  # the plan's parts
    store = ProjectStoreResource(data_dir=str(data_dir)).get_store()
    scope = MemoryScope("zh-CN", "en", "pseudo-v2", PROMPT_VERSION)
    assert store.lookup(scope, ["取消"]) == {"取消": pseudo_localize("取消", 8)}  # the memory survives

    assert main(["cleanup", "--older-than-days", "0", "--dry-run"]) == 0
    assert f"would forget 1 workbooks older than 0 days: {new}" in capsys.readouterr().out


def test_status_and_retry_failed_commands(
    home: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def down(self: PseudoProvider, batch: object) -> None:
        raise ProviderError("503 service unavailable", retryable=True)

    monkeypatch.setenv("TRANSLATION_MAX_ATTEMPTS", "1")
    with monkeypatch.context() as patch:
        patch.setattr(PseudoProvider, "translate", down)
        with dg.DagsterInstance.get() as instance:
            key = translate_one(instance, write_sample_workbook(tmp_path / "in" / "Dialog.xlsx"), data_dir)
        assert main(["status"]) == 0
        line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith(key))
        assert line.split()[1:4] == ["failure", "-", "-"]
        # the export's reason: translations kept what it could; 35, as the prefilled "OK" for 确定 is approved
        assert "Dialog.xlsx: 35 of 36 " in line

    assert main(["retry-failed"]) == 0  # the provider is back
    out = capsys.readouterr().out
    assert f"{key}: rerun 1 of 3 ..." in out and "36 translated, 5 skipped: see QA report" in out
    assert main(["status"]) == 0
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith(key))
    assert line.split()[1:5] == ["success", "36", "0", "5"]  # hidden Config sheet (4), formula source (1)
