"""The `inbox` asset: the drop folder's files and their states (localization/inbox/states.py), observed by
`workbook_drop_sensor` and read back by `translation-pipeline status`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import dagster as dg

from translation_pipeline.localization.inbox.keys import display_name
from translation_pipeline.localization.inbox.states import (
    ACCEPTED,
    FAILED,
    IGNORED,
    MAX_ROWS,
    REJECTED,
    WAITING,
    FileState,
    markdown,
    utc,
)

INBOX = dg.AssetSpec(
    "inbox",
    description="The drop folder: every file with its state (accepted, waiting, rejected, failed, ignored), "
    "as `workbook_drop_sensor` last saw it. Observed, never materialized: a rejected file gets no run.",
    group_name="localization",
)


def observation(rows: Sequence[FileState]) -> dg.AssetObservation:
    """The `inbox` observation: the table (`files`), a count per state and the rejected and failed files
    (`rejects`, a JSON list of file, state, reason)."""
    counts = Counter(row.state for row in rows)
    rejects = [
        {"file": display_name(row.name), "state": row.state, "reason": row.detail}
        for row in rows
        if row.state in (REJECTED, FAILED)
    ]
    return dg.AssetObservation(
        asset_key=INBOX.key,
        metadata={
            "files": dg.MetadataValue.md(markdown(rows)),
            **{state: counts[state] for state in (ACCEPTED, WAITING, REJECTED, FAILED, IGNORED)},
            "rejects": dg.MetadataValue.json(rejects[:MAX_ROWS]),
        },
    )


def latest_report_lines(instance: dg.DagsterInstance) -> list[str]:
    """The last `inbox` observation as lines for `status`: the counts, then each rejected or failed file with
    its reason; none when the sensor has not reported yet."""
    records = instance.fetch_observations(INBOX.key, limit=1).records
    if not records or records[0].asset_observation is None:
        return []
    meta = records[0].asset_observation.metadata
    counts = ", ".join(f"{meta[state].value} {state}" for state in (ACCEPTED, WAITING, REJECTED, FAILED, IGNORED))
    lines = [f"inbox ({utc(records[0].timestamp)} UTC, workbook_drop_sensor): {counts}"]
    rejects = meta["rejects"].value
    width = max((len(item["file"]) for item in rejects), default=0)
    lines += [f"  {item['file'].ljust(width)}  {item['state'].ljust(8)}  {item['reason']}" for item in rejects]
    return lines
