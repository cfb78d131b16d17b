"""Fast row iteration over DataFrame columns, and a code per row of some columns' values."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
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


def row_codes(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray | None:
    """A number per row, the same for rows with equal values in `columns`, made of each column's codes: no hash
    table of every row's values (2 million cells: 100 MiB where grouping took 150 and kept 50 more). None when a
    column has a missing value."""
    codes = np.zeros(len(frame), dtype=np.int64)
    for column in columns:
        column_codes, uniques = pd.factorize(frame[column])
        if (column_codes < 0).any():
            return None
        codes = codes * len(uniques) + column_codes  # below 2**63: sheets or languages, then texts or keys
    return codes
