"""Continuous localization end to end (issue 18): version 1 of a studio's string table is translated through the
CLI against the fake OpenAI server; version 2 is made from its output as a person would in Excel (sources
reworded, targets rewritten, a target rewritten and its source reworded, rows added, a row deleted) and translated
under the same file name. Every cell of the version-2 output, the requests sent (new rows and stale machine text
only), the QA report's version sheets and `status` are checked; then a third workbook with the same sources gets
the reviewers' text with no request."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from openpyxl import Workbook, load_workbook

from tests.fake_llm_server import FakeLLMServer
from tests.test_sensor import Harness, requested_keys
from translation_pipeline.cli import main
from translation_pipeline.definitions import ASSETS, build_resources
from translation_pipeline.localization.check.qa import read_version_sheets
from translation_pipeline.localization.inbox.keys import workbook_key
from translation_pipeline.resources.files import DataDirResource
from translation_pipeline.settings import load_settings

NAME = "dialog_strings.xlsx"
SHEET = "对白"
# key, speaker, 中文 source, English, note (日本語 empty everywhere)
V1_ROWS = [
    ("k01", "村长", "勇者，欢迎来到晨曦村！", None, "第一次见面"),
    ("k02", "村长", "你的名字是{name}吗？", None, None),
    ("k03", "铁匠", "修理需要%d金币。", None, "%d 是金币数"),
    ("k04", None, "确定", None, "按钮"),
    ("k05", None, "取消", "Cancel", "按钮"),  # prefilled by the studio: a person's text
    ("k06", "铁匠", "<color=#ffcc00>传说之剑</color>已经锻造完成。", None, None),
    ("k07", "村长", "明天见。", None, None),
    ("k08", None, "背包已满。", None, "提示"),
    ("k12", None, "确定", None, "弹窗按钮"),
]
UI_ROWS = ["开始游戏", "继续", "设置"]  # a sheet without key column: its rows are known by number
WELCOME = "Welcome to Dawnlight Village, hero!"
REPAIRS = "Repairs cost %d gold."


def write_v1(path: Path) -> Path:
    """Title row, Chinese header names, a code row under them, then data; a second sheet without key."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet.append(["晨曦村 对白表 (第一章)"])
    sheet.append(["编号", "角色", "中文", "English", "日本語", "备注"])
    sheet.append(["id", "speaker", "zh", "en", "ja", "note"])
    for key, speaker, source, english, note in V1_ROWS:
        sheet.append([key, speaker, source, english, None, note])
    sheet.column_dimensions["C"].width = 40
    ui = workbook.create_sheet("UI")
    ui.append(["中文", "English", "日本語"])
    for source in UI_ROWS:
        ui.append([source, None, None])
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def row_of(sheet, key: str) -> int:
    return next(cell.row for cell in sheet["A"] if cell.value == key)


def make_v2(v1_output: Path, path: Path) -> Path:
    """Version 2, edited from version 1's output as the writers and the loc team would in Excel."""
    workbook = load_workbook(v1_output)
    sheet = workbook[SHEET]
    sheet.cell(row_of(sheet, "k01"), 4, WELCOME)  # a reviewer rewrites the machine's English
    sheet.cell(row_of(sheet, "k02"), 3, "你叫{name}吗？")  # a writer rewords the source
    sheet.cell(row_of(sheet, "k03"), 4, REPAIRS)  # rewritten by a reviewer ...
    sheet.cell(row_of(sheet, "k03"), 3, "修理要花%d金币。")  # ... and then the source reworded
    sheet.cell(row_of(sheet, "k04"), 4, "OK")  # two reviewers disagree on 确定
    sheet.cell(row_of(sheet, "k12"), 4, "Confirm")
    sheet.delete_rows(row_of(sheet, "k08"))
    sheet.append(["k09", None, "新的任务已解锁。", None, None, "系统提示"])
    sheet.append(["k10", None, "确定", None, None, "商店按钮"])  # the reviewers' 确定, no request
    sheet.append(["k11", "村长", "勇者，欢迎来到晨曦村！", None, None, "第二章"])  # the reviewer's welcome
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def values(path: Path) -> dict[str, dict[str, object]]:
    """Every cell's value of every sheet."""
    workbook = load_workbook(path)
    return {
        sheet.title: {
            cell.coordinate: cell.value for row in sheet.iter_rows() for cell in row if cell.value is not None
        }
        for sheet in workbook.worksheets
    }


