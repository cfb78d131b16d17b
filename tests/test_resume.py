"""Durability: SIGKILL in the middle of `translations`, then resume; a second workbook reuses the memory.

The real `translation-pipeline` CLI and the real OpenAI SDK talk to the local fake server, which counts
every request, so "nothing answered is lost or paid for twice" is measured, not assumed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from tests.fake_llm_server import FakeLLMServer
from translation_pipeline.localization.store import ProjectStore, batch_checkpoints, llm_calls, translation_memory

CLI = shutil.which("translation-pipeline", path=str(Path(sys.executable).parent)) or "translation-pipeline"
STRINGS = [f"第{i}句台词：勇者{{0}}来到了晨曦村。" for i in range(60)]
BATCH = 5  # 60 strings, one target language: 12 batches


def write_workbook(path: Path, texts: list[str]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Dialog"
    sheet.append(["Key", "中文", "English"])
    for index, text in enumerate(texts):
        sheet.append([f"k{index}", text, None])
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(latency_ms=250) as fake:
        yield fake


def cli_env(server: FakeLLMServer, root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TRANSLATION_DATA_DIR": str(root / "data"),
        "DAGSTER_HOME": str(root / "home"),
        "TRANSLATION_PROVIDER": "openai",
        "OPENAI_BASE_URL": server.base_url_openai,
        "OPENAI_API_KEY": "sk-test",
        "TRANSLATION_CONCURRENCY": "2",
        "TRANSLATION_BATCH_MAX_ITEMS": str(BATCH),
        "TRANSLATION_MIN_BATCH_ITEMS": str(BATCH),  # fixed batch size: the request count is exact
    }


def store_of(root: Path) -> ProjectStore:
    return ProjectStore(f"sqlite:///{root / 'data' / 'translation_store.sqlite'}")


def count(store: ProjectStore, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(table))


def output_values(root: Path) -> list[tuple[object, ...]]:
    output = next((root / "data" / "outbox").glob("*/*.translated.xlsx"))
    return [tuple(c.value for c in row) for row in load_workbook(output)["Dialog"].iter_rows()]


def test_sigkill_mid_translation_then_resume_sends_only_unanswered_batches(
    server: FakeLLMServer, tmp_path: Path
) -> None:
    workbook = write_workbook(tmp_path / "drop" / "Dialog.xlsx", STRINGS)
    killed = tmp_path / "killed"
    process = subprocess.Popen([CLI, "translate", str(workbook)], env=cli_env(server, killed),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        store_file = killed / "data" / "translation_store.sqlite"
        if store_file.exists() and count(store_of(killed), batch_checkpoints) >= 4:
            break
        time.sleep(0.05)
    else:
        pytest.fail("no checkpoint appeared in time")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    sent_before = server.request_count
    checkpointed = count(store_of(killed), batch_checkpoints)
    assert 4 <= checkpointed < 12, "the kill must land in the middle of the translations step"
    assert sent_before - checkpointed <= 2  # at most the two requests in flight were lost with the process

    resumed = subprocess.run([CLI, "translate", str(workbook)], env=cli_env(server, killed),
                             capture_output=True, text=True, timeout=180, check=False)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    sent_after = server.request_count - sent_before
    assert sent_after == 12 - checkpointed  # only the batches with no stored answer
    assert count(store_of(killed), llm_calls) == 12  # each batch answered and logged exactly once

    clean = tmp_path / "clean"
    uninterrupted = subprocess.run([CLI, "translate", str(workbook)], env=cli_env(server, clean),
                                   capture_output=True, text=True, timeout=180, check=False)  # fmt: skip
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    assert output_values(killed) == output_values(clean)
    assert output_values(killed)[1] == ("k0", STRINGS[0], f"[en] {STRINGS[0]}")


def test_second_workbook_requests_only_strings_the_memory_lacks(server: FakeLLMServer, tmp_path: Path) -> None:
    root = tmp_path / "shared"
    first = write_workbook(tmp_path / "a" / "Act1.xlsx", STRINGS[:30])
    second = write_workbook(tmp_path / "b" / "Act2.xlsx", STRINGS[20:40])  # 10 overlap, 10 new
    done = subprocess.run([CLI, "translate", str(first)], env=cli_env(server, root), capture_output=True,
                          text=True, timeout=180, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    before = server.request_count
    done = subprocess.run([CLI, "translate", str(second)], env=cli_env(server, root), capture_output=True,
                          text=True, timeout=180, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    requested = [item for request in server.requests[before:] for item in request["item_ids"]]
    assert server.request_count - before == 2 and len(requested) == 10  # the 10 new strings, 2 batches of 5


def test_store_migrates_a_call_log_from_before_cost_and_outcome(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE llm_calls (id INTEGER PRIMARY KEY, workbook_key VARCHAR(100) NOT NULL, batch_id VARCHAR(64) "
            "NOT NULL, provider VARCHAR(32) NOT NULL, model VARCHAR(100) NOT NULL, items INTEGER NOT NULL, answered "
            "INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, latency_ms INTEGER "
            "NOT NULL, created_at DATETIME NOT NULL)"
        ))  # fmt: skip
        conn.execute(
            sa.text("INSERT INTO llm_calls VALUES (1, 'wb', 'b1', 'openai', 'm', 5, 5, 10, 4, 300, '2026-01-01')")
        )
    store = ProjectStore(url)  # migrates
    assert {c["name"] for c in sa.inspect(store.engine).get_columns("llm_calls")} >= {"cost_usd", "outcome"}
    store.log_calls("wb", [{"batch_id": "b2", "provider": "openai", "model": "m", "items": 5, "answered": 0,
                            "prompt_tokens": 10, "completion_tokens": 0, "latency_ms": 90, "cost_usd": 0.5,
                            "outcome": "429 rate limited"}])  # fmt: skip
    assert store.workbook_usage("wb") == (2, 20, 4, 0.5)
    ProjectStore(url)  # a second start finds nothing to migrate


def test_two_runs_at_once_on_the_same_store(server: FakeLLMServer, tmp_path: Path) -> None:
    """Two CLI processes translate overlapping workbooks at the same time: both finish, every string is in
    the memory once, and each is requested at most twice (both runs may ask before either has an answer)."""
    root = tmp_path / "shared"
    first = write_workbook(tmp_path / "a" / "Act1.xlsx", STRINGS[:40])
    second = write_workbook(tmp_path / "b" / "Act2.xlsx", STRINGS[20:60])
    # an operator's first command initializes the instance; two processes creating a brand-new SQLite
    # DAGSTER_HOME at the same instant race inside Dagster ("table runs already exists")
    subprocess.run([CLI, "status"], env=cli_env(server, root), capture_output=True, timeout=120, check=True)
    runs = [subprocess.Popen([CLI, "translate", str(path)], env=cli_env(server, root), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for path in (first, second)]  # fmt: skip
    for run in runs:
        _, stderr = run.communicate(timeout=180)
        assert run.returncode == 0, stderr
    store = store_of(root)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(translation_memory.c.source_text)).scalars().all()
    assert sorted(rows) == sorted(STRINGS)
    requested = [item for request in server.requests for item in request["item_ids"]]
    assert 60 <= len(requested) <= 80  # 60 unique strings; only the 20 shared ones can be asked twice
