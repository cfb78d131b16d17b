"""What each target cell of a new workbook version is, against what the project recorded for the version before.

Per target cell of a row whose source is text (identity: sheet + row key + target language, `lineage.row_keys`),
with `previous` the record of that identity in the latest earlier version the project exported:

- `translate`: the target is empty: translate it (a row new in this version, or a cell still empty);
- `keep`: it holds exactly the text the project wrote, for the same source: nothing to do;
- `stale`: it holds exactly the text the project wrote, but the source changed since: translated again and
  overwritten, the one case where a filled cell changes (`stale_kept` instead when `retranslate_stale` is off);
- `human`: any other text (a reviewer's rewrite, a prefilled translation): never overwritten, learned as approved
  memory for its source;
- `review`: human text whose source changed since the project last saw it: kept and reported as needing review;
  not learned until its source holds still (then the next version learns it), as an outdated translation is
  not an approved one;
- `other`: the target holds no text (a number, a formula), only white space, a to-do marker (`TBD`) or a copy
  of its source (read/stand_ins.py): left alone, not learned.

A cell whose identity finds no record is first looked up by (sheet, language, source, text), and so is one known
by its row number (a sheet without a key column, or a row without key) whose record's text differs: a row
inserted above shifts every row below, and the same text for the same source in the version before is still the
same cell. A row known by its key whose text differs from its record's was rewritten, even when another row holds
that text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import pandas as pd

from translation_pipeline.localization.frames import chunked_row_values, chunked_zip, row_values
from translation_pipeline.localization.read.stand_ins import stand_in
from translation_pipeline.localization.refs import cell_ref
from translation_pipeline.localization.versions.lineage import row_keys

TRANSLATE, KEEP, STALE, STALE_KEPT, HUMAN, REVIEW, OTHER = (
    "translate", "keep", "stale", "stale_kept", "human", "review", "other",
)  # fmt: skip
STATUSES = (TRANSLATE, KEEP, STALE, STALE_KEPT, HUMAN, REVIEW, OTHER)
WORK = (TRANSLATE, STALE)  # what is sent to the model
MACHINE, HUMAN_ORIGIN, EMPTY, OTHER_ORIGIN = "machine", "human", "empty", "other"  # `origin` of a record

CLASSIFIED_COLUMNS = [
    "sheet", "row", "target_cell", "key", "row_key", "source_language", "target_language", "source_text",
    "target_text", "status", "previous_source", "previous_text", "previous_origin",
]  # fmt: skip


@dataclass(frozen=True)
class PreviousCell:
    """What the project recorded for one cell identity in a version."""

    sheet: str
    row_key: str
    target_language: str
    cell: str
    source_text: str
    text: str | None
    origin: str


def previous_cells(records: Iterable[Mapping[str, object]]) -> list[PreviousCell]:
    return [PreviousCell(**{name: record[name] for name in PreviousCell.__dataclass_fields__}) for record in records]


# the classified columns taken from the version last seen for a cell, and the field of that version they come from
_PREVIOUS = (("previous_source", "source_text"), ("previous_text", "text"), ("previous_origin", "origin"))


def classify(
    cells: pd.DataFrame, previous: Iterable[PreviousCell] | None = None, *, retranslate_stale: bool = True
) -> pd.DataFrame:
    """One row per target cell of a text source (CLASSIFIED_COLUMNS), in the cell table's order."""
    text = cells["source_kind"] == "text"
    text_cells = cells if text.all() else cells[text]  # no copy of every column (13: 200 MiB at 2 million cells)
    keys = row_keys(text_cells) if len(text_cells) else pd.Series([], dtype=str)
    by_identity: dict[tuple[str, str, str], PreviousCell] = {}
    by_text: dict[tuple[str, str, str, str], PreviousCell] = {}
    for record in previous or ():
        by_identity[(record.sheet, record.row_key, record.target_language)] = record
        if record.text is not None:
            by_text.setdefault((record.sheet, record.target_language, record.source_text, record.text), record)
    targets = text_cells["target_text"] if "target_text" in text_cells else pd.Series(None, index=text_cells.index)
    # the cell table's own columns are taken as they are; the computed ones are built a list per column, never a
    # tuple per cell (two per row of a two-target sheet: a million rows make two million)
    texts, statuses, seens = [], [], []
    for sheet, row, key, language, source, filled, row_key, text in chunked_zip(
        *(text_cells[name] for name in ("sheet", "row", "key", "target_language", "source_text", "target_filled")),
        keys, targets,
    ):  # fmt: skip
        text = None if pd.isna(text) else text
        found = by_identity.get((sheet, row_key, language))
        moved = by_text.get((sheet, language, source, text or "")) if found is None or key == f"{sheet}!{row}" else None
        status, seen = _status(source, language, filled, text, found, moved)
        if status == STALE and not retranslate_stale:
            status = STALE_KEPT
        texts.append(text)
        statuses.append(status)
        seens.append(seen)
    columns = {name: text_cells[name].to_numpy(dtype=object) for name in
               ("sheet", "key", "source_language", "target_language", "source_text")}  # fmt: skip
    columns["target_cell"] = text_cells["target_cell"].to_numpy(dtype="int64")  # its code (refs.py)
    columns["row"] = text_cells["row"].to_numpy(dtype="int64")
    columns["row_key"] = keys.reset_index(drop=True)
    # each list made a column and let go of in turn, its dtype inferred as a table of lists has it: not every list
    # and its column at once (16 MiB each at 2 million cells)
    columns["target_text"] = pd.Series(texts)
    del texts
    columns["status"] = pd.Series(statuses)
    del statuses
    for column, name in _PREVIOUS:
        columns[column] = pd.Series([None if seen is None else getattr(seen, name) for seen in seens])
    del seens
    return pd.DataFrame({name: columns[name] for name in CLASSIFIED_COLUMNS}, copy=False)


