"""What every asset of the chain shares: one partition per workbook version, its group, owner and tags."""

from translation_pipeline.partitions import workbooks

# `code_version` is set per asset: bump it when a change alters what the asset produces, so the UI marks the
# partitions made before as stale
ASSET_DEFAULTS = {
    "partitions_def": workbooks,
    "group_name": "localization",
    "owners": ["team:localization"],
    "tags": {"domain": "localization"},
}
