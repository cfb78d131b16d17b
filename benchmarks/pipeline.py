"""End-to-end benchmark: generate a workbook of N strings, translate it through the real CLI on a real
Dagster instance (SQLite, temp dir), and print the figures. Not part of the test suite.

    .venv/bin/python -m benchmarks.pipeline --rows 1000 10000 100000 [--provider openai --latency-ms 200]

With `--provider openai` a local fake OpenAI server (tests/fake_llm_server.py) answers every request after a
fixed latency, so the LLM-bound ideal is known: requests / concurrency x latency. What the run spends beyond
it (`overhead_s`: start, ingest, split, export, exit, per-request costs) is mostly fixed, so the latency from
which the run would stay within 1.25x of the ideal, were the overhead the same there, is an estimate:
overhead <= 0.25 x ideal, i.e. latency >= 4 x overhead x concurrency / requests (`1.25x_from_ms`).

Memory: the command's peak RSS, and each step's (its largest sample of the CLI's RSS, taken every 50 ms from
/proc, between the step's start and end events).

The command is timed on an instance and data folder an earlier `translation-pipeline status` created, as a user
has them from the second command on; `--fresh-home` times the very first command, which also creates the SQLite
databases (about 0.3 s more).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from openpyxl import load_workbook

from benchmarks.generate import write_workbook

CJK_RUN = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")


def latin_answer(target: str, text: str) -> str:
    """A fake answer in the target's script, placeholders and tags kept: Chinese runs become Latin words for
    Latin-script targets, so QA finds what it would in a real model's answers, not every English cell."""
    if target in ("ja", "zh-CN", "zh-TW", "ko"):
        return f"[{target}] {text}"
    return re.sub(r" +", " ", CJK_RUN.sub(" lorem ", text)).strip()


STAGES = ["source_workbook", "translation_tasks", "translations", "translated_workbook"]


class RssSampler:
    """The resident memory of a process, sampled every `every` seconds from /proc (Linux) on a thread, with the
    wall time of each sample: what a step peaked at is the largest sample within its start and end."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        self.samples: list[tuple[float, float]] = []  # (wall time, MiB)
        self._status = Path(f"/proc/{pid}/status")
        self._every = every
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                text = self._status.read_text()
            except OSError:  # the process ended, or no /proc here
                return
            kib = next((int(line.split()[1]) for line in text.splitlines() if line.startswith("VmRSS")), None)
            if kib is not None:
                self.samples.append((time.time(), kib / 1024))
            time.sleep(self._every)

    def peak(self, start: float, end: float) -> float | None:
        return max((mib for at, mib in self.samples if start <= at <= end), default=None)

    def join(self) -> None:
        self._thread.join()


def run_figures(
    home: Path, started: float, ended: float, request_times: list[float], rss: RssSampler | None = None
) -> tuple[dict[str, float], str, dict[str, float]]:
    """From one read of the latest run's event log: the wall time of each step, the run's timeline in seconds
    since the command started (wall clock: the run's start, the translate step's start, the first request, the
    last request's arrival, the translate step's end, the run's end and the command's exit), and each step's peak
    RSS in MiB from `rss`."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    marks: dict[str, float] = {}
    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None:
                continue
            kind, step = event.event_type_value, event.step_key
            if kind == "STEP_START" and step:
                starts[step] = entry.timestamp
            elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and step:
                ends[step] = entry.timestamp
            elif kind in ("PIPELINE_START", "PIPELINE_SUCCESS"):
                marks["run" if kind == "PIPELINE_START" else "done"] = entry.timestamp
    if "translations" in starts:
        marks["step"] = starts["translations"]
    if "translations" in ends:
        marks["answered"] = ends["translations"]
    if request_times:
        marks["first_request"], marks["last_request"] = min(request_times), max(request_times)
    marks["exit"] = ended
    order = ["run", "step", "first_request", "last_request", "answered", "done", "exit"]
    stages = {step: ends[step] - starts[step] for step in STAGES if step in starts and step in ends}
    peaks = {}
    for step in STAGES:
        if rss is not None and step in starts and step in ends and (peak := rss.peak(starts[step], ends[step])):
            peaks[step] = peak
    timeline = " ".join(f"{name}={marks[name] - started:.2f}" for name in order if name in marks)
    return stages, timeline, peaks


def bare_openpyxl(path: Path, out: Path) -> float:
    started = time.perf_counter()
    load_workbook(path).save(out)
    return time.perf_counter() - started


