"""`rerun_failed_workbooks`: rerun each workbook whose latest run failed in `translations` or
`translated_workbook`, a bounded number of times; stored answers are reused, so a rerun only pays for
what is still missing.

A tick's queries do not grow with the number of workbooks: it reads the failed runs of the last
`FAILURE_LOOKBACK` (one query), keeps those of registered workbooks (one query) whose latest run failed (one
query), reads which step failed each run from the run failure events (one query) and the run history of at
most `MAX_CANDIDATES` of them (one query each). A workbook whose latest run failed longer ago than
`FAILURE_LOOKBACK` is not rerun: the schedule gives up after `max_attempts` reruns, one per tick (hourly by
default), so a failure that old was given up on or happened while the schedule was off; rerun it by hand
(`translation-pipeline translate`, or the UI).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster import DagsterEventType, DagsterRunStatus
from dagster._core.events import JobFailureData

from translation_pipeline.partitions import workbooks

RERUN_STEPS = frozenset({"translations", "translated_workbook"})
ATTEMPT_TAG = "translation/rerun_attempt"
GAVE_UP_TAG = "translation/rerun"
PARTITION_TAG = "dagster/partition"
HISTORY_LIMIT = 50
FAILURE_LOOKBACK = timedelta(days=7)
FAILED_RUNS_LIMIT = 1000
"""Failed runs, and run failure events, read per tick, newest first (several may be one workbook's)."""
MAX_CANDIDATES = 100
"""Workbooks whose latest run failed that one tick examines, newest failure first; older ones wait until a
newer one succeeds, is given up on or leaves the window."""


@dataclass(frozen=True)
class PartitionState:
    """A workbook's latest run and how many reruns were tried since it last succeeded."""

    key: str
    run_id: str
    status: DagsterRunStatus
    failed_steps: frozenset[str]
    """The steps that failed in the latest run; only the first one when that one settled `needs_rerun`."""
    attempts: int
    tags: dict[str, str]

    @property
    def needs_rerun(self) -> bool:
        return self.status == DagsterRunStatus.FAILURE and bool(self.failed_steps & RERUN_STEPS)


def partition_state(
    instance: dg.DagsterInstance, key: str, first_failed_steps: Mapping[str, str] | None = None
) -> PartitionState | None:
    """The state of one workbook: one query for its run history, one more for the failed steps of a failed
    latest run, unless `first_failed_steps` (run id -> step) names a rerun step for it."""
    records = instance.get_run_records(dg.RunsFilter(tags={PARTITION_TAG: key}), limit=HISTORY_LIMIT)
    if not records:
        return None
    latest = records[0].dagster_run
    attempts = 0
    for record in records:  # newest first: reruns since the last success
        if record.dagster_run.status == DagsterRunStatus.SUCCESS:
            break
        attempts += ATTEMPT_TAG in record.dagster_run.tags
    failed = frozenset()
    if latest.status == DagsterRunStatus.FAILURE:
        first = (first_failed_steps or {}).get(latest.run_id)
        if first in RERUN_STEPS:
            failed = frozenset({first})
        else:  # on SQLite a query in the run's own database, opened and checked afresh on every tick
            events = instance.get_records_for_run(latest.run_id, of_type=DagsterEventType.STEP_FAILURE).records
            failed = frozenset(event.event_log_entry.step_key for event in events if event.event_log_entry.step_key)
    return PartitionState(key, latest.run_id, latest.status, failed, attempts, dict(latest.tags))


def workbook_states(instance: dg.DagsterInstance) -> list[PartitionState]:
    """Every registered workbook that has a run, one or two queries each: for `status`, not for ticks."""
    states = (partition_state(instance, key) for key in instance.get_dynamic_partitions(workbooks.name))
    return [state for state in states if state is not None]


def first_failed_steps(instance: dg.DagsterInstance, since: datetime) -> dict[str, str]:
    """Run id -> the step whose failure failed the run, for runs that failed after `since`, from one query
    for their run failure events (which SQLite keeps in the index database too)."""
    records = instance.fetch_run_status_changes(
        dg.RunStatusChangeRecordsFilter(DagsterEventType.RUN_FAILURE, after_timestamp=since.timestamp()),
        limit=FAILED_RUNS_LIMIT,
    ).records
    steps = {}
    for record in records:
        data = record.event_log_entry.get_dagster_event().event_specific_data
        first = data.first_step_failure_event if isinstance(data, JobFailureData) else None
        if first and first.step_key:
            steps[record.run_id] = first.step_key
    return steps


def failed_workbook_states(instance: dg.DagsterInstance, now: datetime | None = None) -> list[PartitionState]:
    """The states of at most `MAX_CANDIDATES` registered workbooks whose latest run failed within
    `FAILURE_LOOKBACK` before `now`: newest failure first, those already given up on last, so that they
    cannot crowd out a workbook that can still be rerun."""
    since = (now or datetime.now(UTC)).astimezone(UTC) - FAILURE_LOOKBACK
    failed_runs = instance.get_run_records(
        dg.RunsFilter(statuses=[DagsterRunStatus.FAILURE], updated_after=since), limit=FAILED_RUNS_LIMIT
    )
    newest_failure: dict[str, dg.DagsterRun] = {}
    for record in failed_runs:
        if key := record.dagster_run.tags.get(PARTITION_TAG):
            newest_failure.setdefault(key, record.dagster_run)
    registered = instance.get_existing_dynamic_partitions(workbooks.name, list(newest_failure))
    if not registered:
        return []
    latest = instance.get_run_partition_data(dg.RunsFilter(tags={PARTITION_TAG: sorted(registered)}))
    still_failed = {data.partition for data in latest if data.status == DagsterRunStatus.FAILURE}
    keys = [key for key in newest_failure if key in still_failed]
    if not keys:
        return []
    keys.sort(key=lambda key: GAVE_UP_TAG in newest_failure[key].tags)  # stable: newest first within each
    steps = first_failed_steps(instance, since)
    states = (partition_state(instance, key, steps) for key in keys[:MAX_CANDIDATES])
    return [state for state in states if state is not None]


@dataclass(frozen=True)
class RerunPlan:
    reruns: list[tuple[PartitionState, int]]  # state, attempt number
    gave_up: list[PartitionState]


def plan_reruns(states: Sequence[PartitionState], max_attempts: int) -> RerunPlan:
    reruns, gave_up = [], []
    for state in states:
        if not state.needs_rerun:
            continue
        if state.attempts >= max_attempts:
            gave_up.append(state)
        else:
            reruns.append((state, state.attempts + 1))
    return RerunPlan(reruns, gave_up)


def rerun_tags(attempt: int, max_attempts: int) -> dict[str, str]:
    return {ATTEMPT_TAG: str(attempt), "translation/rerun_max_attempts": str(max_attempts)}


def mark_gave_up(instance: dg.DagsterInstance, state: PartitionState, max_attempts: int) -> None:
    """Say on the workbook's latest run, where the UI shows it, that no more reruns will come."""
    note = f"gave up after {state.attempts} of {max_attempts} reruns"
    if state.tags.get(GAVE_UP_TAG) != note:
        instance.add_run_tags(state.run_id, {GAVE_UP_TAG: note})


def build_rerun_schedule(cron: str, max_attempts: int) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="rerun_failed_workbooks",
        job_name="translate_workbook_job",
        cron_schedule=cron,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Reruns workbooks whose translation or export failed, at most {max_attempts} times each.",
    )
    def rerun_failed_workbooks(context: dg.ScheduleEvaluationContext) -> dg.SkipReason | list[dg.RunRequest]:
        plan = plan_reruns(failed_workbook_states(context.instance), max_attempts)
        for state in plan.gave_up:
            mark_gave_up(context.instance, state, max_attempts)
            context.log.warning(f"{state.key}: still failing after {state.attempts} reruns; giving up")
        if not plan.reruns:
            given_up = f"; gave up on {', '.join(s.key for s in plan.gave_up)}" if plan.gave_up else ""
            return dg.SkipReason(f"no failed workbook to rerun{given_up}")
        return [
            dg.RunRequest(
                run_key=f"{state.key}:rerun-{attempt}",
                partition_key=state.key,
                tags=rerun_tags(attempt, max_attempts),
            )
            for state, attempt in plan.reruns
        ]

    return rerun_failed_workbooks
