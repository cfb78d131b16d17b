"""The `openai` SDK, imported without its optional aiohttp transport.

When `aiohttp` is installed (dashscope needs it), importing `openai` imports aiohttp too, for the
`DefaultAioHttpClient` transport, which this project never uses; aiohttp builds two SSL contexts as it is
imported. With openai's adapter module marked absent, openai imports as it does where aiohttp is not installed
(its default httpx transport is the same). Measured here: 0.26 s instead of 0.38 s, on the path to a run's
first request. Import `openai` from here.
"""

import sys

# a None entry in sys.modules makes `import` of that name raise ImportError, which openai handles as "not installed"
sys.modules.setdefault("openai._vendor.httpx_aiohttp", None)

import openai  # noqa: E402

__all__ = ["openai"]