def run_one(rows: int, args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    workbook, unique = write_workbook(workdir / f"strings_{rows}.xlsx", rows)
    data, home = workdir / f"data_{rows}", workdir / f"home_{rows}"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "TRANSLATION_DATA_DIR": str(data), "DAGSTER_HOME": str(home),
           "TRANSLATION_PROVIDER": args.provider, "TRANSLATION_CONCURRENCY": str(args.concurrency),
           "TRANSLATION_BATCH_MAX_ITEMS": str(args.batch)}  # fmt: skip
    server = None
    if args.provider == "openai":
        from tests.fake_llm_server import FakeLLMServer

        answer = latin_answer if args.answers == "latin" else None
        server = FakeLLMServer(latency_ms=args.latency_ms, answer=answer).start()
        env.update(OPENAI_BASE_URL=server.base_url_openai, OPENAI_API_KEY="benchmark")
    cli = shutil.which("translation-pipeline", path=str(Path(sys.executable).parent))
    if not args.fresh_home:  # the instance and the project store as a user has them after a first command
        subprocess.run([cli, "status"], env=env, capture_output=True, check=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started, wall_started = time.perf_counter(), time.time()
    command = subprocess.Popen([cli, "translate", str(workbook)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    rss = RssSampler(command.pid)
    _, stderr = command.communicate()
    wall = time.perf_counter() - started
    rss.join()
    ended = wall_started + wall
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if command.returncode != 0:
        raise SystemExit(f"translate failed for {rows} rows:\n{stderr}")
    requests = server.request_count if server else None
    request_times = [r["time"] for r in server.requests] if server else []
    if server:
        server.stop()
    targets = 2  # English, 日本語
    ideal_requests = targets * math.ceil(unique / args.batch)
    stages, timeline, step_peaks = run_figures(home, wall_started, ended, request_times, rss)
    bare = bare_openpyxl(workbook, workdir / f"bare_{rows}.xlsx")
    ideal_llm = (requests or ideal_requests) / args.concurrency * args.latency_ms / 1000 if server else None
    return {
        "rows": rows,
        "unique": unique,
        "requests": requests,
        "ideal_requests": ideal_requests,
        "wall_s": wall,
        "ideal_llm_s": ideal_llm,
        "stages": stages,
        "timeline": timeline,
        "bare_openpyxl_s": bare,
        "peak_rss_mib": peak_kib / 1024 if peak_kib > before else None,
        "step_peaks": step_peaks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--provider", choices=["pseudo", "openai"], default="pseudo")
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=40)
    parser.add_argument("--answers", choices=["latin", "tagged"], default="latin",
                        help="fake answers: Latin text for Latin targets, or the test server's `[en] <source>`, "
                             "which QA flags as untranslated in every English cell")  # fmt: skip
    parser.add_argument("--fresh-home", action="store_true",
                        help="time the command on a DAGSTER_HOME and data folder it creates (the very first "
                             "command), instead of ones an earlier `status` created")  # fmt: skip
    args = parser.parse_args()
    header = ("rows", "unique", "requests", "ideal_req", "wall_s", "ideal_llm_s", "ratio", "overhead_s",
              "1.25x_from_ms", "ingest_s", "split_s", "translate_s", "export_s", "ingest+export/bare",
              "peak_rss_MiB")  # fmt: skip
    print(" | ".join(header))
    with tempfile.TemporaryDirectory(prefix="tp-bench-") as tmp:
        for rows in args.rows:
            r = run_one(rows, args, Path(tmp))
            st = r["stages"]
            io = st.get("source_workbook", 0) + st.get("translated_workbook", 0)
            ratio = overhead = from_ms = "-"
            if r["ideal_llm_s"]:
                ratio, spent = f"{r['wall_s'] / r['ideal_llm_s']:.3f}", r["wall_s"] - r["ideal_llm_s"]
                overhead = f"{spent:.1f}"
                from_ms = f"{4 * spent * args.concurrency / r['requests'] * 1000:.0f}"
            cells = [rows, r["unique"], r["requests"] if r["requests"] is not None else "-", r["ideal_requests"],
                     f"{r['wall_s']:.1f}", f"{r['ideal_llm_s']:.1f}" if r["ideal_llm_s"] else "-", ratio, overhead,
                     from_ms,
                     *(f"{st.get(s, float('nan')):.1f}" for s in STAGES),
                     f"{io / r['bare_openpyxl_s']:.2f} ({io:.1f}/{r['bare_openpyxl_s']:.1f})",
                     f"{r['peak_rss_mib']:.0f}" if r["peak_rss_mib"] else "-"]  # fmt: skip
            print(" | ".join(str(c) for c in cells), flush=True)
            home = "fresh" if args.fresh_home else "existing"
            print(f"  timeline (s, {home} DAGSTER_HOME): {r['timeline']}", flush=True)
            if r["step_peaks"]:
                peaks = " ".join(f"{step}={mib:.0f}" for step, mib in r["step_peaks"].items())
                print(f"  peak RSS per step (MiB, sampled every 50 ms): {peaks}", flush=True)


if __name__ == "__main__":
    main()
