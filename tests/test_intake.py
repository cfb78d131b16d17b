"""Unit tests of the drop-folder logic (no Dagster)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from translation_pipeline.localization.inbox.intake import (
    QUIET_SECONDS,
    Failed,
    Handled,
    IntakeCursor,
    Observation,
    ReadyFile,
    scan,
)


def drop(inbox: Path, name: str, data: bytes = b"PK\x03\x04 workbook") -> Path:
    path = inbox / name
    path.write_bytes(data)
    return path


def ready_names(inbox: Path, cursor: IntakeCursor) -> tuple[list[str], IntakeCursor]:
    result = scan(inbox, cursor)
    return [ready.name for ready in result.ready], result.cursor


def test_first_sighting_waits_then_stable_file_is_ready(tmp_path: Path) -> None:
    drop(tmp_path, "Dialog.xlsx")
    names, cursor = ready_names(tmp_path, IntakeCursor())
    assert names == []
    assert set(cursor.pending) == {"Dialog.xlsx"}
    names, _ = ready_names(tmp_path, cursor)
    assert names == ["Dialog.xlsx"]


def test_growing_file_waits_until_it_holds_still(tmp_path: Path) -> None:
    path = drop(tmp_path, "Items.xlsm")
    _, cursor = ready_names(tmp_path, IntakeCursor())
    with path.open("ab") as handle:
        handle.write(b"more rows")
    names, cursor = ready_names(tmp_path, cursor)
    assert names == []
    assert cursor.pending["Items.xlsm"].size == path.stat().st_size
    names, _ = ready_names(tmp_path, cursor)
    assert names == ["Items.xlsm"]


def test_touched_file_waits_again(tmp_path: Path) -> None:
    path = drop(tmp_path, "Quests.xlsx")
    _, cursor = ready_names(tmp_path, IntakeCursor())
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    names, _ = ready_names(tmp_path, cursor)
    assert names == []


def test_lock_hidden_directories_and_other_suffixes_are_ignored(tmp_path: Path) -> None:
    for name in ("~$Dialog.xlsx", ".Dialog.xlsx", "notes.txt", "Old.xls", "Dialog.csv"):
        drop(tmp_path, name)
    (tmp_path / "folder.xlsx").mkdir()
    drop(tmp_path, "UPPER.XLSX")
    drop(tmp_path, "Macro.XlSm")
    first = scan(tmp_path, IntakeCursor())
    assert {skipped.name: skipped.reason for skipped in first.ignored} == {
        "~$Dialog.xlsx": "Excel lock file",
        ".Dialog.xlsx": "hidden file",
        "notes.txt": "not an .xlsx or .xlsm file",
        "Old.xls": "not an .xlsx or .xlsm file",
        "Dialog.csv": "not an .xlsx or .xlsm file",
        "folder.xlsx": "not a regular file",
    }
    assert set(first.cursor.pending) == {"UPPER.XLSX", "Macro.XlSm"}
    names, _ = ready_names(tmp_path, first.cursor)
    assert names == ["Macro.XlSm", "UPPER.XLSX"]


def test_vanished_pending_file_is_forgotten(tmp_path: Path) -> None:
    path = drop(tmp_path, "Gone.xlsx")
    _, cursor = ready_names(tmp_path, IntakeCursor())
    path.unlink()
    result = scan(tmp_path, cursor)
    assert result.ready == []
    assert result.vanished == ["Gone.xlsx"]
    assert result.cursor == IntakeCursor()


def test_handled_file_is_not_ready_again_and_forgotten_when_removed(tmp_path: Path) -> None:
    path = drop(tmp_path, "Dialog.xlsx")
    _, cursor = ready_names(tmp_path, IntakeCursor())
    result = scan(tmp_path, cursor)
    cursor = result.cursor.with_handled(result.ready[0], "Dialog-0123abcd")
    assert cursor.pending == {}
    for _ in range(3):
        result = scan(tmp_path, cursor)
        assert result.ready == []
        assert result.cursor == cursor
    path.unlink()
    result = scan(tmp_path, cursor)
    assert result.vanished == ["Dialog.xlsx"]
    assert result.cursor == IntakeCursor()


def test_handled_file_with_new_bytes_goes_through_pending_again(tmp_path: Path) -> None:
    path = drop(tmp_path, "Dialog.xlsx")
    _, cursor = ready_names(tmp_path, IntakeCursor())
    result = scan(tmp_path, cursor)
    cursor = result.cursor.with_handled(result.ready[0], "Dialog-0123abcd")
    path.write_bytes(b"PK\x03\x04 a longer, new version")
    names, cursor = ready_names(tmp_path, cursor)
    assert names == []
    assert cursor.handled == {}
    names, _ = ready_names(tmp_path, cursor)
    assert names == ["Dialog.xlsx"]


def test_missing_inbox_is_empty(tmp_path: Path) -> None:
    result = scan(tmp_path / "absent", IntakeCursor())
    assert result.ready == [] and result.cursor == IntakeCursor()


def test_cursor_json_round_trip() -> None:
    cursor = IntakeCursor(
        pending={"台词 🎮.xlsx": Observation(10, 1_700_000_000_123_456_789)},
        handled={"Dialog.xlsx": Handled(20, 1_700_000_000_000_000_001, "Dialog-0123abcd")},
    )
    restored = IntakeCursor.from_json(cursor.to_json())
    assert restored == cursor
    assert isinstance(restored.pending["台词 🎮.xlsx"], Observation)
    assert restored.handled["Dialog.xlsx"].key == "Dialog-0123abcd"


def test_cursor_from_nothing_is_empty() -> None:
    assert IntakeCursor.from_json(None) == IntakeCursor()
    assert IntakeCursor.from_json("") == IntakeCursor()


@pytest.mark.parametrize("text", ["not json", "[]", '{"version": 99}', '{"version": 1, "pending": []}'])
def test_cursor_from_garbage_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        IntakeCursor.from_json(text)


def test_with_handled_moves_the_file_from_pending(tmp_path: Path) -> None:
    ready = ReadyFile(tmp_path / "A.xlsx", Observation(1, 2), 3)
    cursor = IntakeCursor(pending={"A.xlsx": Observation(1, 2), "B.xlsx": Observation(3, 4)})
    assert cursor.with_handled(ready, "A-00000000") == IntakeCursor(
        pending={"B.xlsx": Observation(3, 4)}, handled={"A.xlsx": Handled(1, 2, "A-00000000")}
    )


def test_rejected_file_is_not_ready_again_until_it_changes(tmp_path: Path) -> None:
    path = drop(tmp_path, "Bad.xlsx", b"")
    _, cursor = ready_names(tmp_path, IntakeCursor())
    result = scan(tmp_path, cursor)
    cursor = result.cursor.with_rejected(result.ready[0])
    assert cursor == IntakeCursor(rejected={"Bad.xlsx": Observation(0, path.stat().st_mtime_ns)})
    for _ in range(3):
        result = scan(tmp_path, cursor)
        assert result.ready == [] and result.cursor == cursor
    path.write_bytes(b"PK\x03\x04 fixed")
    names, cursor = ready_names(tmp_path, cursor)
    assert names == [] and cursor.rejected == {}
    names, _ = ready_names(tmp_path, cursor)
    assert names == ["Bad.xlsx"]


def test_rejected_file_removed_is_forgotten(tmp_path: Path) -> None:
    path = drop(tmp_path, "Bad.xlsx", b"")
    cursor = IntakeCursor(rejected={"Bad.xlsx": Observation(0, path.stat().st_mtime_ns)})
    path.unlink()
    result = scan(tmp_path, cursor)
    assert result.vanished == ["Bad.xlsx"] and result.cursor == IntakeCursor()


def test_cursor_with_rejected_files_round_trips_and_older_cursors_still_load() -> None:
    cursor = IntakeCursor(rejected={"坏 🎮.xlsx": Observation(0, 1_700_000_000_000_000_002)})
    restored = IntakeCursor.from_json(cursor.to_json())
    assert restored == cursor and isinstance(restored.rejected["坏 🎮.xlsx"], Observation)
    older = '{"version": 1, "pending": {"A.xlsx": [1, 2]}, "handled": {}}'
    assert IntakeCursor.from_json(older) == IntakeCursor(pending={"A.xlsx": Observation(1, 2)})


def test_with_handled_keeps_the_rejected_files(tmp_path: Path) -> None:
    cursor = IntakeCursor(pending={"A.xlsx": Observation(1, 2)}, rejected={"B.xlsx": Observation(3, 4)})
    assert cursor.with_handled(ReadyFile(tmp_path / "A.xlsx", Observation(1, 2), 3), "A-00000000").rejected == {
        "B.xlsx": Observation(3, 4)
    }


# --- symlinks, failed files, names that are not UTF-8 ------------------------------------------------------


def test_a_symlink_is_followed_only_inside_the_inbox_and_refused_once_otherwise(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    inner = drop(inbox / "sub", "Inner.xlsx")
    outside = drop(tmp_path, "Outside.xlsx")
    (inbox / "in.xlsx").symlink_to(inner)
    (inbox / "out.xlsx").symlink_to(outside)
    (inbox / "dangling.xlsx").symlink_to(inbox / "later.xlsx")
    (inbox / "loop.xlsx").symlink_to("loop.xlsx")
    (inbox / "a.xlsx").symlink_to("b.xlsx")
    (inbox / "b.xlsx").symlink_to("a.xlsx")
    first = scan(inbox, IntakeCursor())
    assert {skipped.name: skipped.reason for skipped in first.refused_links} == {
        "out.xlsx": f"symlink to {outside} not followed: it leads outside the inbox, to {outside}",
        "dangling.xlsx": f"symlink to {inbox / 'later.xlsx'} not followed: it is dangling",
        "loop.xlsx": "symlink to loop.xlsx not followed: it is a loop",
        "a.xlsx": "symlink to b.xlsx not followed: it is a loop",
        "b.xlsx": "symlink to a.xlsx not followed: it is a loop",
    }
    assert set(first.cursor.pending) == {"in.xlsx"}

    second = scan(inbox, first.cursor)
    assert second.refused_links == [], "reported once while unchanged"
    assert second.cursor.refused_links == first.cursor.refused_links
    (ready,) = second.ready
    assert ready.name == "in.xlsx" and ready.source == inner

    (inbox / "out.xlsx").unlink()
    (inbox / "out.xlsx").symlink_to(tmp_path / "elsewhere.xlsx")  # changed: reported again
    drop(inbox, "later.xlsx")  # the dangling link's target appears inside the inbox: followed from now on
    third = scan(inbox, second.cursor)
    assert [skipped.name for skipped in third.refused_links] == ["out.xlsx"]
    assert "dangling.xlsx" not in third.cursor.refused_links and "dangling.xlsx" in third.cursor.pending
    assert [ready.source for ready in scan(inbox, third.cursor).ready] == [
        inbox / "later.xlsx",
        inner,
        inbox / "later.xlsx",
    ]


def test_links_resolve_against_the_real_inbox_even_when_it_is_reached_through_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    inner = drop(real, "Dialog.xlsx")
    (real / "alias.xlsx").symlink_to(inner)
    (tmp_path / "inbox").symlink_to(real)
    first = scan(tmp_path / "inbox", IntakeCursor())
    assert first.refused_links == [] and set(first.cursor.pending) == {"Dialog.xlsx", "alias.xlsx"}


def test_failed_file_is_not_ready_again_until_it_or_its_permissions_change(tmp_path: Path) -> None:
    path = drop(tmp_path, "Locked.xlsx")
    _, cursor = ready_names(tmp_path, IntakeCursor())
    result = scan(tmp_path, cursor)
    cursor = result.cursor.with_failed(result.ready[0], "cannot be read: denied")
    stat = path.stat()
    assert cursor == IntakeCursor(
        failed={"Locked.xlsx": Failed(stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, "cannot be read: denied")}
    )
    for _ in range(3):
        result = scan(tmp_path, cursor)
        assert result.ready == [] and result.cursor == cursor
    os.chmod(path, 0o600)  # size and mtime as they were, a new ctime
    names, cursor = ready_names(tmp_path, cursor)
    assert names == [] and cursor.failed == {}
    names, _ = ready_names(tmp_path, cursor)
    assert names == ["Locked.xlsx"]
    path.unlink()
    assert scan(tmp_path, IntakeCursor(failed={"Locked.xlsx": Failed(1, 2, 3, "x")})).vanished == ["Locked.xlsx"]


def test_a_name_that_is_not_utf8_is_scanned_and_its_cursor_is_utf8_json(tmp_path: Path) -> None:
    name = os.fsdecode(b"\xd6\xd0\xce\xc4.xlsx")  # 中文 in GBK: surrogate escapes in Python
    drop(tmp_path, name)
    _, cursor = ready_names(tmp_path, IntakeCursor())
    names, cursor = ready_names(tmp_path, cursor)
    assert names == [name]
    cursor = IntakeCursor(
        pending=cursor.pending,
        failed={"坏 🎮.xlsx": Failed(1, 2, 3, "cannot be read")},
        refused_links={name + "x.xlsx": "symlink to /etc not followed"},
    )
    text = cursor.to_json()
    text.encode("utf-8")  # a cursor the instance can store
    assert "\\udcd6" in text and "坏 🎮" in text, "undecodable bytes escaped, other text as it is"
    restored = IntakeCursor.from_json(text)
    assert restored == cursor and isinstance(restored.failed["坏 🎮.xlsx"], Failed)


def test_a_file_nothing_wrote_for_a_while_is_ready_at_first_sight(tmp_path: Path) -> None:
    """Its ctime (moved by every write, never set back by a tool) is QUIET_SECONDS old: no second scan needed."""
    (tmp_path / "Dialog.xlsx").write_bytes(b"PK\x03\x04 done")
    fresh = scan(tmp_path, IntakeCursor())
    assert fresh.ready == [] and "Dialog.xlsx" in fresh.cursor.pending
    later = scan(tmp_path, IntakeCursor(), now_ns=time.time_ns() + (QUIET_SECONDS + 1) * 1_000_000_000)
    assert [ready.name for ready in later.ready] == ["Dialog.xlsx"]
