"""Fast row iteration over DataFrame columns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd


def row_values(frame: pd.DataFrame, *columns: str) -> Iterator[tuple[Any, ...]]:
    """The values of `columns`, row by row, as plain tuples. Iterating a Series goes through pandas' element
    access for every value (a string column: about 1 µs each); its `tolist()` is one conversion."""
    return zip(*(frame[column].tolist() for column in columns), strict=True)


ROW_CHUNK = 10_000  # rows whose columns `chunked_row_values` takes as lists at a time


def chunked_row_values(frame: pd.DataFrame, *columns: str) -> Iterator[tuple[Any, ...]]:
    """`row_values`, ROW_CHUNK rows at a time: no list of every row per column (a pointer per row each) held
    while the rows are consumed."""
    return chunked_zip(*(frame[column] for column in columns))


def chunked_zip(*columns: pd.Series) -> Iterator[tuple[Any, ...]]:
    """The values of equally long `columns`, row by row as plain tuples, ROW_CHUNK rows at a time."""
    for start in range(0, len(columns[0]) if columns else 0, ROW_CHUNK):
        yield from zip(*(column.iloc[start : start + ROW_CHUNK].tolist() for column in columns), strict=True)
