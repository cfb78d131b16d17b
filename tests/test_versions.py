"""Versions of a workbook (localization/versions) without Dagster: lineage, row identity, each cell's
classification against the version before, what is recorded for the next one, the store's version and approved
memory tables, and the export overwriting stale text only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from translation_pipeline.localization.plan.tasks import plan_tasks
from translation_pipeline.localization.read.workbook import CELL_COLUMNS, read_workbook
from translation_pipeline.localization.refs import cell_refs, code_of
from translation_pipeline.localization.schemas import CellSchema
from translation_pipeline.localization.store import ProjectStore
from translation_pipeline.localization.versions.classify import (
    HUMAN,
    KEEP,
    OTHER,
    REVIEW,
    STALE,
    STALE_KEPT,
    TRANSLATE,
    PreviousCell,
    classify,
    version_records,
)
from translation_pipeline.localization.versions.lineage import lineage_of, row_keys
from translation_pipeline.localization.versions.plan import (
    EXPORTED_CLASSIFIED_COLUMNS,
    VersionPlan,
    WrittenCells,
    plan_version,
    preview_version,
    record_version,
    version_report,
)
from translation_pipeline.localization.write.export import CellFill, export_workbook
from translation_pipeline.settings import ConfigError, load_settings

C2, C3, C4, C5, D2 = map(code_of, ["C2", "C3", "C4", "C5", "D2"])  # cell codes (refs.py)


def cells(rows: list[tuple[str, int, str, str | None, str | None]], sheet: str = "S") -> pd.DataFrame:
    """A cell table from (target language, row, key, source text, target text) rows; column C = en, D = ja."""
    records = [
        (sheet, row, key, "zh-CN", source, "text" if source else "blank", language,
         code_of(f"{'CD'[language == 'ja']}{row}"), target is not None, "", "", None, target)
        for language, row, key, source, target in rows
    ]  # fmt: skip
    frame = pd.DataFrame.from_records(records, columns=[*CELL_COLUMNS, "target_text"])
    frame["max_length"] = frame["max_length"].astype("Int64")
    return CellSchema.validate(frame)


def previous(rows: list[tuple[str, str, str, str | None, str]], sheet: str = "S") -> list[PreviousCell]:
    """Records from (target language, row key, source text, text, origin) rows."""
    return [
        PreviousCell(sheet, key, language, "C2", source, text, origin) for language, key, source, text, origin in rows
    ]


def statuses(frame: pd.DataFrame) -> dict[str, str]:
    return dict(zip(frame["key"] + "/" + frame["target_language"], frame["status"], strict=True))


# -- lineage and row identity ----------------------------------------------------------------------------------


def test_lineage_is_the_file_name_unless_a_pattern_names_it() -> None:
    patterns = {"strings_v*.xlsx": "strings", "Dialog*": "dialog"}
    assert lineage_of("strings_v3.xlsx", patterns) == lineage_of("STRINGS_V12.XLSX", patterns) == "strings"
    assert lineage_of("Dialog_ch2.xlsm", patterns) == "dialog"
    assert lineage_of("ui.xlsx", patterns) == "ui.xlsx" == lineage_of("ui.xlsx")


def test_lineages_setting_is_checked(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text('lineages: {"strings_v*.xlsx": strings}\nretranslate_stale: false\n', encoding="utf-8")
    settings = load_settings({"TRANSLATION_CONFIG": str(config)})
    assert settings.lineages == {"strings_v*.xlsx": "strings"} and settings.retranslate_stale is False
    assert load_settings({"TRANSLATION_CONFIG": str(config), "TRANSLATION_RETRANSLATE_STALE": "true"}).retranslate_stale
    config.write_text("lineages: [strings]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'lineages' must map file-name patterns"):
        load_settings({"TRANSLATION_CONFIG": str(config)})


def test_a_repeated_key_is_told_apart_by_its_occurrence() -> None:
    frame = cells([("en", 2, "k1", "甲", None), ("ja", 2, "k1", "甲", None), ("en", 3, "k1", "乙", None),
                   ("ja", 3, "k1", "乙", None), ("en", 4, "k2", "丙", None)])  # fmt: skip
    assert row_keys(frame).tolist() == ["k1", "k1", "k1#2", "k1#2", "k2"]
    unique = cells([("en", 2, "k1", "甲", None), ("ja", 2, "k1", "甲", None), ("en", 3, "k2", "乙", None)])
    assert row_keys(unique).tolist() == ["k1", "k1", "k2"]  # a key once per language: as it is
    other = unique.assign(sheet=["S", "S", "T"], key=["k1", "k1", "k1"])
    assert row_keys(other).tolist() == ["k1", "k1", "k1"]  # the same key in another sheet is no repeat


def test_the_reader_gives_each_target_its_current_text(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Key", "中文", "English", "日本語"])
    sheet.append(["k1", "确定", "  OK ", 5])
    sheet.append(["k2", "取消", None, "=A1"])
    workbook.save(tmp_path / "t.xlsx")
    parsed = read_workbook(tmp_path / "t.xlsx")
    got = parsed.cells.set_index(pd.Index(cell_refs(parsed.cells["target_cell"])))
    texts = {cell: None if pd.isna(text) else text for cell, text in got["target_text"].items()}
    assert texts == {"C2": "  OK ", "D2": None, "C3": None, "D3": None}
    assert got["target_filled"].to_dict() == {"C2": True, "D2": True, "C3": False, "D3": True}
    CellSchema.validate(parsed.cells)


# -- classification ------------------------------------------------------------------------------------------


def test_a_first_version_translates_empty_cells_and_takes_filled_ones_for_human_text() -> None:
    frame = cells([("en", 2, "k1", "确定", None), ("en", 3, "k2", "取消", "Cancel"), ("en", 4, "k3", "返回", " "),
                   ("en", 5, "k4", None, "stray")])  # fmt: skip
    got = classify(frame)
    assert statuses(got) == {"k1/en": TRANSLATE, "k2/en": HUMAN, "k3/en": OTHER}  # a blank source is no cell of it
    assert got["previous_origin"].isna().all()


def test_each_cell_of_a_new_version_against_the_version_before() -> None:
    before = previous([
        ("en", "k1", "确定", "[en] 确定", "machine"),  # unchanged
        ("en", "k2", "取消", "[en] 取消", "machine"),  # source reworded -> stale
        ("en", "k3", "返回", "[en] 返回", "machine"),  # a reviewer rewrote our text -> human
        ("en", "k4", "开始", "[en] 开始", "machine"),  # rewritten and the source reworded -> review
        ("en", "k5", "继续", "Go on", "human"),  # human text, same source -> human
        ("en", "k6", "设置", "Options", "human"),  # human text kept, source reworded -> review
        ("en", "k7", "退出", None, "empty"),  # left empty (failed), now filled by a person -> human
        ("en", "k8", "保存", None, "empty"),  # still empty -> translate
    ])  # fmt: skip
    frame = cells([
        ("en", 2, "k1", "确定", "[en] 确定"), ("en", 3, "k2", "取消吗", "[en] 取消"), ("en", 4, "k3", "返回", "Back"),
        ("en", 5, "k4", "开始游戏", "Start"), ("en", 6, "k5", "继续", "Go on"), ("en", 7, "k6", "游戏设置", "Options"),
        ("en", 8, "k7", "退出", "Quit"), ("en", 9, "k8", "保存", None), ("en", 10, "k9", "新的", None),
    ])  # fmt: skip
    got = classify(frame, before)
    assert statuses(got) == {
        "k1/en": KEEP, "k2/en": STALE, "k3/en": HUMAN, "k4/en": REVIEW, "k5/en": HUMAN, "k6/en": REVIEW,
        "k7/en": HUMAN, "k8/en": TRANSLATE, "k9/en": TRANSLATE,
    }  # fmt: skip
    row = got.set_index("key").loc["k4"]
    assert (row["previous_source"], row["previous_text"], row["source_text"], row["target_text"]) == (
        "开始", "[en] 开始", "开始游戏", "Start",
    )  # fmt: skip
    assert statuses(classify(frame, before, retranslate_stale=False))["k2/en"] == STALE_KEPT
    # only new and stale cells become tasks
    plan = plan_tasks(frame, also={("S", C3)})
    assert sorted(plan.tasks["source_text"]) == ["保存", "取消吗", "新的"]


def test_a_row_moved_on_a_sheet_without_key_is_still_ours() -> None:
    """Without a key column the identity is the row number: a row inserted above shifts the rest, yet the same
    text for the same source is the same cell, not a reviewer's."""
    before = previous([("en", "S!2", "确定", "[en] 确定", "machine"), ("en", "S!3", "取消", "Nope", "human")])
    frame = cells([("en", 2, "S!2", "新的", None), ("en", 3, "S!3", "确定", "[en] 确定"),
                   ("en", 4, "S!4", "取消", "Nope")])  # fmt: skip
    assert statuses(classify(frame, before)) == {"S!2/en": TRANSLATE, "S!3/en": KEEP, "S!4/en": HUMAN}


