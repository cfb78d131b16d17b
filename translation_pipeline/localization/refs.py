"""A target cell as one number: its row times COLUMNS plus its column's index (A is 0).

The tables of a workbook's cells (read, classified, assigned, and their outcomes) hold a target cell as this code,
not as an A1 string: 1,000,000 rows of two targets make 2 million cells, and a string of `D123456` per cell is
122 MiB in every step that holds them. Codes sort as the cells do on a sheet, row by row, left to right. The A1
form is made where a person reads it (the QA report, the version records) or the export patches the sheet.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from openpyxl.utils.cell import coordinate_to_tuple, get_column_letter

COLUMNS = 16_384  # Excel's columns, A to XFD


def cell_code(row: int, column: int) -> int:
    """The code of the cell at `row`, `column` (1-based, as openpyxl counts)."""
    return row * COLUMNS + column - 1


def cell_codes(rows: np.ndarray, column: int) -> np.ndarray:
    """The codes of the cells of one `column` (1-based) at `rows`."""
    return np.asarray(rows, dtype=np.int64) * COLUMNS + (column - 1)


def cell_position(code: int) -> tuple[int, int]:
    """(row, column) of a cell code, 1-based as openpyxl counts."""
    row, index = divmod(int(code), COLUMNS)
    return row, index + 1


def a1(row: int, column: int) -> str:
    """The A1 reference of a cell's row and column, 1-based (`D7`)."""
    return f"{get_column_letter(column)}{row}"


def cell_ref(code: int) -> str:
    """The A1 reference of a cell code (`D7`)."""
    return a1(*cell_position(code))


def cell_refs(codes: Iterable[int]) -> list[str]:
    """The A1 references of cell codes."""
    return list(map(cell_ref, codes))


def code_of(ref: str) -> int:
    """The code of an A1 reference (`D7`)."""
    return cell_code(*coordinate_to_tuple(ref))
