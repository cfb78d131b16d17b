"""The demo a newcomer can trust: the sample is one partition however often it is written, its pseudo
translation is clean by the project's own QA, and the example config loads."""

from __future__ import annotations

import re
import zipfile
from dataclasses import fields
from pathlib import Path

import dagster as dg
import yaml

from tests.conftest import register
from translation_pipeline.definitions import ASSETS, build_resources
from translation_pipeline.localization.check.qa import read_report
from translation_pipeline.localization.inbox.archive import archive_file
from translation_pipeline.localization.inbox.keys import workbook_key
from translation_pipeline.localization.read.layout import parse_layouts
from translation_pipeline.localization.translate.pricing import PriceTable
from translation_pipeline.localization.translate.prompt import GameInfo
from translation_pipeline.sample import write_sample_workbook
from translation_pipeline.settings import Settings, load_settings

EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "translation_pipeline.example.yaml"


def test_the_sample_has_the_same_bytes_and_partition_on_every_write(tmp_path: Path) -> None:
    first = write_sample_workbook(tmp_path / "a" / "sample_strings.xlsx")
    second = write_sample_workbook(tmp_path / "b" / "sample_strings.xlsx")
    assert first.read_bytes() == second.read_bytes()
    assert workbook_key(first) == workbook_key(second)
    archive = tmp_path / "archive"
    assert archive_file(first, archive).key == archive_file(second, archive).key == workbook_key(first)
    # nothing comes from the clock (a write a second later would differ otherwise)
    with zipfile.ZipFile(first) as package:
        assert {info.date_time for info in package.infolist()} == {(2024, 1, 1, 0, 0, 0)}
        core = package.read("docProps/core.xml").decode()
    assert re.findall(r"<dcterms:(\w+)[^>]*>([^<]*)<", core) == [
        ("created", "2024-01-01T00:00:00Z"),
        ("modified", "2024-01-01T00:00:00Z"),
    ]


def test_the_sample_translates_with_no_untranslated_or_placeholder_finding(
    instance: dg.DagsterInstance, data_dir: Path, sample_workbook: Path
) -> None:
    result = dg.materialize(
        ASSETS,
        instance=instance,
        partition_key=register(instance, sample_workbook, data_dir),
        resources=build_resources(load_settings()),
    )
    assert result.success
    issues, summary = read_report(Path(result.output_for_node("translated_workbook")["qa_report"]))
    assert issues.empty, issues[["cell", "language", "translation", "rule", "detail"]].to_string()
    assert summary["filled"].sum() == 36
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations["untranslated"] and evaluations["placeholders"]


def test_the_example_config_shows_and_loads_every_setting() -> None:
    example = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    assert set(example) == {f.name for f in fields(Settings)}
    settings = load_settings({"TRANSLATION_CONFIG": str(EXAMPLE_CONFIG)})
    # the rest: defaults
    examples = {"game", "prices", "language_aliases", "max_length_defaults", "layouts", "priorities", "lineages"}
    assert {f.name for f in fields(Settings) if getattr(settings, f.name) != getattr(Settings(), f.name)} == examples
    assert GameInfo(**settings.game).world  # no key the prompt ignores
    assert PriceTable.from_settings(settings.prices).cost_usd("gpt-4o-mini", 1_000_000, 1_000_000) == 0.75
    assert parse_layouts(settings.layouts)[0].targets == {"C": "en", "D": "ja"}
    assert build_resources(settings)["translation"].process_config_and_initialize().max_attempts == 4
