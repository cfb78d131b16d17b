"""`CompactPickler`: a table pickled without pickle's entry per row: columns of few objects as codes, columns of
many strings as UTF-8 text and codes.

- A column of few distinct objects (a sheet name, a language, a status: the same string object in every row) is
  pickled as those objects and a byte per row, not as a list of every row's object, which pickle keeps until the
  whole output is written and unpickling until it is read: 1,000,000 rows of two targets, a table of 2 million
  cells, cost 16 MB per such column both ways.
- A column of many distinct strings (cell references, keys, source texts) is pickled as the strings the pickle
  has not stored yet, UTF-8 encoded and compressed 65,536 to a bytes object (`StringPool`), and each row's
  position among the pickle's strings. Pickle itself keeps an entry per string object in its memo while it writes
  (and Python keeps the UTF-8 form of each non-ASCII string it pickles for as long as that string lives), and
  unpickling keeps a list of every row's object. 1,000,000 rows of two targets: the split, which loads the cell
  table and stores the plan, peaked at 1,553 MiB instead of 1,652.

What loads is the same table, its strings shared as they were: a string object in several columns (the cell
reference of the plan's assignments and of its version's cells) is stored once and loads as one object.

`Packed` holds an object as its compact pickle, gzip-compressed, until a step needs it again.
"""

from __future__ import annotations

import gzip
import io
import pickle
import zlib
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

COMPACT_MAX_DISTINCT = 255  # distinct objects of a column pickled as a byte per row
POOL_CHUNK = 65_536  # strings encoded to one bytes object
POOL_ROWS = 262_144  # a column of many strings is pooled this many rows at a time
_UTF8 = ("utf-8", "surrogatepass")  # a lone surrogate stored and loaded as it is
PACK_LEVEL = 1  # gzip level of a Packed object: its pool's strings are compressed already

T = TypeVar("T")


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct objects of a 1-D contiguous object array, told apart by identity as pickle's memo tells them,
    their addresses, and each element's position among them (in order of first appearance)."""
    addresses = np.frombuffer(memoryview(values), dtype=np.intp)  # the elements' addresses, not a copy
    # grown as needed, not sized for every row: a column of two languages costs its codes, not a table of millions
    codes, uniques = pd.factorize(addresses, sort=False, size_hint=1024)
    small = codes.astype(np.uint8) if len(uniques) <= COMPACT_MAX_DISTINCT else codes
    # an element is a first appearance where its code is above every code before it
    first = np.flatnonzero(np.concatenate([[True], small[1:] > np.maximum.accumulate(small)[:-1]]))
    return values[first], uniques, small