def test_what_is_recorded_for_the_next_version() -> None:
    before = previous([("en", "k1", "取消", "[en] 取消", "machine"), ("en", "k2", "返回", "[en] 返回", "machine")])
    frame = cells([
        ("en", 2, "k1", "取消吗", "[en] 取消"), ("en", 3, "k2", "回去", "[en] 返回"), ("en", 4, "k3", "新的", None),
        ("en", 5, "k4", "旧的", None), ("en", 6, "k5", "继续", "Go on"),
    ])  # fmt: skip
    got = classify(frame, before)
    written = {("S", C2): "[en] 取消吗", ("S", C4): "[en] 新的"}  # C3 (stale) and C5 failed
    records = {r["row_key"]: (r["source_text"], r["text"], r["origin"]) for r in version_records(got, written)}
    assert records == {
        "k1": ("取消吗", "[en] 取消吗", "machine"),
        "k2": ("返回", "[en] 返回", "machine"),  # not rewritten: still our text for the old source, stale next time
        "k3": ("新的", "[en] 新的", "machine"),
        "k4": ("旧的", None, "empty"),
        "k5": ("继续", "Go on", "human"),
    }



def test_the_version_a_plan_stores_records_and_reports_as_the_whole_one() -> None:
    """The stored plan's version keeps only the classified columns the export reads (EXPORTED_CLASSIFIED_COLUMNS):
    what it records and reports is the same as with every column."""
    before = previous([("en", "k1", "取消", "[en] 取消", "machine"), ("en", "k2", "设置", "Options", "human")])
    frame = cells([("en", 2, "k1", "取消吗", "[en] 取消"), ("en", 3, "k2", "游戏设置", "Options"),
                   ("en", 4, "k3", "新的", None)])  # fmt: skip
    whole = VersionPlan("L", 2, 2, "L-1", classify(frame, before), previous_rows={("S", "k1"), ("S", "k2")})
    stored = whole.for_export()
    assert list(stored.classified.columns) == EXPORTED_CLASSIFIED_COLUMNS
    written = WrittenCells([("S", C2, "[en] 取消吗"), ("S", C4, "[en] 新的")])
    assert list(version_records(stored.classified, written)) == list(version_records(whole.classified, written))
    got, expected = version_report(stored, written), version_report(whole, written)
    assert got.summary == expected.summary and len(got.retranslated) == len(got.needs_review) == 1
    assert got.retranslated.equals(expected.retranslated) and got.needs_review.equals(expected.needs_review)
    assert stored.stale == whole.stale == {("S", C2)}


