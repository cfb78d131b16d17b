"""The drop folder holds its ground: names that are not UTF-8, damaged archive entries, failing files, symlinks,
long names, colliding slugs and a thousand files at once never stop the sensor or lose a workbook."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from openpyxl import load_workbook

from tests.conftest import register
from tests.test_sensor import Harness, added_keys, package, requested_keys
from translation_pipeline.definitions import ASSETS, build_resources
from translation_pipeline.localization.inbox import archive
from translation_pipeline.localization.inbox.archive import ArchiveError, archive_file, find_archived, fit_name
from translation_pipeline.localization.inbox.intake import IntakeCursor
from translation_pipeline.localization.inbox.keys import display_name, name_bytes, slugify, workbook_key
from translation_pipeline.resources.files import DataDirResource
from translation_pipeline.resources.llm import TranslationResource
from translation_pipeline.sample import write_sample_workbook
from translation_pipeline.sensors import drop_folder
from translation_pipeline.settings import load_settings

KEY = re.compile(r"[A-Za-z0-9_-]+-[0-9a-f]{8}")
GBK_NAME = os.fsdecode(b"\xd6\xd0\xce\xc4.xlsx")  # 中文.xlsx as a Chinese Windows zip stores it
LONG_ASCII = "D" * 235 + ".xlsx"  # 240 characters
LONG_BYTES = "a" + "字" * 83 + ".xlsx"  # 255 bytes in UTF-8, the most a file name may have


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    data_dir = DataDirResource(data_dir=str(tmp_path / "data"))
    data_dir.ensure()
    with dg.instance_for_test() as instance:
        yield Harness(data_dir, instance)


def messages(harness: Harness, level: str) -> list[str]:
    return [r["dagster_meta"]["orig_message"] for r in harness.logs if r["levelname"] == level]


def leftovers(folder: Path) -> list[str]:
    """Temporary files left in a folder."""
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


# --- names that are not UTF-8 ------------------------------------------------------------------------------


def test_a_name_that_is_not_utf8_is_archived_under_its_gbk_reading_with_its_own_key(harness: Harness) -> None:
    harness.drop(GBK_NAME)
    harness.drop("中文.xlsx")  # the same bytes under the UTF-8 spelling of the same name: another workbook
    harness.drop("\udcff\udcfe.xlsx")  # no reading at all: U+FFFD
    result = harness.two_ticks()
    keys = requested_keys(result)
    assert len(set(keys)) == 3 and all(KEY.fullmatch(key) for key in keys)
    names = []
    for key in keys:
        sidecar = json.loads((harness.data_dir.archive / f"{key}.json").read_bytes().decode("utf-8"))
        assert sidecar["original_name"] == find_archived(harness.data_dir.archive, key).original_name
        names.append(sidecar["original_name"])
    assert sorted(names) == ["中文.xlsx", "中文.xlsx", "\ufffd\ufffd.xlsx"]
    assert "中文.xlsx: the file name b'\\xd6\\xd0\\xce\\xc4.xlsx' is not plain UTF-8 text: shown as above" in messages(
        harness, "WARNING"
    )
    assert harness.cursor is not None
    harness.cursor.encode("utf-8")  # the instance can store it
    assert harness.tick().run_requests == [] and harness.logs == [], "remembered by its name as listed"


def test_a_file_failing_to_archive_leaves_no_partial_entry_and_a_later_workbook_still_runs(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old failure: the sidecar's write raised UnicodeEncodeError and left an empty `<key>.json` that failed
    every later tick. Now the write is atomic and the failure is that file's alone."""
    real_json_text = archive.json_text

    def json_text(data: dict, indent: int | None = None) -> str:
        return "\udcd6" if data["original_name"] == "Bad.xlsx" else real_json_text(data, indent)

    monkeypatch.setattr(archive, "json_text", json_text)
    bad = harness.drop("Bad.xlsx", b"bad")
    good = harness.drop("Good.xlsx", b"good")
    assert requested_keys(harness.two_ticks()) == [workbook_key(good)]
    assert messages(harness, "WARNING") == [
        "Bad.xlsx: UnicodeEncodeError: 'utf-8' codec can't encode character '\\udcd6' in position 0: surrogates not "
        "allowed; not tried again until it changes"
    ]
    assert not (harness.data_dir.archive / f"{workbook_key(bad)}.json").exists()
    assert leftovers(harness.data_dir.archive) == []

    later = harness.drop("Later.xlsx", b"later")
    assert requested_keys(harness.two_ticks()) == [workbook_key(later)]
    assert messages(harness, "WARNING") == [], "the failed file is not retried while unchanged"
    monkeypatch.setattr(archive, "json_text", real_json_text)
    os.utime(bad, ns=(bad.stat().st_atime_ns, bad.stat().st_mtime_ns + 10**9))
    assert requested_keys(harness.two_ticks()) == [workbook_key(bad)]


