"""How much a workbook package may unpack to, judged from the zip's own numbers before any part is read.

A zip says in its central directory how large each entry is once unpacked. A zip bomb says the truth there
(1 MB that unpacks to 1 GiB of whitespace) or lies (a small size, then a stream that inflates far past it).
The first kind is refused here, from the directory alone. The second cannot get past `zipfile`: a part is
read through `ZipFile.open`, which stops at the size the directory gave and then fails the CRC check, so a
lying part ends as a damaged file after reading at most what the limits allow. Every reader of the package
(lxml, the calamine path, the export) goes through those checked sizes: calamine only reads a sheet after
`zipfile` has read and checked the same part.

The defaults are far above any string table: the largest real ones are tens of MB unpacked, and their XML
compresses 5-20:1 (a styles part bloated with 50,000 copies of the same cell format: about 110:1).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass

MIB = 1 << 20


def _size(count: int) -> str:
    if count >= 1 << 30:
        return f"{count / (1 << 30):.1f} GiB"
    if count >= MIB:
        return f"{count / MIB:.1f} MiB"
    return f"{count:,} bytes"


@dataclass(frozen=True)
class PackageLimits:
    """Limits on what a package may unpack to. A part is judged by its ratio only from `ratio_from_bytes`
    unpacked (a small part is harmless whatever its ratio), and by the ratio first: a part over both limits
    is reported as the bomb it is."""

    part_bytes: int = 1024 * MIB  # one part, unpacked
    total_bytes: int = 4096 * MIB  # all parts together, unpacked
    ratio: int = 200  # unpacked : packed, for one part
    ratio_from_bytes: int = 16 * MIB

    @classmethod
    def from_megabytes(cls, part_mb: int, total_mb: int, ratio: int) -> PackageLimits:
        return cls(part_bytes=part_mb * MIB, total_bytes=total_mb * MIB, ratio=ratio)

    def problem(self, entries: list[zipfile.ZipInfo]) -> str | None:
        """Why the package whose central directory lists `entries` is refused; None when it is within limits."""
        total = 0
        for entry in entries:
            size, packed = entry.file_size, entry.compress_size
            if size >= self.ratio_from_bytes and size > self.ratio * max(packed, 1):
                return (
                    f"{entry.filename} unpacks to {_size(size)} from {_size(packed)} ({size // max(packed, 1):,}:1, "
                    f"over the limit of {self.ratio}:1): a zip bomb, or padding no workbook needs "
                    "(TRANSLATION_MAX_COMPRESSION_RATIO)"
                )
            if size > self.part_bytes:
                return (
                    f"{entry.filename} unpacks to {_size(size)}, over the limit of {_size(self.part_bytes)} per "
                    "part (TRANSLATION_MAX_PART_MB)"
                )
            total += size
        if total > self.total_bytes:
            return (
                f"the parts unpack to {_size(total)} in all, over the limit of {_size(self.total_bytes)} "
                "(TRANSLATION_MAX_PACKAGE_MB)"
            )
        return None
