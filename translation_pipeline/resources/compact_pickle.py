"""`CompactPickler`: a table pickled without an entry per row where the row's object is one of few.

A column of few distinct objects (a sheet name, a language, a status: the same string object in every row) is
pickled as those objects and a byte per row, not as a list of every row's object, which pickle keeps until the
whole output is written and unpickling until it is read: 1,000,000 rows of two targets, a table of 2 million
cells, cost 16 MB per such column both ways. What it loads is the same table.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pandas as pd

COMPACT_MAX_DISTINCT = 255  # distinct objects of a column pickled as a byte per row


def _distinct(values: np.ndarray) -> tuple[list[object], np.ndarray] | None:
    """The distinct objects of a 1-D contiguous object array, told apart by identity as pickle's memo tells them,
    and each element's position among them (uint8); None when it has more than COMPACT_MAX_DISTINCT."""
    addresses = np.frombuffer(memoryview(values), dtype=np.intp)  # the elements' addresses, not a copy
    codes, uniques = pd.factorize(addresses, sort=False)  # codes in order of first appearance
    if len(uniques) > COMPACT_MAX_DISTINCT:
        return None
    first = np.unique(codes, return_index=True)[1]  # the first element of each, in the order of their codes
    return list(values[first]), codes.astype(np.uint8)


def _object_array(distinct: list[object], codes: np.ndarray) -> np.ndarray:
    """An object array from its distinct objects and each element's position among them (`CompactPickler`)."""
    objects = np.empty(len(distinct), dtype=object)
    for index, value in enumerate(distinct):  # one by one: a tuple among them stays one object
        objects[index] = value
    return objects[codes]


def _object_rows(rows: list[np.ndarray]) -> np.ndarray:
    """A 2-D object array from its rows (`CompactPickler`)."""
    values = np.empty((len(rows), len(rows[0])), dtype=object)
    for target, row in zip(values, rows, strict=True):
        target[:] = row
    return values


class CompactPickler(pickle.Pickler):
    """A pickler storing a C-contiguous 1-D object array (a table's column) with at most COMPACT_MAX_DISTINCT
    distinct objects as those objects and a byte per element; a 2-D one (a block of several columns) row by row."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is not np.ndarray or obj.dtype != object or not obj.size or not obj.flags.c_contiguous:
            return NotImplemented
        if obj.ndim == 2:
            return _object_rows, (list(obj),)
        distinct = _distinct(obj) if obj.ndim == 1 else None
        return NotImplemented if distinct is None else (_object_array, distinct)
