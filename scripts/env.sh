# Sourced by the scripts: the embedded default instance (SQLite) under ./data unless DAGSTER_HOME is set.
export TRANSLATION_DATA_DIR=${TRANSLATION_DATA_DIR:-$PWD/data}
export DAGSTER_HOME=${DAGSTER_HOME:-$TRANSLATION_DATA_DIR/dagster_home}
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp deploy/dagster.sqlite.yaml "$DAGSTER_HOME/dagster.yaml"
export VIRTUAL_ENV=${VIRTUAL_ENV:-$PWD/.venv}  # dg warns when the active venv is not the project's
