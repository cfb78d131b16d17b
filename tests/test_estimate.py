"""`estimate`: the dry run of a workbook (tasks, memory hits, requests, tokens, cost) that sends nothing."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from openpyxl import load_workbook

from translation_pipeline.cli import main
from translation_pipeline.definitions import ASSETS, build_resources
from translation_pipeline.localization.inbox.archive import archive_file
from translation_pipeline.localization.plan.estimate import (
    HEURISTIC,
    Estimate,
    estimate_workbook,
    heuristic_tokens,
    token_counter,
)
from translation_pipeline.resources.store import ProjectStoreResource
from translation_pipeline.settings import load_settings


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any provider SDK call or HTTP request fails the test."""
    import dashscope
    import httpx
    import openai
    import requests

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the estimate must not touch the network")

    monkeypatch.setattr(openai, "AsyncOpenAI", refuse)
    monkeypatch.setattr(openai, "OpenAI", refuse)
    monkeypatch.setattr(dashscope.Generation, "call", refuse)
    monkeypatch.setattr(dashscope.AioGeneration, "call", refuse)
    monkeypatch.setattr(requests.Session, "request", refuse)
    monkeypatch.setattr(httpx.Client, "send", refuse)
    monkeypatch.setattr(httpx.AsyncClient, "send", refuse)


def estimate(path: Path, models: list[str]) -> Estimate:
    settings = load_settings()
    store = ProjectStoreResource(db_url=settings.db_url, data_dir=settings.data_dir).get_store()
    return estimate_workbook(path, settings, store, models)


def test_sample_workbook(data_dir: Path, sample_workbook: Path) -> None:
    result = estimate(sample_workbook, ["pseudo-v2", "gpt-4o-mini", "house-model"])
    # 确定 into English has a prefilled "OK" (Dialog!D6): a person's text, approved, so UI!C2 needs no request
    assert (result.cells_to_fill, result.tasks, result.memory_hits) == (36, 31, 1)
    assert (result.tasks_to_request, result.requests) == (30, 3)
    assert result.tokenizer in (HEURISTIC, "tiktoken cl100k_base")
    assert result.input_tokens > 0 and 0 < result.output_tokens_low < result.output_tokens_high
    assert result.cost_usd["pseudo-v2"] == (0.0, 0.0)
    low, high = result.cost_usd["gpt-4o-mini"]
    assert 0 < low < high
    assert result.cost_usd["house-model"] is None


def test_tokens_grow_with_the_workbook(data_dir: Path, sample_workbook: Path, tmp_path: Path) -> None:
    workbook = load_workbook(sample_workbook)
    sheet = workbook["Dialog"]
    for row in range(sheet.max_row + 1, sheet.max_row + 41):
        sheet.cell(row, 1, f"extra_{row}")
        sheet.cell(row, 3, f"第{row}行：商人把新的货物摆上了柜台。")
    bigger = tmp_path / "bigger.xlsx"
    workbook.save(bigger)

    small, large = estimate(sample_workbook, ["gpt-4o-mini"]), estimate(bigger, ["gpt-4o-mini"])
    assert large.tasks > small.tasks
    assert large.input_tokens > small.input_tokens
    assert large.output_tokens_high > small.output_tokens_high
    assert large.cost_usd["gpt-4o-mini"][1] > small.cost_usd["gpt-4o-mini"][1]


def test_translated_tasks_are_memory_hits(data_dir: Path, sample_workbook: Path) -> None:
    with dg.instance_for_test() as instance:
        key = archive_file(sample_workbook, data_dir / "archive").key
        instance.add_dynamic_partitions("workbooks", [key])
        run = dg.materialize(ASSETS, instance=instance, partition_key=key, resources=build_resources(load_settings()))
        assert run.success

    again = estimate(sample_workbook, ["pseudo-v2"])
    assert (again.tasks, again.memory_hits, again.tasks_to_request, again.requests) == (31, 31, 0, 0)
    assert again.input_tokens == 0 and again.output_tokens_low == 0
    # memory is per model, but a reviewer's approved text is not: 确定 -> "OK", prefilled in the sample
    assert estimate(sample_workbook, ["gpt-4o-mini"]).memory_hits == 1


def test_glossary_terms_are_counted(data_dir: Path, sample_workbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    without = estimate(sample_workbook, ["gpt-4o-mini"])
    glossary = data_dir.parent / "glossary.csv"
    glossary.write_text("source,language,target\n勇者,en,Hero of the Dawn and Protector of Every Village\n")
    Path("translation_pipeline.yaml").write_text(f"glossary_file: {glossary}\n")
    assert estimate(sample_workbook, ["gpt-4o-mini"]).input_tokens > without.input_tokens


def test_heuristic_and_offline_tokenizer() -> None:
    assert heuristic_tokens("勇者，欢迎") == 5
    assert heuristic_tokens("Hello, world") == 3
    method, count = token_counter()
    assert method in (HEURISTIC, "tiktoken cl100k_base") and count("勇者 hello") > 0


def test_cli_estimate_reports_bad_files_and_goes_on(
    data_dir: Path, sample_workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")

    code = main(["estimate", str(broken), str(sample_workbook), "--model", "gpt-4o-mini", "--model", "house-model"])

    out, err = capsys.readouterr()
    assert code == 1
    errors = err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"error: {broken}: broken.xlsx: not a readable .xlsx workbook")
    assert f"{sample_workbook} (estimate, nothing sent)" in out
    assert "tasks after dedupe" in out and "31" in out
    assert "cost gpt-4o-mini" in out and "cost house-model" in out and "unknown price" in out
    assert not (data_dir / "archive").exists()  # a dry run registers nothing


def test_cli_estimate_defaults_to_the_configured_models(
    data_dir: Path, sample_workbook: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRANSLATION_PROVIDER", "openai")
    monkeypatch.setenv("TRANSLATION_FALLBACK_PROVIDER", "qwen")
    assert main(["estimate", str(sample_workbook)]) == 0
    out = capsys.readouterr().out
    assert "cost gpt-4o-mini" in out and "cost qwen-plus" in out
    assert "requests" in out
