"""What reading leaves out reaches a person: the QA report's `skipped` sheet, the metadata, the `skipped_text`
check, the CLI line and exit code, `status`; `inspect` shows how each column was read; layouts from YAML, the
CLI and the launchpad fill what detection cannot."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from tests.conftest import register
from tests.test_cli import run_cli
from translation_pipeline.definitions import ASSETS, build_resources
from translation_pipeline.localization.read.layout import parse_layouts
from translation_pipeline.localization.translate.providers.pseudo import pseudo_localize
from translation_pipeline.settings import ConfigError, load_settings

DIALOG = [
    ["Key", "中文", "English", "Translation"],  # D names no language: a person must say which
    ["ui.start", "开始游戏", None, None],
    ["ui.quit", "退出游戏", "Quit", None],
    ["ui.save", "保存", None, None],
    [None, None, None, None],
    ["版本", "日期", "修改内容"],  # row 6, after a blank row: a changelog, another table
    ["v0.2", "2024-01-08", "新增商店文本"],
]


def build(path: Path) -> Path:
    """Dialog (above) and a hidden sheet holding a table of its own."""
    workbook = Workbook()
    dialog = workbook.active
    dialog.title = "Dialog"
    for row in DIALOG:
        dialog.append(row)
    old = workbook.create_sheet("Old")
    for row in [["Key", "中文", "English"], ["old.a", "旧文本", None]]:
        old.append(row)
    old.sheet_state = "hidden"
    workbook.save(path)
    return path


def materialize(instance: dg.DagsterInstance, key: str, **kwargs: object) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ASSETS, instance=instance, partition_key=key, resources=build_resources(load_settings()),
        **kwargs,
    )  # fmt: skip


def test_every_skip_reaches_the_report_the_metadata_and_the_check(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path
) -> None:
    result = materialize(instance, register(instance, build(tmp_path / "Dialog.xlsx"), data_dir))
    assert result.success

    output = result.output_for_node("translated_workbook")
    skipped = pd.read_excel(output["qa_report"], sheet_name="skipped")
    by_code = dict(zip(skipped["code"], zip(skipped["range"], skipped["count"], strict=True), strict=True))
    assert by_code == {
        "unknown_language": ("D2:D4", 3),  # the empty cells beside source text
        "below_second_table": ("A6:A7, B6:B7, C6:C7", 6),
        "hidden_sheet": ("A1:A2, B1:B2, C1", 5),
    }
    assert skipped["how_to_include"].str.len().gt(0).all()
    layout = pd.read_excel(output["qa_report"], sheet_name="layout").set_index("column")
    assert layout.loc["B", ["role", "language", "decided by"]].tolist() == ["source", "zh-CN", "header"]
    assert "layout: targets: {D: <language>}" in skipped.set_index("code").loc["unknown_language", "how_to_include"]

    ingest = result.asset_materializations_for_node("source_workbook")[0].metadata
    assert ingest["cells_skipped"].value == 14 and ingest["needs_attention"].value is True
    assert ingest["skipped_by_reason"].value == {"below_second_table": 6, "hidden_sheet": 5, "unknown_language": 3}
    assert "| Dialog | 1 | A2:C4 | D | Translation | unused |" in ingest["layout"].value
    written = result.asset_materializations_for_node("translated_workbook")[0].metadata
    assert (written["cells_written"].value, written["cells_skipped"].value) == (2, 14)

    (check,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "skipped_text"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["cells_skipped"].value == 14

    sheet = load_workbook(output["output_path"])["Dialog"]
    assert [sheet[c].value for c in ("C2", "C4", "D2", "C7")] == [pseudo_localize("开始游戏"), pseudo_localize("保存"),
                                                                  None, "新增商店文本"]  # fmt: skip


def test_one_warning_event_however_many_skips(instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path) -> None:
    header = ["Key", "中文", "English", *[f"Column{i}" for i in range(4, 304)]]  # 300 generic columns, one note each
    rows = [header, ["k1", "开始", None, *["x"] * 300]]
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    path = tmp_path / "wide.xlsx"
    workbook.save(path)
    result = materialize(instance, register(instance, path, data_dir))
    assert result.success
    records = instance.all_logs(result.run_id)
    lines = [r.user_message for r in records if r.level >= 30 and "cells skipped" in r.user_message]
    assert len(lines) == 1 and "300 cells skipped in 300 places" in lines[0] and "and 297 more" in lines[0]


def test_cli_line_exit_code_and_status(tmp_path: Path) -> None:
    data, home = tmp_path / "data", tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    path = build(tmp_path / "Dialog.xlsx")

    done = run_cli("translate", str(path), data=data, home=home)
    assert done.returncode == 3, done.stderr
    assert "2 translated, 14 skipped: see QA report" in done.stdout
    assert done.stderr.startswith(f"warning: {path}: needs attention: text left in columns of unknown or ambiguous")

    status = run_cli("status", data=data, home=home)
    line = next(row for row in status.stdout.splitlines() if row.startswith("Dialog-"))
    assert line.split()[1:6] == ["needs", "attention", "2", "0", "14"]

    laid_out = run_cli("translate", str(path), "--target", "D:ja", data=data, home=home)
    assert laid_out.returncode == 0, laid_out.stderr  # the same partition, now with D named: nothing to attend
    assert "5 translated, 11 skipped: see QA report" in laid_out.stdout


def test_inspect_shows_each_column_and_every_skip_without_sending(tmp_path: Path) -> None:
    data, home = tmp_path / "data", tmp_path / "home"
    path = build(tmp_path / "Dialog.xlsx")
    done = run_cli("inspect", str(path), data=data, home=home)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == str(path)
    assert any(line.split()[:8] == ["Dialog", "1", "A2:C4", "B", "中文", "source", "zh-CN", "header"] for line in lines)
    assert any(line.split()[:7] == ["Dialog", "1", "A2:C4", "D", "Translation", "unused", "-"] for line in lines)
    assert "  to translate: en 2" in lines
    assert "  skipped: 14 cells" in lines
    assert any("Old!A1:A2, B1:B2, C1: 5 (hidden_sheet)" in line for line in lines)
    assert not (data / "dagster_home").exists() and not (data / "archive").exists()  # nothing registered or sent

    named = run_cli("inspect", str(path), "--target", "D:ja", data=data, home=home)
    assert "  to translate: en 2, ja 3" in named.stdout.splitlines()
    decided = [line.split()[3:8] for line in named.stdout.splitlines()]
    assert ["D", "Translation", "target", "ja", "layout"] in decided


def test_layouts_from_the_yaml_file(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "translation_pipeline.yaml"
    config.write_text('layouts:\n  - file: "dialog*.xlsx"\n    sheet: Dia*\n    targets: {D: 日本語}\n',
                      encoding="utf-8")  # fmt: skip
    monkeypatch.setenv("TRANSLATION_CONFIG", str(config))
    result = materialize(instance, register(instance, build(tmp_path / "Dialog.xlsx"), data_dir))
    sheet = load_workbook(result.output_for_node("translated_workbook")["output_path"])["Dialog"]
    assert sheet["D2"].value == pseudo_localize("开始游戏", target_language="ja")
    assert result.asset_materializations_for_node("source_workbook")[0].metadata["needs_attention"].value is False


def test_layouts_from_the_launchpad(instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path) -> None:
    """The same as run config of `source_workbook`, with header rows, data start and source given too."""
    layout = {"sheet": "Dialog", "header_rows": [1], "data_start": 2, "source": "B", "source_language": "zh-CN",
              "targets": {"C": "en", "D": "ko"}}  # fmt: skip
    result = materialize(
        instance, register(instance, build(tmp_path / "Dialog.xlsx"), data_dir),
        run_config={"ops": {"source_workbook": {"config": {"layouts": [layout], "include_hidden_sheets": True}}}},
    )  # fmt: skip
    book = load_workbook(result.output_for_node("translated_workbook")["output_path"])
    assert book["Dialog"]["D3"].value == pseudo_localize("退出游戏", target_language="ko")
    assert book["Old"]["C2"].value == pseudo_localize("旧文本")  # hidden sheets included on request
    ingest = result.asset_materializations_for_node("source_workbook")[0].metadata
    assert "hidden_sheet" not in ingest["skipped_by_reason"].value


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"targets": {"D": "en"}, "colour": "red"}, "layouts[1]: unknown keys colour"),
        ({"targets": {"4": "en"}}, "layouts[1]: '4' is not a column letter"),
        ({"header_rows": ["one"]}, "layouts[1]: header_rows and data_start must be row numbers"),
    ],
)
def test_a_bad_layout_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry, problem) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_layouts([entry])
    config = tmp_path / "bad.yaml"
    config.write_text(f"layouts: [{entry!r}]".replace("'", '"'), encoding="utf-8")
    monkeypatch.setenv("TRANSLATION_CONFIG", str(config))
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load_settings()


def test_a_content_decision_is_shown_with_its_evidence(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path
) -> None:
    """No header: the languages come from the text, and the QA report and metadata say so and why."""
    texts = [("开始游戏", "Start game"), ("继续游戏", "Continue"), ("设置", "Settings"), ("退出游戏", "Quit game"),
             ("保存进度", "Save progress"), ("读取存档", "Load a saved game"), ("音量", "Volume"),
             ("语言", "Language"), ("返回主菜单", None), ("确认购买", None)]  # fmt: skip
    workbook = Workbook()
    for index, (chinese, english) in enumerate(texts):
        workbook.active.append([f"ui_{index:02d}", chinese, english])
    path = tmp_path / "headerless.xlsx"
    workbook.save(path)
    result = materialize(instance, register(instance, path, data_dir))
    layout = pd.read_excel(result.output_for_node("translated_workbook")["qa_report"], sheet_name="layout")
    decided = dict(zip(layout["column"], layout["decided by"], strict=True))
    assert decided["A"] == "content: identifiers"
    assert decided["B"].startswith("content: 100% zh-CN over 10 cells")
    assert decided["C"].startswith("content: ") and " en over 8 cells" in decided["C"]
    assert "content: 100% zh-CN" in result.asset_materializations_for_node("source_workbook")[0].metadata[
        "layout"].value  # fmt: skip
    sheet = load_workbook(result.output_for_node("translated_workbook")["output_path"]).active
    assert sheet["C9"].value == pseudo_localize("返回主菜单")
