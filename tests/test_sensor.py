"""workbook_drop_sensor evaluated tick by tick against a test instance."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import dagster as dg
import pytest
from dagster._core.definitions.instigation_logger import get_instigation_log_records

from tests.test_hostile import HOSTILE, make_hostile
from tests.workbook_factory import add_parts, build_table
from translation_pipeline.localization.inbox import archive
from translation_pipeline.localization.inbox.keys import fallback_key, workbook_key
from translation_pipeline.localization.read.workbook import WorkbookError, check_headers, read_workbook
from translation_pipeline.partitions import workbooks
from translation_pipeline.resources.files import DataDirResource
from translation_pipeline.resources.llm import TranslationResource
from translation_pipeline.sensors import drop_folder
from translation_pipeline.sensors.drop_folder import workbook_drop_sensor


@dg.asset(partitions_def=workbooks)
def workbook_stub() -> None:
    """Stands in for the real assets: the sensor only needs a job over the `workbooks` partitions."""


XLSX_PARTS = {
    "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>',
    "xl/workbook.xml": '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Dialog" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/></Relationships>',
}


def _sheet_row(number: int, values: tuple[str, ...]) -> str:
    cells = (
        f'<c r="{column}{number}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'
        for column, text in zip("ABC", values, strict=False)
    )
    return f'<row r="{number}">{"".join(cells)}</row>'


def package(data: bytes) -> bytes:
    """A minimal real .xlsx (header Key, 中文, English; one row whose source is `data`) that passes the
    sensor's checks; equal data, equal bytes (fixed zip timestamps, no document properties)."""
    rows = _sheet_row(1, ("Key", "中文", "English")) + _sheet_row(2, ("k1", data.decode()))
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{rows}</sheetData></worksheet>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name, content in {**XLSX_PARTS, "xl/worksheets/sheet1.xml": sheet}.items():
            package.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), content)
    return buffer.getvalue()


class Harness:
    """One data dir and one instance; `tick` evaluates the sensor like the daemon would."""

    def __init__(self, data_dir: DataDirResource, instance: dg.DagsterInstance) -> None:
        self.data_dir = data_dir
        self.instance = instance
        self.cursor: str | None = None
        self.logs: list[dict[str, Any]] = []
        """The log records of the last tick, as the instance stored them for the UI's tick log."""
        self._records_read: dict[tuple[str, ...], int] = {}
        self.translation = TranslationResource()
        self.defs = dg.Definitions(
            assets=[workbook_stub],
            jobs=[dg.define_asset_job("translate_workbook_job", selection=[workbook_stub])],
            sensors=[workbook_drop_sensor],
            resources={"data_dir": data_dir, "translation": TranslationResource()},
        )

    def drop(self, name: str, data: bytes = b"dialog table") -> Path:
        """A file that looks like a workbook to the sensor's cheap check; `data` sets its content hash."""
        path = self.data_dir.inbox / name
        path.write_bytes(package(data))
        return path

    def tick(self) -> dg.SensorResult:
        """Evaluate once with the stored cursor, then store the asset events and apply the partition requests
        like the daemon.

        With a repository and sensor name the context has a log key, so `context.log` writes to the instance's
        compute log manager as on a daemon tick; the records are read back into `logs` once the context closed.
        """
        with dg.build_sensor_context(
            instance=self.instance,
            instance_ref=self.instance.get_ref(),  # without it `context.log` only writes to the console
            cursor=self.cursor,
            definitions=self.defs,
            resources={"data_dir": self.data_dir, "translation": self.translation},
            repository_name="__repository__",
            sensor_name=workbook_drop_sensor.name,
        ) as context:
            result = workbook_drop_sensor(context)
            log_key = tuple(context.log_key or ())
        assert log_key, "the context has a log key"
        records = get_instigation_log_records(self.instance, log_key)  # ticks within a second share a key
        self.logs = list(records[self._records_read.get(log_key, 0) :])
        self._records_read[log_key] = len(records)
        assert isinstance(result, dg.SensorResult)
        self.cursor = result.cursor
        for event in result.asset_events:
            self.instance.report_runless_asset_event(event)
        for request in result.dynamic_partitions_requests or []:
            self.instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        return result

    def two_ticks(self) -> dg.SensorResult:
        assert self.tick().run_requests == []
        return self.tick()

    def errors(self) -> list[str]:
        """The error lines the last tick logged."""
        return [record["dagster_meta"]["orig_message"] for record in self.logs if record["levelname"] == "ERROR"]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    data_dir = DataDirResource(data_dir=str(tmp_path / "data"))
    data_dir.ensure()
    with dg.instance_for_test() as instance:
        yield Harness(data_dir, instance)


