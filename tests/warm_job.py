"""A code location for tests/test_run_launcher.py: one job whose op records, in WARM_JOB_DIR, what its process
saw. `greeting.txt` is read when this module is imported, as translation_pipeline.yaml is by the definitions."""

import json
import os
import sys
import time
from pathlib import Path

import dagster as dg

DIRECTORY = Path(os.environ.get("WARM_JOB_DIR", "."))  # unset where the test only builds the run's origin
GREETING = (DIRECTORY / "greeting.txt").read_text() if "WARM_JOB_DIR" in os.environ else ""
OPENAI_BEFORE_ME = "openai" in sys.modules  # only a warm server imports it before a run loads its code


@dg.op(config_schema={"sleep": dg.Field(float, default_value=0.0)})
def record(context: dg.OpExecutionContext) -> None:
    seen = {"pid": os.getpid(), "ppid": os.getppid(), "greeting": GREETING, "warm": OPENAI_BEFORE_ME}
    (DIRECTORY / f"{context.run_id}.json").write_text(json.dumps(seen))
    time.sleep(context.op_config["sleep"])


@dg.job(executor_def=dg.in_process_executor)  # the op runs in the run's own process
def warm_job() -> None:
    record()


defs = dg.Definitions(jobs=[warm_job])
