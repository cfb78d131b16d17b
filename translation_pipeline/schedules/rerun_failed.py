"""`rerun_failed_workbooks`: rerun each workbook whose latest run failed in `translations` or
`translated_workbook`, a bounded number of times; stored answers are reused, so a rerun only pays for
what is still missing."""

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg
from dagster import DagsterEventType, DagsterRunStatus

from translation_pipeline.partitions import workbooks

RERUN_STEPS = frozenset({"translations", "translated_workbook"})
ATTEMPT_TAG = "translation/rerun_attempt"
GAVE_UP_TAG = "translation/rerun"
PARTITION_TAG = "dagster/partition"
HISTORY_LIMIT = 50


@dataclass(frozen=True)
class PartitionState:
    """A workbook's latest run and how many reruns were tried since it last succeeded."""

    key: str
    run_id: str
    status: DagsterRunStatus
    failed_steps: frozenset[str]
    attempts: int
    tags: dict[str, str]

    @property
    def needs_rerun(self) -> bool:
        return self.status == DagsterRunStatus.FAILURE and bool(self.failed_steps & RERUN_STEPS)


def partition_state(instance: dg.DagsterInstance, key: str) -> PartitionState | None:
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
        failed = frozenset(
            entry.step_key
            for entry in instance.all_logs(latest.run_id, of_type=DagsterEventType.STEP_FAILURE)
            if entry.step_key
        )
    return PartitionState(key, latest.run_id, latest.status, failed, attempts, dict(latest.tags))


def workbook_states(instance: dg.DagsterInstance) -> list[PartitionState]:
    states = (partition_state(instance, key) for key in instance.get_dynamic_partitions(workbooks.name))
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
        plan = plan_reruns(workbook_states(context.instance), max_attempts)
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
