#!/usr/bin/env bash
# Set up, drop the sample workbook into ./data/inbox, translate it with the pseudo provider on the
# embedded SQLite instance, and print the output path. `scripts/dev.sh` then shows the run in the UI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
.venv/bin/translation-pipeline demo