def items(server: FakeLLMServer, since: int = 0) -> dict[str, list[str]]:
    """The item texts the fake server was asked for per target language, from request `since` on."""
    sent: dict[str, list[str]] = {}
    for request in server.requests[since:]:
        batch = json.loads(request["body"]["messages"][-1]["content"])
        sent.setdefault(batch["target_language"], []).extend(item["text"] for item in batch["items"])
    return {language: sorted(texts) for language, texts in sent.items()}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_dir: Path) -> Iterator[FakeLLMServer]:
    """The fake OpenAI endpoint, a Dagster home and a data dir of this test; provider openai."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with FakeLLMServer(retry_after="0") as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url_openai)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("TRANSLATION_PROVIDER", "openai")
        monkeypatch.setenv("TRANSLATION_BACKOFF_BASE", "0.01")
        yield fake


def output_of(data_dir: Path, workbook: Path) -> Path:
    return data_dir / "outbox" / workbook_key(workbook) / NAME.replace(".xlsx", ".translated.xlsx")


def qa_of(data_dir: Path, workbook: Path) -> Path:
    return output_of(data_dir, workbook).with_name(workbook.stem + ".qa.xlsx")


def test_a_new_version_redoes_stale_text_keeps_and_learns_reviewers_text_and_pays_only_for_the_new(
    server: FakeLLMServer, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # version 1: every empty cell; 取消 (English) is prefilled
    v1 = write_v1(tmp_path / "sprint1" / NAME)
    assert main(["translate", str(v1)]) == 0
    assert items(server) == {
        "en": sorted([s for _, _, s, english, _ in V1_ROWS if english is None][:-1] + UI_ROWS),  # 确定 once
        "ja": sorted({s for _, _, s, _, _ in V1_ROWS} | set(UI_ROWS)),
    }
    v1_out = values(output_of(data_dir, v1))
    assert v1_out[SHEET]["D4"] == "[en] 勇者，欢迎来到晨曦村！" and v1_out[SHEET]["D8"] == "Cancel"
    first = read_version_sheets(qa_of(data_dir, v1))["versions"].set_index("figure")["value"].to_dict()
    assert (first["previous_version"], first["rows_added"], first["human_learned"]) == ("", "12", "1")

    # version 2, same name, made from version 1's output
    v2 = make_v2(output_of(data_dir, v1), tmp_path / "sprint2" / NAME)
    # a dry run first: estimate and inspect see it as version 2, and send nothing
    capsys.readouterr()
    before = server.request_count
    assert main(["estimate", str(v2)]) == 0 and main(["inspect", str(v2)]) == 0
    printed = capsys.readouterr().out
    labels = "cells to fill|stale cells to redo|tasks to request|requests"
    figures = dict(re.findall(rf"^  ({labels}) +(\d+)$", printed, re.M))
    assert figures == {"cells to fill": "6", "stale cells to redo": "3", "tasks to request": "5", "requests": "2"}
    statuses = "6 translate, 14 keep, 3 stale, 4 human, 1 review"
    assert f"version 2 of {NAME!r} (compared with {workbook_key(v1)}): {statuses}\n" in printed
    assert server.request_count == before
    assert main(["translate", str(v2)]) == 0
    # only new rows and stale machine text are sent; 确定, the welcome and the rest come from memory
    assert server.request_count - before == 2
    assert items(server, before) == {
        "en": sorted(["你叫{name}吗？", "新的任务已解锁。"]),
        "ja": sorted(["你叫{name}吗？", "修理要花%d金币。", "新的任务已解锁。"]),
    }

    # every cell of the output: version 2 as given, plus exactly these
    given, out = values(v2), values(output_of(data_dir, v2))
    expected = {**given[SHEET],
                "D5": "[en] 你叫{name}吗？", "E5": "[ja] 你叫{name}吗？",  # k02: stale, redone in both languages
                "E6": "[ja] 修理要花%d金币。",  # k03: Japanese stale, redone; English (the reviewer's) kept
                "D12": "[en] 新的任务已解锁。", "E12": "[ja] 新的任务已解锁。",  # k09: new
                "D13": "Confirm", "E13": "[ja] 确定",  # k10: the most recent reviewer's 确定; Japanese from memory
                "D14": WELCOME, "E14": "[ja] 勇者，欢迎来到晨曦村！"}  # fmt: skip
    assert out[SHEET] == expected
    assert (given[SHEET]["D4"], given[SHEET]["D6"], given[SHEET]["D7"]) == (WELCOME, REPAIRS, "OK")  # untouched
    assert out["UI"] == v1_out["UI"]  # unchanged rows: identical to version 1's output
    for key in ("k05", "k06", "k07"):  # rows nobody touched, moved by nothing
        row = next(r for r in range(4, 12) if v1_out[SHEET].get(f"A{r}") == key)
        assert {c: out[SHEET].get(f"{c}{row}") for c in "ABCDEF"} == {
            c: v1_out[SHEET].get(f"{c}{row}") for c in "ABCDEF"
        }

    # the QA report's version sheets
    sheets = read_version_sheets(qa_of(data_dir, v2))
    figures = sheets["versions"].set_index("figure")["value"].to_dict()
    assert figures == {
        "lineage": NAME, "version": "2", "previous_version": workbook_key(v1), "rows": "14",
        "rows_added": "3", "rows_removed": "1", "source_changed": "2", "retranslated": "3",
        "stale_not_retranslated": "0", "human_learned": "4", "needs_review": "1", "conflicts": "1",
    }  # fmt: skip
    old2, new2, old3, new3 = "你的名字是{name}吗？", "你叫{name}吗？", "修理需要%d金币。", "修理要花%d金币。"
    assert sheets["retranslated"].values.tolist() == [
        [SHEET, "D5", "k02", "en", old2, new2, f"[en] {old2}", f"[en] {new2}"],
        [SHEET, "E5", "k02", "ja", old2, new2, f"[ja] {old2}", f"[ja] {new2}"],
        [SHEET, "E6", "k03", "ja", old3, new3, f"[ja] {old3}", f"[ja] {new3}"],
    ]
    assert sheets["needs_review"].values.tolist() == [
        [SHEET, "D6", "k03", "en", "修理需要%d金币。", "修理要花%d金币。", REPAIRS]
    ]
    conflicts = sheets["conflicts"][["language", "source", "text", "cell", "wins"]].values.tolist()
    assert conflicts == [["en", "确定", "OK", "D7", "False"], ["en", "确定", "Confirm", "D11", "True"]]

    # the same figures in `status`
    capsys.readouterr()
    assert main(["status"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(f"  {workbook_key(v2)}:"))
    assert line.endswith(f"(after {workbook_key(v1)}): 3 rows added, 1 removed, 2 sources changed, 3 re-translated, "
                         "4 human cells learned, 1 need review, 1 conflicts")  # fmt: skip

    # a third workbook, another name, the same sources and empty targets: the reviewers' text, no request.
    # (k03's English is left out: its reviewer's text needs review, so it is not approved yet, and its new
    # source was never translated into English)
    third = tmp_path / "other" / "other_strings.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet.append(["编号", "角色", "中文", "English", "日本語"])
    rows = [(given[SHEET][f"A{r}"], given[SHEET][f"C{r}"]) for r in range(4, 15) if given[SHEET][f"A{r}"] != "k03"]
    for key, source in rows:
        sheet.append([key, None, source, None, None])
    third.parent.mkdir()
    workbook.save(third)
    before = server.request_count
    assert main(["translate", str(third)]) == 0
    assert server.request_count == before
    got = values(data_dir / "outbox" / workbook_key(third) / "other_strings.translated.xlsx")[SHEET]
    english = {got[f"A{r}"]: got[f"D{r}"] for r in range(2, len(rows) + 2)}
    assert english == {
        "k01": WELCOME, "k02": "[en] 你叫{name}吗？", "k04": "Confirm", "k05": "Cancel",
        "k06": "[en] <color=#ffcc00>传说之剑</color>已经锻造完成。", "k07": "[en] 明天见。", "k12": "Confirm",
        "k09": "[en] 新的任务已解锁。", "k10": "Confirm", "k11": WELCOME,
    }  # fmt: skip
    assert all(got[f"E{r}"] == f"[ja] {source}" for r, (_, source) in enumerate(rows, start=2))


def test_retranslate_stale_off_keeps_our_old_text_and_says_so(
    server: FakeLLMServer, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v1 = write_v1(tmp_path / "sprint1" / NAME)
    assert main(["translate", str(v1)]) == 0
    workbook = load_workbook(output_of(data_dir, v1))
    sheet = workbook[SHEET]
    sheet.cell(row_of(sheet, "k02"), 3, "你叫{name}吗？")
    v2 = tmp_path / "sprint2" / NAME
    v2.parent.mkdir()
    workbook.save(v2)
    monkeypatch.setenv("TRANSLATION_RETRANSLATE_STALE", "false")
    before = server.request_count
    assert main(["translate", str(v2)]) == 0
    assert server.request_count == before  # nothing new, nothing redone
    assert values(output_of(data_dir, v2)) == values(v2)
    figures = read_version_sheets(qa_of(data_dir, v2))["versions"].set_index("figure")["value"]
    assert (figures["source_changed"], figures["retranslated"], figures["stale_not_retranslated"]) == ("1", "0", "2")


def test_the_same_name_dropped_again_is_compared_with_the_version_before(
    server: FakeLLMServer, data_dir: Path, tmp_path: Path
) -> None:
    """Through the drop folder: the sensor registers each version as its own partition, the lineage is the name
    as dropped, and the second drop pays only for its new row and its stale text."""
    files = DataDirResource(data_dir=str(data_dir))
    files.ensure()
    inbox = data_dir / "inbox" / NAME
    with dg.DagsterInstance.get() as instance:
        harness = Harness(files, instance)

        def dropped() -> str:
            """Two sensor ticks (seen, then still), then the run the sensor requested; its partition key."""
            (key,) = requested_keys(harness.two_ticks())
            result = dg.materialize(ASSETS, instance=instance, partition_key=key,
                                    resources=build_resources(load_settings()))  # fmt: skip
            assert result.success
            return key

        write_v1(inbox)
        first = dropped()
        assert server.request_count == 2  # one batch per language

        workbook = load_workbook(data_dir / "outbox" / first / NAME.replace(".xlsx", ".translated.xlsx"))
        sheet = workbook[SHEET]
        sheet.cell(row_of(sheet, "k07"), 3, "后天见。")  # reworded: stale in both languages
        sheet.cell(row_of(sheet, "k01"), 4, WELCOME)  # a reviewer's text
        sheet.append(["k09", None, "新的任务已解锁。", None, None, None])
        workbook.save(inbox)
        second = dropped()
        event = instance.get_latest_materialization_event(dg.AssetKey("translated_workbook"))
        meta = {name: value.value for name, value in event.asset_materialization.metadata.items()}
    assert (event.dagster_event.partition, meta["version"], meta["version_retranslated"]) == (second, 2, 2)
    assert "后天见。" in meta["retranslated_cells"] and meta["needs_review_cells"] == "none"

    assert second != first and archived_keys(data_dir) == {first, second}
    assert items(server, 2) == {"en": ["后天见。", "新的任务已解锁。"], "ja": ["后天见。", "新的任务已解锁。"]}
    out = load_workbook(data_dir / "outbox" / second / NAME.replace(".xlsx", ".translated.xlsx"))[SHEET]
    row = row_of(out, "k07")
    assert (out.cell(row, 4).value, out.cell(row, 5).value) == ("[en] 后天见。", "[ja] 后天见。")
    assert out.cell(row_of(out, "k01"), 4).value == WELCOME
    figures = read_version_sheets(data_dir / "outbox" / second / "dialog_strings.qa.xlsx")["versions"]
    figures = figures.set_index("figure")["value"].to_dict()
    assert (figures["version"], figures["previous_version"], figures["retranslated"]) == ("2", first, "2")
    assert (figures["rows_added"], figures["human_learned"]) == ("1", "2")  # WELCOME and the prefilled Cancel


def archived_keys(data_dir: Path) -> set[str]:
    """The workbook versions archived from the inbox."""
    return {path.stem for path in (data_dir / "archive").glob("*.xlsx")}