# --- damaged archive entries -------------------------------------------------------------------------------

DAMAGED = {
    "empty": (b"", "empty"),
    "not_json": (b'{"key": ', "not JSON (Expecting value: line 1 column 9 (char 8))"),
    "not_utf8": (b"\xff\xfe", "not UTF-8 (invalid start byte)"),
    "list": (b"[]", "not a JSON object but list"),
    "missing_fields": (b'{"key": "x"}', "fields ['key'], expected ['archived_at', 'key', 'original_name', 'path', "),
    "wrong_type": (
        b'{"key": "K", "original_name": "a.xlsx", "sha256": "0", "size": "12", "path": "a.xlsx", "archived_at": "t"}',
        "wrong type of size",
    ),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_damaged_sidecar_is_set_aside_reported_once_and_the_file_archived_afresh(harness: Harness, case: str) -> None:
    content, problem = DAMAGED[case]
    path = harness.drop("Dialog.xlsx")
    key = workbook_key(path)
    sidecar = harness.data_dir.archive / f"{key}.json"
    sidecar.write_bytes(content.replace(b'"K"', json.dumps(key).encode()))
    assert requested_keys(harness.two_ticks()) == [key]
    (warning,) = messages(harness, "WARNING")
    assert warning.startswith(f"archive entry {key}.json is damaged ({problem}")
    (aside,) = harness.data_dir.archive.glob(f"{key}.json.damaged-*")
    assert warning.endswith(f"set aside as {aside.name}")
    assert find_archived(harness.data_dir.archive, key).original_name == "Dialog.xlsx"

    harness.cursor = None  # archived again: the fresh sidecar is read, nothing is reported
    assert harness.two_ticks().run_requests == [] and messages(harness, "WARNING") == []
    assert len(list(harness.data_dir.archive.glob(f"{key}.json*"))) == 2


def test_find_archived_reports_a_damaged_sidecar_once(tmp_path: Path) -> None:
    (tmp_path / "Dialog-0123abcd.json").write_bytes(b"")
    with pytest.raises(ArchiveError, match=r"Dialog-0123abcd.json is damaged \(empty\): set aside as "):
        find_archived(tmp_path, "Dialog-0123abcd")
    with pytest.raises(ArchiveError, match="no archived workbook for partition 'Dialog-0123abcd'"):
        find_archived(tmp_path, "Dialog-0123abcd")


def test_an_exception_checking_one_file_is_that_files_state(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    real_check = drop_folder.check_headers
    checked: list[str] = []

    def check_headers(path: Path, *args: object, **kwargs: object) -> str | None:
        checked.append(path.name)
        if path.name == "Odd.xlsx":
            raise RuntimeError("no idea\nwhat happened")
        return real_check(path, *args, **kwargs)

    monkeypatch.setattr(drop_folder, "check_headers", check_headers)
    harness.drop("Odd.xlsx", b"odd")
    good = harness.drop("Good.xlsx", b"good")
    assert requested_keys(harness.two_ticks()) == [workbook_key(good)]
    assert messages(harness, "WARNING") == [
        "Odd.xlsx: RuntimeError: no idea what happened; not tried again until it changes"
    ]
    for _ in range(2):
        assert harness.tick().run_requests == [] and harness.logs == []
    assert checked == ["Good.xlsx", "Odd.xlsx"]


# --- symlinks ----------------------------------------------------------------------------------------------


def test_symlinks_are_followed_inside_the_inbox_only_and_each_refusal_is_logged_once(
    harness: Harness, tmp_path: Path
) -> None:
    inbox = harness.data_dir.inbox
    (inbox / "sub").mkdir()
    inner = harness.drop("sub/Inner.xlsx", b"inner")
    secret = tmp_path / "secret.xlsx"
    secret.write_bytes(package(b"secret"))
    (inbox / "inner link.xlsx").symlink_to(inner)
    (inbox / "secret.xlsx").symlink_to(secret)
    (inbox / "dangling.xlsx").symlink_to(tmp_path / "gone.xlsx")
    (inbox / "loop.xlsx").symlink_to("loop.xlsx")

    first = harness.tick()
    assert first.run_requests == []
    assert sorted(messages(harness, "WARNING")) == [
        f"dangling.xlsx: symlink to {tmp_path / 'gone.xlsx'} not followed: it is dangling",
        "loop.xlsx: symlink to loop.xlsx not followed: it is a loop",
        f"secret.xlsx: symlink to {secret} not followed: it leads outside the inbox, to {secret}",
    ]
    (key,) = requested_keys(harness.tick())
    assert find_archived(harness.data_dir.archive, key).original_name == "inner link.xlsx"
    assert messages(harness, "WARNING") == [], "once per link"
    for _ in range(2):
        assert harness.tick().run_requests == [] and messages(harness, "WARNING") == []
    archived = [path.read_bytes() for path in harness.data_dir.archive.glob("*.xlsx")]
    assert archived == [inner.read_bytes()], "nothing from outside the inbox is archived"


# --- long names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [LONG_ASCII, LONG_BYTES], ids=["240_characters", "255_bytes"])
def test_a_long_name_is_archived_and_its_output_names_fit(harness: Harness, tmp_path: Path, name: str) -> None:
    assert len(name_bytes(name)) == (240 if name == LONG_ASCII else 255)
    harness.drop(name)
    (key,) = requested_keys(harness.two_ticks())
    assert KEY.fullmatch(key) and len(key) <= 100  # the store's key columns hold 100 characters
    entry = find_archived(harness.data_dir.archive, key)
    assert entry.original_name == name
    out = tmp_path / "out"
    out.mkdir()
    for built, tail in ((entry.output_name, ".translated.xlsx"), (entry.qa_report_name, ".qa.xlsx")):
        assert built.endswith(tail) and len(built.encode()) <= 255
        assert built.startswith(name[:50])
        (out / built).write_bytes(b"")  # the file system takes it


def test_cut_names_stay_distinct_and_short_names_are_as_before() -> None:
    stem = "字" * 100
    first, second = fit_name(stem + "一", ".translated.xlsx"), fit_name(stem + "二", ".translated.xlsx")
    assert first != second and len(first.encode()) <= 255 and len(second.encode()) <= 255
    assert fit_name("Dialog v2", ".translated.xlsx") == "Dialog v2.translated.xlsx"
    exact = "a" * (255 - len(".qa.xlsx"))
    assert fit_name(exact, ".qa.xlsx") == exact + ".qa.xlsx", "255 bytes fit"


def test_a_255_byte_name_goes_through_the_whole_job(
    instance: dg.DagsterInstance, data_dir: Path, tmp_path: Path
) -> None:
    workbook = write_sample_workbook(tmp_path / "drop" / LONG_BYTES)
    key = register(instance, workbook, data_dir)
    result = dg.materialize(ASSETS, instance=instance, partition_key=key, resources=build_resources(load_settings()))
    assert result.success
    written = result.output_for_node("translated_workbook")
    output, report = Path(written["output_path"]), Path(written["qa_report"])
    entry = find_archived(data_dir / "archive", key)
    assert (output.name, report.name) == (entry.output_name, entry.qa_report_name)
    assert written["written"] > 0 and load_workbook(output).sheetnames and load_workbook(report).sheetnames
    assert leftovers(output.parent) == []


# --- slugs -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Dialog v2.xlsx", "Dialog_v2"),
        ("Dialog (copy).xlsx", "Dialog_copy"),
        ("Dialog!.xlsx", "Dialog"),
        ("UPPER.XLSX", "UPPER"),
        ("__ weird -- name__.xlsm", "weird_--_name"),
        ("---.xlsx", "workbook"),
        ("x" * 60 + ".xlsx", "x" * 48),
    ],
)
def test_ascii_names_keep_their_slugs(name: str, slug: str) -> None:
    assert slugify(name) == slug
    assert workbook_key(Path(name), "3fa94c1e" + "0" * 56) == f"{slug}-3fa94c1e"


