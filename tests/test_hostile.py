"""Hostile input: files that are no usable workbook, awkward workbooks, hostile model output.

Every unusable file gets one error for a person, naming the file and the problem, in the run's failure (from
`source_workbook`) and on the CLI's stderr, while the other files go on. The drop-folder cases (file still
being written, deleted between ticks, same bytes under two names, `~$` lock files) are in tests/test_sensor.py.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from openpyxl import load_workbook

from tests.conftest import register
from tests.test_cli import run_cli
from tests.workbook_factory import (
    add_parts,
    add_vba_project,
    assert_workbooks_equal_except,
    build_large_workbook,
    build_ole2,
    build_table,
)
from translation_pipeline.definitions import ASSETS, build_definitions, build_resources
from translation_pipeline.localization.check.qa import read_report
from translation_pipeline.localization.read.workbook import WorkbookError, check_package, read_workbook
from translation_pipeline.localization.refs import cell_ref
from translation_pipeline.localization.translate.providers.pseudo import PseudoProvider, pseudo_localize
from translation_pipeline.settings import load_settings

DAMAGED = "not a readable .xlsx workbook: the file is damaged or not an Excel workbook"
TABLE = [["Key", "中文", "English"], ["ui.ok", "确定", None], ["ui.cancel", "取消", None]]


def _truncated(path: Path) -> None:
    build_table(path, {"S": TABLE})
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _damaged_sheet(path: Path) -> None:
    build_table(path, {"S": TABLE})
    add_parts(path, {}, replace={"xl/worksheets/sheet1.xml": ("</sheetData>", "<row r=")})


def _zip_but_not_excel(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as package:
        package.writestr("word/document.xml", "<document/>")


def _with_entry(name: str) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        build_table(path, {"S": TABLE})
        add_parts(path, {name: b"planted"})

    return build


def _doctype(path: Path) -> None:
    """An internal entity in the workbook part, used as a sheet name: Excel never writes a DTD."""
    build_table(path, {"S": TABLE})
    add_parts(path, {}, replace={"xl/workbook.xml": ("<workbook", '<!DOCTYPE w [<!ENTITY e "UI">]><workbook')})


def _duplicate_sheet_names(path: Path) -> None:
    build_table(path, {"UI": TABLE, "Other": TABLE})  # openpyxl would rename a repeat: made by hand
    add_parts(path, {}, replace={"xl/workbook.xml": ('name="Other"', 'name="Ui"')})


INVALID = "not a valid Excel package"
HOSTILE: dict[str, tuple[object, str]] = {
    "traversal_entry": (_with_entry("../../../../tmp/x.txt"), f"{INVALID}: zip entry '../../../../tmp/x.txt' points "
                        "outside the package"),
    "absolute_entry": (_with_entry("/tmp/x.txt"), f"{INVALID}: zip entry '/tmp/x.txt' points outside the package"),
    "inner_traversal_entry": (_with_entry("xl/../../x.txt"), f"{INVALID}: zip entry 'xl/../../x.txt' points outside"),
    "backslash_entry": (_with_entry("xl\\..\\x.txt"), f"{INVALID}: zip entry 'xl\\\\..\\\\x.txt' points outside"),
    "doctype": (_doctype, f"{INVALID}: xl/workbook.xml declares a DTD (Excel never writes one)"),
    "duplicate_sheet_names": (_duplicate_sheet_names, f"{INVALID}: two sheets are named 'UI' and 'Ui' (sheet names "
                              "must differ, ignoring case)"),
    "corrupt": (_truncated, f"{DAMAGED} (BadZipFile: File is not a zip file)"),
    "damaged_sheet": (_damaged_sheet, f"{DAMAGED} (XMLSyntaxError: "),
    "zip_not_excel": (_zip_but_not_excel, f"{DAMAGED} (KeyError: "),
    "empty": (lambda path: path.write_bytes(b""), "the file is empty (0 bytes)"),
    "old_xls": (
        lambda path: build_ole2(path, {"Workbook": b"\x09\x08\x10\x00\x00\x06\x05\x00"}),
        "it is an old Excel 97-2003 .xls file; save it as .xlsx (File > Save As > Excel Workbook)",
    ),
    "password": (
        lambda path: build_ole2(path, {"EncryptionInfo": b"\x04\x00\x04\x00\x40", "EncryptedPackage": b"\x99" * 99}),
        "it is password-protected; remove the password and drop it again",
    ),
    "csv": (
        lambda path: path.write_text("Key,中文,English\nui.ok,确定,\n", encoding="utf-8"),
        "not a readable .xlsx workbook: it is a text (CSV?) file renamed to .xlsx; "
        "open it in Excel and save it as .xlsx",
    ),
    "csv_gbk": (
        lambda path: path.write_bytes("Key,中文,English\r\nui.ok,确定,\r\n".encode("gbk")),
        "not a readable .xlsx workbook: it is a text (CSV?) file renamed to .xlsx",
    ),
    "no_language_header": (
        lambda path: build_table(path, {"Config": [["name", "value"], ["speed", 3]], "Empty": []}),
        "no sheet has a source and a target language column ('Config': no source and target language columns; "
        "'Empty': empty sheet)",
    ),
}


def make_hostile(folder: Path, case: str) -> tuple[Path, str]:
    """The hostile file of `case` (named `<case> 对话 🎮.xlsx`) and the start of its expected problem."""
    folder.mkdir(parents=True, exist_ok=True)
    build, problem = HOSTILE[case]
    path = folder / f"{case} 对话 🎮.xlsx"
    build(path)  # type: ignore[operator]
    return path, problem


def run(instance: dg.DagsterInstance, key: str, **kwargs: object) -> dg.ExecuteInProcessResult:
    """The whole chain with its asset checks, as the job runs it."""
    return dg.materialize(
        ASSETS,
        instance=instance,
        partition_key=key,
        resources=build_resources(load_settings()),
        **kwargs,
    )


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def output_of(result: dg.ExecuteInProcessResult) -> Path:
    return Path(result.output_for_node("translated_workbook")["output_path"])


def expected_fills(path: Path) -> dict[tuple[str, str], str]:
    """What the pseudo provider writes: every empty target cell whose source is text."""
    cells = read_workbook(path).cells
    todo = cells[~cells["target_filled"] & (cells["source_kind"] == "text")]
    columns = ["sheet", "target_cell", "source_text", "max_length", "target_language"]
    return {
        (sheet, cell_ref(cell)): pseudo_localize(text, None if pd.isna(limit) else int(limit), language)
        for sheet, cell, text, limit, language in todo[columns].itertuples(index=False)
    }


# --- files that are no usable workbook ------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_reader_names_the_file_and_the_problem(tmp_path: Path, case: str) -> None:
    path, problem = make_hostile(tmp_path, case)
    with pytest.raises(WorkbookError) as raised:
        read_workbook(path, display_name="Dialog v2 对话 🎮.xlsx")
    message = str(raised.value)
    assert message.startswith(f"Dialog v2 对话 🎮.xlsx: {problem}"), message
    assert "\n" not in message


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_cheap_check_finds_all_but_damage_inside_the_parts_with_the_readers_message(tmp_path: Path, case: str) -> None:
    """`check_package` (used by the drop-folder sensor) reports what `read_workbook` would, word for word."""
    path, _ = make_hostile(tmp_path, case)
    with pytest.raises(WorkbookError) as raised:
        read_workbook(path)
    if case in ("damaged_sheet", "no_language_header"):  # only reading the sheets finds these
        assert check_package(path) is None
    else:
        assert check_package(path) == raised.value.problem


def test_cheap_check_reads_only_the_start_of_each_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The central directory, the first 4 KiB of each XML part (a DTD comes first) and the small workbook part:
    never a whole sheet."""
    path = tmp_path / "big strings.xlsx"
    build_large_workbook(path, 2)
    read: list[int] = []
    original = zipfile.ZipExtFile.read

    def counting(self: zipfile.ZipExtFile, n: int = -1) -> bytes:
        data = original(self, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting)
    assert check_package(path) is None
    with zipfile.ZipFile(path) as package:
        sheet = max(info.file_size for info in package.infolist())
    assert sum(read) < 64 * 1024 < sheet


