"""A workbook version against its lineage in the project store: classified at planning, recorded at export.

`plan_version` (the `translation_tasks` step) numbers the version in its lineage, classifies its cells against
the latest earlier version that was exported (`classify`), learns the reviewers' text (`human` cells) as approved
memory at once, so this version's own empty cells with the same source get it too, and names the conflicts:
sources with several approved texts (the most recent wins). `record_version` (the `translated_workbook` step)
records what the export left in each cell, for the next version; `version_report` gives the QA report's figures
and lists.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from translation_pipeline.localization.frames import ROW_CHUNK, chunked_row_values, row_values
from translation_pipeline.localization.refs import cell_ref, cell_refs
from translation_pipeline.localization.store import ProjectStore
from translation_pipeline.localization.versions.classify import (
    CLASSIFIED_COLUMNS,
    HUMAN,
    HUMAN_ORIGIN,
    REVIEW,
    STALE,
    STALE_KEPT,
    TRANSLATE,
    VersionRecords,
    classify,
    previous_cells,
    work_cells,
)

CONFLICT_COLUMNS = ["source_language", "language", "source", "text", "learned_at", "lineage", "workbook", "sheet",
                    "cell", "wins"]  # fmt: skip
RETRANSLATED_COLUMNS = ["sheet", "cell", "key", "language", "old_source", "new_source", "old_text", "new_text"]
REVIEW_COLUMNS = ["sheet", "cell", "key", "language", "old_source", "new_source", "current_text"]


# the classified columns the export reads (recording the version, its report): a stored plan's version keeps
# these only (2,000,000 cells: the four others are 61 MiB of the export's inputs)
EXPORTED_CLASSIFIED_COLUMNS = [
    "sheet", "target_cell", "key", "row_key", "target_language", "source_text", "target_text", "status",
    "previous_source",
]  # fmt: skip


@dataclass
class VersionPlan:
    """A workbook version in its lineage: its number, the version it is compared with, its classified cells."""

    lineage: str
    version_id: int | None  # its row in the store (None: a preview of a version not registered yet)
    number: int  # its number within the lineage: 1, 2, ...
    previous_key: str | None  # the workbook key of the version compared with; None for a first version
    classified: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CLASSIFIED_COLUMNS))
    previous_rows: set[tuple[str, str]] = field(default_factory=set)  # (sheet, row key) of the version before
    changed_rows: int = 0  # rows of both versions whose source changed
    learned: int = 0  # human cells learned as approved memory
    conflicts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CONFLICT_COLUMNS))

    def for_export(self) -> VersionPlan:
        """This version with the classified columns the export reads (EXPORTED_CLASSIFIED_COLUMNS)."""
        return replace(self, classified=self.classified[EXPORTED_CLASSIFIED_COLUMNS])

    @property
    def work(self) -> set[tuple[str, int]]:
        """(sheet, cell code) of the cells to translate: empty ones and stale machine text."""
        return work_cells(self.classified)

    @property
    def stale(self) -> set[tuple[str, int]]:
        """(sheet, cell code) of the filled cells the export may overwrite."""
        stale = self.classified[self.classified["status"] == STALE]
        return set(row_values(stale, "sheet", "target_cell"))


def plan_version(
    store: ProjectStore,
    lineage: str,
    workbook_key: str,
    file_name: str,
    cells: pd.DataFrame,
    *,
    retranslate_stale: bool = True,
) -> VersionPlan:
    """Classify a version's cells against its lineage's previous version and learn its reviewers' text."""
    version_id = store.register_version(lineage, workbook_key, file_name)
    plan = _compared(store, lineage, version_id, cells, retranslate_stale)
    human = plan.classified[plan.classified["status"] == HUMAN]
    # written in this version: the cell held something else (or nothing) in the version before
    written = (human["previous_origin"] != HUMAN_ORIGIN) | (human["previous_text"] != human["target_text"])
    for part, fresh in ((human[~written], False), (human[written], True)):
        store.learn_approved([
            {"source_language": src, "target_language": tgt, "source_text": source, "text": text, "lineage": lineage,
             "workbook_key": workbook_key, "sheet": sheet, "cell": cell_ref(cell)}
            for src, tgt, source, text, sheet, cell in part[
                ["source_language", "target_language", "source_text", "target_text", "sheet", "target_cell"]
            ].itertuples(index=False, name=None)
        ], written=fresh)  # fmt: skip
    plan.conflicts = _conflicts(store, plan.classified)
    return plan


def preview_version(
    store: ProjectStore, lineage: str, workbook_key: str, cells: pd.DataFrame, *, retranslate_stale: bool = True
) -> VersionPlan:
    """What `plan_version` would make of a version, with nothing registered or learned (`estimate`, `inspect`):
    compared with the version before it if it was registered already, else with the lineage's latest export."""
    return _compared(store, lineage, store.version_id(lineage, workbook_key), cells, retranslate_stale)


