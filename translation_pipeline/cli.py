"""`translation-pipeline`: the same assets as the UI, run in-process against the instance in DAGSTER_HOME."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import fcntl
import gc
import os
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import dagster as dg

from translation_pipeline.cancel import cancel_batch_jobs, cancel_workbook, reap_dead_runs
from translation_pipeline.executor import sqlite_storage_kept_open
from translation_pipeline.localization.inbox.archive import WORKBOOK_SUFFIXES, ArchiveError, archive_file, find_archived
from translation_pipeline.localization.translate.progress import Progress, subscribe
from translation_pipeline.partitions import workbooks
from translation_pipeline.processes import process_tags
from translation_pipeline.sample import write_sample_workbook
from translation_pipeline.schedules.rerun_failed import (
    failed_workbook_states,
    mark_gave_up,
    plan_reruns,
    rerun_tags,
    workbook_states,
)
from translation_pipeline.settings import DEFAULT_MODELS, ConfigError, load_settings

if TYPE_CHECKING:
    import pandas as pd

    from translation_pipeline.localization.store import ProjectStore
    from translation_pipeline.settings import Settings

JOB_NAME = "translate_workbook_job"
# the CLI prints its own lines; failures are reported once, as the step's message, without a traceback
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@contextlib.contextmanager
def _home_lock(home: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<home>/.instance.lock` (other processes on this machine wait for it).

    Dagster creates a new SQLite storage's tables without guarding against a second process doing the
    same at the same instant ("table ... already exists"); with the lock, the first process creates
    them and the second finds them. Released when the file closes, also when the process dies."""
    try:
        handle = (home / ".instance.lock").open("a")
    except OSError:  # a read-only home: the storage is not created there either
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _instance(data_dir: Path) -> dg.DagsterInstance:
    """The instance in DAGSTER_HOME (`<data_dir>/dagster_home` when not set); a home that does not exist
    yet is created as the embedded default (SQLite). Safe when several CLI processes start at once."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster_home").resolve()
    new = not home.is_dir()
    if new:
        home.mkdir(parents=True, exist_ok=True)  # another CLI process may be creating it too
    os.environ["DAGSTER_HOME"] = str(home)
    with _home_lock(home):
        if new:  # another CLI process may have written it already
            with contextlib.suppress(FileExistsError), (home / "dagster.yaml").open("x", encoding="utf-8") as handle:
                handle.write("telemetry:\n  enabled: false\n")
        return dg.DagsterInstance.get()


def _failure_message(result: dg.JobExecutionResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            data = event.step_failure_data
            if data.user_failure_data and data.user_failure_data.description:
                return data.user_failure_data.description
            error = data.error
            while error is not None and error.cause is not None:  # the root cause, not Dagster's wrapper
                error = error.cause
            message = error.message.strip().splitlines()[-1] if error else "unknown error"
            return f"step {event.step_key} failed: {message}"
    return "the run failed"


class NotePrinter:
    """Prints the notes of progress updates (the batch lane's waiting state), each once, on their own lines."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, progress: Progress) -> None:
        if progress.note:
            self.stream.write(f"  {progress.note}\n")
            self.stream.flush()


class ProgressBar:
    """Draws `translations [#####.....] 120/300 $0.0123` on one terminal line, at most 10 times a second."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream, self.width, self._last = stream, width, 0.0

    def __call__(self, progress: Progress) -> None:
        if progress.note:
            self.stream.write(f"\r  {progress.note}\n")
            self.stream.flush()
            return
        finished = progress.done >= progress.total
        now = time.monotonic()
        if not finished and now - self._last < 0.1:
            return
        self._last = now
        filled = self.width * progress.done // max(progress.total, 1)
        cost = "" if progress.cost_usd is None else f" ${progress.cost_usd:.4f}"
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r  {progress.stage} [{bar}] {progress.done}/{progress.total}{cost}")
        if finished:
            self.stream.write("\n")
        self.stream.flush()


def _instance_and_data() -> tuple[dg.DagsterInstance, Path]:
    settings = load_settings()
    return _instance(settings.data_path), settings.data_path


NEEDS_ATTENTION = 3  # exit code: translated, but text was left for columns of unknown or ambiguous language


def _run_config(layouts: list[dict] | None, switch: dict[str, str] | None = None, wait: bool = True) -> dict:
    """Run config: quiet logs, the explicit layout of `source_workbook`, the provider switch of `translations` and
    whether it waits for batch jobs."""
    ops: dict[str, dict] = {"translations": {"config": {**(switch or {}), "batch_wait": wait}}}
    if layouts:
        ops["source_workbook"] = {"config": {"layouts": layouts}}
    return {**QUIET_LOGS, "ops": ops}


def _run(
    instance: dg.DagsterInstance,
    key: str,
    tags: dict[str, str],
    layouts: list[dict] | None = None,
    switch: dict[str, str] | None = None,
    wait: bool = True,
) -> tuple[bool, str, bool]:
    """Materialize one partition in-process: (success, the output lines or the failure message, needs attention)."""
    started = time.monotonic()
    for run_id in reap_dead_runs(instance, key):
        print(f"  run {run_id[:8]} of {key} was left running by a translate process that is gone: marked failed")
    unsubscribe = subscribe(ProgressBar(sys.stdout) if sys.stdout.isatty() else NotePrinter(sys.stdout))
    try:
        with sqlite_storage_kept_open(instance):  # the run's creation and its end too, outside the executor
            # `execute_job` (the job's executor is in-process), not `execute_in_process`: that one keeps every
            # step's output in memory for the result (100k rows: 803 -> 588 MiB peak)
            result = dg.execute_job(
                dg.reconstructable(_cli_job), instance, run_config=_run_config(layouts, switch, wait),
                tags={**tags, **process_tags(), PARTITION_TAG: key}, raise_on_error=False,
            )  # fmt: skip
    finally:
        unsubscribe()
    if not result.success:
        run = instance.get_run_by_id(result.run_id)
        if run is not None and run.status == dg.DagsterRunStatus.CANCELED:
            return False, f"{CANCELLED}run {result.run_id[:8]} stopped; {CANCELLED_NOTE}", False
        return False, _failure_message(result), False
    exported = result.asset_materializations_for_node("translated_workbook")
    if not exported:  # batch mode without waiting: the provider's jobs are open
        note = instance.get_run_by_id(result.run_id).tags.get("translation/batch", "waiting on batch jobs")
        return True, f"{WAITING}{note}; run `translate` on it again, or let the daemon finish it", False
    meta = exported[0].metadata
    skipped = meta["cells_skipped"].value
    attention = bool(meta["needs_attention"].value)
    counts = f"{meta['cells_written'].value} translated, {skipped} skipped" + (": see QA report" if skipped else "")
    return True, (
        f"{counts} ({time.monotonic() - started:.1f}s, run {result.run_id[:8]})"
        f"\n  output: {meta['output_path'].value}\n  QA report: {meta['qa_report'].value}"
    ), attention


PARTITION_TAG = "dagster/partition"
CANCELLED = "cancelled: "
WAITING = "submitted: "
CANCELLED_NOTE = "every answered batch is kept: `translate` the file again to finish it"


def _cli_job() -> dg.JobDefinition:
    """The job, from a module-level function so that `dg.reconstructable` can point at it."""
    from translation_pipeline.definitions import build_definitions

    return build_definitions().resolve_job_def(JOB_NAME)


def _is_workbook_argument(name: str) -> bool:
    """An existing .xlsx/.xlsm file; otherwise prints the one error line for it."""
    path = Path(name)
    if not path.is_file():
        print(f"error: {name}: no such file", file=sys.stderr)
        return False
    if path.suffix.lower() not in WORKBOOK_SUFFIXES:
        print(f"error: {name}: not an .xlsx or .xlsm workbook", file=sys.stderr)
        return False
    return True


def translate(
    files: list[str], layouts: list[dict] | None = None, switch: dict[str, str] | None = None, wait: bool = True
) -> int:
    """Register and materialize each file now (with its pinned provider and model, unless `switch` re-pins
    them); one error line per bad file, the others go on. Exit code 1 when a file failed, else NEEDS_ATTENTION
    when text was left for a column of unknown language, else 0."""
    instance, data_dir = _instance_and_data()
    failed = attention = 0
    for position, name in enumerate(files, start=1):
        path = Path(name)
        prefix = f"[{position}/{len(files)}] {path.name}"
        if not _is_workbook_argument(name):
            failed += 1
            continue
        archived = archive_file(path, data_dir / "archive")
        if not instance.has_dynamic_partition(workbooks.name, archived.key):
            instance.add_dynamic_partitions(workbooks.name, [archived.key])
        print(f"{prefix}: partition {archived.key}, translating ...", flush=True)
        ok, message, needs = _run(instance, archived.key, {"translation/source": "cli"}, layouts, switch, wait)
        if ok:
            print(f"{prefix}: {message}")
            if needs:
                attention += 1
                print(f"warning: {name}: needs attention: text left in columns of unknown or ambiguous language "
                      "(QA report, sheet `skipped`; `translation-pipeline inspect` shows how each column was read)",
                      file=sys.stderr)  # fmt: skip
        else:
            cancelled = message.startswith(CANCELLED)
            line = f"cancelled: {name}: {message.removeprefix(CANCELLED)}" if cancelled else f"error: {name}: {message}"
            print(line, file=sys.stderr)
            failed += 1
    return 1 if failed else NEEDS_ATTENTION if attention else 0


def _keys_of(instance: dg.DagsterInstance, archive_dir: Path, name: str) -> list[str]:
    """Partition keys `name` means: itself when it is one, else every version of the workbook file of that name
    (as dropped or given to `translate`)."""
    if instance.has_dynamic_partition(workbooks.name, name):
        return [name]
    file_name = Path(name).name
    keys = []
    for key in instance.get_dynamic_partitions(workbooks.name):
        with contextlib.suppress(ArchiveError):
            if find_archived(archive_dir, key).original_name == file_name:
                keys.append(key)
    return keys


def cancel_command(names: list[str], wait_seconds: float) -> int:
    """Cancel the queued and running runs of each workbook (a partition key, or a file name for all its
    versions); exit code 1 when a name matches no workbook or a run did not stop within `wait_seconds`."""
    from translation_pipeline.definitions import build_resources
    from translation_pipeline.localization.translate.batch.client import BatchApiError
    from translation_pipeline.localization.translate.pinned import SettingUnavailable
    from translation_pipeline.localization.translate.providers.base import ProviderError

    settings = load_settings()
    instance, data_dir = _instance(settings.data_path), settings.data_path
    resources = build_resources(settings, environ={})  # plain values, no EnvVar: used outside Dagster
    store, current = resources["store"].get_store(), resources["translation"].translator_settings()
    bad = 0
    for name in names:
        keys = _keys_of(instance, data_dir / "archive", name)
        if not keys:
            print(f"error: {name}: no such workbook (`translation-pipeline status` lists them)", file=sys.stderr)
            bad += 1
        for key in keys:
            stopped = cancel_workbook(instance, key, wait_seconds)
            try:
                batch = cancel_batch_jobs(store, key, current, wait_seconds)
            except (BatchApiError, SettingUnavailable, ProviderError) as error:
                batch = f"its batch jobs could not be cancelled: {error}"
                bad += 1
            if batch:
                print(f"{key}: {batch}")
            if not stopped and not batch:
                print(f"{key}: nothing to cancel (no queued or running run, no open batch job)")
            for run in stopped:
                state = "cancelled" if run.done else f"still {run.status.value.lower()} after {wait_seconds:g}s"
                print(f"{key}: run {run.run_id[:8]} {state} ({run.how})")
                bad += not run.done
    return 1 if bad else 0


def retry_failed(switch: dict[str, str] | None = None) -> int:
    """What `rerun_failed_workbooks` would request, run now (`switch`: re-pinned to another provider/model)."""
    instance, _ = _instance_and_data()
    settings = load_settings()
    plan = plan_reruns(failed_workbook_states(instance), settings.rerun_max_attempts)
    for state in plan.gave_up:
        mark_gave_up(instance, state, settings.rerun_max_attempts)
        print(f"{state.key}: gave up after {state.attempts} reruns")
    if not plan.reruns:
        print("no failed workbook to rerun")
    failed = 0
    for state, attempt in plan.reruns:
        print(f"{state.key}: rerun {attempt} of {settings.rerun_max_attempts} ...", flush=True)
        ok, message, _ = _run(instance, state.key, rerun_tags(attempt, settings.rerun_max_attempts), switch=switch)
        print(f"{state.key}: {message}", file=sys.stdout if ok else sys.stderr)
        failed += not ok
    return 1 if failed else 0


def status() -> int:
    """Every workbook with its latest run, cells written and failed, requests, tokens, cost, pinned provider and
    model, and why a failed one failed; then the inbox as the drop-folder sensor last reported it, with each
    rejected file and its reason."""
    from translation_pipeline.hooks import failure_note
    from translation_pipeline.resources.store import ProjectStoreResource
    from translation_pipeline.sensors.inbox import latest_report_lines

    settings = load_settings()
    instance = _instance(settings.data_path)
    store = ProjectStoreResource(db_url=settings.db_url, data_dir=str(settings.data_path)).get_store()
    rows = [("workbook", "state", "written", "failed", "skipped", "requests", "tokens", "cost_usd", "provider", "model",
             "note")]  # fmt: skip
    versions = []  # a line per workbook version with its figures against the version before (localization/versions)
    for state in workbook_states(instance):
        written = failed = skipped = "-"
        condition = state.status.value.lower()
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("translated_workbook"), asset_partitions=[state.key]), limit=1
        ).records
        if records:
            meta = records[0].asset_materialization.metadata
            written, failed = str(meta["cells_written"].value), str(meta["cells_failed"].value)
            if "cells_skipped" in meta:
                skipped = str(meta["cells_skipped"].value)
                if meta["needs_attention"].value and condition == "success":
                    condition = "needs attention"
            if "version_summary" in meta:
                versions.append(f"  {state.key}: {meta['version_summary'].value}")
        requests, prompt, completion, cost = store.workbook_usage(state.key)
        pinned = store.pinned_settings(state.key) or {}
        note = failure_note(state)
        rows.append((state.key, condition, written, failed, skipped, str(requests),
                     str(prompt + completion), "-" if cost is None else f"{cost:.4f}",
                     str(pinned.get("provider", "-")), str(pinned.get("model", "-")), note))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if versions:
        print("versions:", *versions, sep="\n")
    for line in _batch_lines(store):
        print(line)
    for line in latest_report_lines(instance):
        print(line)
    return 0


def _batch_lines(store: ProjectStore) -> list[str]:
    """The open Batch API jobs, one line each, under a heading; none when there are none."""
    from translation_pipeline.localization.translate.batch.records import BatchRecords

    open_jobs = BatchRecords(store).jobs(open_only=True)
    if not open_jobs:
        return []
    lines = [f"batch jobs open: {len(open_jobs)}"]
    for job in open_jobs:
        done = f"{job.completed + job.failed}/{job.lines} lines done ({job.failed} failed)"
        lines.append(f"  {job.workbook_key}  {job.batch_id or 'not created yet'}  {job.status}  {done}  {job.provider}")
    return lines


def cleanup_command(days: int | None, dry_run: bool) -> int:
    from translation_pipeline.resources.files import DataDirResource
    from translation_pipeline.resources.store import ProjectStoreResource
    from translation_pipeline.schedules.cleanup import cleanup

    settings = load_settings()
    instance = _instance(settings.data_path)
    store = ProjectStoreResource(db_url=settings.db_url, data_dir=str(settings.data_path)).get_store()
    age = days if days is not None else settings.retention_days
    report = cleanup(instance, DataDirResource(data_dir=str(settings.data_path)), store, timedelta(days=age),
                     dry_run=dry_run)  # fmt: skip
    verb = "would forget" if dry_run else "forgot"
    print(f"{verb} {len(report.keys)} workbooks older than {age} days: {', '.join(report.keys) or '-'}")
    return 0


def inspect_command(files: list[str], layouts: list[dict] | None) -> int:
    """A dry run of reading: per sheet the header rows, data range, each column's role and language and how it
    was decided, the cells to translate per language, everything skipped with its reason, and against the
    version before in its lineage what each target cell is (`localization/versions`). Nothing is sent."""
    from translation_pipeline.localization.read.languages import LanguageMatcher
    from translation_pipeline.localization.read.layout import parse_layouts
    from translation_pipeline.localization.read.report import inspect_text
    from translation_pipeline.localization.read.workbook import WorkbookError, read_workbook

    settings = load_settings()
    explicit = [*parse_layouts(layouts or []), *parse_layouts(settings.layouts)]
    failed = 0
    for name in files:
        if not _is_workbook_argument(name):
            failed += 1
            continue
        try:
            parsed = read_workbook(
                Path(name), source_language=settings.source_language, target_languages=settings.target_language_list,
                matcher=LanguageMatcher(settings.language_aliases), layouts=explicit,
                include_hidden=settings.include_hidden_sheets, limits=settings.package_limits,
            )  # fmt: skip
        except WorkbookError as error:
            print(f"error: {name}: {error.problem}", file=sys.stderr)
            failed += 1
            continue
        print(inspect_text(name, parsed.sheets, parsed.cells, parsed.ledger))
        print(_version_line(settings, Path(name), parsed.cells))
    return 1 if failed else 0


def _version_line(settings: Settings, path: Path, cells: pd.DataFrame) -> str:
    """What the file is in its lineage: its version number, the version it is compared with, its cells per
    status."""
    from translation_pipeline.localization.inbox.keys import workbook_key
    from translation_pipeline.localization.versions.classify import STATUSES
    from translation_pipeline.localization.versions.lineage import lineage_of
    from translation_pipeline.localization.versions.plan import preview_version
    from translation_pipeline.resources.store import ProjectStoreResource

    store = ProjectStoreResource(db_url=settings.db_url, data_dir=str(settings.data_path)).get_store()
    lineage = lineage_of(path.name, settings.lineages)
    plan = preview_version(store, lineage, workbook_key(path), cells, retranslate_stale=settings.retranslate_stale)
    counts = plan.classified["status"].value_counts()
    statuses = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts.get(s, 0)) or "no target cells"
    return f"version {plan.number} of {lineage!r} (compared with {plan.previous_key or 'none'}): {statuses}"


def _usd_range(cost: tuple[float, float] | None) -> str:
    return "unknown price" if cost is None else f"${cost[0]:.4f}-${cost[1]:.4f}"


def estimate_command(files: list[str], models: list[str] | None, layouts: list[dict] | None = None) -> int:
    """A dry run per file: tasks, memory hits, requests, tokens and cost per model; nothing is sent."""
    from translation_pipeline.localization.check.glossary import GlossaryError
    from translation_pipeline.localization.plan.estimate import estimate_workbook
    from translation_pipeline.localization.read.layout import parse_layouts
    from translation_pipeline.localization.read.workbook import WorkbookError
    from translation_pipeline.resources.store import ProjectStoreResource
    from translation_pipeline.settings import DEFAULT_MODELS

    settings = load_settings()
    if not models:
        fallback = DEFAULT_MODELS.get(settings.fallback_provider, "")
        models = [settings.model_name] + ([fallback] if fallback and fallback != settings.model_name else [])
    store = ProjectStoreResource(db_url=settings.db_url, data_dir=str(settings.data_path)).get_store()
    failed = 0
    for name in files:
        path = Path(name)
        if not _is_workbook_argument(name):
            failed += 1
            continue
        try:
            estimate = estimate_workbook(path, settings, store, models, parse_layouts(layouts or []))
        except (WorkbookError, GlossaryError) as error:
            print(f"error: {name}: {error}", file=sys.stderr)
            failed += 1
            continue
        rows = [
            ("cells to fill", str(estimate.cells_to_fill)),
            ("stale cells to redo", str(estimate.stale_cells)),
            ("tasks after dedupe", str(estimate.tasks)),
            ("translation memory hits", str(estimate.memory_hits)),
            ("tasks to request", str(estimate.tasks_to_request)),
            ("requests", str(estimate.requests)),
            (f"input tokens ({estimate.tokenizer})", str(estimate.input_tokens)),
            ("output tokens", f"{estimate.output_tokens_low}-{estimate.output_tokens_high}"),
        ]
        for model, cost in estimate.cost_usd.items():
            batch = estimate.batch_cost_usd[model]
            rows.append((f"cost {model}", f"realtime {_usd_range(cost)} | batch API {_usd_range(batch)}"))
        width = max(len(label) for label, _ in rows)
        print(f"{name} (estimate, nothing sent)")
        for label, value in rows:
            print(f"  {label.ljust(width)}  {value}")
    return 1 if failed else 0


def demo() -> int:
    """Drop the sample workbook into the inbox and translate it."""
    settings = load_settings()
    sample = write_sample_workbook(settings.data_path / "inbox" / "sample_strings.xlsx")
    print(f"sample workbook: {sample.resolve()}")
    return translate([str(sample)])


def main(argv: list[str] | None = None) -> int:
    # Runs after the other exit handlers: the objects left are frozen, so the interpreter's final garbage
    # collection does not walk them (measured: about 0.5 s of every CLI exit, with dagster loaded).
    atexit.register(gc.freeze)
    parser = argparse.ArgumentParser(prog="translation-pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("translate", help="translate workbooks now (same assets as the UI)")
    run.add_argument("files", nargs="+", metavar="FILE")
    run.add_argument("--no-wait", dest="wait", action="store_false",
                     help="batch mode: submit the provider's jobs and return (run it again, or the daemon, to finish)")
    _layout_options(run)
    _switch_options(run)
    look = commands.add_parser("inspect", help="dry run of reading: each sheet's header, columns, languages, skips")
    look.add_argument("files", nargs="+", metavar="FILE")
    _layout_options(look)
    commands.add_parser("demo", help="drop the sample workbook into the inbox and translate it")
    sample = commands.add_parser("sample", help="write the sample workbook")
    sample.add_argument("path", type=Path)
    commands.add_parser("status", help="list workbooks: state, cells, failures, requests, tokens, cost, provider")
    stop = commands.add_parser("cancel", help="stop a workbook's queued and running runs (answered batches are kept)")
    stop.add_argument("workbooks", nargs="+", metavar="WORKBOOK", help="partition key, or file name (all versions)")
    stop.add_argument("--wait", type=float, default=30.0, metavar="SECONDS", help="how long to wait for runs to stop")
    rerun = commands.add_parser("retry-failed", help="rerun now what the rerun_failed_workbooks schedule would")
    _switch_options(rerun)
    clean = commands.add_parser("cleanup", help="forget workbooks past the retention age (memory is kept)")
    clean.add_argument("--older-than-days", type=int, default=None)
    clean.add_argument("--dry-run", action="store_true")
    guess = commands.add_parser("estimate", help="dry run: tasks, memory hits, requests, tokens, cost; sends nothing")
    guess.add_argument("files", nargs="+", metavar="FILE")
    guess.add_argument("--model", action="append", dest="models", metavar="MODEL",
                       help="price this model (repeatable); default: the configured model and fallback")  # fmt: skip
    _layout_options(guess)
    args = parser.parse_args(argv)
    try:
        layouts = _layout_from(args) if args.command in ("translate", "inspect", "estimate") else None
        if args.command == "translate":
            return translate(args.files, layouts, _switch_from(args), args.wait)
        if args.command == "inspect":
            return inspect_command(args.files, layouts)
        if args.command == "demo":
            return demo()
        if args.command == "status":
            return status()
        if args.command == "cancel":
            return cancel_command(args.workbooks, args.wait)
        if args.command == "retry-failed":
            return retry_failed(_switch_from(args))
        if args.command == "cleanup":
            return cleanup_command(args.older_than_days, args.dry_run)
        if args.command == "estimate":
            return estimate_command(args.files, args.models, layouts)
        print(write_sample_workbook(args.path))
        return 0
    except ConfigError as error:
        print(f"error: configuration: {error}", file=sys.stderr)
        return 2
    except ValueError as error:  # a bad --source/--target/--header-rows option
        print(f"error: layout option: {error}", file=sys.stderr)
        return 2


def _layout_options(parser: argparse.ArgumentParser) -> None:
    """The options of one explicit layout, as the YAML `layouts:` entries (they win over it and over detection)."""
    group = parser.add_argument_group("layout (when detection cannot tell; wins over everything)")
    group.add_argument("--sheet", default=None, metavar="GLOB", help="sheets the layout applies to (default: all)")
    group.add_argument("--header-rows", default=None, metavar="ROWS", help="header rows, e.g. 1,2 (0: no header)")
    group.add_argument("--data-start", type=int, default=None, metavar="ROW", help="first data row")
    group.add_argument("--key", default=None, metavar="COLUMN", help="key column letter")
    group.add_argument("--source", default=None, metavar="COLUMN[:LANG]", help="source column, e.g. B:zh-CN")
    group.add_argument("--target", action="append", default=[], metavar="COLUMN:LANG", help="e.g. C:en (repeatable)")
    group.add_argument("--ignore", action="append", default=[], metavar="COLUMN", help="column to leave alone")


def _switch_options(parser: argparse.ArgumentParser) -> None:
    """An explicit switch of the pinned provider/model (else each workbook keeps what its first run used)."""
    group = parser.add_argument_group("switch (each workbook keeps the provider and model of its first run)")
    group.add_argument(
        "--provider", choices=list(DEFAULT_MODELS), default=None,
        help="re-pin the workbooks to this provider (with this process's glossary and game settings)",
    )  # fmt: skip
    group.add_argument("--model", default=None, help="re-pin the workbooks to this model")
    group.add_argument("--mode", choices=["realtime", "batch"], default=None,
                       help="re-pin the workbooks to this lane (realtime: open batch jobs are cancelled, answers kept)")


def _switch_from(args: argparse.Namespace) -> dict[str, str] | None:
    """The `translations` run config of `--provider` / `--model` / `--mode`, or None without them."""
    if not (args.provider or args.model or args.mode):
        return None
    return {"switch_provider": args.provider or "", "switch_model": args.model or "", "switch_mode": args.mode or ""}


def _layout_from(args: argparse.Namespace) -> list[dict] | None:
    """One layout entry from the layout options, or None when none is given."""
    given = [args.sheet, args.header_rows, args.data_start, args.key, args.source, args.target, args.ignore]
    if not any(v not in (None, []) for v in given):
        return None
    layout: dict = {"sheet": args.sheet or "*"}
    if args.header_rows is not None:
        rows = [int(r) for r in args.header_rows.split(",") if r.strip()]
        layout["header_rows"] = [r for r in rows if r > 0]
    if args.data_start is not None:
        layout["data_start"] = args.data_start
    if args.key:
        layout["key"] = args.key
    if args.source:
        column, _, language = args.source.partition(":")
        layout["source"] = column
        if language:
            layout["source_language"] = language
    targets = {}
    for target in args.target:
        column, sep, language = target.partition(":")
        if not sep or not language:
            raise ValueError(f"--target {target!r}: expected COLUMN:LANGUAGE, e.g. C:en")
        targets[column] = language
    if targets:
        layout["targets"] = targets
    if args.ignore:
        layout["ignore"] = args.ignore
    return layout and [layout]


if __name__ == "__main__":
    sys.exit(main())