def test_non_ascii_names_get_distinct_readable_slugs() -> None:
    names = ["台词.xlsx", "任务.xlsx", "台词.xlsm", "🎮 Quests 任务.XLSM", "Café.xlsx", "Cafe\u0301.xlsx", GBK_NAME]
    slugs = [slugify(name) for name in names]
    assert len(set(slugs)) == len(names)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+-[0-9a-f]{6}", slug) for slug in slugs)
    assert slugs[0].startswith("workbook-") and slugs[3].startswith("Quests-") and slugs[4].startswith("Cafe-")
    assert slugify("Cafe.xlsx") == "Cafe"


def test_two_cjk_names_with_the_same_bytes_are_two_workbooks_with_two_outputs(harness: Harness) -> None:
    harness.drop("台词.xlsx")
    harness.drop("任务.xlsx")
    result = harness.two_ticks()
    keys = requested_keys(result)
    assert len(set(keys)) == 2 and sorted(added_keys(result)) == sorted(keys)
    assert keys[0][-8:] == keys[1][-8:], "same bytes"
    outputs = {find_archived(harness.data_dir.archive, key).output_name for key in keys}
    assert outputs == {"台词.translated.xlsx", "任务.translated.xlsx"}


def test_archive_file_keeps_the_key_of_a_name_and_passes_over_a_key_another_name_holds(tmp_path: Path) -> None:
    source = tmp_path / "Dialog.xlsx"
    source.write_bytes(package(b"dialog"))
    first = archive_file(source, tmp_path / "archive")
    assert archive_file(source, tmp_path / "archive") == first
    other = archive_file(source, tmp_path / "archive", name="Dialog!.xlsx")
    assert other.key != first.key and other.original_name == "Dialog!.xlsx"
    assert archive_file(source, tmp_path / "archive", name="Dialog!.xlsx") == other
    assert display_name(other.original_name) == other.original_name


