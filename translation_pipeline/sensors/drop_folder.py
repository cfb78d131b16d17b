"""`workbook_drop_sensor`: registers each complete workbook dropped in the inbox as a partition."""

from __future__ import annotations

import json

import dagster as dg

from translation_pipeline.localization.inbox.archive import archive_file
from translation_pipeline.localization.inbox.intake import IntakeCursor, scan
from translation_pipeline.localization.read.languages import LanguageMatcher
from translation_pipeline.localization.read.layout import parse_layouts
from translation_pipeline.localization.read.workbook import WorkbookError, check_headers, check_package
from translation_pipeline.partitions import workbooks
from translation_pipeline.resources.files import DataDirResource
from translation_pipeline.resources.llm import TranslationResource


@dg.sensor(
    job_name="translate_workbook_job",
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def workbook_drop_sensor(
    context: dg.SensorEvaluationContext, data_dir: DataDirResource, translation: TranslationResource
) -> dg.SensorResult:
    """Archive each workbook whose size and mtime held still for one tick; one run per new version.

    The dropped file stays in the inbox: the cursor remembers it and the partition key (name slug +
    content hash) makes registering it again a no-op.

    A ready file that is no workbook at all (empty, an old .xls, password-protected, a renamed text file, a
    damaged zip: `check_package`, first bytes and zip directory only) or has no sheet with a language header
    (`check_headers`, the first rows of each sheet only) is logged as one error line `<file>: <problem>`,
    gets no partition and no run, and is remembered in the cursor as rejected: it is not reported again
    until its size or mtime changes, when it is checked afresh.
    """
    try:
        cursor = IntakeCursor.from_json(context.cursor)
    except ValueError as err:
        context.log.warning(f"ignoring unreadable cursor, starting afresh: {err}")
        cursor = IntakeCursor()
    result = scan(data_dir.inbox, cursor)
    cursor = result.cursor
    for name in result.vanished:
        context.log.info(f"{name}: no longer in the inbox, forgotten")
    for skipped in result.ignored:
        context.log.debug(f"{skipped.name}: ignored, {skipped.reason}")
    for skipped in result.errors:
        context.log.warning(f"{skipped.name}: skipped, {skipped.reason}")

    matcher = LanguageMatcher(translation.language_aliases)
    layouts = parse_layouts(json.loads(translation.layouts or "[]"))
    new_keys: list[str] = []
    for ready in result.ready:
        try:
            if problem := check_package(ready.path) or check_headers(
                ready.path, matcher, layouts=layouts, include_hidden=translation.include_hidden_sheets
            ):
                context.log.error(str(WorkbookError(ready.name, problem)))  # the message the run would fail with
                cursor = cursor.with_rejected(ready)
                continue
            archived = archive_file(ready.path, data_dir.archive)
        except FileNotFoundError:
            context.log.info(f"{ready.name}: vanished before it could be registered")
            continue
        except OSError as err:
            context.log.warning(f"{ready.name}: cannot be read, skipped: {err}")
            continue
        cursor = cursor.with_handled(ready, archived.key)
        if archived.key in new_keys or context.instance.has_dynamic_partition(workbooks.name, archived.key):
            context.log.info(f"{ready.name}: same bytes as workbook {archived.key}, already registered")
            continue
        context.log.info(f"{ready.name} -> {archived.key}")
        new_keys.append(archived.key)

    if not new_keys:
        return dg.SensorResult(skip_reason=f"no new workbook in {data_dir.inbox}", cursor=cursor.to_json())
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=key, partition_key=key) for key in new_keys],
        dynamic_partitions_requests=[workbooks.build_add_request(new_keys)],
        cursor=cursor.to_json(),
    )
