#!/usr/bin/env bash
# Create .venv (if missing) and install the project with its test tools. Idempotent; about 30 s on a fresh
# machine, a few seconds after that. Says what it does when it creates or installs, nothing otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
# the entry point is rewritten by every install: missing or older than pyproject.toml, the install has work to do
if [ ! -x .venv/bin/translation-pipeline ] || [ pyproject.toml -nt .venv/bin/translation-pipeline ]; then
  announced=1
  echo "setup: installing the project and its test tools into .venv (about 30 s)..."
fi
.venv/bin/python -m pip install -q --disable-pip-version-check uv
# bytecode compiled at install: with PYTHONDONTWRITEBYTECODE set, every process would otherwise compile dagster
# from source again (about 1 s per CLI start, per test subprocess)
.venv/bin/uv pip install -q --python .venv/bin/python --compile-bytecode -e ".[test]"
if [ -n "${announced:-}" ]; then
  echo "setup: done"
fi
