"""Pinned translation settings: the first run of a workbook version pins provider, model, prompt version,
glossary hash and game context; later runs (the rerun schedule, `retry-failed`, `translate` again) use them
whatever their own configuration says, fail with one line when they cannot, and only an explicit switch (run
config, `--provider` / `--model`) re-pins. The store side runs on SQLite and on MariaDB."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from openpyxl import load_workbook

from tests.conftest import register
from tests.fake_llm_server import FakeLLMServer
from tests.test_provider_faults import CELL, ROWS, expected, write_workbook
from translation_pipeline.cli import main
from translation_pipeline.definitions import build_definitions
from translation_pipeline.localization.inbox.keys import workbook_key
from translation_pipeline.localization.store import ProjectStore
from translation_pipeline.localization.translate.pinned import (
    SWITCH_HINT,
    SettingUnavailable,
    TranslatorSettings,
    build_translator,
    glossary_sha256,
    resolve_translator,
)
from translation_pipeline.localization.translate.prompt import PROMPT_VERSION
from translation_pipeline.resources.store import ProjectStoreResource
from translation_pipeline.schedules.rerun_failed import ATTEMPT_TAG

OPENAI = {"provider": "openai", "model": "gpt-4o-mini", "fallback_provider": "", "fallback_model": "",
          "prompt_version": PROMPT_VERSION, "glossary_sha256": "", "game": {}, "mode": "realtime"}  # fmt: skip
PSEUDO = {**OPENAI, "provider": "pseudo", "model": "pseudo-v2"}


@pytest.fixture(params=["sqlite", "mariadb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProjectStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    else:
        url = request.getfixturevalue("mysql_database").url
    project_store = ProjectStore(url)
    yield project_store
    project_store.dispose()


def test_the_first_pin_wins_and_only_a_repin_replaces_it(store: ProjectStore) -> None:
    assert store.pinned_settings("wb-1") is None
    assert store.pin_settings("wb-1", OPENAI) == OPENAI
    assert store.pin_settings("wb-1", PSEUDO) == OPENAI  # a later run with another configuration
    assert store.pinned_settings("wb-1") == OPENAI and store.pinned_settings("wb-2") is None
    store.repin_settings("wb-1", PSEUDO)
    store.repin_settings("wb-3", PSEUDO)  # a switch before any run pins too
    assert store.pinned_settings("wb-1") == PSEUDO == store.pinned_settings("wb-3")
    store.forget_workbook("wb-1")
    assert store.pinned_settings("wb-1") is None and store.pinned_settings("wb-3") == PSEUDO


def test_concurrent_first_runs_all_get_the_same_pin(store: ProjectStore) -> None:
    candidates = [{**OPENAI, "model": f"model-{n}", "game": {"world": "晨曦村"}} for n in range(6)]
    barrier, got, errors = threading.Barrier(len(candidates)), [], []

    def first_run(settings: dict[str, object]) -> None:
        try:
            barrier.wait(timeout=30)
            got.append(store.pin_settings("wb-race", settings))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=first_run, args=(c,)) for c in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(got) == len(candidates) and all(g == got[0] for g in got) and got[0] in candidates
    assert store.pinned_settings("wb-race") == got[0]


# -- pinned.py on its own ---------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[ProjectStore]:
    project_store = ProjectStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield project_store
    project_store.dispose()


def test_text_fields_are_what_is_pinned_and_with_pinned_puts_them_back() -> None:
    settings = TranslatorSettings(provider="openai", model="gpt-4o", game={"world": "W", "style": "S"},
                                  concurrency=3, request_timeout=9.0)  # fmt: skip
    assert settings.text_fields() == {**OPENAI, "model": "gpt-4o", "game": {"style": "S", "world": "W"}}
    back = TranslatorSettings(concurrency=3).with_pinned(settings.text_fields())
    assert (back.provider, back.model, back.game, back.concurrency, back.request_timeout) == (
        "openai", "gpt-4o", {"style": "S", "world": "W"}, 3, 60.0,  # the knobs stay this process's
    )  # fmt: skip
    assert TranslatorSettings().with_pinned({"provider": "qwen", "model": "qwen-max"}).prompt_version == PROMPT_VERSION


def test_a_changed_glossary_or_prompt_version_cannot_be_used(
    sqlite_store: ProjectStore, tmp_path: Path
) -> None:  # fmt: skip
    glossary = tmp_path / "glossary.csv"
    glossary.write_text("source,language,target\n勇者,en,Hero\n", encoding="utf-8")
    current = TranslatorSettings(glossary_file=str(glossary), glossary_sha256=glossary_sha256(str(glossary)))
    assert resolve_translator(sqlite_store, "wb", current).pinned_by == "this run"
    glossary.write_text("source,language,target\n勇者,en,Brave\n", encoding="utf-8")
    changed = TranslatorSettings(glossary_file=str(glossary), glossary_sha256=glossary_sha256(str(glossary)))
    with pytest.raises(SettingUnavailable) as raised:
        resolve_translator(sqlite_store, "wb", changed)
    assert str(raised.value) == (
        f"wb: pinned to glossary sha256 {current.glossary_sha256[:12]} but {glossary} now has sha256 "
        f"{changed.glossary_sha256[:12]}; restore that file, or {SWITCH_HINT}"
    )
    sqlite_store.repin_settings("wb", {**PSEUDO, "prompt_version": "p0"})
    with pytest.raises(SettingUnavailable) as raised:
        resolve_translator(sqlite_store, "wb", TranslatorSettings())
    assert str(raised.value) == f"wb: pinned to prompt version p0 but this code has {PROMPT_VERSION}; {SWITCH_HINT}"
    with pytest.raises(SettingUnavailable, match="prompt version p0"):
        build_translator(TranslatorSettings(prompt_version="p0"))


def test_a_lost_first_run_race_uses_the_winner_and_a_model_switch_keeps_the_provider(
    sqlite_store: ProjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # the provider is built, never asked

    class Racing(ProjectStore):
        """Another run of the workbook pins openai between this run's look and its own pin."""

        def pin_settings(self, workbook_key: str, settings: dict[str, object]) -> dict[str, object]:
            super().pin_settings(workbook_key, OPENAI)
            return super().pin_settings(workbook_key, settings)

    racing = Racing(sqlite_store.url)
    resolved = resolve_translator(racing, "wb", TranslatorSettings())
    assert (resolved.translator.provider.name, resolved.pinned_by) == ("openai", "an earlier run")
    assert resolved.ignored == ["provider 'pseudo' (pinned: 'openai')", "model 'pseudo-v2' (pinned: 'gpt-4o-mini')"]
    switched = resolve_translator(racing, "wb", TranslatorSettings(), switch_model="gpt-4o")
    assert (switched.translator.provider.name, switched.translator.provider.model) == ("openai", "gpt-4o")
    assert switched.pinned_by == "this run, switched from openai (gpt-4o-mini)"
    assert racing.pinned_settings("wb") == {**OPENAI, "model": "gpt-4o"}
    with pytest.raises(ValueError, match="switch_provider must be one of pseudo, openai, qwen; got 'claude'"):
        resolve_translator(racing, "wb", TranslatorSettings(), switch_provider="claude")
    racing.dispose()


