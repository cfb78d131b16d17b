"""Which process on which machine executes a run, as two run tags, so that `cancel`, the UI's Terminate and the
daemon's health check can reach it: a `translation-pipeline translate` process tags its own runs, and the warm run
launcher (run_launcher.py) tags the runs it forks. Stdlib and dagster only: the run launcher imports this in every
process that loads the instance."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import dagster as dg
from dagster import DagsterRunStatus

PID_TAG = "translation/pid"
HOST_TAG = "translation/host"


def process_tags(pid: int | None = None) -> dict[str, str]:
    """Tags of a run that process `pid` (this one by default) executes on this machine."""
    return {PID_TAG: str(pid or os.getpid()), HOST_TAG: socket.gethostname()}


def run_process(run: dg.DagsterRun) -> int | None:
    """The pid of the process executing `run` on this machine, None when it is not tagged with one of ours here."""
    if PID_TAG not in run.tags or run.tags.get(HOST_TAG) != socket.gethostname():
        return None
    return int(run.tags[PID_TAG])


def is_run_process(pid: int) -> bool:
    """Is `pid` alive and one of this project's processes (not another one that got its number since)?"""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)  # no /proc (macOS): only whether it is alive
        except (ProcessLookupError, PermissionError):
            return False
        return True
    return b"translation" in command


def interrupt(instance: dg.DagsterInstance, run: dg.DagsterRun, message: str) -> str:
    """Stop a tagged run: CANCELING, then SIGINT to its process. Dagster raises the interrupt inside the running
    step and, finding the run CANCELING, ends it CANCELED. A run whose process is gone is marked CANCELED at once."""
    host, pid = run.tags.get(HOST_TAG), int(run.tags[PID_TAG])
    if host != socket.gethostname():
        return f"not stopped: its process runs on {host} (cancel it there)"
    if run.status != DagsterRunStatus.CANCELING:
        instance.report_run_canceling(run, message=message)
    if not is_run_process(pid):
        instance.report_run_canceled(run, message=f"its process {pid} is gone")
        return f"marked cancelled (its process {pid} is gone)"
    os.kill(pid, signal.SIGINT)
    return f"interrupted its process {pid}"
