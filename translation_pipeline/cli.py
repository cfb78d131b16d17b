"""`translation-pipeline`: the same assets as the UI, run in-process against the instance in DAGSTER_HOME."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import dagster as dg

from translation_pipeline.localization.archive import WORKBOOK_SUFFIXES, archive_file
from translation_pipeline.partitions import workbooks
from translation_pipeline.sample import write_sample_workbook
from translation_pipeline.settings import ConfigError, load_settings

JOB_NAME = "translate_workbook_job"
# the CLI prints its own lines; failures are reported once, as the step's message, without a traceback
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _instance(data_dir: Path) -> dg.DagsterInstance:
    """The instance in DAGSTER_HOME (`<data_dir>/dagster_home` when not set); a home that does not exist
    yet is created as the embedded default (SQLite)."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster_home").resolve()
    if not home.is_dir():
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            data = event.step_failure_data
            if data.user_failure_data and data.user_failure_data.description:
                return data.user_failure_data.description
            message = data.error.message.strip().splitlines()[-1] if data.error else "unknown error"
            return f"step {event.step_key} failed: {message}"
    return "the run failed"


def translate(files: list[str], out=sys.stdout, err=sys.stderr) -> int:
    """Register and materialize each file now; one error line per bad file, the others go on."""
    settings = load_settings()
    from translation_pipeline.definitions import build_definitions

    job = build_definitions().resolve_job_def(JOB_NAME)
    instance = _instance(settings.data_path)
    archive_dir = settings.data_path / "archive"
    failed = 0
    for position, name in enumerate(files, start=1):
        path = Path(name)
        prefix = f"[{position}/{len(files)}] {path.name}"
        if not path.is_file():
            print(f"error: {name}: no such file", file=err)
            failed += 1
            continue
        if path.suffix.lower() not in WORKBOOK_SUFFIXES:
            print(f"error: {name}: not an .xlsx or .xlsm workbook", file=err)
            failed += 1
            continue
        archived = archive_file(path, archive_dir)
        if not instance.has_dynamic_partition(workbooks.name, archived.key):
            instance.add_dynamic_partitions(workbooks.name, [archived.key])
        print(f"{prefix}: partition {archived.key}, translating ...", file=out, flush=True)
        started = time.monotonic()
        result = job.execute_in_process(
            instance=instance,
            partition_key=archived.key,
            run_config=QUIET_LOGS,
            tags={"translation/source": "cli"},
            raise_on_error=False,
        )
        seconds = time.monotonic() - started
        if not result.success:
            print(f"error: {name}: {_failure_message(result)}", file=err)
            failed += 1
            continue
        written = result.output_for_node("translated_workbook")
        ingest = result.asset_materializations_for_node("source_workbook")[0].metadata
        print(
            f"{prefix}: {ingest['cells_to_translate'].value} cells translated in {seconds:.1f}s "
            f"(run {result.run_id[:8]})\n  output: {written['output_path']}\n  QA report: {written['qa_report']}",
            file=out,
        )
    return 1 if failed else 0


def demo(out=sys.stdout, err=sys.stderr) -> int:
    """Drop the sample workbook into the inbox and translate it."""
    settings = load_settings()
    sample = write_sample_workbook(settings.data_path / "inbox" / "sample_strings.xlsx")
    print(f"sample workbook: {sample.resolve()}", file=out)
    return translate([str(sample)], out, err)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="translation-pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("translate", help="translate workbooks now (same assets as the UI)")
    run.add_argument("files", nargs="+", metavar="FILE")
    commands.add_parser("demo", help="drop the sample workbook into the inbox and translate it")
    sample = commands.add_parser("sample", help="write the sample workbook")
    sample.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "translate":
            return translate(args.files)
        if args.command == "demo":
            return demo()
        print(write_sample_workbook(args.path))
        return 0
    except ConfigError as error:
        print(f"error: configuration: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
