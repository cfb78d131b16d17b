"""`translations`: batched LLM requests, each answered batch checkpointed in the project store; the provider,
model and other text settings are the workbook's pinned ones (`localization/translate/pinned.py`)."""

import json
import time
from collections.abc import Callable, Iterator

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from translation_pipeline.assets.common import ASSET_DEFAULTS, made_earlier
from translation_pipeline.hooks import records_failure
from translation_pipeline.localization.check.glossary import GlossaryError
from translation_pipeline.localization.frames import chunked_row_values, row_values
from translation_pipeline.localization.plan.tasks import (
    PlannedTasks,
    TaskContexts,
    TaskTexts,
    item_id,
    request_batches,
)
from translation_pipeline.localization.schemas import TranslationSchema, validated
from translation_pipeline.localization.store import MemoryScope, ProjectStore
from translation_pipeline.localization.translate.batch.client import BatchApiError
from translation_pipeline.localization.translate.batch.lane import LaneReport, build_lane
from translation_pipeline.localization.translate.batch.records import BatchRecords, jobs_markdown
from translation_pipeline.localization.translate.contract import ProviderReply, RequestBatch
from translation_pipeline.localization.translate.engine import (
    Engine,
    EngineResult,
    EngineStats,
    ProviderStopped,
    RequestRecord,
)
from translation_pipeline.localization.translate.pinned import (
    SettingUnavailable,
    Translator,
    TranslatorSettings,
    describe,
    resolve_translator,
)
from translation_pipeline.localization.translate.progress import Progress, publish
from translation_pipeline.localization.translate.prompt import PROMPT_VERSION
from translation_pipeline.localization.translate.providers.base import ProviderError
from translation_pipeline.resources.io_manager import Stored, stored_in
from translation_pipeline.resources.llm import TranslationResource
from translation_pipeline.resources.store import ProjectStoreResource
from translation_pipeline.settings import ConfigError

PROGRESS_EVERY_SECONDS = 5.0


class TranslationsConfig(dg.Config):
    """An explicit switch of the workbook's pinned settings; both empty: use them as pinned."""

    switch_provider: str = Field(
        default="", description="pseudo, openai or qwen: re-pin this workbook to it (and this process's settings)"
    )
    switch_model: str = Field(default="", description="re-pin this workbook to this model")
    switch_mode: str = Field(default="", description="realtime or batch: re-pin this workbook to that lane")
    batch_wait: bool = Field(
        default=False,
        description="batch mode: wait here for the provider's jobs (the CLI does); else submit, end, and let "
        "batch_jobs_sensor request the run that completes the workbook",
    )


def settings_tags(settings: TranslatorSettings, pinned_by: str) -> dict[str, str]:
    """The pinned settings as run tags (`translation/...`), where the UI shows them."""
    return {
        "translation/provider": settings.provider,
        "translation/model": settings.model,
        "translation/fallback": describe(settings.fallback_provider, settings.fallback_model),
        "translation/prompt_version": settings.prompt_version,
        "translation/glossary_sha256": settings.glossary_sha256 or "none",
        "translation/game": json.dumps(dict(sorted(settings.game.items())), ensure_ascii=False),
        "translation/pinned_by": pinned_by,
    }