# -- the store: versions and approved memory -----------------------------------------------------------------


@pytest.fixture(params=["sqlite", "mariadb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProjectStore]:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}" if request.param == "sqlite" else None
    project_store = ProjectStore(url or request.getfixturevalue("mysql_database").url)
    yield project_store
    project_store.dispose()


def test_versions_are_numbered_and_compared_with_the_last_exported_one(store: ProjectStore) -> None:
    v1 = store.register_version("strings", "strings-aaaa", "strings_v1.xlsx")
    assert store.register_version("strings", "strings-aaaa", "strings_v1.xlsx") == v1  # a rerun
    assert store.previous_version("strings", v1) is None
    cell = {"sheet": "S", "row_key": "k1", "target_language": "en", "cell": "C2", "source_text": "确定",
            "text": "[en] 确定", "origin": "machine"}  # fmt: skip
    store.record_version(v1, [cell])
    store.record_version(v1, [{**cell, "text": "[en] 确定!"}])  # a rerun's export replaces the first
    v2 = store.register_version("strings", "strings-bbbb", "strings_v2.xlsx")
    v3 = store.register_version("strings", "strings-cccc", "strings_v3.xlsx")
    assert v1 < v2 < v3 and store.register_version("other", "strings-aaaa", "x.xlsx") not in (v1, v2, v3)
    assert store.previous_version("strings", v2)[:2] == (v1, "strings-aaaa")
    assert store.previous_version("strings", v3)[:2] == (v1, "strings-aaaa")  # v2 was never exported
    assert store.version_cells(v1) == [{**cell, "text": "[en] 确定!"}]


def test_approved_memory_keeps_every_reviewer_text_and_the_most_recent_wins(store: ProjectStore) -> None:
    entry = {"source_language": "zh-CN", "target_language": "en", "source_text": "确定", "lineage": "a.xlsx",
             "workbook_key": "a-1", "sheet": "S", "cell": "C2"}  # fmt: skip
    store.learn_approved([{**entry, "text": "OK"}])
    store.learn_approved([{**entry, "text": "Confirm", "cell": "C3"}, {**entry, "text": "OK", "cell": "C9"}])
    found = store.approved_entries("zh-CN", "en", ["确定", "取消"])
    assert [(e.text, e.cell) for e in found["确定"]] == [("OK", "C2"), ("Confirm", "C3")]  # OK keeps its first place
    assert store.lookup_approved("zh-CN", "en", ["确定", "取消"]) == {"确定": "Confirm"}
    assert store.lookup_approved("zh-CN", "ja", ["确定"]) == {}


def test_written_cells_is_a_mapping_of_sheet_and_cell() -> None:
    written = WrittenCells([("S", C2, "OK"), ("T", C2, "Cancel"), ("S", D2, "OK")])
    assert written[("T", C2)] == "Cancel" and written.get(("S", C3)) is None and written.get(("U", C2)) is None
    assert ("S", D2) in written and ("T", D2) not in written
    assert len(written) == 3 and dict(written) == {("S", C2): "OK", ("S", D2): "OK", ("T", C2): "Cancel"}
    assert WrittenCells([("S", D2, "a"), ("S", C2, "b"), ("S", D2, "c")])[("S", D2)] == "c"  # the last given


def test_written_cells_of_columns_are_the_cells_as_written() -> None:
    """Made from a table's columns: each text cleaned, the cells left out not there, a cell given twice by its last
    text, whatever order the rows come in; the same mapping as made from the cells one by one."""
    rows = [("S", D2, "a\x07"), ("T", C2, "Cancel"), ("S", C2, "b"), ("S", D2, "c"), ("S", C4, "gone"), ("U", C3, "x")]
    sheet, cell, text = (pd.Series(column) for column in zip(*rows, strict=True))
    written = WrittenCells.of_columns(sheet, cell, text, lambda t: t.replace("\x07", ""), {("S", C4), ("T", C3)})
    assert dict(written) == {("S", C2): "b", ("S", D2): "c", ("T", C2): "Cancel", ("U", C3): "x"}
    same = WrittenCells((s, c, t.replace("\x07", "")) for s, c, t in rows if (s, c) != ("S", C4))
    assert dict(same) == dict(written) and list(same) == list(written)
    once = WrittenCells.of_columns(sheet[:2], cell[:2], text[:2], str.upper, set())
    assert dict(once) == {("S", D2): "A\x07", ("T", C2): "CANCEL"}


def test_plan_version_learns_human_text_and_names_conflicts(tmp_path: Path) -> None:
    store = ProjectStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    v1 = cells([("en", 2, "k1", "确定", None), ("en", 3, "k2", "确定", None), ("en", 4, "k3", "取消", None)])
    first = plan_version(store, "a.xlsx", "a-1", "a.xlsx", v1)
    assert first.previous_key is None and first.work == {("S", C2), ("S", C3), ("S", C4)}
    written = WrittenCells([("S", C2, "[en] 确定"), ("S", C3, "[en] 确定"), ("S", C4, "[en] 取消")])
    record_version(store, first, written)
    assert version_report(first, written).summary["rows_added"] == 3

    v2 = cells([("en", 2, "k1", "确定", "OK"), ("en", 3, "k2", "确定", "Confirm"), ("en", 5, "k4", "确定", None)])
    second = plan_version(store, "a.xlsx", "a-2", "a.xlsx", v2)
    assert second.previous_key == "a-1" and second.learned == 2 and second.work == {("S", C5)}
    assert store.lookup_approved("zh-CN", "en", ["确定"]) == {"确定": "Confirm"}
    assert second.conflicts[["text", "cell", "wins"]].values.tolist() == [["OK", "C2", False], ["Confirm", "C3", True]]
    report = version_report(second, {("S", C5): "Confirm"})
    assert {k: report.summary[k] for k in ("rows_added", "rows_removed", "human_learned", "conflicts")} == {
        "rows_added": 1, "rows_removed": 1, "human_learned": 2, "conflicts": 1,
    }  # fmt: skip
    store.dispose()


def test_the_text_a_reviewer_wrote_last_wins_not_the_one_seen_last(tmp_path: Path) -> None:
    store = ProjectStore(f"sqlite:///{tmp_path / 'store.sqlite'}")

    def version(key: str, first: str, second: str) -> str:
        rows = [("en", 2, "k1", "确定", first), ("en", 3, "k2", "确定", second)]
        plan = plan_version(store, "a.xlsx", key, "a.xlsx", cells(rows))
        record_version(store, plan, {})
        return store.lookup_approved("zh-CN", "en", ["确定"])["确定"]

    assert version("a-1", "OK", "Confirm") == "Confirm"  # both written in one version: the later cell
    assert version("a-2", "OK", "Confirm") == "Confirm"  # seen again, unchanged: nothing moves
    assert version("a-3", "OK", "OK") == "OK"  # k2's reviewer went back to OK: written now, the most recent
    entries = store.approved_entries("zh-CN", "en", ["确定"])["确定"]
    assert [(e.text, e.workbook_key, e.cell) for e in entries] == [("Confirm", "a-1", "C3"), ("OK", "a-3", "C3")]
    store.dispose()


def test_versions_are_numbered_per_lineage_and_a_preview_registers_and_learns_nothing(tmp_path: Path) -> None:
    store = ProjectStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    v1 = cells([("en", 2, "k1", "确定", None)])
    record_version(store, plan_version(store, "a.xlsx", "a-1", "a.xlsx", v1), {("S", C2): "[en] 确定"})
    assert plan_version(store, "b.xlsx", "b-1", "b.xlsx", v1).number == 1  # another lineage counts from 1
    v2 = cells([("en", 2, "k1", "确定", "OK"), ("en", 3, "k2", "取消", None)])
    preview = preview_version(store, "a.xlsx", "a-2", v2)
    assert (preview.version_id, preview.number, preview.previous_key, preview.work) == (None, 2, "a-1", {("S", C3)})
    assert preview.learned == 1 and store.lookup_approved("zh-CN", "en", ["确定"]) == {}  # nothing learned
    assert store.version_id("a.xlsx", "a-2") is None  # nothing registered
    second = plan_version(store, "a.xlsx", "a-2", "a.xlsx", v2)
    assert second.number == 2 and store.lookup_approved("zh-CN", "en", ["确定"]) == {"确定": "OK"}
    assert version_report(second, {}).summary["version"] == 2
    again = preview_version(store, "a.xlsx", "a-2", v2)  # registered now: compared with the version before it
    assert (again.version_id, again.number, again.previous_key) == (second.version_id, 2, "a-1")
    store.dispose()


def test_forgetting_versions_keeps_the_cells_a_kept_version_is_compared_with(tmp_path: Path) -> None:
    store = ProjectStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    ids = {}
    for key in ("a-1", "a-2", "a-3"):
        plan = plan_version(store, "a.xlsx", key, "a.xlsx", cells([("en", 2, "k1", "确定", None)]))
        ids[key] = plan.version_id
        if key != "a-3":  # a-3 is planned, not exported yet
            record_version(store, plan, {("S", C2): "[en] 确定"})

    def kept() -> list[str]:
        return [key for key, version_id in ids.items() if store.version_cells(version_id)]

    store.forget_workbook("a-1")
    assert kept() == ["a-1", "a-2"]  # a-2 (kept) may be rerun: it is compared with a-1 again
    store.forget_workbook("a-2")
    assert kept() == ["a-2"]  # a-1 serves no kept version; a-2, the latest export, serves a-3 and the next ones
    store.forget_workbook("a-3")
    assert kept() == ["a-2"]  # still the lineage's latest export: the next version of a.xlsx is compared with it
    assert store.previous_version("a.xlsx", None)[1] == "a-2"
    assert plan_version(store, "a.xlsx", "a-4", "a.xlsx", cells([("en", 2, "k1", "确定", "[en] 确定")])).number == 4
    store.dispose()


# -- the export overwrites stale text, and only what it is told ------------------------------------------------


def test_export_overwrites_a_fill_marked_overwrite_and_never_a_formula(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "S"
    sheet.append(["Key", "中文", "English"])
    sheet.append(["k1", "取消吗", "[en] 取消"])
    sheet.append(["k2", "返回", "Back"])
    sheet.append(["k3", "开始", "=A1"])
    workbook.save(tmp_path / "in.xlsx")
    fills = [CellFill("S", "C2", "=[en] 取消吗", overwrite=True), CellFill("S", "C3", "[en] 返回"),
             CellFill("S", "C4", "[en] 开始", overwrite=True)]  # fmt: skip
    summary = export_workbook(tmp_path / "in.xlsx", tmp_path / "out.xlsx", fills)
    assert summary.written == 1
    assert [(cell, reason) for _, cell, reason in summary.skipped] == [
        ("C3", "cell already has a value"), ("C4", "cell holds a formula"),
    ]  # fmt: skip
    out = load_workbook(tmp_path / "out.xlsx")["S"]
    assert (out["C2"].value, out["C2"].data_type, out["C3"].value, out["C4"].value) == (
        "=[en] 取消吗",
        "s",
        "Back",
        "=A1",
    )
