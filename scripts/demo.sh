#!/usr/bin/env bash
# Set up, drop the sample workbook into ./data/inbox, translate it with the pseudo provider on the
# embedded SQLite instance, and print the output path. `scripts/dev.sh` then shows the run in the UI.
# The sample's bytes never change, so every run reuses its one partition.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
echo "demo: translating the sample workbook offline (pseudo provider), data in $TRANSLATION_DATA_DIR"
.venv/bin/translation-pipeline demo
echo "demo: its partition and run in the Dagster UI: bash scripts/dev.sh, then http://127.0.0.1:${PORT:-3000}"
