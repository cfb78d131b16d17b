"""Reading cost against a bare streaming parse of the same sheets' XML, and peak memory.

    .venv/bin/python -m benchmarks.read [--rows 100000]

Cases: the corpus's bloated-styles workbook (63 rows, 50,000 cell formats, ~10 MB styles.xml) and an N-row
string table (benchmarks/generate.py). For each: `read_workbook` (layout, content checks, cell table, ledger),
the bare parse (lxml iterparse of every worksheet part, each row cleared, nothing kept), openpyxl's read-only
load for comparison, and the peak RSS of a fresh process doing only `read_workbook`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from lxml import etree
from openpyxl import load_workbook

from benchmarks.generate import write_workbook


def bare_parse(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with archive.open(name) as stream:
                    for _, element in etree.iterparse(stream, events=("end",), tag="{*}row"):
                        element.clear()
                        while element.getprevious() is not None:
                            del element.getparent()[0]


def openpyxl_read_only(path: Path) -> None:
    workbook = load_workbook(path, read_only=True)
    for sheet in workbook.worksheets:
        for _ in sheet.iter_rows(values_only=True):
            pass
    workbook.close()


def ours(path: Path) -> None:
    from translation_pipeline.localization.read.workbook import read_workbook

    read_workbook(path)


def best_of(function, path: Path, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(path)
        times.append(time.perf_counter() - start)
    return min(times)


def peak_rss_mib(path: Path | None) -> float:
    """Peak RSS of a fresh process that imports the reader and reads `path` (None: imports only)."""
    # VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so a child would report this process's size
    code = (
        "import re, sys; from pathlib import Path;"
        "from translation_pipeline.localization.read.workbook import read_workbook;"
        "sys.argv[1:] and read_workbook(Path(sys.argv[1]));"
        "print(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) / 1024)"
    )
    arguments = [sys.executable, "-c", code, *([str(path)] if path else [])]
    done = subprocess.run(arguments, capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.corpus.cases import CASES

    bloated = next(case for case in CASES if case.name == "bloated_styles")
    cases = {"bloated styles (63 rows)": folder / bloated.filename}
    bloated.build(cases["bloated styles (63 rows)"])
    big, _ = write_workbook(folder / "big.xlsx", args.rows)
    cases[f"{args.rows:,} rows"] = big
    ours(big)  # warm the content detector's models once, as a long-lived process has them
    print(f"{'case':28} {'read_workbook':>14} {'bare parse':>11} {'ratio':>6} {'openpyxl ro':>12} {'peak RSS':>9}")
    print(f"{'(imports only)':28} {'':>14} {'':>11} {'':>6} {'':>12} {peak_rss_mib(None):7.0f} MiB")
    for label, path in cases.items():
        mine, bare, reference = best_of(ours, path), best_of(bare_parse, path), best_of(openpyxl_read_only, path, 1)
        print(f"{label:28} {mine:13.2f}s {bare:10.2f}s {mine / bare:5.1f}x {reference:11.2f}s "
              f"{peak_rss_mib(path):7.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
