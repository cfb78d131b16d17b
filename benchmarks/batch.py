"""The batch lane against the realtime lane on one generated workbook, both through `translation-pipeline translate`
against the fake OpenAI server (its Batch API completes at the second poll). Not part of the tests.

    .venv/bin/python -m benchmarks.batch [--rows 10000]

Prints, per lane: seconds, provider jobs, request lines, items submitted against unique items (tasks), and the
cost recorded in the call log (gpt-4o-mini list prices; the batch lane at half).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from benchmarks.generate import write_workbook
from tests.dagster_dev import BIN, instance_env
from tests.fake_llm_server import FakeLLMServer
from translation_pipeline.localization.store import ProjectStore, batch_jobs, batch_lines, llm_calls
from translation_pipeline.localization.translate.batch.jsonl import batch_from_json


def lane_figures(root: Path, book: Path, lane: str) -> dict[str, float]:
    with FakeLLMServer() as server:
        env = instance_env(root, server, {"TRANSLATION_MODE": lane, "TRANSLATION_BATCH_POLL_SECONDS": "1"})
        started = time.perf_counter()
        subprocess.run([str(BIN / "translation-pipeline"), "translate", str(book)], env=env, check=True,
                       capture_output=True)  # fmt: skip
        seconds = time.perf_counter() - started
        realtime_requests = server.request_count
    store = ProjectStore(f"sqlite:///{root / 'data' / 'translation_store.sqlite'}")
    with store.engine.connect() as conn:
        jobs = conn.scalar(sa.select(sa.func.count()).select_from(batch_jobs))
        requests = list(conn.execute(sa.select(batch_lines.c.request)))
        cost = conn.scalar(sa.select(sa.func.sum(llm_calls.c.cost_usd))) or 0.0
        calls = conn.scalar(sa.select(sa.func.count()).select_from(llm_calls))
    store.dispose()
    items = sum(len(batch_from_json(row.request).items) for row in requests)
    return {"seconds": seconds, "jobs": jobs, "lines": len(requests), "items": items, "cost": cost,
            "calls": calls, "realtime_requests": realtime_requests}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tp-batch-") as tmp:
        work = Path(tmp)
        book, unique = write_workbook(work / "strings.xlsx", args.rows)
        tasks = unique * 2  # two target languages
        realtime = lane_figures(work / "realtime", book, "realtime")
        batch = lane_figures(work / "batch", book, "batch")
    print(f"{args.rows} rows, {tasks} unique items (source text x target language)")
    print("lane | seconds | jobs | request lines | items submitted | realtime requests | cost USD")
    print(f"realtime | {realtime['seconds']:.1f} | - | {realtime['calls']} | - | {realtime['realtime_requests']} | "
          f"{realtime['cost']:.4f}")  # fmt: skip
    print(f"batch | {batch['seconds']:.1f} | {batch['jobs']} | {batch['lines']} | {batch['items']} | "
          f"{batch['realtime_requests']} | {batch['cost']:.4f} ({batch['cost'] / realtime['cost']:.0%} of realtime)")


if __name__ == "__main__":
    main()