# -- through Dagster: the schedule, run config, the CLI -------------------------------------------------------


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    """The fake OpenAI endpoint with a key, in this process's environment (runs execute in-process)."""
    with FakeLLMServer(retry_after="0") as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url_openai)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("TRANSLATION_BACKOFF_BASE", "0.01")
        yield fake


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    return write_workbook(tmp_path / "drop" / "Pinned.xlsx")


def run_job(
    instance: dg.DagsterInstance, key: str, tags: dict | None = None, config: dict | None = None
) -> dg.ExecuteInProcessResult:
    """One run of the whole chain, from definitions built from the environment as it is now."""
    job = build_definitions().resolve_job_def("translate_workbook_job")
    return job.execute_in_process(instance=instance, partition_key=key, tags=tags, run_config=config,
                                  raise_on_error=False)  # fmt: skip


def failure_of(result: dg.ExecuteInProcessResult) -> str:
    event = next(e for e in result.all_events if e.is_step_failure and e.step_key == "translations")
    return event.step_failure_data.user_failure_data.description


def output_cells(data_dir: Path, key: str) -> dict[str, object]:
    sheet = load_workbook(next((data_dir / "outbox" / key).glob("*.translated.xlsx")))["Strings"]
    return {row: sheet[cell].value for row, cell in CELL.items()}


def is_pseudo(text: object) -> bool:
    """Pseudo-localized (`[Ĥéĺĺó~~]`), not the fake server's `[en] 原文`."""
    return isinstance(text, str) and text.startswith("[") and text.endswith("~]") and not text.startswith("[en] ")


def rerun_request(instance: dg.DagsterInstance, key: str) -> dg.RunRequest:
    """The run the rerun schedule requests for the failed workbook (from definitions built now)."""
    schedule = build_definitions().resolve_schedule_def("rerun_failed_workbooks")
    [request] = schedule(dg.build_schedule_context(instance=instance))
    assert request.partition_key == key and request.run_config == {}
    return request


