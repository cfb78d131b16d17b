"""Target cells holding something other than a translation (`TBD`, a copy of the source, white space): listed,
never overwritten, never learned as a reviewer's text (found in a user trial: `TBD` and a copied `开始游戏` were
learned from one workbook and written as the English of the same sources in the next)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.test_versions import cells, statuses
from translation_pipeline.localization.read.stand_ins import copies_source, is_marker, stand_in
from translation_pipeline.localization.read.workbook import read_workbook, to_translate
from translation_pipeline.localization.refs import cell_refs, code_of
from translation_pipeline.localization.store import ProjectStore
from translation_pipeline.localization.versions.classify import HUMAN, OTHER, classify
from translation_pipeline.localization.versions.plan import plan_version


@pytest.mark.parametrize("text", ["TBD", "tbd", "[TODO]", "To do.", "待翻译", "未訳", "미번역", "???", "N/A", "-"])
def test_to_do_markers(text: str) -> None:
    assert is_marker(text)


@pytest.mark.parametrize("text", ["Todo list", "Done", "None", "OK", "Quit", "X", "x2", "To be announced soon"])
def test_words_that_are_translations(text: str) -> None:
    assert not is_marker(text)


def test_a_copy_of_the_source_only_in_a_script_the_target_does_not_write() -> None:
    assert copies_source("开始游戏", "开始游戏", "en")
    assert copies_source(" 开始游戏", "开始游戏 ", "pt-BR")
    assert copies_source("시작", "시작", "ja")
    assert not copies_source("中文", "中文", "zh-TW")  # the same in both Chinese scripts
    assert not copies_source("漢字", "漢字", "ja")
    assert not copies_source("OK", "OK", "ja")  # a Latin brand or label kept as it is
    assert not copies_source("Steam", "Steam", "fr")
    assert not copies_source("Start", "开始游戏", "en")
    assert stand_in("开始游戏", "开始游戏", "en") == "source_copy"
    assert stand_in("\u3000", "开始游戏", "en") == "blank_target"
    assert stand_in("TBD", "开始游戏", "en") == "marker_target"
    assert stand_in("Start", "开始游戏", "en") is None
    assert stand_in("?", "退出游戏", "en") == "marker_target"
    assert stand_in("?!", "？！", "en") is None  # a line that is only a cry: its translation, not a marker


def test_stand_ins_are_other_not_human_text_and_are_not_learned(tmp_path: Path) -> None:
    frame = cells([("en", 2, "k1", "开始游戏", "开始游戏"), ("en", 3, "k2", "退出游戏", "TBD"),
                   ("ja", 3, "k2", "退出游戏", "TODO"), ("en", 4, "k3", "设置", "Settings")])  # fmt: skip
    assert statuses(classify(frame)) == {"k1/en": OTHER, "k2/en": OTHER, "k2/ja": OTHER, "k3/en": HUMAN}
    store = ProjectStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    version = plan_version(store, "a.xlsx", "a-1", "a.xlsx", frame)
    assert version.learned == 1
    assert store.lookup_approved("zh-CN", "en", ["开始游戏", "退出游戏", "设置"]) == {"设置": "Settings"}
    assert store.lookup_approved("zh-CN", "ja", ["退出游戏"]) == {}
    store.dispose()


def test_the_reader_lists_each_kind_and_leaves_them_out_of_the_work(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Strings"
    sheet.append(["Key", "zh-Hans", "English Translation", "Japanese Translation", "Translator Notes"])
    sheet.append(["menu_start", "开始游戏", "开始游戏", "", ""])
    sheet.append(["menu_quit", "退出游戏", "TBD", "[TODO]", ""])
    sheet.append(["menu_load", "读取存档", "", "", "keep it short"])
    sheet.append(["menu_save", "保存进度", "Save", "セーブ", ""])
    path = tmp_path / "stand_ins.xlsx"
    book.save(path)
    parsed = read_workbook(path)
    listed = {entry.code: entry.references for entry in parsed.skips}
    assert listed == {"source_copy": ["C2"], "marker_target": ["C3", "D3"]}  # the notes column is a note now
    assert sorted(cell_refs(parsed.cells[to_translate(parsed.cells)]["target_cell"])) == ["C4", "D2", "D4"]
    assert set(parsed.cells["note"]) == {"", "keep it short"}


def test_target_cells_that_hold_no_text_are_listed_never_written_nor_learned(tmp_path: Path) -> None:
    """A sheet machine-filled with formulas (`=GOOGLETRANSLATE`), a `#N/A` pasted with the values, a 0 and a
    date typed by mistake: each target is listed with what to do, none is work, none is learned."""
    book = Workbook()
    sheet = book.active
    sheet.title = "UI"
    sheet.append(["ID", "简体中文", "English", "日本語"])
    sheet.append(["ui_start", "开始游戏", '=GOOGLETRANSLATE(B2,"zh-CN","en")', "ゲーム開始"])
    sheet.append(["ui_quit", "退出游戏", "#N/A", None])
    sheet.append(["ui_gold", "金币", 0, True])
    sheet.append(["ui_date", "更新日期", dt.datetime(2024, 5, 1), None])
    path = tmp_path / "machine_filled.xlsx"
    book.save(path)
    parsed = read_workbook(path)
    listed = {entry.code: entry.references for entry in parsed.skips}
    assert listed == {"formula_target": ["C2"], "error_target": ["C3"], "value_target": ["C4", "D4", "C5"]}
    assert all(entry.how_to_include for entry in parsed.skips)
    assert sorted(cell_refs(parsed.cells[to_translate(parsed.cells)]["target_cell"])) == ["D3", "D5"]
    listed_cells = parsed.cells[parsed.cells["target_cell"].isin(map(code_of, ["C2", "C3", "C4", "D4", "C5"]))]
    assert listed_cells["target_filled"].all() and listed_cells["target_text"].isna().all()  # never learned
