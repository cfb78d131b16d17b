"""Gigabyte zip bombs against the default limits: time to the refusal and peak memory. Not part of the tests.

    .venv/bin/python -m benchmarks.hostile [--gib 1]

Cases (tests/hostile_packages.py, at `--gib` GiB):
- `bomb_by_ratio`: the worksheet padded with white space (about 1 MB zipped);
- `bomb_by_part`: an unreferenced `xl/media/pad.bin` of zeros;
- `lying_directory`: the same pad, its directory entry claiming 1,000 bytes;
- `big_media_copied`: a valid workbook carrying a 512 MiB incompressible picture it never references, which
  the export must copy: peak memory must not grow with it;
- `padded_sheet_read`: the padded worksheet read with the limits off: reading must not hold the padding.

Each case runs in a fresh process: `read_workbook` then, if the workbook is accepted, `export_workbook` with
one fill per empty target cell. It prints the outcome line, seconds and the process's peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from tests.hostile_packages import MIB, base, cases

CHILD = """
import sys
from pathlib import Path
from translation_pipeline.localization.read.limits import PackageLimits
from translation_pipeline.localization.read.workbook import WorkbookError, read_workbook, to_translate
from translation_pipeline.localization.write.export import CellFill, export_workbook
from translation_pipeline.localization.refs import cell_ref
path, read_only = Path(sys.argv[1]), sys.argv[2] == "read"
output = path.with_name("out.xlsx")
try:
    no_limits = PackageLimits(part_bytes=1 << 40, total_bytes=1 << 40, ratio=10**9)
    cells = read_workbook(path, limits=no_limits if read_only else None).cells
except WorkbookError as error:
    print(f"refused: {error.problem}")
else:
    todo = cells[to_translate(cells)]
    fills = [CellFill(s, cell_ref(c), t) for s, c, t in zip(todo["sheet"], todo["target_cell"], todo["source_text"])]
    if read_only:
        print(f"read with the limits off: {len(fills)} cells to fill")
    else:
        summary = export_workbook(path, output, fills)
        print(f"accepted: {summary.written} cells written, {output.stat().st_size // 1048576} MiB out")
status = Path("/proc/self/status").read_text()
print(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
"""


def big_media(path: Path, size: int) -> None:
    base(path)
    chunk = os.urandom(MIB)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_STORED, allowZip64=True) as package:
        entry = zipfile.ZipInfo("xl/media/image1.png", date_time=(2026, 1, 1, 0, 0, 0))
        entry.file_size = size
        with package.open(entry, "w") as stream:
            for _ in range(size // MIB):
                stream.write(chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=1.0)
    args = parser.parse_args()
    scale = args.gib * 1024
    builds = {name: build for name, (build, _) in cases(scale).items()
              if name in ("bomb_by_ratio", "bomb_by_part", "lying_directory")}  # fmt: skip
    builds["big_media_copied"] = lambda path: big_media(path, 512 * MIB)
    builds["padded_sheet_read"] = builds["bomb_by_ratio"]  # the same padding, read with the limits off
    print("case | zip MiB | unpacked MiB (claimed) | outcome | seconds | peak RSS MiB")
    with tempfile.TemporaryDirectory(prefix="tp-hostile-") as tmp:
        for name, build in builds.items():
            folder = Path(tmp) / name
            folder.mkdir()
            path = folder / f"{name}.xlsx"
            build(path)
            with zipfile.ZipFile(path) as package:
                claimed = sum(info.file_size for info in package.infolist())
            started = time.perf_counter()
            mode = "read" if name == "padded_sheet_read" else "full"
            done = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], capture_output=True, text=True,
                                  check=True)  # fmt: skip
            seconds = time.perf_counter() - started
            outcome, peak_kib = done.stdout.strip().splitlines()
            print(f"{name} | {path.stat().st_size / MIB:.1f} | {claimed / MIB:.0f} | {outcome[:110]} | "
                  f"{seconds:.2f} | {int(peak_kib) / 1024:.0f}", flush=True)  # fmt: skip
            for file in folder.iterdir():
                file.unlink()


if __name__ == "__main__":
    main()