def requested_keys(result: dg.SensorResult) -> list[str]:
    return [request.partition_key for request in result.run_requests or []]


def added_keys(result: dg.SensorResult) -> list[str]:
    return [key for request in result.dynamic_partitions_requests or [] for key in request.partition_keys]


def test_stable_file_is_archived_and_requested_on_the_second_tick(
    harness: Harness, capfd: pytest.CaptureFixture[str]
) -> None:
    path = harness.drop("Dialog v2.xlsx")
    key = workbook_key(path)

    first = harness.tick()
    assert first.run_requests == [] and added_keys(first) == []
    assert not list(harness.data_dir.archive.iterdir())

    second = harness.tick()
    assert [(r.run_key, r.partition_key) for r in second.run_requests] == [(key, key)]
    assert added_keys(second) == [key]
    assert (harness.data_dir.archive / f"{key}.xlsx").read_bytes() == path.read_bytes()
    assert (harness.data_dir.archive / f"{key}.json").is_file()
    assert path.exists(), "the dropped file stays in the inbox"
    assert harness.instance.has_dynamic_partition(workbooks.name, key)
    assert f"Dialog v2.xlsx -> {key}" in capfd.readouterr().err


def test_registered_workbook_is_not_requested_again_even_after_a_restart(harness: Harness) -> None:
    harness.drop("Dialog.xlsx")
    assert len(harness.two_ticks().run_requests) == 1

    assert harness.tick().run_requests == []
    restarted = Harness(harness.data_dir, harness.instance)  # new process: only the stored cursor survives
    restarted.cursor = harness.cursor
    assert restarted.tick().run_requests == []
    assert restarted.cursor == harness.cursor

    harness.cursor = None  # even a lost cursor: the key is already a partition
    assert harness.two_ticks().run_requests == []


