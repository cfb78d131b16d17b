"""Fast row iteration over DataFrame columns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd


def row_values(frame: pd.DataFrame, *columns: str) -> Iterator[tuple[Any, ...]]:
    """The values of `columns`, row by row, as plain tuples. Iterating a Series goes through pandas' element
    access for every value (a string column: about 1 µs each); its `tolist()` is one conversion."""
    return zip(*(frame[column].tolist() for column in columns), strict=True)
