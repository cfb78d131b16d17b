"""`records_failure`: a failed asset writes on its run, where the UI's run list shows it, why the run failed
(`translation/failure`, one line); a bad input also marks the run as final.

It wraps each asset's compute function and tags the run as the exception leaves it: inside the run, before the
step's failure is stored and before Dagster decides whether the daemon retries the run (`run_retries` in
deploy/dagster.*.yaml: `dagster/will_retry` is settled when the run's failure is stored), so a bad input gets
`dagster/max_retries: 0` in time; and it needs no daemon, so a `translation-pipeline translate` run is tagged
too. Not a Dagster failure hook: with any hook on a job, Dagster keeps every step's output in memory for it
until the run ends (at 100,000 rows the parsed workbook and the plan, 220 MiB). A stop (UI Terminate, `cancel`,
Ctrl-C) is not a failure and is not tagged.

A bad input is a `dg.Failure(allow_retries=False)` raised reading or splitting the workbook (`INPUT_STEPS`): the
partition is the file's bytes, so another run of it with the same settings fails the same way. Its run is tagged
`translation/rerun: never (bad input)`; the rerun schedule reruns failures of RERUN_STEPS only, never these.

A failed export (cells whose translation failed) is retried with all steps (`dagster/retry_strategy: ALL_STEPS`):
from the failure, the retry would only export the same failed translations again; from the start, the stored
answers are reused and only the failed cells are requested.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

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
T = TypeVar("T")


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


def record_failure(instance: dg.DagsterInstance, run_id: str, step_key: str, error: BaseException | None) -> None:
    """Tag the run with the failed step's reason; after a bad input, as neither rerun nor retried."""
    tags = {FAILURE_TAG: failure_reason(step_key, error)}
    if is_bad_input(step_key, error):
        tags |= {GAVE_UP_TAG: NEVER, MAX_RETRIES_TAG: "0"}
    elif step_key == EXPORT_STEP:
        tags |= {RETRY_STRATEGY_TAG: "ALL_STEPS"}
    instance.add_run_tags(run_id, tags)


def records_failure(compute: Callable[..., Iterator[T]]) -> Callable[..., Iterator[T]]:
    """An asset's compute function (a generator taking the context first) that records its failure on the run
    (`record_failure`, step key = the function's name, as in this project's one-op-per-asset job)."""

    @functools.wraps(compute)
    def wrapper(context: dg.AssetExecutionContext, *args: Any, **kwargs: Any) -> Iterator[T]:
        try:
            yield from compute(context, *args, **kwargs)
        except Exception as error:
            record_failure(context.instance, context.run_id, compute.__name__, error)
            raise

    return wrapper


def failure_note(state: PartitionState) -> str:
    """What `status` says of a workbook whose latest run failed: given up on or never rerun, and why it failed
    (the failed steps, for a run without the reason tag); nothing for any other run."""
    if state.status != DagsterRunStatus.FAILURE:
        return ""
    reason = state.tags.get(FAILURE_TAG) or ", ".join(sorted(state.failed_steps))
    return "; ".join(part for part in (state.tags.get(GAVE_UP_TAG), reason) if part)