class StringPool:
    """The strings of one pickle's many-string columns, each stored once.

    Pickling, it knows the addresses of those stored so far as one sorted run per column (a string in several
    columns is found by a binary search in each run, not by a dict of every string); unpickling, the strings loaded
    so far in the order they were stored (`_pooled_array`)."""

    def __init__(self) -> None:
        self.size = 0
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted addresses, their positions in the pool)
        self.strings = np.empty(0, dtype=object)

    def __reduce__(self) -> tuple[type[StringPool], tuple[()]]:
        return StringPool, ()  # loads empty: its strings come with the columns

    def place(self, addresses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pool positions of distinct strings' addresses, and which of them are new: those are added, in order."""
        positions = np.full(len(addresses), -1, dtype=np.int64)
        for run, where in self.runs:
            found = np.minimum(np.searchsorted(run, addresses), len(run) - 1)
            hit = run[found] == addresses
            positions[hit] = where[found[hit]]
        new = positions < 0
        fresh = addresses[new]
        positions[new] = np.arange(self.size, self.size + len(fresh))
        if len(fresh):
            order = np.argsort(fresh)
            where = (self.size + order).astype(np.int32 if self.size + len(fresh) < 2**31 else np.int64)
            self.runs.append((fresh[order], where))
            self.size += len(fresh)
        return positions, new

    def extend(self, segment: list[tuple[bytes, np.ndarray]] | list[tuple[str, bytes, np.ndarray]]) -> None:
        """Add the strings of a column's segment (`_segment`; its chunks uncompressed, without their codec, in
        outputs stored before it compressed them)."""
        parts = [self.strings]
        for chunk in segment:
            *codec, data, lengths = chunk
            text = (zlib.decompress(data) if codec == ["zlib"] else data).decode(*_UTF8)
            ends = np.cumsum(lengths).tolist()
            chunk = np.empty(len(ends), dtype=object)
            chunk[:] = [text[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]
            parts.append(chunk)
        if len(parts) > 1:
            self.strings = np.concatenate(parts)


def _segment(strings: np.ndarray) -> list[tuple[str, bytes, np.ndarray]]:
    """Strings as ("zlib", UTF-8 of POOL_CHUNK of them joined and compressed, the length of each). Pickle holds every
    object it writes until the whole output is written, and unpickling every object it reads until it has read all:
    compressed, the text is a fraction of the size to hold."""
    chunks = (strings[start : start + POOL_CHUNK].tolist() for start in range(0, len(strings), POOL_CHUNK))
    return [
        ("zlib", zlib.compress("".join(c).encode(*_UTF8), 1), np.fromiter(map(len, c), dtype=np.int32, count=len(c)))
        for c in chunks
    ]


def _plain(value: object) -> bool:
    """A value stored beside a column's strings as itself (a missing value): nothing in it is a column of its own."""
    return value is None or value is pd.NA or type(value) in (float, int, bool)


def _poolable(values: np.ndarray) -> bool:
    """Whether the objects of `values` other than strings are at most COMPACT_MAX_DISTINCT, and plain: a column of
    strings and a few missing values."""
    others = {id(value): value for value in values.tolist() if type(value) is not str}.values()
    return len(others) <= COMPACT_MAX_DISTINCT and all(map(_plain, others))


def _pooled_array(pool: StringPool, segment: list, others: list, positions: np.ndarray) -> np.ndarray:
    """A many-string column (`CompactPickler`): its new strings join the pool, then each row's object by position
    (the pool's strings, then `others`)."""
    pool.extend(segment)
    table = pool.strings
    if others:
        extra = np.empty(len(others), dtype=object)
        extra[:] = others
        table = np.concatenate([table, extra])
    return table[positions]


def _pooled_rows(pool: StringPool, pieces: list[tuple[list, list, np.ndarray]]) -> np.ndarray:
    """A many-string column pooled POOL_ROWS rows at a time (`CompactPickler`): each piece as `_pooled_array`."""
    return np.concatenate([_pooled_array(pool, segment, others, positions) for segment, others, positions in pieces])


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
    distinct objects as those objects and a byte per element, one of strings (and a few missing values) as its
    strings in the pickle's `StringPool` and a position per element; a 2-D one (a block of several columns) row by
    row. Other arrays the way pickle stores them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool = StringPool()

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is not np.ndarray or obj.dtype != object or not obj.size or not obj.flags.c_contiguous:
            return NotImplemented
        if obj.ndim == 2:
            return _object_rows, (list(obj),)
        if obj.ndim != 1:
            return NotImplemented
        head = _distinct(obj[:POOL_ROWS]) if len(obj) > POOL_ROWS else None
        if head is not None and len(head[0]) > COMPACT_MAX_DISTINCT:
            # many distinct strings: pooled a piece at a time, so what finding them takes (a hash table and a few
            # arrays of the piece's size) does not grow with the column: storing the plan's cells at 1,000,000 rows
            # of two targets took 222 MiB over the table whole
            if not _poolable(obj):  # checked first: a piece pooled is in the pool, whatever comes after it
                return NotImplemented
            pieces = [self._pooled(obj[:POOL_ROWS], head)]
            pieces += [self._pooled(obj[start : start + POOL_ROWS]) for start in range(POOL_ROWS, len(obj), POOL_ROWS)]
            return _pooled_rows, (self._pool, pieces)
        objects, addresses, codes = _distinct(obj)
        if len(objects) <= COMPACT_MAX_DISTINCT:
            return _object_array, (list(objects), codes)
        piece = self._pooled(obj, (objects, addresses, codes))
        return NotImplemented if piece is None else (_pooled_array, (self._pool, *piece))

    def _pooled(
        self, values: np.ndarray, distinct: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    ) -> tuple[list, list, np.ndarray] | None:
        """(segment, others, positions) of `values` as `_pooled_array` loads them; None when objects other than
        strings are too many or not plain."""
        objects, addresses, codes = distinct or _distinct(values)
        strings = np.fromiter((type(value) is str for value in objects), dtype=bool, count=len(objects))
        others = objects[~strings].tolist()
        if len(others) > COMPACT_MAX_DISTINCT or not all(map(_plain, others)):
            return None
        positions = np.empty(len(objects), dtype=np.int64)
        positions[strings], new = self._pool.place(addresses[strings])
        segment = _segment(objects[strings][new])
        positions[~strings] = self._pool.size + np.arange(len(others))  # after the pool, as loading has them
        dtype = np.int32 if self._pool.size + len(others) < 2**31 else np.int64
        return segment, others, positions[codes].astype(dtype)


class Packed(Generic[T]):
    """An object held as its compact pickle (`CompactPickler`), gzip-compressed, until it is unpacked; pickled as
    that, so it loads packed too.

    A step keeps aside what only a later phase of it reads: the split and the export, the version's classified
    cells (1,000,000 rows of two targets: 2 million cells, about 300 MiB of objects, held as 22 MB while the
    plan is made, and while the export works out each cell's outcome)."""

    __slots__ = ("_data",)

    def __init__(self, obj: T) -> None:
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=PACK_LEVEL, mtime=0) as file:
            CompactPickler(file, 5).dump(obj)  # compressed as it is written: the plain pickle is never held
        self._data = buffer.getvalue()

    @property
    def size(self) -> int:
        """Bytes held."""
        return len(self._data)

    def unpack(self) -> T:
        """The object, loaded anew on each call."""
        with gzip.GzipFile(fileobj=io.BytesIO(self._data), mode="rb") as file:
            return pickle.load(file)

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return _packed, (self._data,)


def _packed(data: bytes) -> Packed[Any]:
    """A Packed object as pickled (`Packed.__reduce__`)."""
    packed = Packed.__new__(Packed)
    packed._data = data
    return packed
