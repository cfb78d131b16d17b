"""`CompactPickler`: what it stores loads as the same tables (resources/compact_pickle.py)."""

import io
import pickle

import numpy as np
import pandas as pd
import pytest

from translation_pipeline.resources import compact_pickle
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


@pytest.mark.parametrize("pool_rows", [compact_pickle.POOL_ROWS, 100])  # 100: each column pooled in pieces
def test_many_strings_load_the_same_each_shared_object_still_one(
    monkeypatch: pytest.MonkeyPatch, pool_rows: int
) -> None:
    monkeypatch.setattr(compact_pickle, "POOL_CHUNK", 100)  # several bytes objects per column
    monkeypatch.setattr(compact_pickle, "POOL_ROWS", pool_rows)
    count = COMPACT_MAX_DISTINCT * 3
    refs = np.array([f"D{i}" for i in range(count)], dtype=object)
    texts = [f"文本{i}" if i % 5 else f"lone \ud800 {i} 😀" for i in range(count)]
    texts[7] = ""
    assignments = pd.DataFrame({"target_cell": pd.array(refs, dtype="str"), "task_id": np.arange(count)})
    classified = pd.DataFrame({
        "target_cell": pd.array(refs, dtype="str"),  # the same objects as the assignments'
        "source_text": pd.array(texts, dtype="str"),
        "target_text": np.array([None if i % 3 else t for i, t in enumerate(texts)], dtype=object),
        "mixed": np.array([(i,) if i == 4 else str(i) for i in range(count)], dtype=object),  # pickle's own way
    })  # fmt: skip
    loaded_assignments, loaded_classified = _round_trip((assignments, classified))
    assert loaded_assignments.equals(assignments) and list(loaded_assignments.dtypes) == list(assignments.dtypes)
    assert loaded_classified.equals(classified) and list(loaded_classified.dtypes) == list(classified.dtypes)
    assert loaded_classified["source_text"].tolist() == texts  # lone surrogates and astral characters as they were
    shared = zip(loaded_assignments["target_cell"].array, loaded_classified["target_cell"].array, strict=True)
    assert all(a is b for a, b in shared)
    assert loaded_classified["mixed"].iloc[4] == (4,)


def test_outputs_pickled_by_earlier_releases_load() -> None:
    """Their columns name the loaders where io_manager.py had them."""
    from translation_pipeline.resources import io_manager

    class Earlier(pickle.Pickler):
        def reducer_override(self, obj: object) -> object:
            if isinstance(obj, np.ndarray) and obj.dtype == object:
                return io_manager._object_array, (["en", "ja"], np.array([0, 1, 1], dtype=np.uint8))
            return NotImplemented

    buffer = io.BytesIO()
    Earlier(buffer, 4).dump(np.array(["en", "ja", "ja"], dtype=object))
    assert pickle.loads(buffer.getvalue()).tolist() == ["en", "ja", "ja"]


def test_string_columns_stored_uncompressed_before_still_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def uncompressed(strings: np.ndarray) -> list[tuple[bytes, np.ndarray]]:
        texts = strings.tolist()
        return [("".join(texts).encode("utf-8", "surrogatepass"), np.array([len(t) for t in texts], dtype=np.int32))]

    table = pd.DataFrame({"text": pd.array([f"文本 {i}" for i in range(COMPACT_MAX_DISTINCT * 2)], dtype="str")})
    with monkeypatch.context() as patched:
        patched.setattr(compact_pickle, "_segment", uncompressed)
        buffer = io.BytesIO()
        CompactPickler(buffer, pickle.HIGHEST_PROTOCOL).dump(table)
    assert pickle.loads(buffer.getvalue()).equals(table)
    assert _round_trip(table).equals(table)


def test_a_string_in_several_pieces_of_a_column_loads_as_one_object(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compact_pickle, "POOL_ROWS", 300)
    keys = [f"k{i}" for i in range(COMPACT_MAX_DISTINCT * 2)]
    column = pd.Series(pd.array(keys + keys[::-1] + [None], dtype="str"))  # each key in two pieces, far apart
    loaded = _round_trip(column)
    assert loaded.equals(column)
    half = len(keys)
    assert all(loaded.array[i] is loaded.array[2 * half - 1 - i] for i in range(half))


def test_a_column_not_pooled_after_its_first_piece_leaves_the_pool_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """A column of many strings whose later piece holds objects the pool cannot (tuples) is pickled pickle's own
    way, and a column pooled after it still loads."""
    monkeypatch.setattr(compact_pickle, "POOL_ROWS", 300)
    mixed = np.array([f"m{i}" for i in range(600)] + [(i,) for i in range(COMPACT_MAX_DISTINCT + 1)], dtype=object)
    later = np.array([f"k{i}" for i in range(600)], dtype=object)
    loaded_mixed, loaded_later = _round_trip((mixed, later))
    assert loaded_mixed.tolist() == mixed.tolist() and loaded_later.tolist() == later.tolist()


def test_a_packed_table_loads_packed_and_unpacks_the_same() -> None:
    count = COMPACT_MAX_DISTINCT * 40
    table = pd.DataFrame({
        "sheet": pd.array(["台詞", "UI"] * (count // 2), dtype="str"),
        "target_cell": pd.array([f"D{i}" for i in range(count)], dtype="str"),
        "source_text": pd.array([f"文本{i % 997} lone \ud800" for i in range(count)], dtype="str"),
        "target_text": np.array([None] * count, dtype=object),
        "row": np.arange(count),
    })  # fmt: skip
    packed = compact_pickle.Packed(table)
    plain = len(pickle.dumps(table, pickle.HIGHEST_PROTOCOL))
    assert packed.size < plain / 4  # what a step holds aside
    stored = pickle.loads(pickle.dumps(packed, pickle.HIGHEST_PROTOCOL))
    assert isinstance(stored, compact_pickle.Packed) and stored.size == packed.size  # loads packed
    for unpacked in (packed.unpack(), stored.unpack()):
        assert unpacked.equals(table) and list(unpacked.dtypes) == list(table.dtypes)
    assert packed.unpack() is not packed.unpack()  # anew on each call: the caller owns what it unpacks
