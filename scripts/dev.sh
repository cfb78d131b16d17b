#!/usr/bin/env bash
# Set up and start the Dagster UI (http://127.0.0.1:3000) with the sensor watching ./data/inbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
mkdir -p "$TRANSLATION_DATA_DIR/inbox"
exec .venv/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p "${PORT:-3000}"
