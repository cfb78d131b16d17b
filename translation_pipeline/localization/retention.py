"""Retention: which workbook versions are old enough to forget, and removing their files.

Removes a workbook's archived input, its outputs and its step outputs; the translation memory is never
touched (it is what makes the next workbook cheap).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from translation_pipeline.localization.inbox.archive import ArchivedWorkbook, ArchiveError, find_archived


@dataclass(frozen=True)
class Expired:
    key: str
    original_name: str
    archived_at: datetime


def expired_workbooks(archive_dir: Path, older_than: timedelta, now: datetime) -> list[Expired]:
    """Archived workbooks whose `archived_at` is more than `older_than` before `now`."""
    found = []
    for sidecar in sorted(archive_dir.glob("*.json")):
        try:
            entry: ArchivedWorkbook = find_archived(archive_dir, sidecar.stem)
        except ArchiveError:  # a damaged sidecar: `find_archived` set it aside and said so; nothing to age
            continue
        archived_at = datetime.fromisoformat(entry.archived_at)
        if now - archived_at > older_than:
            found.append(Expired(entry.key, entry.original_name, archived_at))
    return found


def remove_workbook_files(data_dir: Path, key: str) -> list[Path]:
    """Delete what the data dir holds for `key`; returns what was removed."""
    removed: list[Path] = []
    candidates = [
        *(data_dir / "archive").glob(f"{key}.*"),
        data_dir / "outbox" / key,
        *(data_dir / "storage").glob(f"*/{key}"),
        *(data_dir / "storage").glob(f"*/{key}.*"),  # the parts of a stored plan (resources/io_manager.py)
    ]
    for path in candidates:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(path)
    return removed
