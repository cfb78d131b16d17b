"""A table that breaks its schema is said in one line: the table or column, the rule, a few values."""

from __future__ import annotations

import pandas as pd
import pytest

from translation_pipeline.localization.refs import code_of
from translation_pipeline.localization.schemas import CellSchema, TableError, unique_rows, validated


def cells(target_cells: list[str], texts: list[str | None]) -> pd.DataFrame:
    n = len(target_cells)
    return pd.DataFrame({
        "sheet": ["UI"] * n, "row": list(range(2, n + 2)), "key": [f"k{i}" for i in range(n)],
        "source_language": "zh-CN", "source_text": texts, "source_kind": "text", "target_language": "en",
        "target_cell": [code_of(c) if c[0].isalpha() else int(c) for c in target_cells],  # "5": not a cell's code
        "target_filled": False, "speaker": "", "note": "",
        "max_length": pd.array([None] * n, dtype="Int64"),
    })  # fmt: skip


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (cells(["C2", "C2"], ["确定", "取消"]), "the cells table (no two rows share sheet, target_cell; e.g. UI, "
                                                "32770"),
        (cells(["C2", "5"], ["确定", "取消"]), "the column 'target_cell' (greater_than_or_equal_to(16384)"),
        (cells(["C2", "C3"], ["确定", None]), "the cells table (source_text is set exactly for text sources; e.g."),
    ],
)
def test_a_broken_table_is_one_line_naming_the_rule(frame: pd.DataFrame, expected: str) -> None:
    with pytest.raises(TableError) as raised:
        validated(CellSchema, frame)
    message = str(raised.value)
    assert message.startswith(f"internal check failed on {expected}"), message
    assert "\n" not in message and "please report it with the file" in message


def test_a_valid_table_passes_unchanged() -> None:
    frame = cells(["C2", "C3"], ["确定", "取消"])
    assert validated(CellSchema, frame).equals(frame)


class Colliding(str):
    """Text whose hash is the same for every value: rows whose hashes are equal are compared by value."""

    def __hash__(self) -> int:
        return 1


@pytest.mark.parametrize(
    ("sheets", "targets", "repeated"),
    [
        (["UI", "UI", "Menu"], ["C2", "C3", "C2"], []),
        (["UI", "UI", "UI"], ["C2", "C3", "C2"], [0, 2]),
        # the same values in other columns are not a repeat
        (["C2", "UI"], ["UI", "C2"], []),
        ([Colliding("UI")] * 3, [Colliding("C2"), Colliding("C3"), Colliding("C4")], []),
        ([Colliding("UI")] * 3, [Colliding("C2"), Colliding("C3"), Colliding("C2")], [0, 2]),
    ],
)
def test_unique_rows_flags_exactly_the_rows_that_repeat(sheets: list, targets: list, repeated: list[int]) -> None:
    frame = pd.DataFrame({"sheet": pd.Series(sheets, dtype=object), "target_cell": pd.Series(targets, dtype=object)})
    check = unique_rows("sheet", "target_cell")
    result = check(frame).check_output
    assert result.tolist() == [i not in repeated for i in range(len(frame))]
