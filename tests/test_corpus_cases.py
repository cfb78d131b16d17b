"""Checks of the workbook corpus itself (tests/corpus), independent of the project."""

from __future__ import annotations

import re
import zipfile

import openpyxl
import pytest

from tests.corpus.cases import CASES, REASONS, Case

_CELL = re.compile(r"^[A-Z]{1,3}[1-9][0-9]*$")


def test_at_least_32_cases_with_unique_names():
    names = [c.name for c in CASES]
    assert len(names) >= 32
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z0-9_]+", n) for n in names)


def test_reason_codes_are_known():
    for case in CASES:
        assert case.reasons <= REASONS, case.name


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    return root


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_builds_and_fills_are_empty_cells(case: Case, built):
    path = built / case.filename
    case.build(path)
    assert path.is_file()
    assert zipfile.is_zipfile(path)
    wb = openpyxl.load_workbook(path)
    for sheet, cell in case.fills:
        assert _CELL.match(cell), (case.name, cell)
        assert sheet in wb.sheetnames, (case.name, sheet)
        ws = wb[sheet]
        assert ws.sheet_state == "visible", (case.name, sheet)
        assert ws[cell].value is None, (case.name, sheet, cell, ws[cell].value)
    if case.layout is not None:
        assert isinstance(case.layout, dict)
    assert isinstance(case.note, str) and case.note
    if case.suffix == ".xlsm":
        with zipfile.ZipFile(path) as z:
            assert b"macroEnabled" in z.read("[Content_Types].xml")


def test_every_case_but_layoutless_ones_has_fills():
    empty = {c.name for c in CASES if not c.fills}
    assert empty == {"translation_column_without_layout"}
