"""QA of a translated workbook: one finding per (cell, rule) problem, a summary per sheet and language, and the
reviewer's report (.xlsx with sheets `summary` and `findings`).

Rules (the `rule` column):
- `translation`: the cell could not be translated (status `failed`);
- `export`: translated but not written into the workbook (status `not written`);
- `placeholders`: placeholders or tags of the source lost or invented;
- `max_length`: longer than the cell's limit: the max length of the cell's own row, else the sheet default
  from the `max_length_defaults` setting. (The model was asked for the task's max length, the smallest among
  the rows sharing the source text, so a row with a larger limit is not reported for a text that fits it.)
  Assignments of a plan made before they carried the row's max length fall back to the task's;
- `glossary`: the source holds a glossary term whose target term (case-insensitive) is not in the translation;
- `untranslated`: equal to the source, or still holding letters of the source's script that the target
  language does not use (Han left in an English text; a Japanese target may keep Han, so it is not checked),
  or nothing but placeholders and punctuation where the source has words (`<color=#fc0></color>%d`);
- `whitespace`: leading or trailing whitespace differs from the source;
- `line_breaks`: the number of line breaks (real newlines, or literal `\\n`) differs from the source;
- `formula_like`: starts with `=`, `+`, `-` or `@` although the source does not (written as text anyway);
- `control_characters`: holds control characters Excel rejects (removed on export).

Every finding but `translation` and `export` is a warning: it never blocks export of the cell.

A new version of a workbook (same lineage, `localization/versions`) adds the sheets `versions` (the figures:
rows added, removed, sources changed, re-translated, human cells learned, needing review, conflicts),
`retranslated` (stale machine text written again: old and new source and text), `needs_review` (reviewers' text
whose source changed: kept) and `conflicts` (several approved texts for one source: the most recent wins).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.utils.escape import unescape
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from pandas.api.extensions import take

from translation_pipeline.localization.check.glossary import Glossary
from translation_pipeline.localization.frames import row_values
from translation_pipeline.localization.read.ledger import FAILED, NOT_WRITTEN, TOO_LONG, SkipEntry, ledger_table
from translation_pipeline.localization.refs import cell_position, cell_refs, code_of
from translation_pipeline.localization.scripts import LATIN, language_scripts, script_pattern
from translation_pipeline.localization.translate.contract import FORMULA_STARTS, REPLACEMENT
from translation_pipeline.localization.translate.placeholders import PLACEHOLDER_RE, placeholder_problems
from translation_pipeline.localization.write.export import MAX_CELL_CHARS

if TYPE_CHECKING:
    from translation_pipeline.localization.versions.plan import VersionReport

VERSION_SHEETS = ("versions", "retranslated", "needs_review", "conflicts")

REPORT_COLUMNS = [
    "sheet", "cell", "key", "language", "source", "translation", "status", "rule", "detail",
]  # fmt: skip
RULES = (
    "translation", "export", "placeholders", "max_length", "glossary", "untranslated", "whitespace",
    "line_breaks", "formula_like", "control_characters",
)  # fmt: skip
SUMMARY_COLUMNS = ["sheet", "language", "to_fill", "filled", "failed", "not_written", "coverage", *RULES]

QA_CHUNK = 250_000  # cells whose findings are worked out together
MIN_FOREIGN_LETTERS = 8  # letters of another script that make a translation "not in the target's script"
LETTER = r"[^\W\d_]"
_LETTER_RE = re.compile(LETTER)


OUTCOME_TRANSLATION_COLUMNS = ["task_id", "status", "text", "error"]


def outcome_task_columns(assignments: pd.DataFrame) -> list[str]:
    """The task columns `cell_outcomes` reads; the task's max length only for a plan whose assignments have none."""
    columns = ["task_id", "source_language", "target_language", "source_text"]
    return columns if "max_length" in assignments.columns else [*columns, "max_length"]


