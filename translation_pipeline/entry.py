"""The `translation-pipeline` console script.

The CLI imports dagster, pandas, openpyxl and SQLAlchemy: hundreds of thousands of objects that live as long as
the process. While they are imported, the cyclic garbage collector would walk them again and again and find
nothing (measured on the 12,000-cell benchmark: 5 full collections, about 0.35 s, before the run starts). So the
collector is paused for the imports, and what they made is frozen: later collections skip it
(https://docs.python.org/3/library/gc.html#gc.freeze).
"""

from __future__ import annotations

import gc


def main() -> int:
    gc.disable()
    try:
        from translation_pipeline.cli import main as cli_main
    finally:
        gc.enable()
    gc.freeze()
    return cli_main()