def fail_first_run_under_openai(
    instance: dg.DagsterInstance, server: FakeLLMServer, workbook: Path, data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> str:  # fmt: skip
    """The first run, configured for openai, fails in `translations` (401 on its one request); the process
    configuration then goes back to the default, pseudo."""
    monkeypatch.setenv("TRANSLATION_PROVIDER", "openai")
    key = register(instance, workbook, data_dir)
    server.plan(["401"])
    result = run_job(instance, key)
    assert not result.success and "401 invalid api key" in failure_of(result)
    assert instance.get_run_by_id(result.run_id).tags["translation/provider"] == "openai"
    monkeypatch.delenv("TRANSLATION_PROVIDER")
    return key


def test_the_rerun_schedule_keeps_the_pinned_provider_of_a_failed_workbook(
    instance: dg.DagsterInstance, server: FakeLLMServer, workbook: Path, data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    key = fail_first_run_under_openai(instance, server, workbook, data_dir, monkeypatch)
    store = ProjectStoreResource(data_dir=str(data_dir)).get_store()
    assert store.pinned_settings(key) == OPENAI

    # rerun 1, by a process configured for pseudo and without the OpenAI key: one line, nothing sent or written
    monkeypatch.delenv("OPENAI_API_KEY")
    keyless = run_job(instance, key, tags=rerun_request(instance, key).tags)
    assert not keyless.success
    assert failure_of(keyless) == (
        f"{key}: pinned to openai (gpt-4o-mini) but OPENAI_API_KEY is not set in this process; set it, or {SWITCH_HINT}"
    )
    assert "\n" not in failure_of(keyless)
    assert server.request_count == 1 and not (data_dir / "outbox" / key).exists()
    assert store.pinned_settings(key) == OPENAI

    # rerun 2, still configured for pseudo, with the key: openai translates
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    request = rerun_request(instance, key)
    result = run_job(instance, key, tags=request.tags)
    assert result.success
    assert server.request_count == 2 and {r["model"] for r in server.requests} == {"gpt-4o-mini"}
    assert output_cells(data_dir, key) == {row: expected(row) for row, _ in ROWS}  # openai's text, not pseudo
    tags = instance.get_run_by_id(result.run_id).tags
    assert tags[ATTEMPT_TAG] == "2"
    assert (tags["translation/provider"], tags["translation/model"]) == ("openai", "gpt-4o-mini")
    assert (tags["translation/prompt_version"], tags["translation/pinned_by"]) == (PROMPT_VERSION, "an earlier run")
    meta = result.asset_materializations_for_node("translations")[0].metadata
    assert (meta["provider"].value, meta["pinned_by"].value) == ("openai", "an earlier run")
    warnings = [e.user_message for e in instance.all_logs(result.run_id) if "not this process's" in e.user_message]
    assert warnings == [f"{key}: using the settings pinned by an earlier run, not this process's: "
                        "provider 'pseudo' (pinned: 'openai'); model 'pseudo-v2' (pinned: 'gpt-4o-mini')"]  # fmt: skip


def test_run_config_switches_the_provider_and_later_runs_keep_the_switch(
    instance: dg.DagsterInstance, server: FakeLLMServer, workbook: Path, data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("TRANSLATION_PROVIDER", "openai")  # the switch wins over the configuration too
    key = register(instance, workbook, data_dir)
    store = ProjectStoreResource(data_dir=str(data_dir)).get_store()
    store.pin_settings(key, OPENAI)  # as an earlier run would have
    switch = {"ops": {"translations": {"config": {"switch_provider": "pseudo"}}}}
    switched = run_job(instance, key, config=switch)
    assert switched.success and server.request_count == 0
    assert all(map(is_pseudo, output_cells(data_dir, key).values()))
    tags = instance.get_run_by_id(switched.run_id).tags
    assert (tags["translation/provider"], tags["translation/model"]) == ("pseudo", "pseudo-v2")
    assert tags["translation/pinned_by"] == "this run, switched from openai (gpt-4o-mini)"
    assert store.pinned_settings(key) == PSEUDO

    later = run_job(instance, key)  # configured for openai, pinned to pseudo
    assert later.success and server.request_count == 0
    assert instance.get_run_by_id(later.run_id).tags["translation/provider"] == "pseudo"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "dagster_home"
    path.mkdir()
    (path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(path))
    return path


def status_columns(capsys: pytest.CaptureFixture[str], key: str) -> tuple[str, str]:
    """(provider, model) of the workbook in `translation-pipeline status`."""
    capsys.readouterr()
    assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split()
    row = next(line for line in lines if line.startswith(key)).split()
    return row[header.index("provider")], row[header.index("model")]


def test_cli_keeps_the_pin_switches_with_flags_and_status_shows_it(
    home: Path, server: FakeLLMServer, workbook: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("TRANSLATION_PROVIDER", "openai")
    server.plan(["401"])
    assert main(["translate", str(workbook)]) == 1
    key = workbook_key(workbook)
    # set, not unset: the CLI's job definition is cached in this process, with the provider read from the env var
    monkeypatch.setenv("TRANSLATION_PROVIDER", "pseudo")
    assert status_columns(capsys, key) == ("openai", "gpt-4o-mini")

    assert main(["retry-failed", "--provider", "pseudo"]) == 0  # the explicit switch
    assert f"{key}: rerun 1 of 3 ..." in capsys.readouterr().out
    assert status_columns(capsys, key) == ("pseudo", "pseudo-v2")
    assert server.request_count == 1

    monkeypatch.setenv("TRANSLATION_PROVIDER", "openai")
    assert main(["translate", str(workbook)]) == 0  # the same file again: still pseudo
    assert server.request_count == 1 and all(map(is_pseudo, output_cells(data_dir, key).values()))
    assert main(["translate", str(workbook), "--provider", "openai", "--model", "gpt-4o"]) == 0
    assert server.request_count == 2 and server.requests[-1]["model"] == "gpt-4o"
    assert output_cells(data_dir, key) == {row: expected(row) for row, _ in ROWS}
    assert status_columns(capsys, key) == ("openai", "gpt-4o")
