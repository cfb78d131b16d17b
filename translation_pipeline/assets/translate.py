"""`translations`: batched LLM requests, each answered batch checkpointed in the project store."""

import time

import dagster as dg
import pandas as pd

from translation_pipeline.localization.contract import ProviderReply, RequestBatch
from translation_pipeline.localization.engine import Engine, ProviderStopped
from translation_pipeline.localization.prompt import PROMPT_VERSION
from translation_pipeline.localization.schemas import TranslationSchema
from translation_pipeline.localization.store import MemoryScope
from translation_pipeline.localization.tasks import TaskPlan, request_batches
from translation_pipeline.partitions import workbooks
from translation_pipeline.resources.llm import TranslationResource
from translation_pipeline.resources.store import ProjectStoreResource

PROGRESS_EVERY_SECONDS = 5.0


@dg.asset(partitions_def=workbooks, group_name="localization", kinds={"python"})
def translations(
    context: dg.AssetExecutionContext,
    translation_tasks: TaskPlan,
    translation: TranslationResource,
    store: ProjectStoreResource,
) -> dg.Output[pd.DataFrame]:
    """A translation or a failure reason per task. Stored answers are reused, never requested again."""
    tasks = translation_tasks.tasks
    project_store = store.get_store()
    provider = translation.build_provider()
    key = context.partition_key

    def scope(source: str, target: str) -> MemoryScope:
        return MemoryScope(source, target, provider.model, PROMPT_VERSION)

    # 1. what an earlier run or another workbook already paid for
    reused: dict[str, str] = {}
    for (source, target), group in tasks.groupby(["source_language", "target_language"]):
        stored = project_store.lookup(scope(source, target), group["source_text"].tolist())
        reused.update(
            {
                tid: stored[text]
                for tid, text in zip(group["task_id"], group["source_text"], strict=True)
                if text in stored
            }
        )
    pending = tasks[~tasks["task_id"].isin(reused)]
    source_of = dict(zip(tasks["task_id"], tasks["source_text"], strict=True))
    context.log.info(f"{len(tasks)} tasks: {len(reused)} from the store, {len(pending)} to request")

    # 2. the rest, each answer checkpointed the moment it arrives
    def checkpoint(batch: RequestBatch, answers: dict[str, str], reply: ProviderReply, latency: float) -> None:
        project_store.record_batch(
            key,
            batch.batch_id,
            scope(batch.source_language, batch.target_language),
            {source_of[tid]: text for tid, text in answers.items()},
            provider=provider.name,
            items=len(batch.items),
            prompt_tokens=reply.usage.prompt_tokens,
            completion_tokens=reply.usage.completion_tokens,
            latency_ms=round(latency * 1000),
        )

    started = time.monotonic()
    last_log = [started]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last_log[0] >= PROGRESS_EVERY_SECONDS or done == total:
            last_log[0] = now
            rate = done / max(now - started, 1e-9)
            eta = (total - done) / rate if rate else float("inf")
            context.log.info(f"translated {done}/{total} ({rate:.1f}/s, ETA {eta:.0f}s)")

    engine = Engine(
        provider,
        concurrency=translation.concurrency,
        max_attempts=translation.max_attempts,
        on_answer=checkpoint,
        on_progress=progress,
    )
    try:
        result = engine.run(request_batches(pending))
    except ProviderStopped as stopped:
        raise dg.Failure(description=str(stopped), allow_retries=False) from None

    rows = []
    for task_id in tasks["task_id"]:
        if task_id in reused:
            rows.append((task_id, "translated", reused[task_id], "", 0, "store"))
        elif task_id in result.translations:
            attempts = result.attempts.get(task_id, 1)
            rows.append((task_id, "translated", result.translations[task_id], "", attempts, provider.model))
        else:
            reason = result.failures.get(task_id, "no answer")
            rows.append((task_id, "failed", None, reason, result.attempts.get(task_id, 0), provider.model))
    table = TranslationSchema.validate(
        pd.DataFrame.from_records(rows, columns=["task_id", "status", "text", "error", "attempts", "origin"])
    )
    stats = result.stats
    return dg.Output(
        table,
        metadata={
            "provider": provider.name,
            "model": provider.model,
            "prompt_version": PROMPT_VERSION,
            "tasks": len(tasks),
            "reused_from_store": len(reused),
            "requested": len(pending),
            "requests": stats.requests,
            "transport_retries": stats.transport_retries,
            "resent_items": stats.resent_items,
            "prompt_tokens": stats.usage.prompt_tokens,
            "completion_tokens": stats.usage.completion_tokens,
            "failed": len(result.failures),
            "seconds": round(time.monotonic() - started, 2),
        },
    )