def cell_outcomes(assignments: pd.DataFrame, tasks: pd.DataFrame, translations: pd.DataFrame) -> pd.DataFrame:
    """Per assigned cell: its task's source, translation, status and failure reason, and its max length.

    The max length is the cell's row's own when `assignments` has a `max_length` column (NA: the row has none,
    the sheet default applies), else the task's: the smallest among the rows sharing the source text.
    """
    return with_translations(with_tasks(assignments, tasks), translations)


def with_tasks(assignments: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    """The assignments, each with its task's columns that QA and the export read (`outcome_task_columns`)."""
    return _joined(assignments, tasks, outcome_task_columns(assignments))


def with_translations(cells: pd.DataFrame, translations: pd.DataFrame) -> pd.DataFrame:
    """`with_tasks` cells with their tasks' outcomes: the cells' outcomes (`cell_outcomes`). The translations are
    let go of here, once their columns are taken: a caller passes them as it loads them."""
    outcomes = _joined(cells, translations, OUTCOME_TRANSLATION_COLUMNS)
    del translations
    return outcomes.rename(columns={"target_cell": "cell", "target_language": "language", "source_text": "source"})


def _joined(cells: pd.DataFrame, table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`cells` with `columns` of `table` (the first, its task id, joined on), as a left join makes them.

    Each column is taken by the rows of the cells' tasks, beside the cells' own arrays: merging copied every column
    of a million cells (at 1,000,000 rows), and the export held the plan's tasks, the translations and the cells'
    outcomes at once. Only the columns QA and the export read are taken: each costs a pointer per cell."""
    key = columns[0]
    rows = pd.Index(table[key].to_numpy()).get_indexer(cells[key].to_numpy())  # -1: a task the table lacks
    missing = bool((rows < 0).any())
    joined = {column: cells[column].array for column in cells.columns}
    for column in columns[1:]:
        joined[column] = take(table[column].array, rows, allow_fill=missing)
    return pd.DataFrame(joined, copy=False)


def translated_cells(outcomes: pd.DataFrame) -> pd.DataFrame:
    """The outcomes of the translated cells: `outcomes` itself, not a copy of every cell, when all are."""
    translated = outcomes["status"] == "translated"
    return outcomes if translated.all() else outcomes[translated]


def _rows(frame: pd.DataFrame, rule: str, detail: pd.Series | str, status: str = "warning") -> pd.DataFrame:
    """Findings of `rule` for the cells of `frame` (its index is kept, to order findings by cell), each cell by its
    A1 reference."""
    rows = frame[["sheet", "cell", "key", "language", "source"]].copy()
    rows["cell"] = pd.Series(cell_refs(rows["cell"].tolist()), index=rows.index, dtype=object)
    rows["translation"] = frame.get("text")
    rows["status"] = status
    rows["rule"] = rule
    rows["detail"] = detail
    return rows


def _script_missing(done: pd.DataFrame, text: pd.Series) -> pd.DataFrame:
    """Translations into a language with a script of its own (Japanese, Russian, ...) that hold no letter of it:
    an answer in English for the Japanese column. Short Latin words (`HP`, `OK`, `Steam`) are kept in Latin by
    many games, so only MIN_FOREIGN_LETTERS or more letters count. `text`: the translations of `done` to look
    at (grouped alone: a group of every column of a million cells is a copy of them)."""
    found: list[pd.DataFrame] = []
    for language, group in text.groupby(done["language"], sort=False):
        scripts = sorted(set(language_scripts(str(language))) - {LATIN})
        if not scripts:
            continue
        own = group.str.count(script_pattern(*scripts))
        letters = group.str.count(LETTER)
        hit = (own == 0) & (letters >= MIN_FOREIGN_LETTERS)
        if hit.any():
            names = " or ".join(scripts)
            detail = "not in the target's script: " + letters[hit].astype(str) + f" letters, none {names}"
            found.append(_rows(done.loc[group.index[hit]], "untranslated", detail))
    return pd.concat(found) if found else _rows(done.iloc[:0], "untranslated", "")


def _script_leftovers(done: pd.DataFrame, text: pd.Series) -> pd.DataFrame:
    """Translations still holding letters of a source script that the target language does not use (`text`: the
    translations of `done` to look at)."""
    found: list[pd.DataFrame] = []
    for (source_language, language), group in text.groupby([done["source_language"], done["language"]], sort=False):
        foreign = set(language_scripts(str(source_language))) - set(language_scripts(str(language))) - {LATIN}
        for script in sorted(foreign):
            count = group.str.count(script_pattern(script))
            hit = done.loc[count.index[count > 0]]
            if len(hit):
                letters = hit["text"].str.count(LETTER)
                detail = count[count > 0].astype(str) + f" {script} characters left (of " + letters.astype(str) + ")"
                found.append(_rows(hit, "untranslated", "still in the source script: " + detail))
    return pd.concat(found) if found else _rows(done.iloc[:0], "untranslated", "")


def _words_lost(done: pd.DataFrame) -> pd.Series:
    """True where the source has letters outside its placeholders and the translation has none."""

    def has_words(text: str) -> bool:
        return _LETTER_RE.search(PLACEHOLDER_RE.sub("", text)) is not None

    pairs = zip(done["source"].tolist(), done["text"].tolist(), strict=True)
    return pd.Series([has_words(s) and not has_words(t) for s, t in pairs], index=done.index, dtype=bool)


def _glossary_misses(done: pd.DataFrame, glossary: Glossary) -> pd.DataFrame:
    found: list[pd.DataFrame] = []
    lowered = done["text"].str.lower()
    for language in done["language"].unique():
        in_language = done["language"] == language
        for term in glossary.terms(language):
            missed = in_language & done["source"].str.contains(term.source, regex=False)
            missed &= ~lowered.str.contains(term.target.lower(), regex=False)
            if missed.any():
                found.append(_rows(done[missed], "glossary", f"source has {term.source!r}: use {term.target!r}"))
    return pd.concat(found) if found else _rows(done.iloc[:0], "glossary", "")


def _edges(text: str) -> tuple[str, str]:
    """Leading and trailing whitespace of `text`."""
    stripped = text.strip()
    if not stripped:
        return text, ""
    head = text[: len(text) - len(text.lstrip())]
    return head, text[len(head) + len(stripped) :]


def _whitespace_changes(done: pd.DataFrame) -> pd.DataFrame:
    source, text = done["source"], done["text"]
    changed = pd.Series(
        [_edges(before) != _edges(after) for before, after in zip(source.tolist(), text.tolist(), strict=True)],
        index=done.index,
        dtype=bool,
    )
    details = []
    for before, after in zip(source[changed], text[changed], strict=True):
        pairs = zip(("leading", "trailing"), _edges(before), _edges(after), strict=True)
        details.append("; ".join(f"{edge} whitespace {a!r} became {b!r}" for edge, a, b in pairs if a != b))
    return _rows(done[changed], "whitespace", pd.Series(details, index=done.index[changed], dtype=object))


def _line_break_changes(done: pd.DataFrame) -> pd.DataFrame:
    found = []
    for kind, pattern in (("line breaks", "\n"), ("literal \\n", r"\\n")):
        expected, actual = done["source"].str.count(pattern), done["text"].str.count(pattern)
        differs = expected != actual
        counts = expected[differs].astype(str) + " in the source, " + actual[differs].astype(str)
        found.append(_rows(done[differs], "line_breaks", f"{kind}: " + counts + " in the translation"))
    return pd.concat(found)


def _control_characters(done: pd.DataFrame) -> pd.DataFrame:
    """Control characters the export removes, and U+FFFD where a reply held a character nothing can store."""
    hit = done[done["text"].str.contains(ILLEGAL_CHARACTERS_RE) | done["text"].str.contains(REPLACEMENT, regex=False)]
    details = [
        "; ".join(filter(None, (
            "removed " + ", ".join(sorted({f"U+{ord(c):04X}" for c in ILLEGAL_CHARACTERS_RE.findall(text)}))
            if ILLEGAL_CHARACTERS_RE.search(text) else "",
            "U+FFFD in place of a character the reply held that no cell can store" if REPLACEMENT in text else "",
        )))
        for text in hit["text"]
    ]  # fmt: skip
    return _rows(hit, "control_characters", pd.Series(details, index=hit.index, dtype=object))


def findings(
    outcomes: pd.DataFrame,
    not_written: Mapping[tuple[str, int], str],
    *,
    max_length_defaults: Mapping[str, int] | None = None,
    glossary: Glossary | None = None,
) -> pd.DataFrame:
    """QA findings, a row each (REPORT_COLUMNS), ordered by cell, then rule. Every rule judges a cell alone, so the
    cells are judged QA_CHUNK at a time: each rule's columns of work (a stripped text, a count, a flag per cell) are
    made for a chunk, never for the million cells of a large workbook at once."""
    if len(outcomes) > QA_CHUNK:
        chunks = (outcomes.iloc[start : start + QA_CHUNK] for start in range(0, len(outcomes), QA_CHUNK))
        found = [findings(c, not_written, max_length_defaults=max_length_defaults, glossary=glossary) for c in chunks]
        return pd.concat(found, ignore_index=True)  # each chunk's in cell order, and the chunks in theirs
    failed, done = outcomes[outcomes["status"] != "translated"], translated_cells(outcomes)
    source, text = done["source"], done["text"]
    parts = [_rows(failed.drop(columns="text"), "translation", failed["error"], status="failed")]

    reasons = pd.Series([not_written.get(k) for k in row_values(done, "sheet", "cell")], index=done.index)
    skipped = reasons.notna()
    parts.append(_rows(done[skipped], "export", reasons[skipped], status="not written"))

    pairs = zip(source.tolist(), text.tolist(), strict=True)  # lists: iterating a string Series is slow
    problems = pd.Series([placeholder_problems(s, t) for s, t in pairs], index=done.index)
    parts.append(_rows(done[problems.notna()], "placeholders", problems[problems.notna()]))

    defaults = pd.Series(done["sheet"].map(dict(max_length_defaults or {})), dtype="Float64")
    limit = done["max_length"].astype("Float64").fillna(defaults)
    length = text.str.len()
    over = (length > limit).fillna(False).astype(bool)
    detail = length[over].astype(str) + " characters, max " + limit[over].astype("Int64").astype(str)
    parts.append(_rows(done[over], "max_length", detail))

    if glossary is not None:
        parts.append(_glossary_misses(done, glossary))

    same = (text.str.strip() == source.str.strip()) & source.str.contains(LETTER)
    parts.append(_rows(done[same], "untranslated", "translation equals the source"))
    rest = text[~same]
    parts.append(_script_leftovers(done, rest))
    parts.append(_script_missing(done, rest))
    parts.append(_rows(done[_words_lost(done)], "untranslated", "no words left besides placeholders"))
    parts.append(_whitespace_changes(done))
    parts.append(_line_break_changes(done))

    # the first characters of the few translations starting like a formula only: a string per cell otherwise
    first = text[text.str.startswith(FORMULA_STARTS, na=False)].str[:1]
    first = first[source[first.index].str[:1] != first]
    parts.append(_rows(done.loc[first.index], "formula_like", "starts with " + first + ": written as text"))
    parts.append(_control_characters(done))

    result = pd.concat([part for part in parts if len(part)] or parts[:1])
    order = result["rule"].map({rule: i for i, rule in enumerate(RULES)})
    result = result.assign(_cell=result.index, _rule=order).sort_values(["_cell", "_rule"], kind="stable")
    return result[REPORT_COLUMNS].reset_index(drop=True)


def summarize(outcomes: pd.DataFrame, issues: pd.DataFrame) -> pd.DataFrame:
    """Per sheet and language: cells to fill, filled, failed, not written, coverage, findings by rule."""
    keys = ["sheet", "language"]
    export = issues.loc[issues["rule"] == "export"]
    codes = [code_of(ref) for ref in export["cell"].tolist()]
    unwritten = set(zip(export["sheet"].tolist(), codes, strict=True))
    # counted QA_CHUNK cells at a time, then summed: grouping a million cells at once made group codes, a hash
    # table and flags of every cell (110 MiB above the outcomes the export holds)
    starts = range(0, len(outcomes), QA_CHUNK) if len(outcomes) else [0]
    counts = [_cell_counts(outcomes.iloc[start : start + QA_CHUNK], codes, unwritten) for start in starts]
    table = pd.concat(counts).groupby(keys, sort=False).sum()
    table["filled"] = table["to_fill"] - table["failed"] - table["not_written"]
    table["coverage"] = (table["filled"] / table["to_fill"]).round(4)
    counts = issues.groupby([*keys, "rule"]).size().unstack("rule") if len(issues) else pd.DataFrame(index=table.index)
    table = table.join(counts.reindex(columns=list(RULES)), how="left").fillna(0)
    table = table.reset_index()
    for column in ("to_fill", "filled", "failed", "not_written", *RULES):
        table[column] = table[column].astype("int64")
    return table[SUMMARY_COLUMNS]


def _cell_counts(outcomes: pd.DataFrame, codes: list[int], unwritten: set[tuple[str, int]]) -> pd.DataFrame:
    """Per sheet and language of `outcomes`: cells to fill, failed and not written (`unwritten`: (sheet, cell code)
    of the cells not written, `codes` their codes)."""
    # the cells whose code is among the few unwritten ones, then their pairs: no index of every pair
    not_written = outcomes["cell"].isin(codes)
    if not_written.any():
        candidates = outcomes[not_written]
        not_written[not_written] = [pair in unwritten for pair in row_values(candidates, "sheet", "cell")]
    cells = pd.DataFrame({
        "sheet": outcomes["sheet"], "language": outcomes["language"], "cell": outcomes["cell"],
        "failed": outcomes["status"] != "translated", "not_written": not_written,
    })  # fmt: skip
    return cells.groupby(["sheet", "language"], sort=False).agg(
        to_fill=("cell", "size"), failed=("failed", "sum"), not_written=("not_written", "sum")
    )


# what no cell can hold: the control characters Excel rejects, lone surrogates, U+FFFE, U+FFFF
_UNWRITABLE = re.compile(f"{ILLEGAL_CHARACTERS_RE.pattern}|[\ud800-\udfff\ufffe\uffff]")
_DECODED_BY_EXCEL = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")  # each `_` that starts an `_xHHHH_` Excel would decode


def _shown(match: re.Match[str]) -> str:
    """A character as its Python escape: `\\x07`, `\\ud800`."""
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _cell_text(value: object) -> object:
    """Text made safe for a report cell: what no cell can hold shown as an escape (`\\x07`, `\\ud800`), cut to
    what a cell holds, and `_xHHHH_` escaped (`_x005F_xHHHH_`) so Excel shows it as written; `read_report`
    undoes that last step."""
    if not isinstance(value, str):
        return value
    text = _UNWRITABLE.sub(_shown, value)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "\u2026"
    return _DECODED_BY_EXCEL.sub("_x005F_", text)


def _for_excel(frame: pd.DataFrame) -> pd.DataFrame:
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(_cell_text)
    return safe


def _sheet_rows(sheet: WriteOnlyWorksheet, frame: pd.DataFrame) -> Iterator[list[object]]:
    """The frame's rows for a write-only sheet. Text that Excel would take for a formula is written as a text
    cell, and missing values as empty cells."""
    for row in frame.itertuples(index=False, name=None):
        values: list[object] = []
        for value in row:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                values.append(None)
            elif isinstance(value, str) and value.startswith("="):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                values.append(cell)
            else:
                values.append(value)
        yield values


def skipped_table(
    read_ledger: pd.DataFrame, outcomes: pd.DataFrame, not_written: Mapping[tuple[str, int], str]
) -> pd.DataFrame:
    """The `skipped` sheet: what reading left out (its ledger), then the cells translated but not written
    (too long for a cell, say) and the cells whose translation failed after retries, grouped by reason."""
    extra: list[SkipEntry] = []
    failed = outcomes[outcomes["status"] != "translated"]
    for (sheet, error), group in failed.groupby(["sheet", "error"], sort=True):
        extra.append(SkipEntry(str(sheet), FAILED, f"translation failed: {error}",
                               "the rerun schedule or `translation-pipeline retry-failed` tries again",
                               [cell_position(c) for c in group["cell"].tolist()]))  # fmt: skip
    by_reason: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for (sheet, cell), reason in not_written.items():
        by_reason.setdefault((sheet, reason), []).append(cell_position(cell))
    for (sheet, reason), cells in sorted(by_reason.items()):
        code = TOO_LONG if "longer than" in reason else NOT_WRITTEN
        extra.append(SkipEntry(sheet, code, f"translated, not written: {reason}", "", cells))
    return pd.concat([read_ledger, ledger_table(extra)], ignore_index=True)


def write_report(
    path: Path,
    issues: pd.DataFrame,
    summary: pd.DataFrame,
    skipped: pd.DataFrame | None = None,
    layout: pd.DataFrame | None = None,
    versions: VersionReport | None = None,
) -> None:
    """An .xlsx a reviewer can filter: `summary` (per sheet and language), `findings` (one row per problem,
    cells that failed included), `skipped` (every cell left untranslated: sheet, range, count, reason, how
    to include it) and `layout` (each sheet's header rows and data range, each column's role and language
    and how that was decided: header, content or layout); with `versions`, the sheets of VERSION_SHEETS.

    No sheet lists every cell: that is the translated workbook itself, and at 100,000 rows such a sheet cost
    more than the workbook's own save. Every text is stored as text: a translation such as `=HYPERLINK(...)` is
    never a formula in the report. Any text can be written (see `_cell_text`). Written in openpyxl's
    write-only mode.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook(write_only=True)
    skipped = ledger_table([]) if skipped is None else skipped
    sheets = [("summary", summary), ("findings", issues), ("skipped", skipped)]
    if layout is not None and len(layout.columns):
        sheets.append(("layout", layout))
    if versions is not None:
        figures = pd.DataFrame({"figure": list(versions.summary), "value": [str(v) for v in versions.summary.values()]})
        sheets += [("versions", figures), ("retranslated", versions.retranslated),
                   ("needs_review", versions.needs_review), ("conflicts", versions.conflicts)]  # fmt: skip
    for name, frame in sheets:
        safe = _for_excel(frame)
        sheet = workbook.create_sheet(name)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(safe.columns), 1))}{len(safe) + 1}"
        sheet.append(list(safe.columns))
        for values in _sheet_rows(sheet, safe):
            sheet.append(values)
    workbook.save(path)


def read_report(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The (findings, summary) sheets of a report written by `write_report`, `_xHHHH_` decoded as Excel does."""
    sheets = pd.read_excel(
        path, sheet_name=["findings", "summary"], dtype=dict.fromkeys(REPORT_COLUMNS, str), engine="openpyxl"
    )
    return _decoded(sheets["findings"]), _decoded(sheets["summary"])


def read_version_sheets(path: Path) -> dict[str, pd.DataFrame]:
    """The VERSION_SHEETS of a report written by `write_report` (text as text, `_xHHHH_` decoded)."""
    sheets = pd.read_excel(path, sheet_name=list(VERSION_SHEETS), dtype=str, engine="openpyxl", keep_default_na=False)
    return {name: _decoded(frame) for name, frame in sheets.items()}


def _decoded(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with `_xHHHH_` in its text decoded, as Excel reads cell text (openpyxl leaves it as it is)."""
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].map(lambda value: unescape(value) if isinstance(value, str) else value)
    return frame