@pytest.mark.parametrize("case", ["corrupt", "empty", "old_xls", "password", "csv", "no_language_header"])
def test_ingest_fails_with_one_clear_message(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path, case: str
) -> None:
    path, problem = make_hostile(tmp_path / "drop", case)
    result = run(instance, register(instance, path, data_dir), raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["source_workbook"]
    description = failures[0].step_failure_data.user_failure_data.description
    assert description.startswith(f"{path.name}: {problem}")


def test_cli_reports_each_bad_file_once_and_translates_the_others(tmp_path: Path) -> None:
    data, home = tmp_path / "data", tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    bad = [make_hostile(tmp_path / "drop", case) for case in sorted(HOSTILE)]
    good = build_table(tmp_path / "drop" / "Good 好 🎮.xlsx", {"S": TABLE})

    done = run_cli("translate", *(str(path) for path, _ in bad), str(good), data=data, home=home)

    assert done.returncode == 1
    errors = done.stderr.strip().splitlines()
    assert len(errors) == len(bad), done.stderr
    for line, (path, problem) in zip(errors, bad, strict=True):
        assert line.startswith(f"error: {path}: {path.name}: {problem}"), line
    assert "Traceback" not in done.stderr
    output = Path(next(line for line in done.stdout.splitlines() if "output:" in line).split("output:", 1)[1].strip())
    assert output.name == "Good 好 🎮.translated.xlsx"
    assert load_workbook(output)["S"]["C2"].value == pseudo_localize("确定")


# --- awkward but usable workbooks -----------------------------------------------------------------------


def test_duplicate_header_names_warn_and_are_still_processed(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path
) -> None:
    rows = [["Key", "中文", "English", "Notes", "Notes"], ["ui.ok", "确定", None, "button", "second note"]]
    path = build_table(tmp_path / "dup.xlsx", {"S": rows})
    parsed = read_workbook(path)
    assert parsed.skips == [] and parsed.cells["note"].tolist() == ["button; second note"]
    assert parsed.sheets[0].context_columns["note"] == "D"

    result = run(instance, register(instance, path, data_dir))
    assert result.success
    ingest = result.asset_materializations_for_node("source_workbook")[0].metadata
    assert ingest["cells_skipped"].value == 0
    assert load_workbook(output_of(result))["S"]["C2"].value == pseudo_localize("确定")


def test_header_only_workbook_succeeds_and_the_output_is_a_copy(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path
) -> None:
    path = build_table(tmp_path / "headers.xlsx", {"S": [["Key", "中文", "English", "日本語"]]})
    result = run(instance, register(instance, path, data_dir))
    assert result.success
    assert result.asset_materializations_for_node("translation_tasks")[0].metadata["cells_to_fill"].value == 0
    assert_workbooks_equal_except(path, output_of(result), {})
    evaluations = checks(result)
    assert evaluations["coverage"].passed and evaluations["coverage"].metadata["count"].value == 0
    assert all(e.passed for e in evaluations.values())


@pytest.mark.parametrize("name", ["Dialog v2 final.xlsx", "对话 表格.xlsx", "🎮 strings 🐉.xlsx"])
def test_unusual_file_names_go_through_the_chain(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path, name: str
) -> None:
    path = build_table(tmp_path / name, {"S": TABLE})
    result = run(instance, register(instance, path, data_dir))
    assert result.success
    output = output_of(result)
    assert output.name == name.replace(".xlsx", ".translated.xlsx")
    assert (output.parent / name.replace(".xlsx", ".qa.xlsx")).is_file()
    assert_workbooks_equal_except(path, output, expected_fills(path))


def test_xlsm_macros_survive_the_chain(instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path) -> None:
    vba = b"\xd0\xcf\x11\xe0 fake VBA project \x00\x01" * 50
    path = build_table(tmp_path / "Macros 宏.xlsm", {"S": TABLE, "Dialog": [["中文", "English"], ["你好", None]]})
    add_vba_project(path, vba)
    result = run(instance, register(instance, path, data_dir))
    assert result.success
    output = output_of(result)
    assert output.name == "Macros 宏.translated.xlsm"
    with zipfile.ZipFile(output) as package:
        assert package.read("xl/vbaProject.bin") == vba
        assert "macroEnabled" in package.read("[Content_Types].xml").decode()
    fills = expected_fills(path)
    assert set(fills) == {("S", "C2"), ("S", "C3"), ("Dialog", "B2")}
    assert_workbooks_equal_except(path, output, fills)


def _large_workbook_through_the_chain(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path, megabytes: float
) -> None:
    """A workbook of about `megabytes` goes through the whole chain (its speed is the benchmark's business)."""
    path = tmp_path / "big strings.xlsx"
    rows = build_large_workbook(path, megabytes)
    assert path.stat().st_size > megabytes * 0.8e6
    result = run(instance, register(instance, path, data_dir))
    assert result.success
    assert result.asset_materializations_for_node("source_workbook")[0].metadata["cells"].value == rows
    written = result.asset_materializations_for_node("translated_workbook")[0].metadata["cells_written"].value
    assert written == rows // 500
    out = load_workbook(output_of(result), read_only=True)["Strings"]
    assert next(out.iter_rows(min_row=501, max_row=501, values_only=True))[2].startswith("[")


def test_large_workbook_streams_through_the_chain(instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path) -> None:
    """About 8 MB (34,000 rows); the 60 MB workbook below runs with RUN_SLOW_TESTS=1."""
    _large_workbook_through_the_chain(instance, data_dir, tmp_path, 8)


@pytest.mark.skipif(os.environ.get("RUN_SLOW_TESTS") != "1", reason="60 MB workbook, ~75 s: set RUN_SLOW_TESTS=1")
def test_sixty_megabyte_workbook_goes_through_the_chain(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path
) -> None:
    _large_workbook_through_the_chain(instance, data_dir, tmp_path, 60)


# --- never overwrite ------------------------------------------------------------------------------------


def test_only_empty_target_cells_inside_the_table_are_written(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path
) -> None:
    """Filled and formula targets, a note beside the table, rows after a blank gap and a second table below."""
    rows: list[list[object]] = [
        ["Key", "中文", "English", "日本語", None, "TODO: ask the writers"],  # F1: note beside the header
        ["ui.ok", "确定", None, None, None, "note beside the table"],  # F2 never a target
        ["ui.done", "已翻译", "Translated already", "翻訳済み"],  # both targets filled
        ["ui.sum", "合计", '=B4&"!"', None],  # C4 is a formula: never overwritten
        ["ui.blank", None, None, None],  # no source
        [None, None, None, None],
        [None, None, None, None],
        ["ui.after_gap", "间隔之后", None, None],  # row 8, after a blank gap: still in the table
    ]
    rows += [[None]] * 30
    rows += [["Key", "中文", "English"], ["other.ok", "第二个表", None]]  # rows 39-40: a second table
    path = build_table(tmp_path / "never overwrite.xlsx", {"S": rows})
    entry, beside, formula = read_workbook(path).skips
    assert (formula.code, formula.references) == ("formula_target", ["C4"])  # listed, never overwritten
    assert (beside.code, beside.references) == ("other_column", ["F2"])  # F1 is the header row
    assert entry.code == "below_second_table" and entry.reason.startswith("below a second table starting in row 39")
    assert sorted(entry.references) == ["A39", "A40", "B39", "B40", "C39"]

    result = run(instance, register(instance, path, data_dir))
    assert result.success
    expected = {
        ("S", "C2"): pseudo_localize("确定"),
        ("S", "D2"): pseudo_localize("确定", target_language="ja"),
        ("S", "D4"): pseudo_localize("合计", target_language="ja"),
        ("S", "C8"): pseudo_localize("间隔之后"),
        ("S", "D8"): pseudo_localize("间隔之后", target_language="ja"),
    }
    assert_workbooks_equal_except(path, output_of(result), expected)
    assert load_workbook(output_of(result))["S"]["C4"].data_type == "f"


# --- hostile model output -------------------------------------------------------------------------------

HOSTILE_REPLIES = {
    "链接": '=HYPERLINK("http://evil.example","click")',
    "命令": "+cmd|' /C calc'!A0",
    "求和": "@SUM(A1:A9)",
    "响铃": "Ring\x07 the\x1b bell",
    "确定": "Confirm this choice now",
}


def test_hostile_model_output_is_text_cleaned_and_reported(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PseudoProvider, "translate_item", lambda self, item, language: HOSTILE_REPLIES[item.text])
    rows = [["Key", "中文", "English", "max_len"]]
    rows += [[f"k{i}", source, None, None] for i, source in enumerate(HOSTILE_REPLIES)]
    rows[-1][3] = 8
    path = build_table(tmp_path / "hostile replies.xlsx", {"S": rows})
    result = run(instance, register(instance, path, data_dir))
    assert result.success, "QA findings warn, they never fail the run"

    out = load_workbook(output_of(result))["S"]
    assert [(out[f"C{r}"].value, out[f"C{r}"].data_type) for r in (2, 3, 4)] == [
        (HOSTILE_REPLIES["链接"], "s"), (HOSTILE_REPLIES["命令"], "s"), (HOSTILE_REPLIES["求和"], "s"),
    ]  # fmt: skip
    assert out["C5"].value == "Ring the bell"
    meta = result.asset_materializations_for_node("translated_workbook")[0].metadata
    assert meta["cells_cleaned"].value == 1
    assert meta["qa_findings_by_rule"].value == {"formula_like": 3, "control_characters": 1, "max_length": 1}

    findings, _ = read_report(Path(meta["qa_report"].value))
    assert findings.set_index("cell")["rule"].to_dict() == {
        "C2": "formula_like", "C3": "formula_like", "C4": "formula_like", "C5": "control_characters",
        "C6": "max_length",
    }  # fmt: skip
    assert findings.set_index("cell").loc["C5", "detail"] == "removed U+0007, U+001B"
    evaluations = checks(result)
    assert not evaluations["unsafe_text"].passed and evaluations["unsafe_text"].metadata["count"].value == 4
    assert evaluations["unsafe_text"].severity == dg.AssetCheckSeverity.WARN
    assert not evaluations["max_length"].passed and evaluations["coverage"].passed


def test_the_job_runs_the_checks_with_the_assets(instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path) -> None:
    """`translate_workbook_job` selects the assets; their checks come along, for the run's partition only."""
    path = build_table(tmp_path / "job.xlsx", {"S": TABLE})
    key = register(instance, path, data_dir)
    job = build_definitions().resolve_job_def("translate_workbook_job")
    result = job.execute_in_process(instance=instance, partition_key=key)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert {(e.asset_key.to_user_string(), e.check_name) for e in evaluations} == {
        ("source_workbook", "cell_schema"), ("source_workbook", "skipped_text"), ("translation_tasks", "task_schema"),
        *(("translated_workbook", name) for name in
          ("coverage", "placeholders", "max_length", "glossary", "untranslated", "whitespace", "unsafe_text")),
    }  # fmt: skip
    assert {e.partition for e in evaluations} == {key}
    assert checks(result)["untranslated"].passed  # the pseudo provider writes English cells in Latin letters