def _compared(
    store: ProjectStore, lineage: str, version_id: int | None, cells: pd.DataFrame, retranslate_stale: bool
) -> VersionPlan:
    previous = store.previous_version(lineage, version_id)
    records = previous_cells(store.version_cells(previous[0])) if previous else []
    classified = classify(cells, records, retranslate_stale=retranslate_stale)
    previous_source = {(r.sheet, r.row_key): r.source_text for r in records}
    changed = 0
    if previous_source:  # the columns compared only, not a copy of every classified column (2 million cells)
        current = classified[["sheet", "row_key", "source_text"]].drop_duplicates(["sheet", "row_key"])
        changed = sum(
            1 for sheet, key, source in row_values(current, "sheet", "row_key", "source_text")
            if (sheet, key) in previous_source and previous_source[(sheet, key)] != source
        )  # fmt: skip
    number = store.version_number(lineage, version_id) + (version_id is None)  # unregistered: the next one
    return VersionPlan(
        lineage=lineage,
        version_id=version_id,
        number=number,
        previous_key=previous[1] if previous else None,
        classified=classified,
        previous_rows=set(previous_source),
        changed_rows=changed,
        learned=int((classified["status"] == HUMAN).sum()),
    )


def _conflicts(store: ProjectStore, classified: pd.DataFrame) -> pd.DataFrame:
    """Approved texts of the sources this version learns from or fills, where a source has more than one."""
    # each language pair's distinct sources by a mask of its cells: not a copy of the cells' columns and a group
    # of them per pair (2 million cells: 210 MiB above the classified cells, a heap the split then kept)
    wanted = classified["status"].isin((HUMAN, TRANSLATE, STALE)).to_numpy(dtype=bool)
    sources = classified["source_text"].to_numpy(dtype=object)
    source_languages = classified["source_language"].to_numpy(dtype=object)
    target_languages = classified["target_language"].to_numpy(dtype=object)
    rows = []
    for source_language in sorted(pd.unique(source_languages[wanted]).tolist()):
        in_source = wanted & (source_languages == source_language)
        for language in sorted(pd.unique(target_languages[in_source]).tolist()):
            texts = pd.unique(sources[in_source & (target_languages == language)]).tolist()  # in order of first cell
            found = store.approved_entries(source_language, language, texts)
            for source in texts if found else ():
                entries = found.get(source, [])
                if len(entries) < 2:
                    continue
                rows += [(source_language, language, source, e.text, e.created_at, e.lineage, e.workbook_key,
                          e.sheet, e.cell, e is entries[-1]) for e in entries]  # fmt: skip
    return pd.DataFrame.from_records(rows, columns=CONFLICT_COLUMNS)


class WrittenCells(Mapping[tuple[str, int], str]):
    """(sheet, cell code) -> the text the export wrote, held per sheet as the cells' codes in order and their texts:
    16 bytes a cell, not a dict entry and an int object (2 million cells at 1,000,000 rows of two targets: about
    130 MiB, held while the version is recorded). A cell given twice keeps its last text."""

    def __init__(self, items: Iterable[tuple[str, int, str]] = ()) -> None:
        given: dict[str, tuple[array[int], list[str]]] = {}
        for sheet, cell, text in items:
            codes, texts = given.setdefault(sheet, (array("q"), []))
            codes.append(cell)
            texts.append(text)
        self._sheets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for sheet, (codes, texts) in given.items():
            values = np.empty(len(texts), dtype=object)
            values[:] = texts
            self._add(sheet, np.frombuffer(codes, dtype=np.int64), values)

    @classmethod
    def of_columns(
        cls,
        sheet: pd.Series,
        cell: pd.Series,
        text: pd.Series,
        clean: Callable[[str], str],
        leave: Set[tuple[str, int]],
    ) -> WrittenCells:
        """The cells of equally long columns (a table's, a row per cell), each text as `clean` makes it, but for
        those in `leave` (not written). Taken a sheet at a time as arrays: no tuple per cell, nor a list of every
        cell's code and text (2 million cells: 130 MiB, when the export held the cells' outcomes too)."""
        written = cls()
        cells, texts = cell.to_numpy(dtype=np.int64), text.to_numpy(dtype=object)
        for name in sheet.unique().tolist():
            rows = (sheet == name).to_numpy(dtype=bool)
            left = [code for s, code in leave if s == name]
            if left:
                rows = rows & ~np.isin(cells, left)
            values = texts[rows]
            for start in range(0, len(values), ROW_CHUNK):
                values[start : start + ROW_CHUNK] = [clean(t) for t in values[start : start + ROW_CHUNK].tolist()]
            written._add(name, cells[rows], values)
        return written

    def _add(self, sheet: str, cells: np.ndarray, texts: np.ndarray) -> None:
        """A sheet's cells and texts, kept sorted by cell (as given when they are: the export's cells come in
        sheet order), a cell given twice by its last text."""
        if len(cells) > 1 and not bool((cells[1:] > cells[:-1]).all()):
            order = np.argsort(cells, kind="stable")
            cells, texts = cells[order], texts[order]
            last = np.append(cells[1:] != cells[:-1], True)  # the last of each run of one cell
            cells, texts = cells[last], texts[last]
        self._sheets[sheet] = (cells, texts)

    def __getitem__(self, key: tuple[str, int]) -> str:
        sheet, cell = key
        if sheet not in self._sheets:
            raise KeyError(key)
        cells, texts = self._sheets[sheet]
        at = int(np.searchsorted(cells, cell))
        if at == len(cells) or cells[at] != cell:
            raise KeyError(key)
        return texts[at]

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return ((sheet, cell) for sheet, (cells, _) in self._sheets.items() for cell in cells.tolist())

    def __len__(self) -> int:
        return sum(len(cells) for cells, _ in self._sheets.values())


