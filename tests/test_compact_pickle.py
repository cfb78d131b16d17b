"""`CompactPickler`: what it stores loads as the same tables (resources/compact_pickle.py)."""

import io
import pickle

import numpy as np
import pandas as pd

from translation_pipeline.resources.compact_pickle import COMPACT_MAX_DISTINCT, CompactPickler


def _round_trip(obj: object) -> object:
    buffer = io.BytesIO()
    CompactPickler(buffer, pickle.HIGHEST_PROTOCOL).dump(obj)
    return pickle.loads(buffer.getvalue())


def test_tables_load_the_same_with_their_objects_shared() -> None:
    sheet, pair = "Dialog", (1, 2)
    many = [f"k{i}" for i in range(COMPACT_MAX_DISTINCT + 5)]
    block = pd.DataFrame({"sheet": np.array([sheet, None, pair] * len(many), dtype=object),
                          "key": np.array(many * 3, dtype=object), "row": np.arange(3 * len(many))})  # fmt: skip
    strings = pd.DataFrame({"language": pd.array(["en", "ja"] * 3, dtype="str"),
                            "text": pd.array(["a", None, "b", "c", "d", "e"], dtype="str")})  # fmt: skip
    empty = np.array([], dtype=object)
    loaded_block, loaded_strings, loaded_empty = _round_trip((block, strings, empty))
    assert loaded_block.equals(block) and list(loaded_block.dtypes) == list(block.dtypes)
    assert loaded_strings.equals(strings) and list(loaded_strings.dtypes) == list(strings.dtypes)
    assert loaded_empty.dtype == object and loaded_empty.shape == (0,)
    assert loaded_block["sheet"].iloc[2] == pair  # a tuple stays one object, not a row of the array
    assert loaded_block["sheet"].iloc[0] is loaded_block["sheet"].iloc[3]
