"""The `translation-pipeline` console script, driven as a subprocess on real files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
from openpyxl import load_workbook

from translation_pipeline.localization.translate.providers.pseudo import pseudo_localize

CLI = shutil.which("translation-pipeline", path=str(Path(sys.executable).parent)) or "translation-pipeline"


def run_cli(*args: str, data: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRANSLATION_DATA_DIR": str(data), "DAGSTER_HOME": str(home)}
    env.pop("TRANSLATION_CONFIG", None)
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=240, check=False)


def test_translate_reports_bad_files_and_finishes_the_others(tmp_path: Path, sample_workbook: Path) -> None:
    data, home = tmp_path / "data", tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    corrupt = tmp_path / "对话 broken.xlsx"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")

    done = run_cli("translate", str(corrupt), str(sample_workbook), str(notes), str(tmp_path / "gone.xlsx"),
                   data=data, home=home)  # fmt: skip

    assert done.returncode == 1
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 3, done.stderr
    assert errors[0].startswith(f"error: {corrupt}: 对话 broken.xlsx: not a readable .xlsx workbook")
    assert errors[1] == f"error: {notes}: not an .xlsx or .xlsm workbook"
    assert errors[2] == f"error: {tmp_path / 'gone.xlsx'}: no such file"
    assert "Traceback" not in done.stderr

    output_line = next(line for line in done.stdout.splitlines() if line.strip().startswith("output:"))
    output = Path(output_line.split("output:", 1)[1].strip())
    assert "36 translated, 5 skipped: see QA report" in done.stdout  # the hidden Config sheet, the formula source
    translated = load_workbook(output)
    assert translated["Dialog"]["D2"].value == pseudo_localize("勇者，欢迎来到晨曦村！")
    assert (output.parent / "sample_strings.qa.xlsx").is_file()

    # the runs and partitions are in the instance the UI reads
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        with dg.DagsterInstance.get() as instance:
            keys = instance.get_dynamic_partitions("workbooks")
            assert len(keys) == 2 and any(k.startswith("sample_strings-") for k in keys)
            runs = instance.get_runs()
            assert sorted(run.status.value for run in runs) == ["FAILURE", "SUCCESS"]
    finally:
        del os.environ["DAGSTER_HOME"]


def test_demo_writes_the_sample_and_translates_it(tmp_path: Path) -> None:
    done = run_cli("demo", data=tmp_path / "data", home=tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "inbox" / "sample_strings.xlsx").is_file()
    assert "output:" in done.stdout and done.stderr == ""


def test_progress_bar_draws_one_line_and_ends_it() -> None:
    import io

    from translation_pipeline.cli import ProgressBar
    from translation_pipeline.localization.translate.progress import Progress, publish, subscribe

    stream = io.StringIO()
    unsubscribe = subscribe(ProgressBar(stream, width=10))
    publish(Progress("translations", 0, 4, 0.0))
    publish(Progress("translations", 4, 4, 0.0123))
    unsubscribe()
    publish(Progress("translations", 4, 4))  # no longer drawn
    assert stream.getvalue() == "\r  translations [..........] 0/4 $0.0000\r  translations [##########] 4/4 $0.0123\n"


def test_console_script_collects_garbage_again_after_its_imports() -> None:
    """The entry point pauses the garbage collector for the CLI's imports only: when a command runs, collection is
    on again, and the imported objects are frozen (later collections skip them)."""
    probe = (
        "import gc, sys\n"
        "import translation_pipeline.cli as cli\n"
        "cli.main = lambda: print(gc.isenabled(), gc.get_freeze_count()) or 0\n"
        "from translation_pipeline.entry import main\n"
        "sys.exit(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    enabled, frozen = done.stdout.split()
    assert enabled == "True"
    assert int(frozen) > 100_000  # dagster, pandas, openpyxl, SQLAlchemy