def test_unchanged_file_is_hashed_once(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[str] = []
    real_sha256 = archive.file_sha256

    def counting_sha256(path: Path) -> str:
        hashed.append(path.name)
        return real_sha256(path)

    monkeypatch.setattr(archive, "file_sha256", counting_sha256)
    harness.drop("Dialog.xlsx")
    for _ in range(5):
        harness.tick()
    assert len(hashed) == 1  # the archived copy is hashed once, on the tick that registers it


def test_the_tick_log_is_read_back(harness: Harness) -> None:
    """The harness reads what the sensor logged from the instance: a tick that logs nothing reads nothing."""
    harness.drop("Dialog.xlsx")
    harness.two_ticks()
    assert [(r["levelname"], r["dagster_meta"]["orig_message"]) for r in harness.logs] == [
        ("INFO", f"Dialog.xlsx -> {workbook_key(harness.data_dir.inbox / 'Dialog.xlsx')}")
    ]
    harness.tick()
    assert harness.logs == []


def test_same_bytes_under_a_name_with_the_same_slug_is_another_workbook(harness: Harness) -> None:
    """`Dialog!.xlsx` has the slug of `Dialog.xlsx`: with the same bytes it gets the fallback key, its own run and
    output; the key stays its own when it is archived again (cursor lost)."""
    harness.drop("Dialog.xlsx")
    key = requested_keys(harness.two_ticks())[0]

    path = harness.drop("Dialog!.xlsx")
    (other,) = requested_keys(harness.two_ticks())
    assert other == fallback_key(path.name, archive.file_sha256(path)) != key
    assert archive.find_archived(harness.data_dir.archive, other).output_name == "Dialog!.translated.xlsx"
    harness.cursor = None
    assert harness.two_ticks().run_requests == []


def test_names_with_one_slug_in_one_tick_are_one_run_each(harness: Harness) -> None:
    for name in ("Dialog.xlsx", "Dialog!.xlsx", "Dialog.xlsm"):
        harness.drop(name)
    result = harness.two_ticks()
    keys = requested_keys(result)
    assert len(set(keys)) == 3 and sorted(added_keys(result)) == sorted(keys)
    assert keys[0] == "Dialog-" + keys[0][-8:], "the first in name order (Dialog!.xlsx) gets the plain key"
    outputs = {archive.find_archived(harness.data_dir.archive, key).output_name for key in keys}
    assert outputs == {"Dialog!.translated.xlsx", "Dialog.translated.xlsx", "Dialog.translated.xlsm"}


def test_new_bytes_under_the_same_name_get_a_new_key(harness: Harness) -> None:
    harness.drop("Dialog.xlsx", b"version 1")
    first_key = requested_keys(harness.two_ticks())[0]

    harness.drop("Dialog.xlsx", b"version 2, with more rows")
    result = harness.two_ticks()
    assert len(requested_keys(result)) == 1
    new_key = requested_keys(result)[0]
    assert new_key != first_key and new_key.startswith("Dialog-")
    assert added_keys(result) == [new_key]
    assert harness.tick().run_requests == []


def test_file_still_being_written_waits(harness: Harness) -> None:
    """Half a zip is no workbook: it is neither checked nor logged before it holds still."""
    whole = package(b"items " * 100)
    path = harness.data_dir.inbox / "Items.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    harness.tick()
    with path.open("ab") as handle:
        handle.write(whole[len(whole) // 2 :])
    assert harness.tick().run_requests == []
    assert requested_keys(harness.tick()) == [workbook_key(path)]
    assert harness.errors() == []


def test_two_files_at_once_are_two_runs(harness: Harness) -> None:
    harness.drop("Dialog.xlsx", b"dialog")
    harness.drop("Items.xlsm", b"items")
    result = harness.two_ticks()
    assert sorted(requested_keys(result)) == sorted(added_keys(result))
    assert len(result.run_requests) == 2
    assert {r.run_key for r in result.run_requests} == set(requested_keys(result))


@pytest.mark.parametrize("name", ["Dialog table v2.xlsx", "台词 表.xlsx", "🎮 Quests 任务.XLSM"])
def test_any_file_name_gets_an_ascii_key(harness: Harness, name: str) -> None:
    harness.drop(name)
    keys = requested_keys(harness.two_ticks())
    assert len(keys) == 1
    assert re.fullmatch(r"[A-Za-z0-9_-]+-[0-9a-f]{8}", keys[0])
    archived = archive.find_archived(harness.data_dir.archive, keys[0])
    assert archived.original_name == name


def test_lock_hidden_and_other_files_are_never_requested(harness: Harness) -> None:
    for name in ("~$Dialog.xlsx", ".Dialog.xlsx", "Dialog.xls", "readme.txt"):
        harness.drop(name)
    (harness.data_dir.inbox / "sub.xlsx").mkdir()
    for _ in range(3):
        assert harness.tick().run_requests == []
    assert not list(harness.data_dir.archive.iterdir())


def test_vanished_file_is_forgotten(harness: Harness, capfd: pytest.CaptureFixture[str]) -> None:
    path = harness.drop("Gone.xlsx")
    harness.tick()
    path.unlink()
    result = harness.tick()
    assert result.run_requests == []
    assert "Gone.xlsx" not in (result.cursor or "")
    assert "Gone.xlsx: no longer in the inbox" in capfd.readouterr().err


def test_unreadable_file_is_skipped_without_stopping_the_others(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A file that cannot be read is logged once and not tried again until it changes: a chmod (ctime) will do."""
    real_archive_file = drop_folder.archive_file
    tried: list[str] = []

    def archive_file(source: Path, archive_dir: Path, **kwargs: Any) -> archive.ArchivedWorkbook:
        tried.append(source.name)
        if source.name == "Locked.xlsx":
            raise PermissionError(13, "Permission denied", str(source))
        return real_archive_file(source, archive_dir, **kwargs)

    monkeypatch.setattr(drop_folder, "archive_file", archive_file)
    locked = harness.drop("Locked.xlsx", b"locked")
    ok = harness.drop("Dialog.xlsx", b"dialog")
    result = harness.two_ticks()
    assert requested_keys(result) == [workbook_key(ok)]
    assert "Locked.xlsx: cannot be read: [Errno 13] Permission denied" in capfd.readouterr().err

    monkeypatch.setattr(drop_folder, "archive_file", real_archive_file)
    for _ in range(3):
        assert harness.tick().run_requests == [] and harness.logs == [], "not retried while unchanged"
    assert tried == ["Dialog.xlsx", "Locked.xlsx"]
    os.chmod(locked, 0o644)  # what fixing the permissions does: a new ctime
    assert requested_keys(harness.two_ticks()) == [workbook_key(locked)], "retried once it changed"


def test_unreadable_cursor_starts_afresh(harness: Harness) -> None:
    harness.cursor = "not json"
    harness.drop("Dialog.xlsx")
    assert len(harness.two_ticks().run_requests) == 1


# --- files that are no workbook ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_bad_file_is_logged_once_and_gets_no_run(harness: Harness, case: str) -> None:
    bad, problem = make_hostile(harness.data_dir.inbox, case)
    good = harness.drop("Good.xlsx")

    first = harness.tick()
    assert first.run_requests == [] and harness.errors() == [], "checked once it holds still"
    second = harness.tick()
    assert requested_keys(second) == added_keys(second) == [workbook_key(good)], "the good file still runs"

    errors = harness.errors()
    assert len(errors) == 1, harness.logs
    assert errors[0].startswith(f"{bad.name}: {problem}")
    with pytest.raises(WorkbookError) as raised:
        read_workbook(bad)
    assert errors[0] == str(raised.value), "the message the run would fail with"
    assert "\n" not in errors[0]
    (record,) = (r for r in harness.logs if r["levelname"] == "ERROR")
    assert not record["exc_info"] and not record["exc_text"], "no traceback"
    assert {path.stem for path in harness.data_dir.archive.iterdir()} == {workbook_key(good)}, "never archived"

    for _ in range(3):
        later = harness.tick()
        assert later.run_requests == [] and added_keys(later) == []
        assert harness.errors() == [], "not logged again while unchanged"
    assert bad.name in (harness.cursor or "")


def test_bad_file_is_checked_again_whenever_it_changes(harness: Harness) -> None:
    path = harness.data_dir.inbox / "Dialog.xlsx"
    path.write_bytes(b"")
    harness.two_ticks()
    assert harness.errors() == ["Dialog.xlsx: the file is empty (0 bytes)"]

    path.write_text("Key,中文,English\n", encoding="utf-8")  # new size: checked again, once
    assert harness.two_ticks().run_requests == []
    assert harness.errors() == [
        "Dialog.xlsx: not a readable .xlsx workbook: it is a text (CSV?) file renamed to .xlsx; "
        "open it in Excel and save it as .xlsx"
    ]
    assert harness.tick().run_requests == [] and harness.errors() == []

    stat = path.stat()  # same size, new mtime: checked again
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert harness.two_ticks().run_requests == []
    assert len(harness.errors()) == 1

    path.write_bytes(package(b"fixed"))
    assert requested_keys(harness.two_ticks()) == [workbook_key(path)]
    assert harness.errors() == []


def test_bad_file_removed_is_forgotten(harness: Harness) -> None:
    bad, _ = make_hostile(harness.data_dir.inbox, "old_xls")
    harness.two_ticks()
    assert len(harness.errors()) == 1
    bad.unlink()
    harness.tick()
    assert bad.name not in (harness.cursor or "")
    assert [r["dagster_meta"]["orig_message"] for r in harness.logs] == [
        f"{bad.name}: no longer in the inbox, forgotten"
    ]


def test_damage_below_the_rows_the_sensor_reads_is_left_to_the_run(harness: Harness) -> None:
    """The sensor reads only the first rows of each sheet: damage further down gets a run, which fails with the
    message (tests/test_hostile.py)."""
    path = harness.data_dir.inbox / "deep damage.xlsx"
    build_table(path, {"S": [["Key", "中文", "English"], *([f"k{i}", f"文本{i}", None] for i in range(40))]})
    add_parts(path, {}, replace={"xl/worksheets/sheet1.xml": ("</sheetData>", "<row r=")})
    assert check_headers(path) is None
    with pytest.raises(WorkbookError):
        read_workbook(path)
    assert requested_keys(harness.two_ticks()) == [workbook_key(path)]
    assert harness.errors() == []


def test_a_workbook_that_needs_a_layout_is_rejected_without_one_and_accepted_with_it(harness: Harness) -> None:
    """`Key | 中文 | Translation`: the sensor says how to name the column; with the YAML layout it runs."""
    path = harness.data_dir.inbox / "Quests.xlsx"
    build_table(path, {"Q": [["Key", "中文", "Translation"], ["q1", "找到铁匠", None], ["q2", "击败魔王", None]]})
    assert harness.two_ticks().run_requests == []
    (error,) = harness.errors()
    assert error.startswith("Quests.xlsx: no sheet has a source and a target language column")
    assert 'column language unknown: "Translation" names no language: say it in a layout: targets: {C:' in error

    harness.translation = TranslationResource(layouts=json.dumps([{"file": "quests*", "targets": {"C": "en"}}]))
    path.touch()  # a changed file is checked again
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    assert len(harness.two_ticks().run_requests) == 1
