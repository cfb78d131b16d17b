"""`dagster dev` as a user starts it, in a fresh instance (deploy/dagster.sqlite.yaml), against the fake LLM server:
for the drop-path tests and `benchmarks/drop.py`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.fake_llm_server import FakeLLMServer

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# `dagster dev` started from a script ignores SIGTERM unless SIGINT is reset first (ENVIRONMENT.md)
_DEV = "import signal, os, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"


def instance_env(root: Path, server: FakeLLMServer, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment of a fresh instance under `root` (home, data) translating with OpenAI at the fake server."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "deploy" / "dagster.sqlite.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "TRANSLATION_DATA_DIR": str(root / "data"),
           "TRANSLATION_PROVIDER": "openai", "OPENAI_BASE_URL": server.base_url_openai, "OPENAI_API_KEY": "test",
           **(extra or {})}  # fmt: skip
    env.pop("TRANSLATION_CONFIG", None)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float, every: float = 0.2, what: str = "condition") -> float:
    """Seconds until `condition()` is true; TimeoutError after `timeout`."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{what} not reached in {timeout:g}s")
        time.sleep(every)
    return time.perf_counter() - started


class DagsterDev:
    """`dagster dev -w workspace.yaml` (webserver, daemon, code server) in its own process group."""

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self.env, self.log, self.port = dict(env), log, free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> DagsterDev:
        command = [sys.executable, "-c", _DEV, str(BIN / "dagster"), "dev", "-w", "workspace.yaml",
                   "-h", "127.0.0.1", "-p", str(self.port)]  # fmt: skip
        self._process = subprocess.Popen(command, cwd=REPO, env=self.env, start_new_session=True,
                                         stdout=subprocess.DEVNULL, stderr=self.log.open("wb"))  # fmt: skip
        wait_for(self._answering, timeout, what="dagster dev answering")
        return self

    def _answering(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"dagster dev exited ({self._process.returncode}); see {self.log}")
        try:
            with urllib.request.urlopen(f"{self.url}/server_info", timeout=1):
                return True
        except OSError:
            return False

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One request to the UI's GraphQL endpoint, as the UI sends it."""
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self._process is None:
            return
        os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(10)
        self._process = None

    def __enter__(self) -> DagsterDev:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