def record_version(store: ProjectStore, plan: VersionPlan, written: Mapping[tuple[str, int], str]) -> None:
    """Record what the export left in each classified cell (`written`: (sheet, cell code) -> text written)."""
    assert plan.version_id is not None, "a preview is never recorded"
    store.record_version(plan.version_id, VersionRecords(plan.classified, written))


@dataclass(frozen=True)
class VersionReport:
    """The QA report's per-version figures and lists."""

    summary: dict[str, object]
    retranslated: pd.DataFrame  # RETRANSLATED_COLUMNS
    needs_review: pd.DataFrame  # REVIEW_COLUMNS
    conflicts: pd.DataFrame  # CONFLICT_COLUMNS

    def line(self) -> str:
        """The figures in one line, as `status` prints them."""
        s = self.summary
        return (f"version {s['version']} of {s['lineage']!r} (after {s['previous_version'] or 'none'}): "
                f"{s['rows_added']} rows added, {s['rows_removed']} removed, {s['source_changed']} sources changed, "
                f"{s['retranslated']} re-translated, {s['human_learned']} human cells learned, "
                f"{s['needs_review']} need review, {s['conflicts']} conflicts")  # fmt: skip


def version_report(plan: VersionPlan, written: Mapping[tuple[str, int], str]) -> VersionReport:
    """Figures and lists of a version once exported (`written`: (sheet, cell code) -> text written)."""
    classified = plan.classified
    rows: dict[str, set[str]] = {}  # the version's row keys by sheet: no (sheet, row key) tuple per row
    for sheet, key in chunked_row_values(classified, "sheet", "row_key"):
        rows.setdefault(sheet, set()).add(key)
    row_count = sum(map(len, rows.values()))
    previous = plan.previous_rows
    added = sum((sheet, key) not in previous for sheet, keys in rows.items() for key in keys) if previous else row_count
    stale = classified[classified["status"] == STALE]
    done = [(sheet, cell) in written for sheet, cell in row_values(stale, "sheet", "target_cell")]
    redone = stale[pd.Series(done, index=stale.index, dtype=bool)]
    retranslated = pd.DataFrame({
        "sheet": redone["sheet"], "cell": cell_refs(redone["target_cell"]), "key": redone["key"],
        "language": redone["target_language"], "old_source": redone["previous_source"],
        "new_source": redone["source_text"], "old_text": redone["target_text"],
        "new_text": [written[(s, c)] for s, c in row_values(redone, "sheet", "target_cell")],
    }, columns=RETRANSLATED_COLUMNS).reset_index(drop=True)  # fmt: skip
    review = classified[classified["status"] == REVIEW]
    needs_review = pd.DataFrame({
        "sheet": review["sheet"], "cell": cell_refs(review["target_cell"]), "key": review["key"],
        "language": review["target_language"], "old_source": review["previous_source"],
        "new_source": review["source_text"], "current_text": review["target_text"],
    }, columns=REVIEW_COLUMNS).reset_index(drop=True)  # fmt: skip
    conflict_sources = plan.conflicts.drop_duplicates(["source_language", "language", "source"])
    summary = {
        "lineage": plan.lineage,
        "version": plan.number,
        "previous_version": plan.previous_key or "",
        "rows": row_count,
        "rows_added": added,
        "rows_removed": len(previous) - (row_count - added),  # the previous rows not among the version's
        "source_changed": plan.changed_rows,
        "retranslated": len(retranslated),
        "stale_not_retranslated": int((classified["status"] == STALE_KEPT).sum()) + len(stale) - len(redone),
        "human_learned": plan.learned,
        "needs_review": len(needs_review),
        "conflicts": len(conflict_sources),
    }
    return VersionReport(summary, retranslated, needs_review, plan.conflicts.reset_index(drop=True))
