"""A workbook's lineage: what makes two files versions of one workbook, and a row's identity within it.

The lineage is the file name as dropped (the archive keeps it: `ArchivedWorkbook.original_name`) or as given to
`translate`, unless the YAML `lineages` setting maps it to a name (`{"strings_v*.xlsx": strings}`: the first
pattern that matches, compared as `fnmatch` does, ignoring case). A row's identity is its sheet plus its key
column value; on a sheet without a key column the reader's key is `Sheet!row`, the row number. A key that repeats
on a sheet is told apart by its occurrence (`k7`, `k7#2`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping

import pandas as pd

from translation_pipeline.localization.frames import row_codes


def lineage_of(file_name: str, lineages: Mapping[str, str] | None = None) -> str:
    """The lineage of a workbook file: the name its pattern in `lineages` maps it to, else the file name."""
    for pattern, lineage in (lineages or {}).items():
        if fnmatch.fnmatch(file_name.casefold(), pattern.casefold()):
            return lineage
    return file_name


def row_keys(cells: pd.DataFrame) -> pd.Series:
    """Each cell's row identity within its sheet: the key, with `#n` from its second occurrence on."""
    keys = cells["key"].astype(str)
    if not _repeats(cells[["sheet", "target_language", "key"]]):
        return keys
    occurrence = cells.groupby(["sheet", "target_language", "key"], sort=False).cumcount()
    again = occurrence > 0
    if not again.any():
        return keys
    keys = keys.copy()  # the suffixed keys made for the repeats alone, not for every cell
    keys[again] = keys[again] + "#" + (occurrence[again] + 1).astype(str)
    return keys


def _repeats(columns: pd.DataFrame) -> bool:
    """Whether any row may repeat another's values: its `row_codes`, sorted, have two equal (a missing value: maybe,
    the grouping tells)."""
    codes = row_codes(columns, list(columns.columns))
    if codes is None:
        return True
    codes.sort()
    return bool((codes[1:] == codes[:-1]).any())
