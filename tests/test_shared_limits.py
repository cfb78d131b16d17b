"""One limit per provider account across runs: with the instance config of `deploy/`, two runs translating at
the same time never have more than TRANSLATION_CONCURRENCY requests in flight together.

The `translations` step is in the `llm` pool and the deploy files give every pool one slot, so the second run's
step waits for the first one's; its reading and export go on beside it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.fake_llm_server import FakeLLMServer
from tests.test_cli import CLI
from tests.workbook_factory import build_table

REPO = Path(__file__).resolve().parents[1]
CONCURRENCY = 3


def workbook(path: Path, tag: str) -> Path:
    rows = [["Key", "中文", "English"], *([f"{tag}.{i}", f"第{i}句{tag}台词", None] for i in range(60))]
    return build_table(path, {"Dialog": rows})


def test_two_runs_at_once_share_one_concurrency_limit(tmp_path: Path) -> None:
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.sqlite.yaml", home / "dagster.yaml")
    books = [workbook(tmp_path / f"book{tag}.xlsx", tag) for tag in "ab"]
    with FakeLLMServer(latency_ms=1000) as server:
        env = {
            **os.environ, "DAGSTER_HOME": str(home), "TRANSLATION_DATA_DIR": str(data),
            "TRANSLATION_PROVIDER": "openai", "OPENAI_BASE_URL": server.base_url_openai, "OPENAI_API_KEY": "test",
            "TRANSLATION_CONCURRENCY": str(CONCURRENCY), "TRANSLATION_BATCH_MAX_ITEMS": "5",
        }  # fmt: skip
        env.pop("TRANSLATION_CONFIG", None)
        runs = [subprocess.Popen([CLI, "translate", str(book)], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for book in books]  # fmt: skip
        outcomes = [run.communicate(timeout=300) for run in runs]
        requests, most = server.request_count, server.max_in_flight
    assert [run.returncode for run in runs] == [0, 0], outcomes
    assert requests == 24  # 60 strings in batches of 5, per workbook
    assert most <= CONCURRENCY
    assert most == CONCURRENCY  # each run filled the limit while it held the slot
    assert len(list((data / "outbox").rglob("*.translated.xlsx"))) == 2
