#!/usr/bin/env bash
# Set up (Python packages and the MariaDB server from apt) and run the linter and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash .ci/mariadb.sh
.venv/bin/ruff check .
# two workers (pytest-xdist), one per core: much of the suite waits on subprocesses, servers and the fake LLM's
# latency, so the suite takes about half as long (803 -> 390 s on a 2-core machine); TEST_WORKERS=0 runs it serially
.venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" "$@"
