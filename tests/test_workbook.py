"""Reading string tables: header detection, language and context columns, cell kinds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.workbook_factory import build_table
from translation_pipeline.localization.read.languages import LanguageMatcher
from translation_pipeline.localization.read.workbook import WorkbookError, classify, read_workbook
from translation_pipeline.localization.refs import cell_refs
from translation_pipeline.localization.schemas import CellSchema


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("zh-CN", "zh-CN"), ("ZH_cn", "zh-CN"), ("中文", "zh-CN"), ("简体中文", "zh-CN"), ("zh", "zh-CN"),
        ("繁體中文", "zh-TW"), ("English", "en"), ("EN (target)", "en"), ("英文（译文）", "en"), ("en-US", "en"),
        ("日本語", "ja"), ("JA-jp", "ja"), ("ko", "ko"), ("한국어", "ko"), ("Français", "fr"), ("Deutsch", "de"),
        ("Key", None), ("ID", None), ("Speaker", None), ("", None), (12, None), (None, None),
    ],
)  # fmt: skip
def test_header_spellings(header: object, code: str | None) -> None:
    assert LanguageMatcher().code_for(header) == code


def test_configured_aliases_extend_the_table() -> None:
    assert LanguageMatcher({"Klingon": "tlh"}).code_for("klingon") == "tlh"


def test_columns_kinds_and_context(tmp_path: Path) -> None:
    path = build_table(
        tmp_path / "t.xlsx",
        {
            "Notes": [["just", "a", "sheet"], ["no", "languages", "here"]],
            "Dialog": [
                ["Dialogue table v3"],  # title row above the header
                ["Key", "Speaker", "中文", "English", "日本語", "Notes", "max_len"],
                ["k1", "村长", "你好{0}", None, None, "greeting", 20],
                ["k2", "村长", "确定", "OK", "", "button", "n/a"],
                [None, None, None, None, None, None, None],
                ["k3", None, "=A1", None, None, None, None],
                ["k4", None, 123, None, None, None, None],
                ["k5", None, "  ", None, None, None, None],
                ["k6", None, True, None, None, None, None],
            ],
        },
    )
    parsed = read_workbook(path)
    CellSchema.validate(parsed.cells)
    skipped, dialog = parsed.sheets
    assert skipped.skipped and skipped.sheet == "Notes"
    assert (dialog.header_row, dialog.source_language, dialog.source_column) == (2, "zh-CN", "C")
    assert dialog.target_columns == {"en": "D", "ja": "E"}
    assert dialog.context_columns == {"key": "A", "speaker": "B", "note": "F", "max_length": "G"}
    cells = parsed.cells.set_index(pd.Index(cell_refs(parsed.cells["target_cell"])))
    assert cells.loc["D3", "source_text"] == "你好{0}" and cells.loc["D3", "max_length"] == 20
    assert cells.loc["D3", "speaker"] == "村长" and cells.loc["D3", "note"] == "greeting"
    assert bool(cells.loc["D4", "target_filled"]) and not bool(cells.loc["E4", "target_filled"])
    assert pd_na(cells.loc["D4", "max_length"])  # "n/a" is not a length
    kinds = {ref[1:]: kind for ref, kind in cells["source_kind"].items()}
    assert kinds == {"3": "text", "4": "text", "6": "formula", "7": "number", "8": "blank", "9": "bool"}
    assert "D5" not in cells.index  # the empty row is not a cell to fill


def pd_na(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_key_falls_back_to_sheet_and_row(tmp_path: Path) -> None:
    path = build_table(tmp_path / "t.xlsx", {"S": [["zh-CN", "en"], ["你好", None]]})
    assert read_workbook(path).cells["key"].tolist() == ["S!2"]


def test_auto_source_is_the_most_filled_language_column(tmp_path: Path) -> None:
    rows = [["en", "中文", "ja"], [None, "你好", None], ["Hi", "再见", None], [None, "谢谢", None]]
    parsed = read_workbook(build_table(tmp_path / "t.xlsx", {"S": rows}))
    assert parsed.sheets[0].source_language == "zh-CN"
    assert parsed.sheets[0].target_columns == {"en": "A", "ja": "C"}


def test_configured_source_and_target_filter(tmp_path: Path) -> None:
    rows = [["en", "中文", "ja", "ko"], ["Hi", "你好", None, None], ["Bye", "再见", None, None]]
    path = build_table(tmp_path / "t.xlsx", {"S": rows})
    parsed = read_workbook(path, source_language="en", target_languages=["ja"])
    assert parsed.sheets[0].source_language == "en"
    assert set(parsed.cells["target_language"]) == {"ja"}
    assert parsed.cells["source_text"].tolist() == ["Hi", "Bye"]


def test_sheet_without_the_configured_source_is_left_alone(tmp_path: Path) -> None:
    path = build_table(
        tmp_path / "t.xlsx", {"A": [["zh-CN", "en"], ["你好", None]], "B": [["ja", "en"], ["やあ", None]]}
    )
    parsed = read_workbook(path, source_language="中文")
    assert [s.skipped for s in parsed.sheets] == [None, "no zh-CN column"]


def test_duplicate_language_column_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = build_table(tmp_path / "t.xlsx", {"S": [["zh-CN", "en", "English"], ["你好", None, None]]})
    parsed = read_workbook(path)
    assert parsed.sheets[0].target_columns == {"en": "B"}
    (entry,) = parsed.skips
    assert entry.code == "repeated_language" and "repeats language en" in entry.reason
    assert entry.references == ["C2"]
    assert cell_refs(parsed.cells["target_cell"]) == ["B2"]


def test_no_usable_sheet_is_one_clear_error(tmp_path: Path) -> None:
    path = build_table(tmp_path / "plain.xlsx", {"S": [["name", "value"], ["a", 1]]})
    with pytest.raises(WorkbookError, match=r"^plain\.xlsx: no sheet has a source and a target language column"):
        read_workbook(path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "the file is empty"), (b"not a zip at all", "not a readable .xlsx workbook"),
     (b"PK\x03\x04broken", "not a readable .xlsx workbook"), (b"a,b\n1,2\n", "not a readable .xlsx workbook")],
)  # fmt: skip
def test_unreadable_files_name_the_file(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(WorkbookError) as raised:
        read_workbook(path, display_name="Dialog 对话.xlsx")
    assert str(raised.value).startswith("Dialog 对话.xlsx: " + problem)


def test_classify() -> None:
    assert [classify(v, t) for v, t in [(None, "n"), ("x", "s"), (" ", "s"), ("=A1", "f"), (1, "n")]] == [
        "blank", "text", "blank", "formula", "number",
    ]  # fmt: skip


def test_a_formula_source_left_untranslated_is_in_the_ledger(tmp_path: Path) -> None:
    """A row whose source a formula computes is not translated, and says so: one ledger entry per such row with
    an empty target, not a silent gap (a row whose targets are all filled needs nothing)."""
    path = build_table(
        tmp_path / "t.xlsx",
        {
            "Dialog": [
                ["Key", "中文", "English", "日本語"],
                ["k1", "你好", None, None],
                ["k2", '=CONCAT("商店","（1）")', None, None],
                ["k3", "=A1", "done", "済み"],
            ]
        },
    )
    ledger = read_workbook(path).ledger
    (entry,) = ledger[ledger["code"] == "formula_source"].to_dict("records")
    assert (entry["sheet"], entry["range"], entry["count"]) == ("Dialog", "B3", 1)
    assert "formula" in entry["reason"] and entry["how_to_include"]


def test_a_large_sheet_holds_one_object_per_repeated_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """calamine (large sheets) makes a string per cell; a column of few values (speakers) keeps one object per
    value through the cell table, while a column of distinct texts is not looked up for long."""
    from translation_pipeline.localization.read import grid

    monkeypatch.setattr(grid, "CALAMINE_FROM_BYTES", 0)
    speakers = ["村长", "铁匠", "商人"]
    rows = [["Key", "Speaker", "中文", "English"]]
    rows += [[f"k{n}", speakers[n % 3], f"第{n}句台词", None] for n in range(5000)]
    parsed = read_workbook(build_table(tmp_path / "big.xlsx", {"Dialog": rows}))
    cells = parsed.cells
    assert len(cells) == 5000 and sorted(set(cells["speaker"])) == sorted(speakers)
    assert len({id(text) for text in cells["speaker"]}) == 3
    assert len({id(text) for text in cells["source_text"]}) == 5000


def test_repeated_texts_leaves_a_column_of_distinct_texts_alone() -> None:
    from translation_pipeline.localization.read.grid import INTERN_SAMPLE, _RepeatedTexts

    repeated = _RepeatedTexts()
    first = "".join(["b", "ark"])
    assert repeated.one(2, first) is first
    assert repeated.one(2, "".join(["ba", "rk"])) is first
    for n in range(INTERN_SAMPLE):
        repeated.one(1, f"key_{n}")
    assert 1 in repeated.distinct and 1 not in repeated.known
    assert repeated.known[2] == {"bark": "bark"}
