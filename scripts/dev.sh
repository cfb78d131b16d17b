#!/usr/bin/env bash
# Set up and start the Dagster UI (http://127.0.0.1:3000, or $PORT) with the sensor watching ./data/inbox.
# Ctrl-C stops it (webserver, daemon and code server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
mkdir -p "$TRANSLATION_DATA_DIR/inbox"
echo "dev: starting the Dagster UI on http://127.0.0.1:${PORT:-3000} (ready in about 10 s); Ctrl-C stops it"
echo "dev: workbooks dropped into $TRANSLATION_DATA_DIR/inbox are translated into $TRANSLATION_DATA_DIR/outbox"
exec .venv/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p "${PORT:-3000}"
