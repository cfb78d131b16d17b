"""pandera schemas of the tables that move between the steps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from translation_pipeline.localization.refs import COLUMNS

SOURCE_KINDS = ["text", "blank", "formula", "number", "bool", "date", "error"]


def unique_rows(*columns: str) -> pa.Check:
    """No two rows with the same values in `columns`. pandera's own `unique=` takes a hash table of every column
    (1,600,000 tasks: 148 MiB over the table, 2,000,000 cells: 158 MiB); this hashes each row to 64 bits, sorts
    the hashes (about 50 MiB at 2,000,000 rows) and compares values only among rows whose hashes are equal."""

    def check(frame: pd.DataFrame) -> pd.Series:
        hashes = np.zeros(len(frame), dtype=np.uint64)
        for column in columns:  # Python's own hash: a string keeps it once made (pandas' hash_array: 2.6 s, 116 MiB)
            series = frame[column]
            if series.dtype == np.int64:  # a number is its own hash: no int object per row (2 million: 80 MiB)
                values = series.to_numpy()
            else:
                values = np.fromiter(map(hash, series.to_numpy(dtype=object)), dtype=np.int64, count=len(frame))
            hashes = hashes * np.uint64(1_000_003) ^ values.view(np.uint64)
        unique = np.ones(len(frame), dtype=bool)
        ranked = np.sort(hashes)
        if not (ranked[1:] == ranked[:-1]).any():
            return pd.Series(unique, index=frame.index)
        del ranked
        order = np.argsort(hashes, kind="stable")
        equal = np.flatnonzero(hashes[order][1:] == hashes[order][:-1])
        candidates = np.unique(np.concatenate([order[equal], order[equal + 1]]))
        repeated = frame.iloc[candidates][list(columns)].duplicated(keep=False).to_numpy()
        unique[candidates[repeated]] = False
        return pd.Series(unique, index=frame.index)

    return pa.Check(check, error=f"no two rows share {', '.join(columns)}", statistics={"columns": list(columns)})


CellSchema = pa.DataFrameSchema(
    {
        "sheet": pa.Column(str),
        "row": pa.Column("int64", pa.Check.ge(1)),
        "key": pa.Column(str),
        "source_language": pa.Column(str),
        "source_text": pa.Column(str, nullable=True),
        "source_kind": pa.Column(str, pa.Check.isin(SOURCE_KINDS)),
        "target_language": pa.Column(str),
        "target_cell": pa.Column("int64", pa.Check.ge(COLUMNS)),  # its code (refs.py): row 1 and below
        "target_filled": pa.Column(bool),
        "speaker": pa.Column(str),
        "note": pa.Column(str),
        "max_length": pa.Column("Int64", pa.Check.gt(0), nullable=True),
        # the target's current text (None: empty, or a number or formula); read since versions, so optional
        "target_text": pa.Column(str, nullable=True, required=False),
    },
    checks=[
        unique_rows("sheet", "target_cell"),
        pa.Check(
            lambda df: df["source_text"].notna() == (df["source_kind"] == "text"),
            error="source_text is set exactly for text sources",
        ),
        pa.Check(
            lambda df: ~df["target_text"].notna() | df["target_filled"] if "target_text" in df else True,
            error="target_text is set only for filled targets",
        ),
    ],
    strict=True,
    name="cells",
)

TaskSchema = pa.DataFrameSchema(
    {
        "task_id": pa.Column("int64", unique=True),
        "batch_id": pa.Column(str),
        "source_language": pa.Column(str),
        "target_language": pa.Column(str),
        "source_text": pa.Column(str, pa.Check.str_length(min_value=1)),
        # absent from the split's tasks, whose prompt contexts are made as `translations` loads them (plan/tasks.py)
        "context": pa.Column(str, required=False),
        "max_length": pa.Column("Int64", pa.Check.gt(0), nullable=True),
        "cell_count": pa.Column("int64", pa.Check.ge(1)),
    },
    checks=unique_rows("source_language", "target_language", "source_text"),
    strict=True,
    name="tasks",
)

AssignmentSchema = pa.DataFrameSchema(
    {
        "sheet": pa.Column(str),
        "target_cell": pa.Column("int64"),  # its code (refs.py)
        "key": pa.Column(str),
        "task_id": pa.Column("int64"),
        # the row's own max length (a task has the smallest of its rows'); absent in plans made before
        "max_length": pa.Column("Int64", pa.Check.gt(0), nullable=True, required=False),
    },
    checks=unique_rows("sheet", "target_cell"),
    strict=True,
    name="assignments",
)

TranslationSchema = pa.DataFrameSchema(
    {
        "task_id": pa.Column("int64", unique=True),
        "status": pa.Column(str, pa.Check.isin(["translated", "failed"])),
        "text": pa.Column(str, nullable=True),
        "error": pa.Column(str),
        "attempts": pa.Column("int64", pa.Check.ge(0)),
        "origin": pa.Column(str),
    },
    checks=pa.Check(
        lambda df: df["text"].notna() == (df["status"] == "translated"),
        error="text set exactly when translated",
    ),
    strict=True,
    name="translations",
)


class TableError(ValueError):
    """A table between the steps breaks its schema: a bug of the project, said in one line."""


def validated(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` itself, checked against `schema`; TableError with one line (no DataFrame dump) when it fails.

    Checked in place: no schema here coerces, and pandera would otherwise check a copy (the cell table of
    1,000,000 rows: two million rows of pointers held twice while the step's output is stored)."""
    try:
        return schema.validate(frame, inplace=True)
    except pa.errors.SchemaError as error:
        raise TableError(describe(error)) from None


def describe(error: pa.errors.SchemaError) -> str:
    """One line for a schema failure: which table, which rule, a few of the offending values."""
    name = getattr(error.schema, "name", None) or "a"
    where = f"column {name!r}" if isinstance(error.schema, pa.Column) else f"{name} table"
    rule = getattr(error.check, "error", None) or getattr(error.check, "name", None) or str(error.check or "")
    if not rule and error.reason_code is not None:
        rule = error.reason_code.value
    rule = rule.replace("_", " ") if rule.isidentifier() else rule
    cases = error.failure_cases
    values = []
    if isinstance(cases, pd.DataFrame) and "failure_case" in cases:
        named = (getattr(error.check, "statistics", None) or {}).get("columns")
        if named and "column" in cases:  # a check of some columns: their values, not the whole failing rows'
            cases = cases[cases["column"].isin(named)]
        values = [str(value)[:40] for value in cases["failure_case"].drop_duplicates().head(3)]
    found = f"; e.g. {', '.join(values)}" if values else ""
    return (
        f"internal check failed on the {where} ({rule}{found}); this is a bug of translation_pipeline, "
        "not of the workbook: please report it with the file"
    )
