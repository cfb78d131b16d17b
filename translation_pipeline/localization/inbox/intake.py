"""The drop folder: which files in the inbox are complete workbooks ready to be registered.

A file is ready once its (size, mtime_ns) is the same on two consecutive scans, or at first sight when nothing
has written it for QUIET_SECONDS (its ctime, which every write moves and no tool can set back, is that old);
until then it is *pending*. Once registered it is *handled*: its (size, mtime_ns) -> key is remembered so an unchanged
file is neither hashed nor registered again. A ready file that is no workbook at all (`check_package`) is
*rejected*: its (size, mtime_ns) is remembered so it is reported once, and checked again only when it
changes. A ready file whose check or archiving failed (it cannot be read, say) is *failed*: remembered with
its problem and its ctime too, so it is retried when it changes or its permissions do (chmod changes the ctime).
A symlink is followed only to a file inside the inbox; any other (dangling, a loop, leading outside) is
*refused*, with its reason, reported again only when the reason changes. The state lives in `IntakeCursor`
(JSON, so the sensor can store it as its cursor); `scan` is pure apart from listing and stat-ing the folder.

Names are the file system's: one that is not UTF-8 carries surrogate escapes (`keys.display_name`), which the
cursor's JSON keeps as \\udcXX escapes.
"""

from __future__ import annotations

import errno
import fnmatch
import json
import os
import stat as stat_mode
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

from translation_pipeline.localization.inbox.archive import WORKBOOK_SUFFIXES, json_text
from translation_pipeline.localization.inbox.keys import display_name

CURSOR_VERSION = 1
QUIET_SECONDS = 3  # a file nothing wrote for this long is complete: ready at first sight
"""`failed` and `refused_links` came later without a new version: cursors without them read as having none."""
LOCK_FILE = "Excel lock file"
HIDDEN_FILE = "hidden file"


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


class Failed(NamedTuple):
    size: int
    mtime_ns: int
    ctime_ns: int
    problem: str


@dataclass(frozen=True)
class IntakeCursor:
    """What the previous scans saw, by file name: pending observations, handled, rejected and failed files,
    refused symlinks (name -> reason)."""

    pending: dict[str, Observation] = field(default_factory=dict)
    handled: dict[str, Handled] = field(default_factory=dict)
    rejected: dict[str, Observation] = field(default_factory=dict)
    failed: dict[str, Failed] = field(default_factory=dict)
    refused_links: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json_text(
            {
                "version": CURSOR_VERSION,
                "pending": self.pending,
                "handled": self.handled,
                "rejected": self.rejected,
                "failed": self.failed,
                "refused_links": self.refused_links,
            }
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
                # absent from cursors written before files could be rejected, fail or be refused links
                rejected={name: Observation(*obs) for name, obs in data.get("rejected", {}).items()},
                failed={name: Failed(*entry) for name, entry in data.get("failed", {}).items()},
                refused_links={name: str(reason) for name, reason in data.get("refused_links", {}).items()},
            )
        except (AttributeError, KeyError, TypeError, json.JSONDecodeError) as err:
            raise ValueError(f"not an intake cursor: {err}") from err

    def _settled(self, ready: ReadyFile, **changes: dict[str, object]) -> IntakeCursor:
        pending = {name: obs for name, obs in self.pending.items() if name != ready.name}
        return replace(self, pending=pending, **changes)

    def with_handled(self, ready: ReadyFile, key: str) -> IntakeCursor:
        """The cursor after `ready` was registered under `key`."""
        return self._settled(ready, handled={**self.handled, ready.name: Handled(*ready.observation, key)})

    def with_rejected(self, ready: ReadyFile) -> IntakeCursor:
        """The cursor after `ready` was found to be no workbook: not checked again until it changes."""
        return self._settled(ready, rejected={**self.rejected, ready.name: ready.observation})

    def with_failed(self, ready: ReadyFile, problem: str) -> IntakeCursor:
        """The cursor after checking or archiving `ready` failed: not tried again until it changes."""
        entry = Failed(*ready.observation, ready.ctime_ns, problem)
        return self._settled(ready, failed={**self.failed, ready.name: entry})


@dataclass(frozen=True)
class ReadyFile:
    """A workbook whose size and mtime did not change between two scans."""

    path: Path
    """The entry in the inbox."""
    observation: Observation
    ctime_ns: int
    """Inode change time when scanned, remembered when the file fails (`Failed`)."""
    target: Path | None = None
    """For a symlink: the file inside the inbox it resolved to."""

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def source(self) -> Path:
        """What to archive: the resolved target of a symlink (a link changed since the scan is not followed)."""
        return self.target or self.path


class Skipped(NamedTuple):
    name: str
    reason: str


