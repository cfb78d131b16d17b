"""Workbook identity: partition key = ascii slug of the file name + first 8 hex of its SHA-256."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

SLUG_MAX = 48


def slugify(file_name: str) -> str:
    """ASCII slug of a file name without its extension (`Dialog v2.xlsx` -> `Dialog_v2`)."""
    stem = Path(file_name).stem
    ascii_text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_text).strip("_-")
    slug = re.sub(r"_{2,}", "_", slug)[:SLUG_MAX].strip("_-")
    return slug or "workbook"


def file_sha256(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def workbook_key(path: Path, sha256: str | None = None) -> str:
    """Partition key of one file version, e.g. `Dialog_v2-3fa94c1e`."""
    return f"{slugify(path.name)}-{(sha256 or file_sha256(path))[:8]}"
