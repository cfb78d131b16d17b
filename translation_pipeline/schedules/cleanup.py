"""`cleanup_old_workbooks`: forget workbook versions older than the retention age (files, checkpoints,
dynamic partitions), never the translation memory."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg

from translation_pipeline.localization.retention import expired_workbooks, remove_workbook_files
from translation_pipeline.localization.store import ProjectStore
from translation_pipeline.partitions import workbooks
from translation_pipeline.resources.files import DataDirResource
from translation_pipeline.resources.store import ProjectStoreResource


@dataclass(frozen=True)
class CleanupReport:
    keys: list[str]
    files_removed: int
    checkpoints_removed: int


def cleanup(
    instance: dg.DagsterInstance,
    data_dir: DataDirResource,
    store: ProjectStore,
    older_than: timedelta,
    now: datetime | None = None,
    dry_run: bool = False,
) -> CleanupReport:
    """Forget every workbook archived more than `older_than` ago."""
    expired = expired_workbooks(data_dir.archive, older_than, now or datetime.now(UTC))
    files = checkpoints = 0
    for workbook in expired:
        if dry_run:
            continue
        files += len(remove_workbook_files(data_dir.root, workbook.key))
        checkpoints += store.forget_workbook(workbook.key)
        if instance.has_dynamic_partition(workbooks.name, workbook.key):
            instance.delete_dynamic_partition(workbooks.name, workbook.key)
    return CleanupReport([w.key for w in expired], files, checkpoints)


def build_cleanup_schedule(retention_days: int) -> dg.ScheduleDefinition:
    @dg.op(name="cleanup_old_workbooks_op")
    def cleanup_op(context: dg.OpExecutionContext, data_dir: DataDirResource, store: ProjectStoreResource) -> None:
        report = cleanup(context.instance, data_dir, store.get_store(), timedelta(days=retention_days))
        context.log.info(
            f"forgot {len(report.keys)} workbooks older than {retention_days} days "
            f"({report.files_removed} files or folders, {report.checkpoints_removed} checkpoints): "
            + ", ".join(report.keys)
        )

    @dg.job(name="cleanup_old_workbooks_job", description="Forget workbooks past the retention age.")
    def cleanup_job() -> None:
        cleanup_op()

    return dg.ScheduleDefinition(
        name="cleanup_old_workbooks",
        job=cleanup_job,
        cron_schedule="30 3 * * *",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Daily: forget workbooks archived more than {retention_days} days ago (memory is kept).",
    )
