"""What every asset of the chain shares: one partition per workbook version, its group, owner and tags; how
they show a table in metadata."""

import dagster as dg
import pandas as pd

from translation_pipeline.partitions import workbooks

# `code_version` is set per asset: bump it when a change alters what the asset produces, so the UI marks the
# partitions made before as stale
ASSET_DEFAULTS = {
    "partitions_def": workbooks,
    "group_name": "localization",
    "owners": ["team:localization"],
    "tags": {"domain": "localization"},
}


def made_earlier(key: str, what: str) -> dg.Failure:
    """The failure of a step given an input stored in an earlier release's form (`what`: "plan", "cell table"):
    never retried, as rerunning the step alone cannot succeed."""
    return dg.Failure(description=f"{key}: its {what} was made by an earlier release of translation_pipeline; run "
                      "the whole partition again, not from this step", allow_retries=False)  # fmt: skip


def markdown_rows(frame: pd.DataFrame, limit: int, empty: str, rest: str) -> str:
    """The first `limit` rows of `frame` as a Markdown table (cells on one line, `|` escaped), then
    `... and N <rest>` for the others; `empty` when there are none."""
    if not len(frame):
        return empty
    shown = frame.head(limit).astype(str).apply(lambda c: c.str.replace("|", "\\|").str.replace("\n", " "))
    more = f"\n\n... and {len(frame) - limit} {rest}" if len(frame) > limit else ""
    return shown.to_markdown(index=False) + more
