"""A run launcher whose run workers start warm.

Dagster's DefaultRunLauncher has the code server spawn a fresh Python for every run, which imports dagster, pandas,
openpyxl, SQLAlchemy, openai and the project again: about 3-5 s of CPU per run before its first step. Twelve drops
at once on two cores spend most of their time there.

`WarmRunLauncher` keeps one fork server per code location (`python -m translation_pipeline.run_launcher`). It imports
the code location's module and the libraries the runs need once, then forgets the project's own modules (its
top-level package), so every run imports the project's code and reads its settings (translation_pipeline.yaml)
fresh, and a code or settings change needs no restart. Each run is a process forked from that server, running what
`dagster api execute_run` runs (as Dagster's Docker and Kubernetes launchers do in their containers).

Each run is tagged with its process (processes.py), so that:
- Terminate in the UI and `translation-pipeline cancel` mark the run CANCELING and send its process SIGINT, which
  Dagster turns into an interrupt inside the running step; the run ends CANCELED;
- the daemon's run monitoring checks each STARTED run's process and marks the run FAILED when it is gone (killed,
  out of memory), so run retries re-execute it from failure. A run with no process tag of this machine (a
  `dagster job execute` process) is reported running and left to `max_runtime_seconds`.

The server is started by the first launch (in the daemon) and ends when that process closes its pipe; runs in
flight go on. It ignores SIGINT; a run's process gets it from the terminal like any run of `dagster dev`.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from importlib import import_module
from typing import Any, Self

from dagster import Array, Field
from dagster import _check as check
from dagster._core.errors import DagsterLaunchFailedError
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, RunLauncher, WorkerStatus
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import ConfigurableClass, ConfigurableClassData, serialize_value

from translation_pipeline.processes import interrupt, is_run_process, process_tags, run_process

# imported by the server besides the code location's module: what a run imports after load (its execute command,
# the OpenAI SDK the translations step imports lazily)
DEFAULT_PRELOAD = ("dagster._cli.api", "openai")
START_SECONDS = 120.0  # importing everything, on a loaded machine


class WarmRunLauncher(RunLauncher, ConfigurableClass):
    """Launches each run in a process forked from a warm server of its code location (see the module docstring)."""

    def __init__(self, inst_data: ConfigurableClassData | None = None, preload_modules: Sequence[str] = ()) -> None:
        self._inst_data = inst_data
        self._preload = tuple(preload_modules) or DEFAULT_PRELOAD
        self._servers: dict[tuple[str, str, str], _ForkServer] = {}
        self._lock = threading.Lock()
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {
            "preload_modules": Field(
                Array(str), is_required=False, default_value=list(DEFAULT_PRELOAD),
                description="modules the fork server imports besides the code location's module",
            )
        }  # fmt: skip

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]) -> Self:
        return cls(inst_data=inst_data, preload_modules=config_value.get("preload_modules", ()))

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        origin = check.not_none(run.job_code_origin, f"run {run.run_id} has no code origin")
        pointer = origin.repository_origin.code_pointer
        module = getattr(pointer, "module", None) or getattr(pointer, "package", None) or ""
        directory = getattr(pointer, "working_directory", None) or os.getcwd()
        args = ExecuteRunArgs(
            job_origin=origin, run_id=run.run_id, instance_ref=self._instance.get_ref(), set_exit_code_on_failure=True
        )
        with self._lock:
            key = (origin.executable_path, directory, module)
            server = self._servers.get(key)
            if server is None or not server.alive:
                server = self._servers[key] = _ForkServer(origin.executable_path, directory, module, self._preload)
            pid = server.fork(serialize_value(args))
        self._instance.add_run_tags(run.run_id, process_tags(pid))
        self._instance.report_engine_event(f"Forked the run's process (pid {pid}) from the warm server.", run)

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if not run or run.is_finished:
            return False
        if run_process(run) is None:
            self._instance.report_run_canceling(run)
            self._instance.report_engine_event("No process of this machine is tagged on this run to stop.", run)
            return False
        interrupt(self._instance, run, "terminate requested")
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: Any) -> CheckRunHealthResult:
        pid = run_process(run)
        if pid is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no process of this machine is tagged on this run")
        if is_run_process(pid):
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"process {pid} is alive")
        return CheckRunHealthResult(WorkerStatus.FAILED, f"its process {pid} is gone (killed or crashed)")

    def dispose(self) -> None:
        with self._lock:
            for server in self._servers.values():
                server.close()
            self._servers.clear()


class _ForkServer:
    """The launcher's side of one fork server: a line of JSON in (the run's ExecuteRunArgs), its pid out."""

    def __init__(self, executable: str, directory: str, module: str, preload: Sequence[str]) -> None:
        command = [executable, "-m", __name__, module, *preload]
        env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
        self._process = subprocess.Popen(
            command, cwd=directory, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def fork(self, execute_run_args: str) -> int:
        stdin, stdout = check.not_none(self._process.stdin), check.not_none(self._process.stdout)
        try:
            stdin.write(json.dumps({"args": execute_run_args}) + "\n")
            stdin.flush()
        except OSError as error:
            raise DagsterLaunchFailedError(f"the warm run server is gone ({error})") from error
        ready, _, _ = select.select([stdout], [], [], START_SECONDS)
        line = stdout.readline() if ready else ""
        if not line:
            self.close()
            raise DagsterLaunchFailedError(
                "the warm run server did not answer (exit code "
                f"{self._process.poll()}; its error, if any, is in the daemon's output)"
            )
        return int(json.loads(line)["pid"])

    def close(self) -> None:
        if self._process.stdin and not self._process.stdin.closed:
            self._process.stdin.close()


def _reap(signum: int, frame: object) -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _run_child(execute_run_args: str) -> None:
    """In the forked process: stdout away from the server's pipe, then `dagster api execute_run`. Never returns."""
    code = 1
    try:
        gc.enable()  # paused in the server (see `serve`)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(2, 1)
        from dagster._cli.api import execute_run_command

        execute_run_command.callback(input_json=execute_run_args, compressed_input_json=None)
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(module: str, preload: Sequence[str]) -> None:
    """The fork server: import, forget the project's own modules, then fork one process per request line.

    As the gc module's documentation advises for a server that forks without exec: the collector is off in the
    server and what it imported is frozen before the first fork, so a run's collections never walk (nor copy, by
    writing their headers) the libraries' objects it shares with the server; each run turns the collector on.
    """
    gc.disable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in (module, *preload):
        if name:
            try:
                import_module(name)
            except Exception:  # the run imports it again and fails there, visibly, with the run
                traceback.print_exc()
    package = module.partition(".")[0]
    for name in [name for name in sys.modules if package and (name == package or name.startswith(package + "."))]:
        del sys.modules[name]
    gc.collect()  # the project's modules just forgotten, once
    gc.freeze()
    signal.signal(signal.SIGCHLD, _reap)
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            _run_child(json.loads(line)["args"])
        sys.stdout.write(json.dumps({"pid": pid}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
