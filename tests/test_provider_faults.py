"""Every fault of the fake LLM server, through the real SDKs and the whole Dagster chain: what lands in the
exported workbook, what the QA report and the failure say, and how many requests the server received."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import dashscope
import pandas as pd
import pytest
import yaml
from openpyxl import Workbook, load_workbook

from tests.fake_llm_server import FORMULA_TEXT, FakeLLMServer
from translation_pipeline.definitions import ASSETS, build_resources
from translation_pipeline.localization.inbox.archive import archive_file
from translation_pipeline.settings import load_settings

# key, 中文 (source); English is empty everywhere. "确定" twice: one task, one item.
ROWS = [
    ("k1", "勇者，欢迎来到晨曦村！"),
    ("k2", "你的名字是{name}吗？"),
    ("k3", "修理需要%d金币。"),
    ("k4", "确定"),
    ("k5", "确定"),
    ("k6", "<color=#ffcc00>传说之剑</color>已经锻造完成。"),
]
CELL = {key: f"C{row}" for row, (key, _) in enumerate(ROWS, start=2)}


def write_workbook(path: Path) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Strings"
    sheet.append(["Key", "中文", "English"])
    for key, text in ROWS:
        sheet.append([key, text, None])
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def expected(key: str) -> str:
    return f"[en] {dict(ROWS)[key]}"


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(retry_after="0", slow_seconds=3) as fake:
        yield fake


@pytest.fixture
def chain(
    server: FakeLLMServer, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ChainRunner]:
    """Real SDKs pointed at the fake server: OpenAI by its env vars, DashScope by the config file."""
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url_openai)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai")
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test-dashscope")
    monkeypatch.setattr(dashscope, "base_http_api_url", dashscope.base_http_api_url)  # restored afterwards
    (tmp_path / "translation_pipeline.yaml").write_text(
        yaml.safe_dump({"dashscope_base_url": server.base_url_dashscope}), encoding="utf-8"
    )
    monkeypatch.setenv("TRANSLATION_PROVIDER", "openai")
    monkeypatch.setenv("TRANSLATION_CONCURRENCY", "1")
    monkeypatch.setenv("TRANSLATION_BACKOFF_BASE", "0.01")
    monkeypatch.setenv("TRANSLATION_REQUEST_TIMEOUT", "5")
    with dg.instance_for_test() as instance:
        yield ChainRunner(instance, data_dir, write_workbook(tmp_path / "drop" / "faults.xlsx"))


class ChainRunner:
    def __init__(self, instance: dg.DagsterInstance, data_dir: Path, workbook: Path) -> None:
        self.instance, self.data_dir, self.workbook = instance, data_dir, workbook
        self.key = archive_file(workbook, data_dir / "archive").key
        instance.add_dynamic_partitions("workbooks", [self.key])

    def run(self) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            ASSETS,
            instance=self.instance,
            partition_key=self.key,
            resources=build_resources(load_settings()),
            raise_on_error=False,
        )

    @property
    def outbox(self) -> Path:
        return self.data_dir / "outbox" / self.key

    def cells(self) -> dict[str, object]:
        sheet = load_workbook(next(self.outbox.glob("*.translated.xlsx")))["Strings"]
        return {key: sheet[cell] for key, cell in CELL.items()}

    def findings(self, status: str | None = None) -> pd.DataFrame:
        findings = pd.read_excel(next(self.outbox.glob("*.qa.xlsx")), sheet_name="findings")
        return findings if status is None else findings[findings["status"] == status].reset_index(drop=True)


def failure_of(result: dg.ExecuteInProcessResult, step: str) -> str:
    event = next(e for e in result.all_events if e.is_step_failure and e.step_key == step)
    return event.step_failure_data.user_failure_data.description


def translations_meta(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    return {k: v.value for k, v in result.asset_materializations_for_node("translations")[0].metadata.items()}


FAULT_FREE_REQUESTS = 1  # five unique strings, one language: one batch

# fault -> extra requests it costs beyond the fault-free run (every item is translated in the end)
RECOVERED = {
    "429": 1,  # retried after Retry-After: 0
    "500": 1,
    "slow": 1,  # times out (request timeout below), retried
    "non_json": 2,  # whole batch fails, re-sent as halves of 3 and 2 items
    "code_fence": 0,  # fence tolerated
    "missing_id": 1,  # the missing item re-sent alone
    "extra_id": 0,  # unknown id ignored
    "shuffled": 0,  # matched by id, not position
    "truncated": 2,  # finish_reason length fails the batch: two halves
    "duplicate_id": 1,
    "empty_text": 1,
}
QWEN_SUBSET = {"429", "500", "truncated", "missing_id"}


@pytest.mark.parametrize(
    ("provider", "fault"),
    [("openai", fault) for fault in RECOVERED] + [("qwen", fault) for fault in RECOVERED if fault in QWEN_SUBSET],
)
def test_recovered_fault_fills_every_cell_with_the_right_text(
    chain: ChainRunner, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, provider: str, fault: str
) -> None:
    monkeypatch.setenv("TRANSLATION_PROVIDER", provider)
    if fault == "slow":
        monkeypatch.setenv("TRANSLATION_REQUEST_TIMEOUT", "0.5")
    server.plan([fault])
    result = chain.run()
    assert result.success
    assert server.request_count == FAULT_FREE_REQUESTS + RECOVERED[fault]
    assert {key: cell.value for key, cell in chain.cells().items()} == {key: expected(key) for key, _ in ROWS}
    meta = translations_meta(result)
    assert meta["requests"] == server.request_count and meta["failed"] == 0
    assert meta["provider"] == provider
    assert "failed" not in chain.findings()["status"].tolist()  # warnings only: the fake keeps the Han text


def test_fault_free_run_records_tokens_and_cost(chain: ChainRunner, server: FakeLLMServer) -> None:
    result = chain.run()
    assert result.success and server.request_count == FAULT_FREE_REQUESTS
    meta = translations_meta(result)
    assert meta["model"] == "gpt-4o-mini" and meta["transport_retries"] == 0
    assert meta["prompt_tokens"] > 0 and meta["completion_tokens"] > 0
    assert 0 < meta["cost_usd"] < 0.01
    assert "sk-test" not in str(meta)  # keys never reach metadata


def test_unpriced_model_reports_unknown_cost(
    chain: ChainRunner, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRANSLATION_MODEL", "house-model-7")
    result = chain.run()
    assert result.success and translations_meta(result)["cost_usd"] == "unknown price"


def test_a_formula_reply_is_resent_and_the_real_translation_written(chain: ChainRunner, server: FakeLLMServer) -> None:
    server.plan(["formula"])  # the first item (k1) comes back as =HYPERLINK(...) on the first request
    result = chain.run()
    assert result.success and server.request_count == FAULT_FREE_REQUESTS + 1
    assert chain.cells()["k1"].value == expected("k1")
    assert "formula_like" not in set(chain.findings()["rule"])


def test_a_formula_reply_on_every_attempt_lands_as_text_and_is_flagged(
    chain: ChainRunner, server: FakeLLMServer
) -> None:
    server.fault_for_item("晨曦村", "formula", times=None)
    result = chain.run()
    assert result.success and server.request_count == FAULT_FREE_REQUESTS + 3  # TRANSLATION_MAX_ATTEMPTS = 4
    cell = chain.cells()["k1"]
    assert cell.value == FORMULA_TEXT and cell.data_type == "s"
    findings = chain.findings()
    assert findings[findings["rule"] == "formula_like"]["cell"].tolist() == ["C2"]


def test_a_lone_surrogate_costs_only_its_item_and_is_resent(chain: ChainRunner, server: FakeLLMServer) -> None:
    server.fault_for_item("晨曦村", "lone_surrogate")
    result = chain.run()
    assert result.success and server.request_count == FAULT_FREE_REQUESTS + 1
    assert all(cell.value == expected(key) for key, cell in chain.cells().items())


def test_a_lone_surrogate_on_every_attempt_is_replaced_and_flagged(chain: ChainRunner, server: FakeLLMServer) -> None:
    server.fault_for_item("晨曦村", "lone_surrogate", times=None)
    result = chain.run()
    assert result.success  # the step, the store and the QA report all hold
    assert chain.cells()["k1"].value == "lone \ufffd surrogate"
    findings = chain.findings()
    assert findings[findings["rule"] == "control_characters"]["cell"].tolist() == ["C2"]


def test_lost_placeholder_once_is_resent(chain: ChainRunner, server: FakeLLMServer) -> None:
    server.fault_for_item("{name}", "lost_placeholder")
    result = chain.run()
    assert result.success and server.request_count == FAULT_FREE_REQUESTS + 1
    assert chain.cells()["k2"].value == expected("k2")


def test_placeholder_always_lost_leaves_the_cell_empty_and_reported(chain: ChainRunner, server: FakeLLMServer) -> None:
    server.fault_for_item("{name}", "lost_placeholder", times=None)
    result = chain.run()
    assert not result.success
    assert server.request_count == FAULT_FREE_REQUESTS + 3  # sent 4 times (TRANSLATION_MAX_ATTEMPTS), then failed
    cells = chain.cells()
    assert cells["k2"].value is None
    assert all(cells[k].value == expected(k) for k in CELL if k != "k2")
    findings = chain.findings("failed")
    assert findings[["cell", "status"]].values.tolist() == [["C3", "failed"]]
    assert "placeholders lost {name}" in findings["detail"][0]
    assert "1 of 6 cells could not be translated" in failure_of(result, "translated_workbook")


@pytest.mark.parametrize("provider", ["openai", "qwen"])
def test_server_down_for_every_try_fails_the_items_with_the_reason(
    chain: ChainRunner, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    monkeypatch.setenv("TRANSLATION_PROVIDER", provider)
    server.plan(["500"] * 4)
    result = chain.run()
    assert not result.success and server.request_count == 4
    assert all(cell.value is None for cell in chain.cells().values())
    findings = chain.findings("failed")
    assert len(findings) == len(ROWS)
    assert findings["detail"].str.contains("request failed after 4 tries: 500 server error").all()


@pytest.mark.parametrize("provider", ["openai", "qwen"])
def test_bad_key_stops_after_one_request_with_a_clear_failure(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    with FakeLLMServer(api_key="the-right-key") as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url_openai)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-openai")
        monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-wrong-dashscope")
        monkeypatch.setattr(dashscope, "base_http_api_url", dashscope.base_http_api_url)
        (tmp_path / "translation_pipeline.yaml").write_text(
            yaml.safe_dump({"dashscope_base_url": server.base_url_dashscope}), encoding="utf-8"
        )
        monkeypatch.setenv("TRANSLATION_PROVIDER", provider)
        monkeypatch.setenv("TRANSLATION_CONCURRENCY", "1")
        monkeypatch.setenv("TRANSLATION_BATCH_MAX_ITEMS", "2")  # three batches waiting
        with dg.instance_for_test() as instance:
            runner = ChainRunner(instance, data_dir, write_workbook(tmp_path / "drop" / "faults.xlsx"))
            result = runner.run()
        assert not result.success
        assert server.request_count == 1
    message = failure_of(result, "translations")
    assert message.startswith(f"{provider}: 401 invalid api key: ")
    assert "sk-wrong" not in message


def test_fallback_provider_answers_after_the_primary_gave_up_and_its_answers_are_reused(
    chain: ChainRunner, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRANSLATION_FALLBACK_PROVIDER", "qwen")
    server.plan(["500"] * 4)  # every try of the primary (openai)
    result = chain.run()
    assert result.success and server.request_count == 5
    assert [r["protocol"] for r in server.requests] == ["openai"] * 4 + ["dashscope"]
    assert {key: cell.value for key, cell in chain.cells().items()} == {key: expected(key) for key, _ in ROWS}
    meta = translations_meta(result)
    assert meta["fallback"] == "qwen (qwen-plus)" and meta["fallback_batches"] == 1
    assert meta["answered_by"] == {"qwen": 5}
    assert set(result.output_for_node("translations")["origin"]) == {"qwen-plus"}
    again = chain.run()  # the fallback's answers are in the translation memory: nothing is requested again
    assert again.success and server.request_count == 5
    assert translations_meta(again)["reused_from_store"] == 5
