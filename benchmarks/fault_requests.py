"""What faults cost in requests: a 1,000-unique-string workbook (two target languages) translated through the
openai provider (real SDK) against the fake LLM server with 10 % random faults, in-process on a temporary
Dagster instance. Prints requests sent vs the fault-free minimum (ceil(unique / batch) per language),
retries, failures and wall time, once with dynamic batch sizing and once with a fixed batch size.

    .venv/bin/python -m benchmarks.fault_requests [--unique 1000] [--rate 0.10] [--seeds 7 8 9]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

import dagster as dg
from openpyxl import Workbook

from benchmarks.generate import FRAGMENTS, TEMPLATES
from tests.fake_llm_server import FakeLLMServer
from translation_pipeline.definitions import ASSETS, build_resources
from translation_pipeline.localization.inbox.archive import archive_file
from translation_pipeline.settings import load_settings

TARGETS = ["English", "日本語"]


def write_unique_workbook(path: Path, unique: int, seed: int) -> Path:
    """`unique` distinct source strings (placeholders and tags included), all target cells empty."""
    rng = random.Random(seed)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Dialog")
    sheet.append(["Key", "中文", *TARGETS])
    for index in range(unique):
        text = rng.choice(TEMPLATES).format(a=rng.choice(FRAGMENTS), b=rng.choice(FRAGMENTS)) + f"（{index}）"
        sheet.append([f"dlg_{index:05d}", text, *([None] * len(TARGETS))])
    workbook.save(path)
    return path


def run(unique: int, rate: float, seed: int, fixed: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, FakeLLMServer(retry_after="1") as server:
        root = Path(tmp)
        env = {
            "TRANSLATION_DATA_DIR": str(root / "data"),
            "TRANSLATION_PROVIDER": "openai",
            "TRANSLATION_CONFIG": "",
            "OPENAI_BASE_URL": server.base_url_openai,
            "OPENAI_API_KEY": "sk-benchmark",
        }
        os.environ.update(env)
        if fixed:  # the floor at the ceiling: batches never shrink
            os.environ["TRANSLATION_MIN_BATCH_ITEMS"] = "40"
        else:
            os.environ.pop("TRANSLATION_MIN_BATCH_ITEMS", None)
        settings = load_settings()
        server.random_faults(rate, seed)
        workbook = write_unique_workbook(root / "fault_requests.xlsx", unique, seed)
        key = archive_file(workbook, settings.data_path / "archive").key
        with dg.instance_for_test() as instance:
            instance.add_dynamic_partitions("workbooks", [key])
            started = time.perf_counter()
            result = dg.materialize(
                ASSETS,
                instance=instance,
                partition_key=key,
                resources=build_resources(settings),
                raise_on_error=False,
            )
            wall = time.perf_counter() - started
        meta = {k: v.value for k, v in result.asset_materializations_for_node("translations")[0].metadata.items()}
        faults = Counter(r["fault"] for r in server.requests if r["fault"] != "ok")
        minimum = math.ceil(unique / settings.batch_max_items) * len(TARGETS)
        return {
            "mode": "fixed batch 40" if fixed else "dynamic batch 5..40",
            "requests": server.request_count,
            "minimum": minimum,
            "extra": server.request_count - minimum,
            "transport_retries": meta["transport_retries"],
            "resent_items": meta["resent_items"],
            "failed_items": meta["failed"],
            "faults": dict(faults.most_common()),
            "wall_seconds": round(wall, 1),
            "run_success": result.success,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--unique", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0.10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    args = parser.parse_args()
    print(f"{args.unique} unique strings x {len(TARGETS)} languages, fault rate {args.rate:.0%}")
    for seed, fixed in [(seed, fixed) for seed in args.seeds for fixed in (False, True)]:
        row = run(args.unique, args.rate, seed, fixed)
        print(
            f"seed {seed}, {row['mode']}: {row['requests']} requests vs fault-free minimum {row['minimum']} "
            f"(+{row['extra']}, {row['extra'] / row['minimum']:.0%}); transport retries {row['transport_retries']}, "
            f"re-sent items {row['resent_items']}, failed items {row['failed_items']}, "
            f"wall {row['wall_seconds']} s, run success {row['run_success']}"
        )
        print(f"  faults injected: {row['faults']}")


if __name__ == "__main__":
    main()
