"""The whole chain in-process with `materialize` on a temporary instance, and the Definitions graph."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from openpyxl import load_workbook
from upath import UPath

from tests.conftest import register
from tests.workbook_factory import assert_workbooks_equal_except
from translation_pipeline.definitions import ASSETS, build_definitions, build_resources
from translation_pipeline.localization.plan.tasks import CONTEXT_COLUMNS
from translation_pipeline.localization.refs import cell_refs
from translation_pipeline.localization.schemas import TaskSchema
from translation_pipeline.localization.translate.prompt import PROMPT_VERSION
from translation_pipeline.localization.translate.providers.pseudo import pseudo_localize
from translation_pipeline.resources.io_manager import PlanPartsIOManager
from translation_pipeline.settings import load_settings

REPO = Path(__file__).resolve().parents[1]


def run(instance: dg.DagsterInstance, key: str, **kwargs: object) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ASSETS, instance=instance, partition_key=key, resources=build_resources(load_settings()), **kwargs
    )


def test_definitions_load_with_the_expected_graph(data_dir: Path) -> None:
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {"inbox", "source_workbook", "translation_tasks", "translations", "translated_workbook"}
    assert graph.get(dg.AssetKey("translated_workbook")).parent_keys == {
        dg.AssetKey("translation_tasks"),
        dg.AssetKey("translations"),
    }
    assert defs.resolve_job_def("translate_workbook_job").partitions_def.name == "workbooks"
    assert defs.resolve_sensor_def("workbook_drop_sensor").job_name == "translate_workbook_job"


def test_env_vars_reach_the_resources(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSLATION_CONCURRENCY", "3")
    monkeypatch.setenv("TRANSLATION_TARGET_LANGUAGES", "en,ja")
    translation = build_resources(load_settings())["translation"].process_config_and_initialize()
    assert translation.concurrency == 3
    assert translation.target_language_list == ["en", "ja"]
    assert translation.batch_max_items == 40


def test_sample_workbook_end_to_end(instance: dg.DagsterInstance, data_dir: Path, sample_workbook: Path) -> None:
    key = register(instance, sample_workbook, data_dir)
    result = run(instance, key)
    assert result.success

    ingest = result.asset_materializations_for_node("source_workbook")[0].metadata
    assert ingest["sheets_found"].value == 3 and ingest["sheets_used"].value == 2
    assert ingest["cells_to_translate"].value == 36
    split = result.asset_materializations_for_node("translation_tasks")[0].metadata
    assert split["tasks_after_dedupe"].value == 31  # 36 cells: the repeated greeting and 确定 (ja, ko) dedupe
    assert split["batches"].value == 3  # one per target language
    translated = result.asset_materializations_for_node("translations")[0].metadata
    assert translated["requests"].value == 3 and translated["failed"].value == 0

    output = Path(result.output_for_node("translated_workbook")["output_path"])
    assert output.parent == data_dir / "outbox" / key
    expected = {}
    for sheet, cell, source, max_len, language in [
        ("Dialog", "D2", "勇者，欢迎来到晨曦村！", None, "en"),
        ("Dialog", "E3", "你的名字是{name}吗？", None, "ja"),
        ("Dialog", "F6", "确定", 8, "ko"),
        ("Dialog", "D7", "背包已满。\\n请先整理物品。", None, "en"),
        ("UI", "C2", "确定", 8, "en"),
        ("UI", "E6", "金币：%s", 16, "ko"),
    ]:
        expected[(sheet, cell)] = pseudo_localize(source, max_len, language)
    # 确定 has a prefilled English text (Dialog!D6 "OK"): a reviewer's, approved, it wins over the model's
    expected[("UI", "C2")] = "OK"
    out = load_workbook(output)
    for (sheet, cell), text in expected.items():
        assert out[sheet][cell].value == text
    # every other cell, style and sheet property is as in the original
    changed = {(s, c): out[s][c].value for s in ("Dialog", "UI") for c in _filled_cells(sample_workbook, out, s)}
    assert len(changed) == 36
    assert_workbooks_equal_except(sample_workbook, output, changed)


def _filled_cells(original: Path, out, sheet: str) -> list[str]:
    before = load_workbook(original)[sheet]
    return [c.coordinate for row in out[sheet].iter_rows() for c in row if before[c.coordinate].value != c.value]


def test_rerun_reuses_every_stored_answer(instance: dg.DagsterInstance, data_dir: Path, sample_workbook: Path) -> None:
    key = register(instance, sample_workbook, data_dir)
    assert run(instance, key).success
    again = run(instance, key)
    meta = again.asset_materializations_for_node("translations")[0].metadata
    assert meta["requests"].value == 0 and meta["reused_from_store"].value == 31


def test_unreadable_workbook_fails_ingest_with_one_clear_message(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "broken 坏.xlsx"
    bad.write_bytes(b"PK\x03\x04 definitely not a workbook")
    key = register(instance, bad, data_dir)
    result = run(instance, key, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data
    assert failure.user_failure_data.description.startswith("broken 坏.xlsx: not a readable .xlsx workbook")


def test_language_aliases_from_the_config_file(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openpyxl import Workbook

    (tmp_path / "studio.yaml").write_text("language_aliases:\n  Source Text: zh-CN\n  Loc EN: en\n", encoding="utf-8")
    monkeypatch.setenv("TRANSLATION_CONFIG", str(tmp_path / "studio.yaml"))
    workbook = Workbook()
    workbook.active.append(["Source Text", "Loc EN"])
    workbook.active.append(["开始游戏", None])
    path = tmp_path / "aliases.xlsx"
    workbook.save(path)
    result = run(instance, register(instance, path, data_dir))
    assert result.success
    output = Path(result.output_for_node("translated_workbook")["output_path"])
    assert load_workbook(output).active["B2"].value == pseudo_localize("开始游戏")


def test_assets_carry_owners_kinds_tags_and_code_versions(data_dir: Path) -> None:
    graph = build_definitions().resolve_asset_graph()
    for name in ("source_workbook", "translation_tasks", "translations", "translated_workbook"):
        node = graph.get(dg.AssetKey(name))
        assert node.owners == ["team:localization"] and node.tags["domain"] == "localization"
        assert node.code_version and node.kinds
    assert graph.get(dg.AssetKey("translations")).code_version == PROMPT_VERSION


def test_dg_finds_and_loads_the_definitions(tmp_path: Path) -> None:
    """`dg check defs` reads [tool.dg] in pyproject.toml and loads the one Definitions."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "TRANSLATION_DATA_DIR": str(tmp_path / "data"),
           "VIRTUAL_ENV": str(Path(sys.executable).parents[1])}  # fmt: skip
    env.pop("TRANSLATION_CONFIG", None)
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    done = subprocess.run([str(Path(sys.executable).parent / "dg"), "check", "defs"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr


def test_a_plan_stored_by_an_earlier_release_fails_translations_with_one_line(
    instance: dg.DagsterInstance, data_dir: Path, sample_workbook: Path
) -> None:
    """Before task ids were numbers they were `t1`, `t2`, ...: re-executing `translations` alone on such a stored
    plan asks for a whole run, instead of mixing the two kinds of id."""
    key = register(instance, sample_workbook, data_dir)
    assert run(instance, key).success
    stored = data_dir / "storage" / "translation_tasks" / key
    plan = PlanPartsIOManager(str(data_dir / "storage")).read(UPath(stored))  # stored whole below, as then
    plan.tasks["task_id"] = "t" + plan.tasks["task_id"].astype(str)
    plan.assignments["task_id"] = "t" + plan.assignments["task_id"].astype(str)
    stored.write_bytes(pickle.dumps(plan))
    result = run(instance, key, selection=["translations"], raise_on_error=False)
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data
    assert failure.user_failure_data.description == (
        f"{key}: its plan was made by an earlier release of translation_pipeline; run the whole partition again, "
        "not from this step"
    )


def test_steps_given_cell_references_stored_as_text_ask_for_a_whole_run(
    instance: dg.DagsterInstance, data_dir: Path, sample_workbook: Path
) -> None:
    """Until 2026-12-07 the cell table and the plan's assignments held each target cell as `D7`: the split and the
    export, re-executed alone on such stored inputs, ask for a whole run and are never retried."""
    key = register(instance, sample_workbook, data_dir)
    assert run(instance, key).success
    storage = data_dir / "storage"
    manager = PlanPartsIOManager(str(storage))
    source = storage / "source_workbook" / key
    parsed = manager.read(UPath(source))
    parsed.cells["target_cell"] = cell_refs(parsed.cells["target_cell"])
    kept = source.read_bytes()
    source.write_bytes(pickle.dumps(parsed))
    cells = storage / "translation_tasks" / f"{key}.cells"
    assignments, versions, stale = pickle.loads(cells.read_bytes())
    assignments["target_cell"] = cell_refs(assignments["target_cell"])
    cells.write_bytes(pickle.dumps((assignments, versions, stale)))
    for step, what in (("translation_tasks", "cell table"), ("translated_workbook", "plan")):
        if step == "translated_workbook":
            source.write_bytes(kept)
        result = run(instance, key, selection=[step], raise_on_error=False)
        failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data
        assert failure.user_failure_data.description == (
            f"{key}: its {what} was made by an earlier release of translation_pipeline; run the whole partition "
            "again, not from this step"
        )


def test_a_stored_plan_is_read_only_in_the_parts_each_step_reads(
    instance: dg.DagsterInstance, data_dir: Path, sample_workbook: Path
) -> None:
    """The plan is stored in parts: `translations` reads the tasks and their contexts, never the cells (assignments
    and version); the export everything but the contexts. With the parts a step does not read gone, it still runs."""
    key = register(instance, sample_workbook, data_dir)
    assert run(instance, key).success
    stored = data_dir / "storage" / "translation_tasks" / key
    manager = PlanPartsIOManager(str(data_dir / "storage"))
    whole = manager.read(UPath(stored))
    assert list(whole.tasks.columns) == list(TaskSchema.columns) and len(whole.assignments) >= len(whole.tasks)
    tasks, made = manager.read(UPath(stored), "tasks")  # the prompt contexts made as each item is
    assert tasks.equals(whole.tasks.drop(columns="context"))
    assert [made(task_id) for task_id in tasks["task_id"]] == whole.tasks["context"].tolist()
    assert "context" not in manager.read(UPath(stored), contexts=False).tasks.columns

    contexts = stored.with_name(f"{key}.contexts")
    kept = contexts.read_bytes()
    rows = pickle.loads(kept)  # the rows each task's prompt context is made of, not a string per task
    assert list(rows.columns) == CONTEXT_COLUMNS and set(rows["task_id"]) == set(whole.tasks["task_id"])
    contexts.write_bytes(pickle.dumps(whole.tasks["context"]))  # as stored until 2026-12-07: a string per task
    tasks, made = manager.read(UPath(stored), "tasks")
    assert made is None and tasks.equals(whole.tasks)
    contexts.unlink()
    assert run(instance, key, selection=["translated_workbook"]).success
    contexts.write_bytes(kept)
    stored.with_name(f"{key}.cells").unlink()
    again = run(instance, key, selection=["translations"])
    assert again.success
    assert again.output_for_node("translations")["status"].eq("translated").all()


@pytest.mark.parametrize("apart", [True, False])
def test_a_plan_stored_with_its_version_unpacked_still_exports(
    instance: dg.DagsterInstance, data_dir: Path, sample_workbook: Path, apart: bool
) -> None:
    """Until 2026-12-06 a plan's assignments and version were two parts (`.assignments`, `.versions`), and until
    2026-12-07 one part with the version unpacked (`.cells`); such a plan still loads whole and exports the same
    workbook."""
    key = register(instance, sample_workbook, data_dir)
    assert run(instance, key).success
    stored = data_dir / "storage" / "translation_tasks" / key
    output = next((data_dir / "outbox" / key).glob("*.translated.xlsx"))
    first = output.rename(output.with_name("first.xlsx"))
    cells = stored.with_name(f"{key}.cells")
    assignments, packed, _ = pickle.loads(cells.read_bytes())
    versions = packed.unpack()
    if apart:
        stored.with_name(f"{key}.assignments").write_bytes(pickle.dumps(assignments))
        stored.with_name(f"{key}.versions").write_bytes(pickle.dumps(versions))
        cells.unlink()
    else:
        cells.write_bytes(pickle.dumps((assignments, versions)))
    plan = PlanPartsIOManager(str(data_dir / "storage")).read(UPath(stored))
    assert plan.assignments.equals(assignments) and plan.versions.classified.equals(versions.classified)
    assert run(instance, key, selection=["translated_workbook"]).success
    assert_workbooks_equal_except(first, output, {})
