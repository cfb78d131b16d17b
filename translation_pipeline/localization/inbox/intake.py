"""The drop folder: which files in the inbox are complete workbooks ready to be registered.

A file is ready once its (size, mtime_ns) is the same on two consecutive scans; until then it is
*pending*. Once registered it is *handled*: its (size, mtime_ns) -> key is remembered so an unchanged
file is neither hashed nor registered again. A ready file that is no workbook at all (`check_package`) is
*rejected*: its (size, mtime_ns) is remembered so it is reported once, and checked again only when it
changes. The state lives in `IntakeCursor` (JSON, so the sensor can store it as its cursor); `scan` is pure
apart from listing and stat-ing the folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from translation_pipeline.localization.inbox.archive import WORKBOOK_SUFFIXES

CURSOR_VERSION = 1


class Observation(NamedTuple):
    size: int
    mtime_ns: int


class Handled(NamedTuple):
    size: int
    mtime_ns: int
    key: str

    @property
    def observation(self) -> Observation:
        return Observation(self.size, self.mtime_ns)


@dataclass(frozen=True)
class IntakeCursor:
    """What the previous scans saw, by file name: pending observations, handled and rejected files."""

    pending: dict[str, Observation] = field(default_factory=dict)
    handled: dict[str, Handled] = field(default_factory=dict)
    rejected: dict[str, Observation] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"version": CURSOR_VERSION, "pending": self.pending, "handled": self.handled, "rejected": self.rejected},
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | None) -> IntakeCursor:
        """Parse a cursor; None or "" is the empty cursor. ValueError when the text is not a cursor."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            if data.get("version") != CURSOR_VERSION:
                raise ValueError(f"unsupported cursor version {data.get('version')!r}")
            return cls(
                pending={name: Observation(*obs) for name, obs in data["pending"].items()},
                handled={name: Handled(*entry) for name, entry in data["handled"].items()},
                # absent from cursors written before files could be rejected
                rejected={name: Observation(*obs) for name, obs in data.get("rejected", {}).items()},
            )
        except (AttributeError, KeyError, TypeError, json.JSONDecodeError) as err:
            raise ValueError(f"not an intake cursor: {err}") from err

    def with_handled(self, ready: ReadyFile, key: str) -> IntakeCursor:
        """The cursor after `ready` was registered under `key`."""
        pending = {name: obs for name, obs in self.pending.items() if name != ready.name}
        handled = {**self.handled, ready.name: Handled(*ready.observation, key)}
        return IntakeCursor(pending=pending, handled=handled, rejected=self.rejected)

    def with_rejected(self, ready: ReadyFile) -> IntakeCursor:
        """The cursor after `ready` was found to be no workbook: not checked again until it changes."""
        pending = {name: obs for name, obs in self.pending.items() if name != ready.name}
        return IntakeCursor(
            pending=pending, handled=self.handled, rejected={**self.rejected, ready.name: ready.observation}
        )


@dataclass(frozen=True)
class ReadyFile:
    """A workbook whose size and mtime did not change between two scans."""

    path: Path
    observation: Observation

    @property
    def name(self) -> str:
        return self.path.name


class Skipped(NamedTuple):
    name: str
    reason: str


@dataclass(frozen=True)
class ScanResult:
    """`ready` files stay pending in `cursor` until `IntakeCursor.with_handled` or `with_rejected` records them."""

    ready: list[ReadyFile]
    cursor: IntakeCursor
    ignored: list[Skipped]
    """Entries that are not workbooks (lock files, hidden files, directories, other suffixes)."""
    errors: list[Skipped]
    """Workbooks that could not be stat-ed."""
    vanished: list[str]
    """Names forgotten by the cursor because they are no longer in the folder."""


def ignore_reason(entry: os.DirEntry[str]) -> str | None:
    """Why a folder entry is not a workbook candidate, or None when it is one."""
    if entry.name.startswith("~$"):
        return "Excel lock file"
    if entry.name.startswith("."):
        return "hidden file"
    if not entry.is_file():
        return "not a regular file"
    if Path(entry.name).suffix.lower() not in WORKBOOK_SUFFIXES:
        return "not an .xlsx or .xlsm file"
    return None


def scan(inbox: Path, cursor: IntakeCursor) -> ScanResult:
    """Compare the inbox with the previous scan: which workbooks are ready, and the next cursor."""
    ready: list[ReadyFile] = []
    ignored: list[Skipped] = []
    errors: list[Skipped] = []
    pending: dict[str, Observation] = {}
    handled: dict[str, Handled] = {}
    rejected: dict[str, Observation] = {}
    try:
        with os.scandir(inbox) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except FileNotFoundError:
        entries = []
    for entry in entries:
        if reason := ignore_reason(entry):
            ignored.append(Skipped(entry.name, reason))
            continue
        try:
            stat = entry.stat()
        except FileNotFoundError:
            continue  # gone since the listing: forgotten below like any vanished file
        except OSError as err:
            errors.append(Skipped(entry.name, f"cannot stat: {err}"))
            continue
        observation = Observation(stat.st_size, stat.st_mtime_ns)
        previous = cursor.handled.get(entry.name)
        if previous is not None and previous.observation == observation:
            handled[entry.name] = previous
            continue
        if cursor.rejected.get(entry.name) == observation:
            rejected[entry.name] = observation
            continue
        if cursor.pending.get(entry.name) == observation:
            ready.append(ReadyFile(Path(entry.path), observation))
        pending[entry.name] = observation
    known = {*pending, *handled, *rejected, *(skipped.name for skipped in errors)}
    vanished = sorted(name for name in {*cursor.pending, *cursor.handled, *cursor.rejected} if name not in known)
    return ScanResult(
        ready=ready,
        cursor=IntakeCursor(pending=pending, handled=handled, rejected=rejected),
        ignored=ignored,
        errors=errors,
        vanished=vanished,
    )
