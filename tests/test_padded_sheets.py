"""White-space padding inside the limits reads the same as no padding, and the reader never holds it whole."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.hostile_packages import MIB, _padded_sheet, base
from translation_pipeline.localization.read import grid
from translation_pipeline.localization.read.grid import WHITESPACE_KEPT, _Squeezed
from translation_pipeline.localization.read.limits import PackageLimits
from translation_pipeline.localization.read.workbook import read_workbook

NO_RATIO_LIMIT = PackageLimits(ratio=1_000_000)


def squeezed(data: bytes, chunk: int) -> bytes:
    stream = _Squeezed(io.BytesIO(data))
    parts = []
    while part := stream.read(chunk):
        parts.append(part)
    return b"".join(parts)


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_only_runs_longer_than_any_cell_text_are_cut(chunk: int) -> None:
    keep = b"<t xml:space='preserve'>a   b\n\tc</t>" + b" " * WHITESPACE_KEPT + b"<x/>"
    padded = b"<r>" + b" \n" * 100_000 + keep + b"\t" * 70_000 + b"</r>"
    out = squeezed(padded, chunk)
    assert out == b"<r>" + b" \n" * (WHITESPACE_KEPT // 2) + keep + b"\t" * WHITESPACE_KEPT + b"</r>"


def test_a_padded_sheet_reads_the_same_cells_as_the_plain_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain, padded = tmp_path / "plain.xlsx", tmp_path / "padded.xlsx"
    base(plain)
    _padded_sheet(20 * MIB)(padded)
    used: list[str] = []
    monkeypatch.setattr(grid.Package, "_calamine_grid", lambda self, sheet: used.append(sheet.name))
    expected = read_workbook(plain).cells
    got = read_workbook(padded, limits=NO_RATIO_LIMIT).cells
    assert got.equals(expected) and len(got) == 3
    assert used == []  # a part compressed 1,000:1 is never handed to calamine, which would hold it whole
