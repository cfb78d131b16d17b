"""The glossary file: header spellings, languages, clear errors, terms per batch, and its QA rule in a run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from tests.workbook_factory import build_table
from translation_pipeline.definitions import ASSETS, build_resources
from translation_pipeline.localization.check.glossary import GlossaryError, load_glossary
from translation_pipeline.localization.check.qa import read_report
from translation_pipeline.localization.inbox.archive import archive_file
from translation_pipeline.localization.translate.contract import GlossaryTerm
from translation_pipeline.settings import load_settings


def test_xlsx_with_chinese_headers(tmp_path: Path) -> None:
    path = build_table(
        tmp_path / "术语表.xlsx",
        {
            "术语": [
                ["原文", "语言", "译文", "备注"],
                ["勇者", "English", "Hero", "the player"],
                ["勇者", "日本語", "勇者", None],
                ["晨曦村", "en", "Dawn Village", None],
                ["未定", "en", None, "not decided yet: skipped"],
                [None, None, None, None],
            ]
        },
    )
    glossary = load_glossary(path)
    assert [(e.source, e.language, e.target, e.note) for e in glossary.entries] == [
        ("勇者", "en", "Hero", "the player"),
        ("勇者", "ja", "勇者", ""),
        ("晨曦村", "en", "Dawn Village", ""),
    ]
    assert glossary.terms("ja") == [GlossaryTerm("勇者", "勇者")]


@pytest.mark.parametrize(
    "header",
    ["source,language,target,note", "Term,Lang,Translation,Comment", "Source Term;Target Language;Target Term"],
)
def test_csv_header_spellings_and_separators(tmp_path: Path, header: str) -> None:
    separator = ";" if ";" in header else ","
    rows = [header, separator.join(["勇者", "en", "Hero"]), separator.join(["魔王", "EN", "Demon Lord"])]
    path = tmp_path / "glossary.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    assert load_glossary(path).terms("en") == [GlossaryTerm("勇者", "Hero"), GlossaryTerm("魔王", "Demon Lord")]


def test_terms_for_a_batch(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("source,language,target\n勇者,en,Hero\n魔王,en,Demon Lord\n村,en,village\n勇者,ja,勇者\n")
    glossary = load_glossary(path)
    batch_texts = ["勇者，欢迎！", "去村子", "你好"]
    assert glossary.terms_for(batch_texts, "en") == [GlossaryTerm("勇者", "Hero"), GlossaryTerm("村", "village")]
    assert glossary.terms_for(batch_texts, "ja") == [GlossaryTerm("勇者", "勇者")]
    assert glossary.terms_for(["勇", "者"], "en") == [], "a term never matches across two texts"
    assert glossary.terms_for(batch_texts, "ko") == []


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.csv", None, "no such file"),
        ("g.txt", "source,language,target\n", "must be an .xlsx or .csv file"),
        (
            "g.csv",
            "word,meaning\n勇者,hero\n",
            "no source / language / target column (headers found: 'word', 'meaning')",
        ),
        ("g.csv", "source,language,target\n勇者,Klingon,Hero\n", "row 2: unknown target language 'Klingon'"),
        (
            "g.csv",
            "source,lang,target\n勇者,en,Hero\n勇者,en,Brave\n",
            "row 3: '勇者' -> en is both 'Hero' and 'Brave'",
        ),
        ("g.xlsx", "not a workbook", "cannot be read"),
    ],
)
def test_errors_name_the_file(tmp_path: Path, name: str, content: str | None, problem: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(GlossaryError) as raised:
        load_glossary(path)
    assert str(raised.value).startswith(f"glossary {path}: {problem}")


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


def test_configured_glossary_and_length_defaults_drive_the_qa_of_a_run(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    glossary = tmp_path / "glossary.csv"
    glossary.write_text("source,language,target\n勇者,en,Hero\n", encoding="utf-8")
    config = tmp_path / "translation_pipeline.yaml"
    config.write_text(f"glossary_file: {glossary}\nmax_length_defaults:\n  UI: 4\n", encoding="utf-8")
    monkeypatch.setenv("TRANSLATION_CONFIG", str(config))
    workbook = build_table(
        tmp_path / "strings.xlsx",
        {
            "Dialog": [["Key", "中文", "English"], ["d1", "勇者出发", None], ["d2", "你好", None]],
            "UI": [["Key", "中文", "English"], ["u1", "确定", None]],
        },
    )
    key = archive_file(workbook, data_dir / "archive").key
    instance.add_dynamic_partitions("workbooks", [key])

    result = dg.materialize(
        ASSETS, instance=instance, partition_key=key, resources=build_resources(load_settings())
    )

    assert result.success
    meta = result.asset_materializations_for_node("translated_workbook")[0].metadata
    findings, summary = read_report(Path(meta["qa_report"].value))
    glossary_hits = findings[findings["rule"] == "glossary"]
    assert glossary_hits[["sheet", "cell", "detail"]].values.tolist() == [
        ["Dialog", "C2", "source has '勇者': use 'Hero'"]
    ]
    too_long = findings[findings["rule"] == "max_length"]
    assert too_long[["sheet", "cell"]].values.tolist() == [["UI", "C2"]]  # the pseudo "[Ĥíéẋíñ~]" is over UI's 4
    assert summary.set_index("sheet").loc["UI", "max_length"] == 1
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["glossary"].passed and evaluations["glossary"].metadata["count"].value == 1
    assert "勇者" in evaluations["glossary"].metadata["sample"].value


def test_a_broken_glossary_only_skips_the_glossary_rule(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "translation_pipeline.yaml"
    config.write_text(f"glossary_file: {tmp_path / 'nowhere.csv'}\n", encoding="utf-8")
    monkeypatch.setenv("TRANSLATION_CONFIG", str(config))
    workbook = build_table(tmp_path / "s.xlsx", {"S": [["中文", "English"], ["勇者", None]]})
    key = archive_file(workbook, data_dir / "archive").key
    instance.add_dynamic_partitions("workbooks", [key])
    result = dg.materialize(
        ASSETS, instance=instance, partition_key=key, resources=build_resources(load_settings())
    )
    assert result.success
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()}["glossary"]