# pool "llm": a Dagster concurrency pool bounds how many LLM steps run at once across runs
# output_required=False: in batch mode a run may end with the provider's jobs still open; the workbook's export
# then waits for the run batch_jobs_sensor requests when they are done
# ins: the plan's task table alone, never its assignments or version (resources/io_manager.py)
@dg.asset(
    **ASSET_DEFAULTS, kinds={"python"}, pool="llm", code_version=PROMPT_VERSION, output_required=False,
    ins={"translation_tasks": stored_in(plan_part="tasks")},
)  # fmt: skip
@records_failure
def translations(
    context: dg.AssetExecutionContext,
    config: TranslationsConfig,
    translation_tasks: Stored[PlannedTasks],
    translation: TranslationResource,
    store: ProjectStoreResource,
) -> Iterator[dg.Output[pd.DataFrame] | dg.AssetObservation]:
    """A translation or a failure reason per task of the plan. Stored answers are reused, never requested again."""
    project_store = store.get_store()
    key = context.partition_key
    tasks, contexts = translation_tasks.take()  # with their prompt contexts; let go of before the table is stored
    if not pd.api.types.is_integer_dtype(tasks["task_id"]):  # a plan stored before task ids were numbers
        raise made_earlier(key, "plan")
    try:
        resolved = resolve_translator(
            project_store, key, translation.translator_settings(), config.switch_provider, config.switch_model,
            config.switch_mode,
        )
    except SettingUnavailable as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    except (ProviderError, ConfigError, GlossaryError) as error:
        raise dg.Failure(description=f"cannot set up the translation provider: {error}", allow_retries=False) from None
    translator = resolved.translator
    settings, provider, fallback = translator.settings, translator.provider, translator.fallback
    if resolved.ignored:
        context.log.warning(f"{key}: using the settings pinned by an earlier run, not this process's: "
                            + "; ".join(resolved.ignored))  # fmt: skip
    tags = settings_tags(settings, resolved.pinned_by)
    context.instance.add_run_tags(context.run_id, tags)
    context.log.info(f"{key}: {describe(provider.name, provider.model)}, pinned by {resolved.pinned_by}")

    def scope(source: str, target: str, model: str) -> MemoryScope:
        return MemoryScope(source, target, model, settings.prompt_version)

    if settings.mode == "realtime":
        _leave_batch_lane(context, key, translator, project_store)

    # 1. what an earlier run or another workbook already paid for (the fallback's answers too)
    # reviewers' approved text first (any model; the most recent of a source's texts), then the machine memory
    reused, from_reviewers = _reused(tasks, project_store, translator.models, scope)
    pending = tasks[~tasks["task_id"].isin(reused)] if reused else tasks  # no copy of every task when none is
    context.log.info(
        f"{len(tasks)} tasks: {len(reused)} from the store ({from_reviewers} reviewers' approved text), "
        f"{len(pending)} to request"
    )

    # 2. the rest, each answer checkpointed the moment it arrives, and kept by its task once stored
    answered = TaskTexts(tasks["task_id"].to_numpy())

    def checkpoint(batch: RequestBatch, answers: dict[str, str], reply: ProviderReply, record: RequestRecord) -> None:
        project_store.record_batch(
            key,
            batch.batch_id,
            scope(batch.source_language, batch.target_language, record.model),
            {item.text: answers[item.id] for item in batch.items if item.id in answers},  # source text -> answer
            provider=record.provider,
            items=len(batch.items),
            prompt_tokens=reply.usage.prompt_tokens,
            completion_tokens=reply.usage.completion_tokens,
            latency_ms=round(record.latency * 1000),
            cost_usd=record.cost_usd,
        )
        answered.put_items(answers)

    started = time.monotonic()
    last_log = [started]

    def progress(done: int, total: int) -> None:
        cost = engine.stats.cost_usd
        publish(Progress("translations", done, total, cost))
        now = time.monotonic()
        if now - last_log[0] >= PROGRESS_EVERY_SECONDS or done == total:
            last_log[0] = now
            rate = done / max(now - started, 1e-9)
            eta = (total - done) / rate if rate else float("inf")
            spent = "unknown price" if cost is None else f"${cost:.4f}"
            context.log.info(f"translated {done}/{total} ({rate:.1f}/s, ETA {eta:.0f}s, cost so far {spent})")

    engine = translator.engine(checkpoint, progress)
    lane = None
    try:
        if settings.mode == "batch":
            lane = _batch_lane(context, key, translator, project_store, engine, pending, contexts, config.batch_wait)
            if lane.waiting:
                yield _waiting(context, key, lane)
                return
            result = _lane_result(project_store, translator, pending, lane, engine.stats)
            answered.put_items(result.translations)
        else:
            engine.keep_answers = False  # they are in `answered`
            result = engine.run(request_batches(pending, contexts))
    except ProviderStopped as stopped:
        raise dg.Failure(description=str(stopped), allow_retries=False) from None
    finally:  # answered requests were logged with their checkpoint; log the others too
        project_store.log_calls(
            key,
            [
                {"batch_id": r.batch_id, "provider": r.provider, "model": r.model, "items": r.items, "answered": 0,
                 "prompt_tokens": r.usage.prompt_tokens, "completion_tokens": r.usage.completion_tokens,
                 "latency_ms": round(r.latency * 1000), "cost_usd": r.cost_usd, "outcome": r.outcome[:300]}
                for r in engine.stats.records
                if r.outcome != "answered"
            ],
        )  # fmt: skip

    task_ids, requested = tasks["task_id"].to_numpy(dtype="int64"), len(pending)
    del tasks, pending, contexts  # their source texts and prompt contexts: not held while the table is made and stored
    table = _translation_table(task_ids, reused, answered, result, provider.model)
    stats, failed, from_store = result.stats, len(result.failures), len(reused)
    del result, reused  # the answers are in `table` now
    cost = stats.cost_usd
    busiest = sorted(stats.per_batch().items(), key=lambda kv: -int(kv[1]["requests"] or 0))[:10]
    yield dg.Output(
        table,
        metadata={
            **(_lane_metadata(lane) if lane else {}),
            "provider": provider.name,
            "model": provider.model,
            "fallback": f"{fallback.name} ({fallback.model})" if fallback else "none",
            "prompt_version": settings.prompt_version,
            "glossary_sha256": tags["translation/glossary_sha256"],
            "game": dg.MetadataValue.json(dict(settings.game)),
            "pinned_by": resolved.pinned_by,
            "tasks": len(table),
            "reused_from_store": from_store,
            "requested": requested,
            "requests": stats.requests,
            "transport_retries": stats.transport_retries,
            "resent_items": stats.resent_items,
            "fallback_batches": stats.fallback_batches,
            "answered_by": dg.MetadataValue.json(dict(stats.answered_by)),
            "prompt_tokens": stats.usage.prompt_tokens,
            "completion_tokens": stats.usage.completion_tokens,
            "cost_usd": round(cost, 6) if cost is not None else "unknown price",
            "requests_by_batch": dg.MetadataValue.md(
                "| batch | requests | tokens | cost (USD) |\n|---|---|---|---|\n"
                + "".join(
                    f"| {batch_id} | {row['requests']} | {row['prompt_tokens']}+{row['completion_tokens']} | "
                    f"{'unknown' if row['cost_usd'] is None else round(float(row['cost_usd']), 6)} |\n"
                    for batch_id, row in busiest
                )
            ),
            "failed": failed,
            "seconds": round(time.monotonic() - started, 2),
        },
    )



