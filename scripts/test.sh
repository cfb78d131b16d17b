#!/usr/bin/env bash
# Set up (Python packages and the MariaDB server from apt) and run the linter and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash .ci/mariadb.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
