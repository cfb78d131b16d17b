"""The drop-folder path against the CLI: `dagster dev` with the sensor watching an inbox, against the fake OpenAI
server answering after a fixed latency. Not part of the tests.

    .venv/bin/python -m benchmarks.drop [--rows 40] [--count 12] [--latency-ms 500]

For one workbook and then `--count` workbooks dropped at once it prints the seconds from the drop to the last
output under `dagster dev`, the seconds of `translation-pipeline translate` on the same files (a fresh
instance), the bound the issue sets (one drop: CLI + sensor interval + 5 s; many: 1.5x the CLI) and the most
requests the server had in flight. Every instance uses `deploy/dagster.sqlite.yaml` (queued runs, one slot in
the `llm` pool).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.generate import write_workbook
from tests.dagster_dev import BIN, DagsterDev, instance_env, wait_for
from tests.fake_llm_server import FakeLLMServer
from translation_pipeline.sensors.drop_folder import workbook_drop_sensor


def outputs(root: Path) -> int:
    return len(list((root / "data" / "outbox").rglob("*.translated.xlsx")))


def cli_seconds(files: list[Path], root: Path, server: FakeLLMServer) -> float:
    started = time.perf_counter()
    subprocess.run([str(BIN / "translation-pipeline"), "translate", *map(str, files)], env=instance_env(root, server),
                   check=True, capture_output=True)  # fmt: skip
    return time.perf_counter() - started


def drop_seconds(batches: list[list[Path]], root: Path, server: FakeLLMServer) -> list[float]:
    """Start `dagster dev`, drop each batch of files into the inbox in turn; seconds until each batch's outputs."""
    env = instance_env(root, server)
    inbox = root / "data" / "inbox"
    inbox.mkdir(parents=True)
    with DagsterDev(env, root / "dev.log"):
        time.sleep(15)  # the daemon's first sensor tick, so a drop is not timed against the start-up
        found, seconds = 0, []
        for files in batches:
            started = time.perf_counter()
            for path in files:
                shutil.copy(path, inbox / path.name)
            found += len(files)
            wait_for(lambda want=found: outputs(root) >= want, 900, what="outputs")
            seconds.append(time.perf_counter() - started)
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--latency-ms", type=int, default=500)
    args = parser.parse_args()
    interval = workbook_drop_sensor.minimum_interval_seconds or 30
    with tempfile.TemporaryDirectory(prefix="tp-drop-") as tmp:
        work = Path(tmp)
        books = [write_workbook(work / f"book{i:02d}.xlsx", args.rows, seed=i)[0] for i in range(args.count + 1)]
        one, many = books[:1], books[1:]
        with FakeLLMServer(latency_ms=args.latency_ms) as server:
            cli_one = cli_seconds(one, work / "cli1", server)
            cli_many = cli_seconds(many, work / "cli_many", server)
            cli_in_flight = server.max_in_flight
        with FakeLLMServer(latency_ms=args.latency_ms) as server:
            drop_one, drop_many = drop_seconds([one, many], work / "dev", server)
            drop_in_flight = server.max_in_flight
    print("case | CLI s | drop s | bound s | within | most requests in flight: CLI / drop")
    print(f"1 workbook | {cli_one:.1f} | {drop_one:.1f} | {cli_one + interval + 5:.1f} | "
          f"{drop_one <= cli_one + interval + 5} | {cli_in_flight} / {drop_in_flight}")  # fmt: skip
    print(f"{args.count} workbooks | {cli_many:.1f} | {drop_many:.1f} | {1.5 * cli_many:.1f} | "
          f"{drop_many <= 1.5 * cli_many} |")  # fmt: skip

if __name__ == "__main__":
    main()
