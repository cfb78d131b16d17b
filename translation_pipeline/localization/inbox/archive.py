"""The archive: the preserved input of each workbook version, read by every later step.

`<archive>/<key><suffix>` holds the bytes, `<archive>/<key>.json` what we know of where they came from.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from translation_pipeline.localization.inbox.keys import file_sha256, workbook_key

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True)
class ArchivedWorkbook:
    key: str
    original_name: str
    sha256: str
    size: int
    path: str
    archived_at: str

    @property
    def output_name(self) -> str:
        """File name of the translated copy: `Dialog v2.xlsx` -> `Dialog v2.translated.xlsx`."""
        original = Path(self.original_name)
        return f"{original.stem}.translated{original.suffix.lower()}"


class ArchiveError(LookupError):
    """No archived workbook for a partition key."""


def archive_file(source: Path, archive_dir: Path) -> ArchivedWorkbook:
    """Copy `source` into the archive under its key (idempotent: same bytes, same entry)."""
    suffix = source.suffix.lower()
    if suffix not in WORKBOOK_SUFFIXES:
        raise ValueError(f"{source.name}: not an .xlsx or .xlsm file")
    archive_dir.mkdir(parents=True, exist_ok=True)
    # copy first, hash the copy: the key always describes the archived bytes, even if the source
    # changes meanwhile; the rename makes the entry appear whole or not at all
    fd, tmp_name = tempfile.mkstemp(dir=archive_dir, prefix=".incoming.", suffix=".part")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp_name)
        sha256 = file_sha256(Path(tmp_name))
        key = workbook_key(source, sha256)
        target = archive_dir / f"{key}{suffix}"
        if target.exists():
            os.unlink(tmp_name)
        else:
            os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    entry = ArchivedWorkbook(
        key=key,
        original_name=source.name,
        sha256=sha256,
        size=target.stat().st_size,
        path=str(target.resolve()),
        archived_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    sidecar = archive_dir / f"{key}.json"
    if not sidecar.exists():
        sidecar.write_text(json.dumps(asdict(entry), ensure_ascii=False, indent=2), encoding="utf-8")
    return find_archived(archive_dir, key)


def find_archived(archive_dir: Path, key: str) -> ArchivedWorkbook:
    """The archived workbook of a partition key; ArchiveError when it is not there."""
    sidecar = archive_dir / f"{key}.json"
    if not sidecar.is_file():
        raise ArchiveError(f"no archived workbook for partition {key!r} in {archive_dir}")
    entry = ArchivedWorkbook(**json.loads(sidecar.read_text(encoding="utf-8")))
    # the data dir may have moved (shared volume mounted elsewhere): trust the archive dir, not the path
    suffix = Path(entry.path).suffix
    return ArchivedWorkbook(**{**asdict(entry), "path": str((archive_dir / f"{key}{suffix}").resolve())})
