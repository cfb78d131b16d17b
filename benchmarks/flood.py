"""Many workbooks dropped at once into a live `dagster dev` (daemon, sensor, run queue, warm run launcher), against
the fake OpenAI server. Not part of the tests.

    .venv/bin/python -m benchmarks.flood [--count 1000] [--rows 5] [--latency-ms 50]

Prints the seconds from the drop until every workbook has its output, how the runs ended, and the drop
sensor's ticks: how many, the longest, and how many files each registered at most (the sensor takes at most
20 files or 10 s per tick and leaves the rest to the next tick).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.drop import outputs
from benchmarks.generate import write_workbook
from tests.dagster_dev import DagsterDev, instance_env, wait_for
from tests.fake_llm_server import FakeLLMServer


def sensor_ticks(home: Path) -> list[tuple[float, int]]:
    """(seconds, run requests) of every tick of the drop-folder sensor."""
    import dagster as dg
    from dagster._core.scheduler.instigation import InstigatorType

    os.environ["DAGSTER_HOME"] = str(home)
    ticks = []
    with dg.DagsterInstance.get() as instance:
        for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
            if state.instigator_name != "workbook_drop_sensor":
                continue
            for tick in instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=100_000):
                if tick.end_timestamp:
                    ticks.append((tick.end_timestamp - tick.timestamp, len(tick.run_requests or [])))
    return ticks


def run_statuses(home: Path) -> Counter[str]:
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        return Counter(run.status.value for run in instance.get_runs())


def progress(done: int, count: int, started: float, every: float = 60.0) -> bool:
    """Whether all `count` outputs are there; prints how many once a minute meanwhile."""
    elapsed = time.perf_counter() - started
    if elapsed // every != (elapsed - 2) // every:
        print(f"  {elapsed:.0f} s: {done}/{count} outputs", flush=True)
    return done >= count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=5)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tp-flood-") as tmp:
        root = Path(tmp)
        books = [write_workbook(root / "books" / f"book{i:04d}.xlsx", args.rows, seed=i)[0] for i in range(args.count)]
        with FakeLLMServer(latency_ms=args.latency_ms) as server:
            env = instance_env(root, server)
            inbox = root / "data" / "inbox"
            inbox.mkdir(parents=True)
            with DagsterDev(env, root / "dev.log"):
                time.sleep(15)  # the daemon's first sensor tick, so the drop is not timed against the start-up
                started = time.perf_counter()
                for path in books:
                    shutil.copy(path, inbox / path.name)
                wait_for(lambda: progress(outputs(root), args.count, started), args.timeout, every=2, what="outputs")
                seconds = time.perf_counter() - started
            home = Path(env["DAGSTER_HOME"])
            statuses, ticks = run_statuses(home), sensor_ticks(home)
            requests = server.request_count
    busy = [t for t in ticks if t[1]]
    print(f"{args.count} workbooks of {args.rows} rows, fake server at {args.latency_ms} ms")
    print(f"all outputs after {seconds:.1f} s ({args.count / seconds:.2f} workbooks/s); {requests} requests")
    print("runs: " + ", ".join(f"{n} {status}" for status, n in statuses.most_common()))
    print(f"sensor ticks: {len(ticks)} ({len(busy)} that requested runs); longest {max(t for t, _ in ticks):.1f} s; "
          f"most runs requested by one tick {max((n for _, n in ticks), default=0)}")  # fmt: skip


if __name__ == "__main__":
    main()
