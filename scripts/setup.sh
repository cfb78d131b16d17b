#!/usr/bin/env bash
# Create .venv (if missing) and install the project with its test tools. Idempotent; ~15 s on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check uv
# bytecode compiled at install: with PYTHONDONTWRITEBYTECODE set, every process would otherwise compile dagster
# from source again (about 1 s per CLI start, per test subprocess)
.venv/bin/uv pip install -q --python .venv/bin/python --compile-bytecode -e ".[test]"
