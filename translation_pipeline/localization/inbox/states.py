"""What each file in the inbox is, for a person: the table `workbook_drop_sensor` reports as an observation of
the `inbox` asset (the UI shows it without a log or a run) and `translation-pipeline status` reads back.

A file is *accepted* (registered: its partition key), *waiting* (not checked yet: still changing, or ready and
queued for a next tick), *rejected* (no workbook the pipeline can read, or a symlink that is not followed: the
one-line reason), *failed* (stat-ing, checking or archiving it raised: the problem; tried again when it changes)
or *ignored* (not an .xlsx or .xlsm file, or not a regular file). Excel lock files and hidden files are not
listed. A waiting file shows no size or time, so a file being written does not change the table on every tick.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import NamedTuple

from translation_pipeline.localization.inbox.archive import json_text
from translation_pipeline.localization.inbox.intake import (
    HIDDEN_FILE,
    LOCK_FILE,
    IntakeCursor,
    ReadyFile,
    ScanResult,
    Skipped,
)
from translation_pipeline.localization.inbox.keys import display_name

ACCEPTED, WAITING, REJECTED, FAILED, IGNORED = "accepted", "waiting", "rejected", "failed", "ignored"
STATES = (REJECTED, FAILED, WAITING, ACCEPTED, IGNORED)
"""The table's order: what needs a person first."""
UNCHANGED = "waits until its size and time hold still for one tick"
QUEUED = "ready, checked on a next tick"
UNLISTED = (LOCK_FILE, HIDDEN_FILE)
MAX_ROWS = 200
"""Rows in the table (and rejects in `rejects`); the counts cover every file."""
_MARKDOWN_SPECIAL = re.compile(r"([\\|*_`<>\[\]])")


@dataclass(frozen=True)
class InboxCursor:
    """The sensor's cursor: the intake cursor, why each rejected file was rejected, the ignored entries listed
    (name -> reason) and a digest of the last reported table.

    Stored as the intake cursor's JSON with three more keys, which `IntakeCursor.from_json` passes over. A cursor
    written before reasons were kept reads with its rejected files pending again: checked (and logged) once more,
    so that their reason is known."""

    intake: IntakeCursor = field(default_factory=IntakeCursor)
    reasons: dict[str, str] = field(default_factory=dict)
    ignored: dict[str, str] = field(default_factory=dict)
    reported: str = ""

    def to_json(self) -> str:
        extra = {"reasons": self.reasons, "ignored": self.ignored, "reported": self.reported}
        return json_text({**json.loads(self.intake.to_json()), **extra})

    @classmethod
    def from_json(cls, text: str | None) -> InboxCursor:
        """Parse a cursor; None or "" is the empty cursor. ValueError when the text is not a cursor."""
        intake = IntakeCursor.from_json(text)
        if not text:
            return cls(intake)
        try:
            data = json.loads(text)
            reasons = {name: str(reason) for name, reason in data.get("reasons", {}).items()}
            ignored = {name: str(reason) for name, reason in data.get("ignored", {}).items()}
            reported = str(data.get("reported", ""))
        except AttributeError as err:
            raise ValueError(f"not an inbox cursor: {err}") from err
        unexplained = {name: obs for name, obs in intake.rejected.items() if name not in reasons}
        intake = replace(
            intake,
            pending={**intake.pending, **unexplained},
            rejected={name: obs for name, obs in intake.rejected.items() if name in reasons},
        )
        return cls(intake, reasons, ignored, reported)

    def scanned(self, result: ScanResult) -> tuple[InboxCursor, list[Skipped]]:
        """The cursor after `result`, and the ignored entries listed for the first time (or for a new reason)."""
        listed = {skipped.name: skipped.reason for skipped in result.ignored if skipped.reason not in UNLISTED}
        new = [Skipped(name, reason) for name, reason in listed.items() if self.ignored.get(name) != reason]
        reasons = {name: reason for name, reason in self.reasons.items() if name in result.cursor.rejected}
        return replace(self, intake=result.cursor, reasons=reasons, ignored=listed), new

    def with_handled(self, ready: ReadyFile, key: str) -> InboxCursor:
        """`IntakeCursor.with_handled`."""
        return replace(self, intake=self.intake.with_handled(ready, key))

    def with_rejected(self, ready: ReadyFile, reason: str) -> InboxCursor:
        """`IntakeCursor.with_rejected`, with the reason shown for the file until it changes."""
        return replace(self, intake=self.intake.with_rejected(ready), reasons={**self.reasons, ready.name: reason})

    def with_failed(self, ready: ReadyFile, problem: str) -> InboxCursor:
        """`IntakeCursor.with_failed`."""
        return replace(self, intake=self.intake.with_failed(ready, problem))


class FileState(NamedTuple):
    name: str
    """As listed by the file system (`keys.display_name` shows it)."""
    state: str
    detail: str
    """The partition key of an accepted file, else why it is in its state."""
    size: int | None = None
    mtime_ns: int | None = None


def file_states(cursor: InboxCursor, errors: Sequence[Skipped], queued: Collection[str] = ()) -> list[FileState]:
    """Every listed file after a tick, in `STATES` order then by name; `errors` are the scan's files that could
    not be stat-ed, `queued` the ready files left for a next tick."""
    intake = cursor.intake
    rows = [FileState(name, ACCEPTED, entry.key, *entry.observation) for name, entry in intake.handled.items()]
    rows += [FileState(name, WAITING, QUEUED if name in queued else UNCHANGED) for name in intake.pending]
    rows += [FileState(name, REJECTED, cursor.reasons[name], *obs) for name, obs in intake.rejected.items()]
    rows += [FileState(name, REJECTED, reason) for name, reason in intake.refused_links.items()]
    rows += [FileState(name, FAILED, entry.problem, *entry[:2]) for name, entry in intake.failed.items()]
    rows += [FileState(skipped.name, FAILED, skipped.reason) for skipped in errors]
    rows += [FileState(name, IGNORED, reason) for name, reason in cursor.ignored.items()]
    return sorted(rows, key=lambda row: (STATES.index(row.state), row.name))


def digest(rows: Sequence[FileState]) -> str:
    """A short hash of the table: the sensor reports only when it changed."""
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def markdown(rows: Sequence[FileState]) -> str:
    """The first `MAX_ROWS` rows as a markdown table."""
    if not rows:
        return "The inbox is empty."
    lines = ["| file | state | partition key or reason | size | modified (UTC) |", "|:--|:--|:--|--:|:--|"]
    for row in rows[:MAX_ROWS]:
        size = "" if row.size is None else _size(row.size)
        modified = "" if row.mtime_ns is None else utc(row.mtime_ns / 1e9, seconds=True)
        cells = (display_name(row.name), row.state, row.detail, size, modified)
        lines.append("| " + " | ".join(_escape(cell) for cell in cells) + " |")
    if len(rows) > MAX_ROWS:
        lines.append(f"\n... and {len(rows) - MAX_ROWS} more files (counted above)")
    return "\n".join(lines)


def utc(timestamp: float, seconds: bool = False) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _size(size: int) -> str:
    value, unit = float(size), "B"
    for bigger in ("KiB", "MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"


def _escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))