def _reused(
    tasks: pd.DataFrame, store: ProjectStore, models: list[str], scope: Callable[[str, str, str], MemoryScope]
) -> tuple[dict[int, str], int]:
    """({task id: text} of the tasks the store answers, how many of them from reviewers' approved text). A function
    of its own: a language pair's tasks (a copy of half of them, with two targets) go when it returns, not at the
    end of the step."""
    reused: dict[int, str] = {}
    from_reviewers = 0
    # the two columns looked up, grouped: not a copy of every task column per pair (the step keeps the heap its
    # peak took: 1,000,000 rows of two targets, the lookups took 250 MiB over the tasks with every column)
    languages = tasks[["source_language", "target_language"]]
    for source, target in languages.drop_duplicates().itertuples(index=False):
        in_pair = (languages["source_language"] == source) & (languages["target_language"] == target)
        group = tasks.loc[in_pair, ["task_id", "source_text"]]
        approved = store.lookup_approved(source, target, group["source_text"].tolist())
        hits = {tid: approved[text] for tid, text in chunked_row_values(group, "task_id", "source_text")
                if text in approved} if approved else {}  # fmt: skip
        reused.update(hits)
        from_reviewers += len(hits)
        for model in models:
            wanted = group[~group["task_id"].isin(reused)] if reused else group
            stored = store.lookup(scope(source, target, model), wanted["source_text"].tolist())
            if stored:
                reused.update((tid, stored[text]) for tid, text in chunked_row_values(wanted, "task_id", "source_text")
                              if text in stored)  # fmt: skip
    return reused, from_reviewers


def _translation_table(
    task_ids: np.ndarray, reused: dict[int, str], answered: TaskTexts, result: EngineResult, model: str
) -> pd.DataFrame:
    """A translation or a failure reason per task (TranslationSchema): stored answers first, then those answered
    in this run (`answered`, by the task's row), whose tries, model or failure the engine's `result` has."""
    # an array per column, filled in place, not a tuple per task (1,000,000 rows of two targets: about 1.6 million
    # tasks) nor a list per column that the table then copies
    count = len(task_ids)
    status, texts, errors, origins = (np.empty(count, dtype=object) for _ in range(4))
    attempts = np.empty(count, dtype=np.int64)
    for row, (task_id, answer) in enumerate(zip(task_ids.tolist(), answered.texts(), strict=True)):
        item = item_id(task_id)  # the engine's results are by item id
        if task_id in reused:
            state, text, error, tries, origin = "translated", reused[task_id], "", 0, "store"
        elif answer is not None:
            state, text, error = "translated", answer, ""
            tries, origin = result.attempts.get(item, 1), result.models.get(item, model)
        else:  # every item was sent: a run that stopped before sending some raised instead
            state, text, error = "failed", None, result.failures.get(item, "no answer")
            tries, origin = result.attempts.get(item, 1), model
        status[row], texts[row], errors[row], attempts[row], origins[row] = state, text, error, tries, origin
    columns = {"task_id": task_ids, "status": status, "text": texts, "error": errors, "attempts": attempts,
               "origin": origins}  # fmt: skip
    del status, texts, errors, attempts, origins
    for name in ("status", "text", "error", "origin"):  # each made a string column in turn, its array let go of
        columns[name] = pd.array(columns[name], dtype="str")
    return validated(TranslationSchema, pd.DataFrame(columns, copy=False))  # the arrays as they are: not copied