def _status(
    source: str,
    language: str,
    filled: bool,
    text: str | None,
    found: PreviousCell | None,
    same_text: PreviousCell | None,
) -> tuple[str, PreviousCell | None]:
    """(status, the record the decision rests on)."""
    if not filled:
        return TRANSLATE, found
    if text is None or stand_in(text, source, language):  # white space, `TBD`, a copy of the source
        return OTHER, found
    if found is None or found.text != text:
        if same_text is not None:  # the row moved: the same text for the same source as before
            found = same_text
        elif found is None or found.text is None or found.source_text == source:
            return HUMAN, found  # new human text, or a rewrite of our text for the same source
        else:
            return REVIEW, found  # rewritten, and its source changed since we last saw it
    if found.origin == MACHINE:
        return (KEEP if found.source_text == source else STALE), found
    return (HUMAN if found.source_text == source else REVIEW), found


def work_cells(classified: pd.DataFrame) -> set[tuple[str, int]]:
    """(sheet, cell code) of the cells to send to the model: empty targets and stale machine text."""
    work = classified[classified["status"].isin(WORK)]
    return set(row_values(work, "sheet", "target_cell"))


@dataclass(frozen=True)
class VersionRecords:
    """`version_records` as a collection the store can iterate again when it retries its transaction."""

    classified: pd.DataFrame
    written: Mapping[tuple[str, int], str]

    def __iter__(self) -> Iterator[dict[str, object]]:
        return version_records(self.classified, self.written)


def version_records(classified: pd.DataFrame, written: Mapping[tuple[str, int], str]) -> Iterator[dict[str, object]]:
    """What to record for this version once exported, a record per classified cell (store.VERSION_CELL_COLUMNS),
    one at a time: the store writes them in chunks, so a large version is never held as records.

    `written`: (sheet, cell code) -> text the export wrote. A stale cell not rewritten still holds our text for the
    old source, so it is recorded with that source and stays stale.
    """
    for sheet, cell, row_key, language, source, text, status, old_source in chunked_row_values(
        classified, "sheet", "target_cell", "row_key", "target_language", "source_text", "target_text", "status",
        "previous_source",
    ):
        new = written.get((sheet, cell))
        if status in (TRANSLATE, STALE) and new is not None:
            origin, source, text = MACHINE, source, new
        elif status == TRANSLATE:
            origin, text = EMPTY, None
        elif status in (STALE, STALE_KEPT):
            origin, source = MACHINE, old_source
        elif status == KEEP:
            origin = MACHINE
        elif status in (HUMAN, REVIEW):
            origin = HUMAN_ORIGIN
        else:
            origin, text = OTHER_ORIGIN, None
        yield {"sheet": sheet, "row_key": row_key, "target_language": language, "cell": cell_ref(cell),
               "source_text": source, "text": None if pd.isna(text) else text, "origin": origin}  # fmt: skip
