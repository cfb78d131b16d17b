"""Workbook identity: partition key = ascii slug of the file name + first 8 hex of its SHA-256.

File names are taken as the file system gives them: on Linux a name that is not UTF-8 (a zip made on a Chinese
Windows, unpacked here) arrives as a str with surrogate escapes ('\\udcd6' for the byte 0xd6). Such a str cannot
be written as UTF-8 anywhere; `display_name` is the readable text shown and stored for it, while the key is
made from the name's bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import unicodedata
from pathlib import Path

SLUG_MAX = 48
NAME_HASH_HEX = 6
"""Hex digits of the name's SHA-1 in the slug of a name that lost non-ASCII characters."""
FALLBACK_HASH_HEX = 8
"""Hex digits of the name's SHA-1 in the key of a name whose preferred key another name holds."""
DISPLAY_ENCODING = "gb18030"
"""Tried for a file name that is not UTF-8: the string tables come mostly from Chinese Windows, whose zips store
GBK names. A name that does not decode so, or only to private-use characters, shows U+FFFD for its bytes."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def name_bytes(file_name: str) -> bytes:
    """The bytes of a file name as the file system holds them (surrogate escapes back to their bytes)."""
    return file_name.encode("utf-8", "surrogateescape")


def name_hash(file_name: str, digits: int) -> str:
    return hashlib.sha1(name_bytes(file_name)).hexdigest()[:digits]


def display_name(text: str) -> str:
    """`text` (a file name, a path) as it can be shown, logged and stored: undecodable bytes read as
    DISPLAY_ENCODING, else as U+FFFD; control characters (a newline in a name) as U+FFFD, so a log line stays
    one line. Usual names come back unchanged."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = name_bytes(text)
        text = raw.decode("utf-8", "replace")
        with contextlib.suppress(UnicodeDecodeError):
            guess = raw.decode(DISPLAY_ENCODING)
            if not any(unicodedata.category(char) == "Co" for char in guess):
                text = guess
    return _CONTROL.sub("\ufffd", text)


def slugify(file_name: str) -> str:
    """ASCII slug of a file name without its extension (`Dialog v2.xlsx` -> `Dialog_v2`).

    Accents are dropped (`Café` -> `Cafe`); a name that had any non-ASCII character also gets the first
    NAME_HASH_HEX hex of the SHA-1 of its bytes (`台词.xlsx` -> `workbook-1a2b3c`), so two such names never
    share a slug."""
    stem = Path(file_name).stem
    ascii_text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_text).strip("_-")
    slug = re.sub(r"_{2,}", "_", slug)[:SLUG_MAX].strip("_-") or "workbook"
    return slug if stem.isascii() else f"{slug}-{name_hash(file_name, NAME_HASH_HEX)}"


def file_sha256(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def workbook_key(path: Path, sha256: str | None = None) -> str:
    """Partition key of one file version, e.g. `Dialog_v2-3fa94c1e`."""
    return f"{slugify(path.name)}-{(sha256 or file_sha256(path))[:8]}"


def fallback_key(file_name: str, sha256: str) -> str:
    """The key of a file version whose `workbook_key` another name already holds (`Dialog!.xlsx` when
    `Dialog.xlsx` has the same bytes): the slug, FALLBACK_HASH_HEX hex of the name's SHA-1, the content hash."""
    return f"{slugify(file_name)}-{name_hash(file_name, FALLBACK_HASH_HEX)}-{sha256[:8]}"