def _batch_lane(
    context: dg.AssetExecutionContext,
    key: str,
    translator: Translator,
    store: ProjectStore,
    engine: Engine,
    pending: pd.DataFrame,
    contexts: TaskContexts | None,
    wait: bool,
) -> LaneReport:
    """The pending tasks through the batch lane; its answers are in the translation memory when it returns."""

    def progress(line: str) -> None:
        context.log.info(line)
        publish(Progress("batch", 0, 0, note=line))

    try:
        lane = build_lane(translator, key, store, engine.run, progress)
        report = lane.run(request_batches(pending, contexts), wait=wait)
    except BatchApiError as error:
        raise dg.Failure(description=f"{key}: batch lane: {error}", allow_retries=error.retryable) from None
    for problem in report.problems:
        context.log.warning(problem)
    return report


def _waiting(context: dg.AssetExecutionContext, key: str, report: LaneReport) -> dg.AssetObservation:
    """The run ends with the provider's jobs open: say so on the run and on the asset, where the UI shows it."""
    jobs = report.open_jobs
    lines = sum(job.lines for job in jobs)
    done = sum(job.completed + job.failed for job in jobs)
    note = f"waiting on {len(jobs)} batch jobs ({done}/{lines} lines done): " + ", ".join(
        job.batch_id or job.job_key for job in jobs[:10]
    )
    context.instance.add_run_tags(context.run_id, {"translation/batch": note[:1000]})
    context.log.info(f"{key}: {note}; batch_jobs_sensor requests the run that completes it")
    return dg.AssetObservation(
        asset_key=context.asset_key, partition=key,
        metadata={"batch_state": "waiting", "batch_jobs": dg.MetadataValue.md(jobs_markdown(jobs)),
                  "open_jobs": len(jobs), "lines": lines, "lines_done": done, **_lane_metadata(report)},
    )  # fmt: skip


def _lane_metadata(report: LaneReport) -> dict[str, object]:
    return {
        "lane": "batch",
        "batch_cycle": report.cycle,
        "batch_jobs_submitted": report.jobs_submitted,
        "batch_lines_submitted": report.lines_submitted,
        "batch_items_submitted": report.items_submitted,
        "batch_lines_read": report.lines_read,
        "batch_items_sent_realtime": report.realtime_items,
        "batch_problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in report.problems[:50]) or "none"),
    }


def _lane_result(
    store: ProjectStore, translator: Translator, pending: pd.DataFrame, report: LaneReport, stats: EngineStats
) -> EngineResult:
    """The batch lane's outcome per pending task: answers from the translation memory, where the lane stored them,
    and the cycle's final failures."""
    translations: dict[str, str] = {}  # by item id, as the engine's results are
    models: dict[str, str] = {}
    answered: set[int] = set()  # their task ids
    for (source, target), group in pending.groupby(["source_language", "target_language"]):
        for model in translator.models:
            wanted = group[~group["task_id"].isin(answered)]
            scope = MemoryScope(source, target, model, translator.settings.prompt_version)
            stored = store.lookup(scope, wanted["source_text"].tolist())
            for tid, text in row_values(wanted, "task_id", "source_text"):
                if text in stored:
                    translations[item_id(tid)], models[item_id(tid)] = stored[text], model
                    answered.add(tid)
    failures: dict[str, str] = {}
    attempts: dict[str, int] = {}
    columns = ["task_id", "source_language", "target_language", "source_text"]
    for tid, source, target, text in pending[columns].itertuples(index=False, name=None):
        attempts[item_id(tid)] = report.attempts.get((source, target, text), 1)
        if tid not in answered:
            failures[item_id(tid)] = report.failures.get((source, target, text), "no answer from the batch lane")
    return EngineResult(translations, failures, attempts, stats, models)


def _leave_batch_lane(context: dg.AssetExecutionContext, key: str, translator: Translator, store: ProjectStore) -> None:
    """A workbook switched to the realtime lane with batch jobs still open: cancel them, keeping every line they
    answered, so nothing is paid for twice."""
    if not BatchRecords(store).jobs(key, open_only=True):
        return

    def no_realtime(batches: list[RequestBatch]) -> EngineResult:
        raise AssertionError("cancelling sends nothing")

    try:
        report = build_lane(translator, key, store, no_realtime).cancel()
    except BatchApiError as error:
        raise dg.Failure(description=f"{key}: cannot cancel its open batch jobs: {error}") from None
    context.log.warning(f"{key}: on the realtime lane now: its open batch jobs were cancelled, "
                        f"{report.lines_read} answered lines kept")  # fmt: skip
