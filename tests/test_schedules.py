"""`rerun_failed_workbooks` evaluated with `build_schedule_context` on an instance holding failed runs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import register
from translation_pipeline.definitions import build_definitions
from translation_pipeline.localization.translate.providers.base import ProviderError
from translation_pipeline.localization.translate.providers.pseudo import PseudoProvider
from translation_pipeline.schedules.rerun_failed import ATTEMPT_TAG, GAVE_UP_TAG


def run_job(defs: dg.Definitions, instance: dg.DagsterInstance, key: str, tags: dict | None = None) -> bool:
    job = defs.resolve_job_def("translate_workbook_job")
    return job.execute_in_process(instance=instance, partition_key=key, tags=tags, raise_on_error=False).success


def evaluate(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.SkipReason | list[dg.RunRequest]:
    schedule = defs.resolve_schedule_def("rerun_failed_workbooks")
    return schedule(dg.build_schedule_context(instance=instance))


@pytest.fixture
def provider_down(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fail(self: PseudoProvider, batch: object) -> None:
        raise ProviderError("503 service unavailable", retryable=True)

    monkeypatch.setattr(PseudoProvider, "translate", fail)
    monkeypatch.setenv("TRANSLATION_MAX_ATTEMPTS", "1")


def test_failed_translation_is_rerun_until_the_attempts_run_out(
    instance: dg.DagsterInstance, data_dir: Path, sample_workbook: Path, provider_down: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("TRANSLATION_RERUN_MAX_ATTEMPTS", "2")
    defs = build_definitions()
    key = register(instance, sample_workbook, data_dir)
    assert not run_job(defs, instance, key)

    for attempt in (1, 2):
        requests = evaluate(defs, instance)
        assert [(r.run_key, r.partition_key, r.tags[ATTEMPT_TAG]) for r in requests] == [
            (f"{key}:rerun-{attempt}", key, str(attempt))
        ]
        assert not run_job(defs, instance, key, tags=requests[0].tags)

    skipped = evaluate(defs, instance)
    assert isinstance(skipped, dg.SkipReason) and f"gave up on {key}" in skipped.skip_message
    latest = instance.get_runs(limit=1)[0]
    assert latest.tags[GAVE_UP_TAG] == "gave up after 2 of 2 reruns"


def test_success_clears_the_partition_and_bad_input_is_not_rerun(
    instance: dg.DagsterInstance, data_dir: Path, sample_workbook: Path, tmp_path: Path
) -> None:
    defs = build_definitions()
    good = register(instance, sample_workbook, data_dir)
    assert run_job(defs, instance, good)
    corrupt = tmp_path / "corrupt.xlsx"
    corrupt.write_bytes(b"not a workbook")
    bad = register(instance, corrupt, data_dir)
    assert not run_job(defs, instance, bad)  # fails in source_workbook: rerunning cannot help
    skipped = evaluate(defs, instance)
    assert isinstance(skipped, dg.SkipReason) and skipped.skip_message == "no failed workbook to rerun"


def test_rerun_after_recovery_sends_only_what_is_missing(
    instance: dg.DagsterInstance, data_dir: Path, sample_workbook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """First run: the provider answers the en batch only. Rerun: only ja and ko are requested."""
    defs = build_definitions()
    key = register(instance, sample_workbook, data_dir)
    original = PseudoProvider.translate
    sent: list[str] = []

    async def only_en(self: PseudoProvider, batch):  # type: ignore[no-untyped-def]
        sent.append(batch.target_language)
        if batch.target_language != "en":
            raise ProviderError("500 internal error", retryable=True)
        return await original(self, batch)

    monkeypatch.setenv("TRANSLATION_MAX_ATTEMPTS", "1")
    monkeypatch.setattr(PseudoProvider, "translate", only_en)
    assert not run_job(build_definitions(), instance, key)
    assert sorted(sent) == ["en", "ja", "ko"]

    sent.clear()
    monkeypatch.setattr(
        PseudoProvider, "translate", lambda self, batch: (sent.append(batch.target_language), original(self, batch))[1]
    )
    requests = evaluate(defs, instance)
    assert run_job(defs, instance, key, tags=requests[0].tags)
    assert sorted(sent) == ["ja", "ko"]
