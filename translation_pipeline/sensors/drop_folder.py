"""`workbook_drop_sensor`: registers each complete workbook dropped in the inbox as a partition."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import dagster as dg

from translation_pipeline.localization.inbox.archive import archive_file
from translation_pipeline.localization.inbox.intake import ReadyFile, priority_of, scan
from translation_pipeline.localization.inbox.keys import display_name, name_bytes
from translation_pipeline.localization.inbox.states import InboxCursor, digest, file_states
from translation_pipeline.localization.read.languages import LanguageMatcher
from translation_pipeline.localization.read.layout import ExplicitLayout, parse_layouts
from translation_pipeline.localization.read.workbook import WorkbookError, check_headers, check_package
from translation_pipeline.partitions import workbooks
from translation_pipeline.resources.files import DataDirResource
from translation_pipeline.resources.llm import TranslationResource
from translation_pipeline.sensors.inbox import observation

MAX_FILES_PER_TICK = 20
"""Ready files checked and archived by one tick at most; the others stay ready for the next ticks. After the
sensor returns, the daemon creates one run per new file within the same tick (on SQLite with four runs busy on
two cores, 0.5-0.8 s each): 1,000 drops at 50 per tick made ticks of up to 42 s. Twenty per tick still registers
files far faster than runs finish them (benchmarks/flood.py)."""
TICK_BUDGET_SECONDS = 10.0
"""No further ready file is started once a tick has run this long: with the runs the daemon then creates, a tick
stays under 30 s (the daemon's tick timeout is 60 s)."""
SOURCE_TAG = "translation/source"
PRIORITY_TAG = "dagster/priority"  # from YAML `priorities`; the run queue starts higher numbers first


@dg.sensor(
    job_name="translate_workbook_job",
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def workbook_drop_sensor(
    context: dg.SensorEvaluationContext, data_dir: DataDirResource, translation: TranslationResource
) -> dg.SensorResult:
    """Archive each workbook whose size and mtime held still for one tick; one run per new version.

    The dropped file stays in the inbox: the cursor remembers it and the partition key (name slug +
    content hash) makes registering it again a no-op.

    Every file's state (accepted, waiting, rejected, failed, ignored: `states`) is reported as an observation of
    the `inbox` asset whenever the table changed, so the UI shows it without a log; an idle tick reports nothing.

    A ready file that is no workbook at all (empty, an old .xls, password-protected, a renamed text file, a
    damaged zip: `check_package`, first bytes and zip directory only) or has no sheet with a language header
    (`check_headers`, the first rows of each sheet only) is logged as one error line `<file>: <problem>`,
    gets no partition and no run, and is remembered in the cursor as rejected with its problem: it is not
    reported again until its size or mtime changes, when it is checked afresh. A file of another type (a .csv)
    or a folder is logged once as ignored.

    Nothing in the inbox stops a tick: a file whose check or archiving raises is logged as one warning line
    and remembered as failed (tried again when it changes); a symlink that leads outside the inbox, dangles
    or loops is logged once as a warning and not followed; a name that is not UTF-8 is shown and archived
    under a readable decoding (`keys.display_name`). A tick checks at most MAX_FILES_PER_TICK ready files and
    starts none after TICK_BUDGET_SECONDS: the others stay ready in the cursor for the next ticks.
    """
    started = time.monotonic()
    try:
        cursor = InboxCursor.from_json(context.cursor)
    except ValueError as err:
        context.log.warning(f"ignoring unreadable cursor, starting afresh: {err}")
        cursor = InboxCursor()
    result = scan(data_dir.inbox, cursor.intake)
    cursor, newly_ignored = cursor.scanned(result)
    for name in result.vanished:
        context.log.info(f"{display_name(name)}: no longer in the inbox, forgotten")
    for skipped in newly_ignored:
        context.log.info(f"{display_name(skipped.name)}: ignored, {skipped.reason}")
    for skipped in result.errors:
        context.log.warning(f"{display_name(skipped.name)}: skipped, {skipped.reason}")
    for skipped in result.refused_links:
        context.log.warning(f"{display_name(skipped.name)}: {skipped.reason}")

    matcher = LanguageMatcher(translation.language_aliases)
    layouts = parse_layouts(json.loads(translation.layouts or "[]"))
    new_keys: list[str] = []
    priorities: dict[str, int] = {}  # key -> `dagster/priority`: the run queue starts higher ones first
    queued: set[str] = set()
    for count, ready in enumerate(result.ready):
        if count == MAX_FILES_PER_TICK or (count and time.monotonic() - started > TICK_BUDGET_SECONDS):
            context.log.info(f"{len(result.ready) - count} more ready files wait for the next tick")
            queued = {later.name for later in result.ready[count:]}
            break
        shown = display_name(ready.name)
        try:
            if problem := _workbook_problem(ready, matcher, layouts, translation):
                context.log.error(str(WorkbookError(shown, problem)))  # the message the run would fail with
                cursor = cursor.with_rejected(ready, problem)
                continue
            archived = archive_file(ready.source, data_dir.archive, name=ready.name, warn=context.log.warning)
        except FileNotFoundError:
            context.log.info(f"{shown}: vanished before it could be registered")
            continue
        except Exception as err:  # one file's problem is that file's state: the tick goes on with the others
            problem = _one_line(err)
            context.log.warning(f"{shown}: {problem}; not tried again until it changes")
            cursor = cursor.with_failed(ready, problem)
            continue
        cursor = cursor.with_handled(ready, archived.key)
        if shown != ready.name:
            context.log.warning(
                f"{shown}: the file name {name_bytes(ready.name)!r} is not plain UTF-8 text: shown as above"
            )
        if archived.key in new_keys or context.instance.has_dynamic_partition(workbooks.name, archived.key):
            context.log.info(f"{shown}: same bytes as workbook {archived.key}, already registered")
            continue
        context.log.info(f"{shown} -> {archived.key}")
        new_keys.append(archived.key)
        if (priority := priority_of(ready.name, translation.priorities)) is not None:
            priorities[archived.key] = priority

    rows = file_states(cursor, result.errors, queued)
    events: list[dg.AssetObservation] = []
    if (table := digest(rows)) != cursor.reported:
        events.append(observation(rows))
        cursor = replace(cursor, reported=table)
    if not new_keys:
        return dg.SensorResult(
            skip_reason=f"no new workbook in {data_dir.inbox}", cursor=cursor.to_json(), asset_events=events
        )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=key, partition_key=key, tags=_run_tags(priorities.get(key))) for key in new_keys
        ],
        dynamic_partitions_requests=[workbooks.build_add_request(new_keys)],
        cursor=cursor.to_json(),
        asset_events=events,
    )


def _run_tags(priority: int | None) -> dict[str, str]:
    """Where the run came from (as the CLI's `translation/source: cli`) and its YAML priority, if any."""
    return {SOURCE_TAG: "drop folder"} | ({} if priority is None else {PRIORITY_TAG: str(priority)})


def _workbook_problem(
    ready: ReadyFile, matcher: LanguageMatcher, layouts: list[ExplicitLayout], translation: TranslationResource
) -> str | None:
    """Why the ready file is no workbook the pipeline can read (`check_package`, `check_headers`), or None.

    Read by its name in the inbox, which layouts are matched against (a symlink's, not its target's)."""
    return check_package(ready.path, translation.package_limits) or check_headers(
        ready.path, matcher, layouts=layouts, include_hidden=translation.include_hidden_sheets
    )


def _one_line(error: Exception) -> str:
    """`error` as one displayable line: `cannot be read: ...` for an OSError, else with the exception's type."""
    text = f"cannot be read: {error}" if isinstance(error, OSError) else f"{type(error).__name__}: {error}"
    return display_name(" ".join(text.split()))
