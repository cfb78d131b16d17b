"""`record_failure`: a failed step writes on its run, where the UI's run list shows it, why the run failed
(`translation/failure`, one line); a bad input also marks the run as final.

A job hook rather than a run failure sensor: it runs inside the run, before Dagster decides whether the daemon
retries it (`run_retries` in deploy/dagster.*.yaml: `dagster/will_retry` is settled when the run's failure is
stored), so a bad input gets `dagster/max_retries: 0` in time; and it needs no daemon, so a
`translation-pipeline translate` run is tagged too.

A bad input is a `dg.Failure(allow_retries=False)` raised reading or splitting the workbook (`INPUT_STEPS`): the
partition is the file's bytes, so another run of it with the same settings fails the same way. Its run is tagged
`translation/rerun: never (bad input)`; the rerun schedule reruns failures of RERUN_STEPS only, never these.

A failed export (cells whose translation failed) is retried with all steps (`dagster/retry_strategy: ALL_STEPS`):
from the failure, the retry would only export the same failed translations again; from the start, the stored
answers are reused and only the failed cells are requested.
"""

from __future__ import annotations

import dagster as dg
from dagster import DagsterRunStatus

from translation_pipeline.schedules.rerun_failed import GAVE_UP_TAG, PartitionState

FAILURE_TAG = "translation/failure"
MAX_RETRIES_TAG = "dagster/max_retries"
RETRY_STRATEGY_TAG = "dagster/retry_strategy"
EXPORT_STEP = "translated_workbook"
NEVER = "never (bad input)"
INPUT_STEPS = frozenset({"source_workbook", "translation_tasks"})
REASON_CHARS = 200


def one_line(text: str) -> str:
    """`text` on one line, cut to REASON_CHARS."""
    line = " ".join(text.split())
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "…"


def failure_reason(step_key: str, error: BaseException | None) -> str:
    """A `dg.Failure`'s description, else the step and the exception, as one line."""
    if isinstance(error, dg.Failure) and error.description:
        return one_line(error.description)
    return one_line(f"step {step_key} failed: {type(error).__name__}: {error}" if error else f"step {step_key} failed")


def is_bad_input(step_key: str, error: BaseException | None) -> bool:
    return step_key in INPUT_STEPS and isinstance(error, dg.Failure) and not error.allow_retries


@dg.failure_hook(name="record_failure")
def record_failure(context: dg.HookContext) -> None:
    """Tag the run with the failed step's reason; after a bad input, as neither rerun nor retried."""
    error = context.op_exception
    tags = {FAILURE_TAG: failure_reason(context.step_key, error)}
    if is_bad_input(context.step_key, error):
        tags |= {GAVE_UP_TAG: NEVER, MAX_RETRIES_TAG: "0"}
    elif context.step_key == EXPORT_STEP:
        tags |= {RETRY_STRATEGY_TAG: "ALL_STEPS"}
    context.instance.add_run_tags(context.run_id, tags)


def failure_note(state: PartitionState) -> str:
    """What `status` says of a workbook whose latest run failed: given up on or never rerun, and why it failed
    (the failed steps, for a run without the reason tag); nothing for any other run."""
    if state.status != DagsterRunStatus.FAILURE:
        return ""
    reason = state.tags.get(FAILURE_TAG) or ", ".join(sorted(state.failed_steps))
    return "; ".join(part for part in (state.tags.get(GAVE_UP_TAG), reason) if part)