@dataclass(frozen=True)
class ScanResult:
    """`ready` files stay pending in `cursor` until `IntakeCursor.with_handled`, `with_rejected` or `with_failed`
    records them."""

    ready: list[ReadyFile]
    cursor: IntakeCursor
    ignored: list[Skipped]
    """Entries that are not workbooks (lock files, hidden files, directories, other suffixes)."""
    errors: list[Skipped]
    """Workbooks that could not be stat-ed."""
    vanished: list[str]
    """Names forgotten by the cursor because they are no longer in the folder."""
    refused_links: list[Skipped]
    """Symlinks not followed, each on the first scan that refuses it for its reason (the cursor has them all)."""


def ignore_reason(entry: os.DirEntry[str]) -> str | None:
    """Why a folder entry is not a workbook candidate, or None when it is one (a symlink: `link_target`)."""
    if entry.name.startswith("~$"):
        return LOCK_FILE
    if entry.name.startswith("."):
        return HIDDEN_FILE
    if not entry.is_symlink() and not entry.is_file(follow_symlinks=False):
        return "not a regular file"
    if Path(entry.name).suffix.lower() not in WORKBOOK_SUFFIXES:
        return "not an .xlsx or .xlsm file"
    return None


def link_target(link: Path, inbox: Path) -> Path | str:
    """Where the symlink `link` leads, when that is inside `inbox` (a resolved path); otherwise why it is not
    followed (the reason names the link's text, so a changed link gets a new reason)."""
    try:
        text = display_name(os.readlink(link))
    except OSError as err:
        return f"symlink not followed: it cannot be read ({err.strerror})"
    try:
        real = Path(os.path.realpath(link, strict=True))
    except OSError as err:
        why = {errno.ENOENT: "it is dangling", errno.ELOOP: "it is a loop"}.get(err.errno, err.strerror)
        return f"symlink to {text} not followed: {why}"
    if not real.is_relative_to(inbox):
        return f"symlink to {text} not followed: it leads outside the inbox, to {display_name(str(real))}"
    return real


def scan(inbox: Path, cursor: IntakeCursor, now_ns: int | None = None) -> ScanResult:
    """Compare the inbox with the previous scan: which workbooks are ready, and the next cursor."""
    quiet_since = (time.time_ns() if now_ns is None else now_ns) - QUIET_SECONDS * 1_000_000_000
    ready: list[ReadyFile] = []
    ignored: list[Skipped] = []
    errors: list[Skipped] = []
    refusals: list[Skipped] = []
    pending: dict[str, Observation] = {}
    handled: dict[str, Handled] = {}
    rejected: dict[str, Observation] = {}
    failed: dict[str, Failed] = {}
    refused_links: dict[str, str] = {}
    try:
        with os.scandir(inbox) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except FileNotFoundError:
        entries = []
    real_inbox = Path(os.path.realpath(inbox))
    for entry in entries:
        name = entry.name
        try:
            if reason := ignore_reason(entry):
                ignored.append(Skipped(name, reason))
                continue
            target = link_target(Path(entry.path), real_inbox) if entry.is_symlink() else None
            if isinstance(target, str):
                refused_links[name] = target
                if cursor.refused_links.get(name) != target:
                    refusals.append(Skipped(name, target))
                continue
            stat = os.stat(target) if target else entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue  # gone since the listing: forgotten below like any vanished file
        except OSError as err:
            errors.append(Skipped(name, f"cannot stat: {display_name(str(err))}"))
            continue
        if not stat_mode.S_ISREG(stat.st_mode):
            ignored.append(Skipped(name, "not a regular file"))
            continue
        observation = Observation(stat.st_size, stat.st_mtime_ns)
        previous = cursor.handled.get(name)
        if previous is not None and previous.observation == observation:
            handled[name] = previous
            continue
        if cursor.rejected.get(name) == observation:
            rejected[name] = observation
            continue
        failure = cursor.failed.get(name)
        if failure is not None and failure[:3] == (*observation, stat.st_ctime_ns):
            failed[name] = failure
            continue
        if cursor.pending.get(name) == observation or max(stat.st_mtime_ns, stat.st_ctime_ns) <= quiet_since:
            ready.append(ReadyFile(Path(entry.path), observation, stat.st_ctime_ns, target))
        pending[name] = observation
    after = IntakeCursor(pending, handled, rejected, failed, refused_links)
    return ScanResult(
        ready=ready,
        cursor=after,
        ignored=ignored,
        errors=errors,
        vanished=sorted(_names(cursor) - _names(after) - {skipped.name for skipped in errors}),
        refused_links=refusals,
    )


def _names(cursor: IntakeCursor) -> set[str]:
    return {*cursor.pending, *cursor.handled, *cursor.rejected, *cursor.failed, *cursor.refused_links}


def priority_of(name: str, priorities: dict[str, int]) -> int | None:
    """The priority of the first file-name glob in `priorities` that `name` matches (ignoring case), or None."""
    folded = name.casefold()
    return next((value for glob, value in priorities.items() if fnmatch.fnmatchcase(folded, glob.casefold())), None)
