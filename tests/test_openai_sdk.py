"""The `openai` SDK is imported without aiohttp, which it would otherwise import for a transport never used."""

from __future__ import annotations

import subprocess
import sys

_LOADED = "import sys\n{imports}\nprint(sorted({{n.split('.')[0] for n in sys.modules if n.startswith('aiohttp')}}))"


def _aiohttp_after(imports: str) -> str:
    code = _LOADED.format(imports=imports)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_openai_is_imported_without_its_aiohttp_transport() -> None:
    assert _aiohttp_after("import openai") == "['aiohttp']"  # what the plain SDK import does here
    guarded = "from translation_pipeline.localization.translate.providers.openai_sdk import openai\n"
    assert _aiohttp_after(guarded + "openai.AsyncOpenAI(api_key='k', base_url='http://127.0.0.1:9/v1')") == "[]"
