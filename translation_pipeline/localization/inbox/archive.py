"""The archive: the preserved input of each workbook version, read by every later step.

`<archive>/<key><suffix>` holds the bytes, `<archive>/<key>.json` (the sidecar) what we know of where they came
from. Both appear whole or not at all (written to a temporary file in the archive, then renamed). A sidecar
that cannot be read (empty, not JSON, wrong fields) is set aside as `<key>.json.damaged-<UTC time>` the first
time it is read, so it is reported once and never read again; archiving the file again writes a fresh one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from translation_pipeline.localization.inbox.keys import (
    display_name,
    fallback_key,
    file_sha256,
    name_bytes,
    workbook_key,
)

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
NAME_MAX = 255
"""Bytes a file name (one path component) may have on ext4, XFS, Btrfs, APFS (NTFS: 255 UTF-16 units, never
fewer characters than 255 UTF-8 bytes)."""
_SURROGATE = re.compile("[\ud800-\udfff]")
_log = logging.getLogger(__name__)


def fit_name(stem: str, tail: str) -> str:
    """`stem + tail`, within NAME_MAX bytes: a stem too long is cut at a character and marked with `~` and 6
    hex of its SHA-1, so two long names that share their start stay distinct. `tail` is kept whole."""
    name = stem + tail
    if len(name_bytes(name)) <= NAME_MAX:
        return name
    mark = f"~{hashlib.sha1(name_bytes(stem)).hexdigest()[:6]}"
    room = NAME_MAX - len(name_bytes(mark + tail))
    return name_bytes(stem)[:room].decode("utf-8", "ignore") + mark + tail


def json_text(data: object, indent: int | None = None) -> str:
    """JSON that keeps text readable (no \\u escapes) yet always encodes as UTF-8: a lone surrogate (an
    undecodable byte of a file name) is written as its \\udcXX escape, which `json.loads` turns back into it."""
    text = json.dumps(data, ensure_ascii=False, indent=indent, sort_keys=True)
    return _SURROGATE.sub(lambda match: f"\\u{ord(match[0]):04x}", text)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` through a temporary file in the same folder: readers see the old file
    or the new one, never a part."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


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
        """File name of the translated copy: `Dialog v2.xlsx` -> `Dialog v2.translated.xlsx` (`fit_name`)."""
        original = Path(self.original_name)
        return fit_name(original.stem, f".translated{original.suffix.lower()}")

    @property
    def qa_report_name(self) -> str:
        """File name of the QA report: `Dialog v2.xlsx` -> `Dialog v2.qa.xlsx` (`fit_name`)."""
        return fit_name(Path(self.original_name).stem, ".qa.xlsx")


class ArchiveError(LookupError):
    """No archived workbook for a partition key."""


_FIELD_TYPES = {field.name: int if field.name == "size" else str for field in fields(ArchivedWorkbook)}


def _sidecar_fields(raw: bytes, key: str) -> dict[str, str | int] | str:
    """The fields of the sidecar of `key` read as `raw`, or what is wrong with it."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        return f"not UTF-8 ({err.reason})"
    except json.JSONDecodeError as err:
        return f"not JSON ({err})" if raw.strip() else "empty"
    if not isinstance(data, dict):
        return f"not a JSON object but {type(data).__name__}"
    if set(data) != set(_FIELD_TYPES):
        return f"fields {sorted(data)}, expected {sorted(_FIELD_TYPES)}"
    if wrong := [name for name, kind in _FIELD_TYPES.items() if type(data[name]) is not kind]:
        return f"wrong type of {', '.join(wrong)}"
    if data["key"] != key:
        return f"it describes {data['key']!r}"
    return data


def _read_sidecar(archive_dir: Path, key: str) -> ArchivedWorkbook | None:
    """The entry of `key`, None when there is none; ArchiveError when its sidecar is damaged (then set aside)."""
    sidecar = archive_dir / f"{key}.json"
    try:
        found = _sidecar_fields(sidecar.read_bytes(), key)
    except FileNotFoundError:
        return None
    if isinstance(found, str):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        aside = sidecar.with_name(f"{sidecar.name}.damaged-{stamp}")
        os.replace(sidecar, aside)
        raise ArchiveError(f"archive entry {sidecar.name} is damaged ({found}): set aside as {aside.name}")
    # the data dir may have moved (shared volume mounted elsewhere): trust the archive dir, not the path
    suffix = Path(str(found["path"])).suffix
    return ArchivedWorkbook(**{**found, "path": str((archive_dir / f"{key}{suffix}").resolve())})


def _choose_key(
    archive_dir: Path, name: str, shown: str, sha256: str, warn: Callable[[str], object]
) -> tuple[str, ArchivedWorkbook | None]:
    """The key for `name` with these bytes, and its entry when this name and these bytes are archived already."""
    held_by = []
    for key in (workbook_key(Path(name), sha256), fallback_key(name, sha256)):
        try:
            entry = _read_sidecar(archive_dir, key)
        except ArchiveError as err:
            warn(str(err))
            entry = None
        if entry is None or entry.original_name == shown:
            return key, entry
        held_by.append(entry.original_name)
    raise ValueError(f"{shown}: its partition keys are held by {' and '.join(map(repr, held_by))}")


def archive_file(
    source: Path,
    archive_dir: Path,
    *,
    name: str | None = None,
    warn: Callable[[str], object] = _log.warning,
) -> ArchivedWorkbook:
    """Copy `source`, dropped as `name` (default: its own name), into the archive under its key.

    Idempotent: the same name and bytes give the same entry. Other bytes, or another name whose slug is the
    same (`Dialog!.xlsx`, `Dialog.xlsm` beside `Dialog.xlsx`), give another entry: a key held by another name
    is passed over for `fallback_key`. A damaged sidecar met on the way is set aside, reported through `warn`
    and written afresh. ValueError for a name that is no workbook's, or when both keys are held by other names.
    """
    name = name or source.name
    shown = display_name(name)
    suffix = Path(name).suffix.lower()
    if suffix not in WORKBOOK_SUFFIXES:
        raise ValueError(f"{shown}: not an .xlsx or .xlsm file")
    archive_dir.mkdir(parents=True, exist_ok=True)
    # copy first, hash the copy: the key always describes the archived bytes, even if the source
    # changes meanwhile; the rename makes the entry appear whole or not at all
    fd, tmp_name = tempfile.mkstemp(dir=archive_dir, prefix=".incoming.", suffix=".part")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp_name)
        sha256 = file_sha256(Path(tmp_name))
        key, entry = _choose_key(archive_dir, name, shown, sha256, warn)
        if entry is not None and Path(entry.path).exists():
            return entry
        target = archive_dir / f"{key}{suffix}"
        if not target.exists():
            os.replace(tmp_name, target)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    entry = ArchivedWorkbook(
        key=key,
        original_name=shown,
        sha256=sha256,
        size=target.stat().st_size,
        path=str(target.resolve()),
        archived_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    write_atomically(archive_dir / f"{key}.json", json_text(asdict(entry), indent=2))
    return entry


def find_archived(archive_dir: Path, key: str) -> ArchivedWorkbook:
    """The archived workbook of a partition key; ArchiveError when it is not there or its sidecar is damaged
    (the damaged sidecar is set aside: the error says so once)."""
    entry = _read_sidecar(archive_dir, key)
    if entry is None:
        raise ArchiveError(f"no archived workbook for partition {key!r} in {archive_dir}")
    return entry