# --- a thousand files at once ------------------------------------------------------------------------------


def test_a_thousand_files_are_registered_over_bounded_ticks(harness: Harness) -> None:
    workbook = harness.drop("Dialog 0000.xlsx")
    for number in range(1, 1000):
        shutil.copyfile(workbook, harness.data_dir.inbox / f"Dialog {number:04}.xlsx")
    keys: list[str] = []
    durations: list[float] = []
    while len(keys) < 1000 and len(durations) < 2 + 1000 // drop_folder.MAX_FILES_PER_TICK:
        started = time.perf_counter()
        result = harness.tick()
        durations.append(time.perf_counter() - started)
        assert len(result.run_requests or []) <= drop_folder.MAX_FILES_PER_TICK
        keys += requested_keys(result)
        if len(durations) == 2:
            assert len(IntakeCursor.from_json(harness.cursor).pending) == 1000 - drop_folder.MAX_FILES_PER_TICK
    print(f"1,000 files: {len(durations)} ticks, max {max(durations):.2f} s, total {sum(durations):.1f} s")
    assert len(set(keys)) == 1000
    assert len(durations) == 1 + 1000 // drop_folder.MAX_FILES_PER_TICK
    assert max(durations) < 30
    assert harness.tick().run_requests == []


def test_a_tick_past_its_time_budget_leaves_the_rest_ready(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drop_folder, "TICK_BUDGET_SECONDS", 0.0)
    for number in range(3):
        harness.drop(f"Dialog {number}.xlsx")
    harness.tick()
    assert len(requested_keys(harness.tick())) == 1, "at least one file a tick"
    assert "2 more ready files wait for the next tick" in messages(harness, "INFO")
    assert [len(requested_keys(harness.tick())) for _ in range(3)] == [1, 1, 0], "the others on the next ticks"


# --- zip bombs -----------------------------------------------------------------------------------------------


def test_a_zip_bomb_is_rejected_by_the_sensor_with_the_limit_named(harness: Harness) -> None:
    """The sensor checks the configured package limits from the zip directory: no run, one error line."""
    from tests.hostile_packages import cases

    harness.translation = TranslationResource(max_part_mb=1, max_package_mb=3)
    build, expected = cases(3)["bomb_by_part"]
    build(harness.data_dir.inbox / "bomb.xlsx")
    result = harness.two_ticks()
    assert requested_keys(result) == []
    assert messages(harness, "ERROR") == [f"bomb.xlsx: {expected} of 1.0 MiB per part (TRANSLATION_MAX_PART_MB)"]
