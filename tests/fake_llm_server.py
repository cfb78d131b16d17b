"""A local fake LLM server that speaks the OpenAI and DashScope wire protocols, with fault injection.

The real SDKs can be pointed at it (``openai.OpenAI(base_url=server.base_url_openai)``,
``dashscope.base_http_api_url = server.base_url_dashscope``). It answers the batch contract of
DESIGN.md section 2: the last user message is a JSON object with ``items``; the reply content is
``{"translations": [{"id", "text"}]}`` where each text is ``f"[{target_language}] {source text}"``, so
every placeholder of the source is kept.

Faults (see ``FAULT_KINDS``) come from three sources, checked in this order for every request:

1. the plan queue (``plan([...])``), one entry consumed per request, ``"ok"`` meaning no fault;
2. item rules (``fault_for_item(substring, fault, times=1)``), applied when an item's text contains
   the substring; item-level faults then act on that item;
3. random mode (``random_faults(rate, seed, kinds)``), reproducible for a seed whatever the arrival
   order: the draw depends on the seed, the request's target language and item ids, and how many
   times that same batch was seen before.

Item-level faults (``missing_id``, ``duplicate_id``, ``lost_placeholder``, ``formula``,
``empty_text``, ``lone_surrogate``, and the hostile texts ``control_chars``, ``excel_escape``,
``xml_markup``, ``xml_text``, ``long_text``, ``swapped_ids``) act on the first item unless an item rule
picked another one. The hostile texts are the correct translation with something appended
(``CONTROL_TEXT``, ``EXCEL_ESCAPE_TEXT``, ``XML_MARKUP_TEXT``, ``XML_TEXT``) or padded to
``LONG_TEXT_CHARS`` characters; ``swapped_ids`` exchanges the texts of that item and the next one (the
one before, for the last item), as if the model had mixed up their ids.

Batch API. The server also speaks OpenAI's Files and Batches endpoints, under ``/v1`` (OpenAI) and under
``/compatible-mode/v1`` (``base_url_compatible``: Alibaba Model Studio's compatible-mode Batch API; it
keeps its own files and batches, and accepts completion windows of 24h to 336h): ``POST /files``
(multipart ``file`` + ``purpose``), ``GET /files``, ``GET``/``DELETE /files/{id}``,
``GET /files/{id}/content``, ``POST /batches``, ``GET /batches`` (cursor pages: ``limit``, ``after``,
newest first), ``GET /batches/{id}``, ``POST /batches/{id}/cancel``. A batch input file is JSONL of
``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}``; a malformed one (bad JSON,
missing field, wrong url or method, mixed models, duplicate custom_id, empty file) makes the job
``failed`` with ``errors.data`` entries naming the line. ``batches.create`` answers 400 for a file over
``batch_max_lines`` lines or ``batch_max_bytes`` bytes. Each line is answered by the same code as the
realtime endpoint (same reply, same ``plan`` / ``fault_for_item`` / ``random_faults`` faults, consumed as
lines run, in input order) and logged in ``batch_requests`` (``lane == "batch"``); accepted jobs are
listed in ``batches_created`` and every Files/Batches call in ``batch_api_calls``. Output lines are
``{"id": "batch_req_...", "custom_id", "response": {"status_code", "request_id", "body"}, "error": null}``;
failed lines go to the error file the same way, lines never run to it with ``"response": null`` and
``error.code`` ``batch_expired`` or ``batch_cancelled``.

Jobs progress lazily when looked at (no background thread), as ``batch_timing(...)`` says: by default
``validating`` when created, ``in_progress`` at the first retrieve, ``completed`` at the second;
``seconds_per_line`` makes it time-driven, ``manual=True`` leaves it to ``advance_batches()``,
``complete_batch(id)`` and ``expire_batch(id)``. Batch faults (``batch_fault(kind, times=1, ...)``, see
``BATCH_FAULT_KINDS``) apply to the next created jobs: ``line_500``, ``expire_half``, ``fail_job``,
``cancel``, ``stuck``, ``download_500``, ``unknown_custom_id``, ``duplicate_line``, ``malformed_line``,
and ``delay`` (latency on the next Files/Batches calls).

Run ``python -m tests.fake_llm_server --port 8765 --latency-ms 200`` to serve until interrupted; the
first line printed is the server's base URL.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
OK = "ok"
FAULT_KINDS: tuple[str, ...] = (
    "429",
    "500",
    "401",
    "400",
    "slow",
    "non_json",
    "code_fence",
    "missing_id",
    "extra_id",
    "duplicate_id",
    "shuffled",
    "truncated",
    "lost_placeholder",
    "formula",
    "empty_text",
    "lone_surrogate",
    "control_chars",
    "excel_escape",
    "xml_markup",
    "xml_text",
    "long_text",
    "swapped_ids",
)
# Kinds the random mode draws from by default: the ones a robust client is expected to recover from.
RANDOM_DEFAULT_KINDS: tuple[str, ...] = (
    "429",
    "500",
    "non_json",
    "code_fence",
    "missing_id",
    "extra_id",
    "duplicate_id",
    "shuffled",
    "truncated",
    "lost_placeholder",
    "empty_text",
)
HTTP_STATUS_FAULTS: dict[str, int] = {"429": 429, "500": 500, "401": 401, "400": 400}

OPENAI = "openai"
DASHSCOPE = "dashscope"
OPENAI_PATHS = frozenset({"/v1/chat/completions", "/chat/completions", "/compatible-mode/v1/chat/completions"})
DASHSCOPE_PATH = "/api/v1/services/aigc/text-generation/generation"
REALTIME_LANE = "realtime"
BATCH_LANE = "batch"

# -- Batch API (Files + Batches) ----------------------------------------------------------------------
BATCH_FAULT_KINDS: tuple[str, ...] = (
    "line_500",
    "expire_half",
    "fail_job",
    "cancel",
    "stuck",
    "download_500",
    "unknown_custom_id",
    "duplicate_line",
    "malformed_line",
    "delay",
)
BATCH_STATUSES: tuple[str, ...] = (
    "validating",
    "in_progress",
    "finalizing",
    "completed",
    "failed",
    "expired",
    "cancelling",
    "cancelled",
)
TERMINAL_BATCH_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
BATCH_ENDPOINT = "/v1/chat/completions"  # the only endpoint the fake runs batches for
BATCH_MAX_LINES = 50_000
BATCH_MAX_BYTES = 200 * 1024 * 1024
UNKNOWN_CUSTOM_ID = "unknown-custom-id"  # the custom_id of the line added by the unknown_custom_id fault
MALFORMED_LINE = '{"id": "batch_req_malformed", "custom_id": '  # the line added by malformed_line: not JSON
FILE_PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})
BATCH_EXPIRED_MESSAGE = "This request could not be executed before the completion window expired."
BATCH_CANCELLED_MESSAGE = "This request was not executed because the batch was cancelled."
FAIL_JOB_ERROR: dict[str, Any] = {
    "code": "token_limit_exceeded",
    "message": "Enqueued token limit reached for this model in organization org-fake. "
    "Please try again once some in_progress batches have been completed.",
    "param": None,
    "line": None,
}
# prefix of the Files/Batches paths -> the provider whose store they use (each keeps its own files and batches)
_BATCH_PREFIXES: dict[str, str] = {"": OPENAI, "/v1": OPENAI, "/compatible-mode/v1": DASHSCOPE}
_BATCH_ROUTE = re.compile(
    r"^(?P<prefix>/compatible-mode/v1|/v1|)/(?P<kind>files|batches)"
    r"(?:/(?P<id>[^/]+)(?:/(?P<action>[^/]+))?)?/?$"
)
_BATCH_OPERATIONS: dict[tuple[str, str, bool, str | None], str] = {
    ("POST", "files", False, None): "files.create",
    ("GET", "files", False, None): "files.list",
    ("GET", "files", True, None): "files.retrieve",
    ("DELETE", "files", True, None): "files.delete",
    ("GET", "files", True, "content"): "files.content",
    ("POST", "batches", False, None): "batches.create",
    ("GET", "batches", False, None): "batches.list",
    ("GET", "batches", True, None): "batches.retrieve",
    ("POST", "batches", True, "cancel"): "batches.cancel",
}

PLACEHOLDER_RE = re.compile(r"\{[^{}]*\}|%(?:\d+\$)?[sdif]|</?[A-Za-z][^<>]*>")
FORMULA_TEXT = '=HYPERLINK("http://evil","click")'
SURROGATE_TEXT = "lone \ud800 surrogate"  # valid JSON as "\ud800", storable nowhere
CONTROL_TEXT = " \x07 \x1b[31mred\x1b[0m"  # a bell and ANSI colour codes
EXCEL_ESCAPE_TEXT = " _x0041__x0007_"  # what Excel would decode as "A" and a bell
XML_MARKUP_TEXT = " </t></si><si><t>x"  # closes the cell's text element, opens another
XML_TEXT = " <![CDATA[ &amp; ]]> &lt;"  # XML syntax, but no tag
LONG_TEXT_CHARS = 100_000
HOSTILE_SUFFIXES = {
    "control_chars": CONTROL_TEXT,
    "excel_escape": EXCEL_ESCAPE_TEXT,
    "xml_markup": XML_MARKUP_TEXT,
    "xml_text": XML_TEXT,
}
EXTRA_ID = "unknown-id"

# status -> (message, type, code) in OpenAI's {"error": {...}} body.
_OPENAI_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    404: ("Unknown path.", "invalid_request_error", None),
    429: ("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request.", "server_error", None),
}
# status -> (code, message) in DashScope's {"code", "message", "request_id"} body.
_DASHSCOPE_ERRORS: dict[int, tuple[str, str]] = {
    400: (
        "InvalidParameter",
        "Required parameter(s) missing or invalid, please check the request parameters.",
    ),
    401: ("InvalidApiKey", "Invalid API-key provided."),
    429: ("Throttling.RateQuota", "Requests rate limit exceeded, please try again later."),
    500: (
        "InternalError",
        "An internal error has occured, please try again later or contact service support.",
    ),
}


class BadRequest(Exception):
    """The request body does not follow the protocol or the batch contract."""


@dataclass
class _ItemRule:
    substring: str
    fault: str
    remaining: int | None


@dataclass
class _RandomMode:
    rate: float
    seed: int
    kinds: tuple[str, ...]
    seen: Counter[str] = field(default_factory=Counter)


@dataclass
class _Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    delay: float = 0.0
    request_id: str = ""
    raw: bytes | None = None  # sent as is instead of the JSON body (a file's content)


def _check_fault(fault: str, *, allow_ok: bool) -> None:
    if fault not in FAULT_KINDS and not (allow_ok and fault == OK):
        raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULT_KINDS)}")


def _canonical_header(name: str) -> str:
    """``authorization`` -> ``Authorization``: the SDKs differ in header-name case."""
    return "-".join(part.capitalize() for part in name.split("-"))


def _approx_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def _parse_batch(messages: Any) -> dict[str, Any]:
    """Return the batch object carried by the last user message."""
    if not isinstance(messages, list):
        raise BadRequest("messages must be a list")
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        raise BadRequest("no user message")
    try:
        batch = json.loads(_message_text(users[-1]))
    except json.JSONDecodeError as exc:
        raise BadRequest(f"user message is not JSON: {exc}") from exc
    if not isinstance(batch, dict) or not isinstance(batch.get("items"), list):
        raise BadRequest("user message must be a JSON object with an 'items' list")
    for item in batch["items"]:
        if not isinstance(item, dict) or "id" not in item or not isinstance(item.get("text"), str):
            raise BadRequest("every item needs an 'id' and a string 'text'")
    return batch


def _reply_content(fault: str, translations: list[dict[str, Any]], target: int) -> tuple[str, str]:
    """Apply a content fault to correct translations; return (content, finish_reason)."""
    items = [dict(t) for t in translations]
    if items:
        if fault == "missing_id":
            del items[target]
        elif fault == "duplicate_id":
            items.insert(target + 1, dict(items[target]))
        elif fault == "lost_placeholder":
            items[target]["text"] = PLACEHOLDER_RE.sub("", items[target]["text"])
        elif fault == "formula":
            items[target]["text"] = FORMULA_TEXT
        elif fault == "empty_text":
            items[target]["text"] = ""
        elif fault == "lone_surrogate":
            items[target]["text"] = SURROGATE_TEXT
        elif fault in HOSTILE_SUFFIXES:
            items[target]["text"] += HOSTILE_SUFFIXES[fault]
        elif fault == "long_text":
            items[target]["text"] = items[target]["text"].ljust(LONG_TEXT_CHARS, "a")
        elif fault == "swapped_ids" and len(items) > 1:
            other = target + 1 if target + 1 < len(items) else target - 1
            items[target]["text"], items[other]["text"] = items[other]["text"], items[target]["text"]
    if fault == "extra_id":
        items.append({"id": EXTRA_ID, "text": "[??] not requested"})
    elif fault == "shuffled":
        items.reverse()
    # a lone surrogate cannot be encoded as UTF-8: sent as the JSON escape "\ud800", as a model's reply would be
    content = json.dumps({"translations": items}, ensure_ascii=fault == "lone_surrogate")
    if fault == "non_json":
        lines = "\n".join(f"- {t['id']}: {t['text']}" for t in items)
        return f"Sure! Here are the translations you asked for:\n{lines}", "stop"
    if fault == "code_fence":
        return f"```json\n{content}\n```", "stop"
    if fault == "truncated":
        return content[: len(content) // 2], "length"
    return content, "stop"


class FakeLLMServer:
    """Threaded HTTP server on 127.0.0.1 answering OpenAI chat completions and DashScope generation.

    Args:
        port: TCP port; 0 picks a free one.
        latency_ms: delay added to every response.
        retry_after: ``Retry-After`` header value sent with a ``"429"`` fault (``"0"`` allowed).
        slow_seconds: how long a ``"slow"`` fault waits before answering normally.
        api_key: when set, a request whose bearer token differs gets a 401 (not counted as a fault).
        answer: ``answer(target_language, source_text)`` makes each correct translation; default
            ``f"[{target_language}] {source_text}"``.
        batch_max_lines, batch_max_bytes: ``batches.create`` rejects (400) an input file with more lines
            or bytes (OpenAI's limits by default: 50,000 requests, 200 MB).

    The settings are plain attributes and may be changed while the server runs.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        latency_ms: float = 0,
        retry_after: str | float = "1",
        slow_seconds: float = 5.0,
        api_key: str | None = None,
        answer: Callable[[str, str], str] | None = None,
        batch_max_lines: int = BATCH_MAX_LINES,
        batch_max_bytes: int = BATCH_MAX_BYTES,
    ) -> None:
        self.latency_ms = latency_ms
        self.answer = answer or (lambda target, text: f"[{target}] {text}")
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.api_key = api_key
        self.batch_max_lines = batch_max_lines
        self.batch_max_bytes = batch_max_bytes
        self._requested_port = port
        self._lock = threading.Lock()
        self._plan: deque[str] = deque()
        self._rules: list[_ItemRule] = []
        self._random: _RandomMode | None = None
        self._requests: list[dict[str, Any]] = []
        self._batch_requests: list[dict[str, Any]] = []
        self._batches = _BatchService(self)
        self._in_flight = 0
        self._max_in_flight = 0
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeLLMServer:
        """Bind and serve in a background thread; returns self."""
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._stopping.clear()
        self._httpd = _HTTPServer((HOST, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-llm-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake delayed responses (they are dropped) and close open connections."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def base_url_openai(self) -> str:
        """Value for ``OpenAI(base_url=...)`` / ``OPENAI_BASE_URL``."""
        return f"{self.base_url}/v1"

    @property
    def base_url_dashscope(self) -> str:
        """Value for ``dashscope.base_http_api_url`` / ``DASHSCOPE_HTTP_BASE_URL``."""
        return f"{self.base_url}/api/v1"

    @property
    def base_url_compatible(self) -> str:
        """DashScope's OpenAI-compatible mode, for ``OpenAI(base_url=...)``: chat, Files and Batches."""
        return f"{self.base_url}/compatible-mode/v1"

    # -- fault configuration ---------------------------------------------------------------------

    def plan(self, faults: Iterable[str]) -> None:
        """Queue faults consumed one per request, in order (``"ok"`` = answer normally)."""
        faults = list(faults)
        for fault in faults:
            _check_fault(fault, allow_ok=True)
        with self._lock:
            self._plan.extend(faults)

    def fault_for_item(self, text_substring: str, fault: str, times: int | None = 1) -> None:
        """Apply ``fault`` to requests with an item whose text contains the substring.

        At most ``times`` requests are affected (``None`` = every one). Item-level faults act on the
        matching item.
        """
        _check_fault(fault, allow_ok=False)
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        with self._lock:
            self._rules.append(_ItemRule(text_substring, fault, times))

    def random_faults(self, rate: float, seed: int, kinds: Sequence[str] = RANDOM_DEFAULT_KINDS) -> None:
        """Give each request a fault from ``kinds`` with probability ``rate``, reproducibly for ``seed``."""
        if not 0 <= rate <= 1:
            raise ValueError("rate must be within [0, 1]")
        if not kinds:
            raise ValueError("kinds must not be empty")
        for fault in kinds:
            _check_fault(fault, allow_ok=False)
        with self._lock:
            self._random = _RandomMode(rate, seed, tuple(kinds))

    # -- Batch API: timing, faults, manual progression ---------------------------------------------

    def batch_timing(
        self,
        *,
        validating_s: float = 0.0,
        seconds_per_line: float = 0.0,
        in_progress_polls: int = 1,
        finalizing_polls: int = 0,
        window_s: float | None = None,
        manual: bool = False,
    ) -> None:
        """Set how batch jobs progress (every argument reset to its default unless given).

        Progress is computed when a job is looked at (retrieve, list, cancel), never in the background:

        * a job is ``validating`` until ``validating_s`` seconds after its creation (then ``failed`` when
          its input file is malformed, or ``in_progress``);
        * with ``seconds_per_line > 0`` one line is run per that many seconds once in progress;
          otherwise progress counts retrieves: the job shows ``in_progress`` for ``in_progress_polls``
          retrieves (line ``total * (k - 1) // in_progress_polls`` done at the k-th) and runs its last lines
          at the next one;
        * after its lines it is ``finalizing`` for ``finalizing_polls`` retrieves, then ``completed``;
        * a ``cancelling`` job becomes ``cancelled`` at the next retrieve;
        * ``window_s`` (default: the completion window, e.g. 24 hours) expires a job not in progress or
          validating past it;
        * ``manual=True``: nothing moves but by :meth:`advance_batches`, :meth:`complete_batch`,
          :meth:`expire_batch` (and ``window_s``).
        """
        if validating_s < 0 or seconds_per_line < 0 or in_progress_polls < 0 or finalizing_polls < 0:
            raise ValueError("batch timings must be >= 0")
        with self._batches.lock:
            self._batches.timing = _BatchTiming(
                validating_s, seconds_per_line, in_progress_polls, finalizing_polls, window_s, manual
            )

    def batch_fault(
        self,
        kind: str,
        times: int | None = 1,
        *,
        match: str | None = None,
        every: int | None = None,
        failures: int = 1,
        seconds: float = 0.5,
    ) -> None:
        """Inject a batch-level fault (see ``BATCH_FAULT_KINDS``) into the next ``times`` created jobs.

        ``None`` = every one. With ``match``, only jobs with a line whose custom_id contains it are
        affected. Kinds:

        * ``line_500``: lines answered 500 (in the error file): those whose custom_id contains ``match``,
          else every ``every``-th line, else the first line;
        * ``expire_half`` / ``cancel``: the job ends ``expired`` / ``cancelled`` once half its lines
          (rounded down) are done; the other lines are in the error file as ``batch_expired`` /
          ``batch_cancelled``;
        * ``fail_job``: the job ends ``failed`` at validation (``errors.data`` holds a
          ``token_limit_exceeded`` error), no files;
        * ``stuck``: the job stays ``in_progress`` doing nothing (even for :meth:`advance_batches`) until
          cancelled or expired;
        * ``download_500``: ``files.content`` of its output file (its error file when it has none)
          fails with 500 the first ``failures`` times;
        * ``unknown_custom_id``, ``duplicate_line``, ``malformed_line``: the output file also holds a line
          with custom_id ``UNKNOWN_CUSTOM_ID``, a second copy of a line (the first whose custom_id
          contains ``match``, else the first), the non-JSON ``MALFORMED_LINE`` (as its second line);
        * ``delay``: not per job: the next ``times`` Files/Batches calls wait ``seconds`` more.
        """
        if kind not in BATCH_FAULT_KINDS:
            raise ValueError(f"unknown batch fault {kind!r}; known: {', '.join(BATCH_FAULT_KINDS)}")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        if every is not None and every < 1:
            raise ValueError("every must be >= 1")
        with self._batches.lock:
            self._batches.rules.append(_BatchFaultRule(kind, times, match, every, failures, seconds))

    def advance_batches(self, lines: int | None = None, *, batch_id: str | None = None) -> dict[str, str]:
        """Move jobs (all, or ``batch_id``) forward now, whatever the timing mode; return id -> status.

        A validating job is validated (``failed`` or started); then ``lines`` more of its lines are run
        (``None`` = all, which completes it); a cancelling job becomes ``cancelled``. Batch faults
        still apply (a ``stuck`` job does not move, an ``expire_half`` job ends at half).
        """
        return self._batches.advance(lines, batch_id)

    def complete_batch(self, batch_id: str) -> str:
        """Run every remaining line of a job and finish it; return its status (``KeyError`` if unknown)."""
        return self._batches.advance(None, batch_id)[batch_id]

    def expire_batch(self, batch_id: str) -> str:
        """Expire a job now, as its completion window passing would; return its status."""
        return self._batches.expire(batch_id)

    def batch_state(self, batch_id: str) -> dict[str, Any]:
        """The job's Batch object as ``batches.retrieve`` would return it, without making it progress."""
        with self._batches.lock:
            return self._batches.as_json(self._batches.jobs[batch_id])

    def file_bytes(self, file_id: str) -> bytes:
        """Content of a stored file (uploaded, or an output/error file), without going through HTTP."""
        with self._batches.lock:
            return self._batches.files[file_id].data

    @property
    def batches_created(self) -> list[dict[str, Any]]:
        """One entry per accepted ``batches.create``: id, provider (``"openai"``, or ``"dashscope"`` for the
        compatible-mode prefix), metadata, input_file_id, endpoint, completion_window, lines, faults and
        created_at."""
        with self._batches.lock:
            return [dict(entry) for entry in self._batches.created]

    @property
    def batch_requests(self) -> list[dict[str, Any]]:
        """Snapshot of the chat requests run as batch lines, in the order they ran.

        Entries are those of :attr:`requests` (``lane`` is ``"batch"``) with batch_id, custom_id,
        batch_provider and batch_fault (``"line_500"`` or None); their ``index`` counts batch lines only.
        """
        with self._lock:
            return [dict(r) for r in self._batch_requests]

    @property
    def batch_api_calls(self) -> list[dict[str, Any]]:
        """Snapshot of the Files/Batches HTTP calls: index, time, method, path, provider, operation
        (e.g. ``"batches.create"``, None for an unknown path), id, status and delay."""
        with self._batches.lock:
            return [dict(call) for call in self._batches.calls]

    # -- request log -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Snapshot of the request log.

        Each entry has: index, time, lane (``"realtime"``; batch lines are in :attr:`batch_requests`),
        protocol (``"openai"``, ``"dashscope"`` or None for an unknown path), path, model, headers
        (names in Title-Case, e.g. ``Authorization``), body, item_ids, source_language,
        target_language, fault (None when no fault was chosen, e.g. a rejected request) and status.
        """
        with self._lock:
            return [dict(r) for r in self._requests]

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def max_in_flight(self) -> int:
        """The most requests this server was answering at one time (from body read to reply sent)."""
        with self._lock:
            return self._max_in_flight

    def _enter(self, change: int) -> None:
        with self._lock:
            self._in_flight += change
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    # -- request handling (called from handler threads) ------------------------------------------

    def _choose_fault(self, target_language: str, items: list[dict[str, Any]]) -> tuple[str, int]:
        """Return (fault, index of the item that item-level faults act on). Caller holds the lock."""
        if self._plan:
            return self._plan.popleft(), 0
        for rule in self._rules:
            if rule.remaining == 0:
                continue
            for index, item in enumerate(items):
                if rule.substring in item["text"]:
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule.fault, index
        mode = self._random
        if mode is not None:
            key = json.dumps([target_language, [str(item["id"]) for item in items]])
            occurrence = mode.seen[key]
            mode.seen[key] += 1
            rng = random.Random(f"{mode.seed}|{key}|{occurrence}")
            if rng.random() < mode.rate:
                return rng.choice(mode.kinds), 0
        return OK, 0

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            log = self._batch_requests if entry.get("lane") == BATCH_LANE else self._requests
            entry["index"] = len(log)
            log.append(entry)

    def _build_reply(
        self,
        path: str,
        headers: dict[str, str],
        raw_body: bytes,
        *,
        lane: str = REALTIME_LANE,
        extra: dict[str, Any] | None = None,
        forced_fault: str | None = None,
    ) -> _Reply:
        """Answer one chat request: a realtime one, or (``lane="batch"``) one line of a batch job.

        ``extra`` adds fields to the log entry; ``forced_fault`` replaces the fault choice (plan, item
        rules, random mode are then not consulted).
        """
        path = path.split("?", 1)[0]
        protocol = OPENAI if path in OPENAI_PATHS else DASHSCOPE if path == DASHSCOPE_PATH else None
        entry: dict[str, Any] = {
            "time": time.time(),
            "lane": lane,
            "protocol": protocol,
            "path": path,
            "model": None,
            "headers": headers,
            "body": None,
            "item_ids": [],
            "source_language": None,
            "target_language": None,
            "fault": None,
            **(extra or {}),
        }
        latency = self.latency_ms / 1000
        request_id = str(uuid.uuid4())
        if protocol is None:
            entry["status"] = 404
            self._record(entry)
            return _Reply(404, _error_body(OPENAI, 404, request_id), {}, latency, request_id)

        try:
            body = json.loads(raw_body or b"null")
            if not isinstance(body, dict):
                raise BadRequest("body must be a JSON object")
            entry["body"] = body
            entry["model"] = body.get("model")
            if body.get("stream") or (body.get("parameters") or {}).get("stream"):
                raise BadRequest("streaming is not supported by the fake server")
            messages = body.get("messages") if protocol == OPENAI else (body.get("input") or {}).get("messages")
            batch = _parse_batch(messages)
        except (BadRequest, json.JSONDecodeError) as exc:
            entry["status"] = 400
            self._record(entry)
            return _Reply(400, _error_body(protocol, 400, request_id, str(exc)), {}, latency, request_id)

        items: list[dict[str, Any]] = batch["items"]
        target_language = str(batch.get("target_language", ""))
        entry.update(
            item_ids=[item["id"] for item in items],
            source_language=batch.get("source_language"),
            target_language=target_language,
        )

        if self.api_key is not None and headers.get("Authorization") != f"Bearer {self.api_key}":
            entry["status"] = 401
            self._record(entry)
            return _Reply(401, _error_body(protocol, 401, request_id), {}, latency, request_id)

        if forced_fault is not None:
            fault, target = forced_fault, 0
        else:
            with self._lock:
                fault, target = self._choose_fault(target_language, items)
        entry["fault"] = fault

        if fault in HTTP_STATUS_FAULTS:
            status = HTTP_STATUS_FAULTS[fault]
            retry = {"Retry-After": str(self.retry_after)} if status == 429 else {}
            entry["status"] = status
            self._record(entry)
            return _Reply(status, _error_body(protocol, status, request_id), retry, latency, request_id)

        translations = [{"id": item["id"], "text": self.answer(target_language, item["text"])} for item in items]
        content, finish_reason = _reply_content(fault, translations, target)
        prompt_tokens = _approx_tokens("".join(_message_text(m) for m in messages if isinstance(m, dict)))
        completion_tokens = _approx_tokens(content)
        if protocol == OPENAI:
            reply = _openai_body(request_id, entry["model"], content, finish_reason, prompt_tokens, completion_tokens)
        else:
            result_format = (body.get("parameters") or {}).get("result_format")
            reply = _dashscope_body(request_id, result_format, content, finish_reason, prompt_tokens, completion_tokens)
        if fault == "slow":
            latency += self.slow_seconds
        entry["status"] = 200
        self._record(entry)
        return _Reply(200, reply, {}, latency, request_id)


def _error_body(protocol: str, status: int, request_id: str, detail: str | None = None) -> dict[str, Any]:
    if protocol == OPENAI:
        message, kind, code = _OPENAI_ERRORS[status]
        return {"error": {"message": detail or message, "type": kind, "param": None, "code": code}}
    code, message = _DASHSCOPE_ERRORS[status]
    return {"code": code, "message": detail or message, "request_id": request_id}


def _openai_body(
    request_id: str,
    model: str | None,
    content: str,
    finish_reason: str,
    prompt_tokens: int,
    completion_tokens: int,
) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": "fp_fake",
    }


def _dashscope_body(
    request_id: str,
    result_format: str | None,
    content: str,
    finish_reason: str,
    prompt_tokens: int,
    completion_tokens: int,
) -> dict[str, Any]:
    if result_format == "message":
        output: dict[str, Any] = {
            "choices": [{"finish_reason": finish_reason, "message": {"role": "assistant", "content": content}}]
        }
    else:  # DashScope's default "text" result format
        output = {"text": content, "finish_reason": finish_reason}
    return {
        "output": output,
        "usage": {
            "input_tokens": prompt_tokens,
            "output_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "request_id": request_id,
    }


# -- Batch API: Files and Batches ----------------------------------------------------------------------


class _APIError(Exception):
    """An OpenAI-shaped error reply of the Files/Batches endpoints."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": kind, "param": param, "code": code}}


@dataclass
class _Call:
    """One Files/Batches HTTP call, as its handler sees it."""

    provider: str
    id: str | None
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class _BatchTiming:
    validating_s: float = 0.0
    seconds_per_line: float = 0.0
    in_progress_polls: int = 1
    finalizing_polls: int = 0
    window_s: float | None = None
    manual: bool = False


@dataclass
class _BatchFaultRule:
    kind: str
    remaining: int | None
    match: str | None
    every: int | None
    failures: int
    seconds: float


@dataclass
class _StoredFile:
    id: str
    provider: str
    seq: int
    filename: str
    purpose: str
    data: bytes
    created_at: int
    content_failures: int = 0

    def as_json(self) -> dict[str, Any]:
        expires_at = self.created_at + 30 * 86400 if self.purpose.startswith("batch") else None
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": expires_at,
        }


@dataclass
class _BatchLine:
    number: int  # 1-based line number in the input file
    custom_id: str
    body: dict[str, Any]


@dataclass
class _Job:
    id: str
    provider: str
    seq: int
    endpoint: str
    input_file_id: str
    completion_window: str
    window_seconds: float
    metadata: dict[str, str] | None
    headers: dict[str, str]
    lines: list[_BatchLine]
    validation_errors: list[dict[str, Any]]
    faults: list[_BatchFaultRule]
    created_at: int
    created_mono: float
    status: str = "validating"
    done: int = 0  # lines run so far, in input order
    completed: int = 0
    failed: int = 0
    outputs: list[dict[str, Any]] = field(default_factory=list)
    error_lines: list[dict[str, Any]] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    times: dict[str, int] = field(default_factory=dict)
    errors: dict[str, Any] | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    polls: int = 0  # retrieves seen while in_progress
    final_left: int = 0  # retrieves still to show "finalizing"
    in_progress_mono: float = 0.0
    stop_at: int | None = None  # expire_half / cancel: the line count at which the job ends
    stop_status: str | None = None

    def rule(self, kind: str) -> _BatchFaultRule | None:
        return next((r for r in self.faults if r.kind == kind), None)

    @property
    def model(self) -> str | None:
        return self.lines[0].body.get("model") if self.lines else None


def _split_lines(data: bytes) -> list[bytes]:
    """The JSONL lines of a file; a final newline does not start another line."""
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1].strip() == b"":
        lines.pop()
    return [line.removesuffix(b"\r") for line in lines]


def _line_error(number: int | None, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param, "line": number}


def _parse_batch_input(data: bytes, endpoint: str) -> tuple[list[_BatchLine], list[dict[str, Any]]]:
    """Validate a batch input file as OpenAI does; return (valid lines, errors for ``errors.data``)."""
    raw_lines = _split_lines(data)
    if not raw_lines:
        return [], [_line_error(None, "empty_file", "The batch input file is empty.")]
    lines: list[_BatchLine] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    model: str | None = None
    for number, raw in enumerate(raw_lines, 1):
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            errors.append(_line_error(number, "invalid_json_line", "This line is not parseable as valid JSON."))
            continue
        if not isinstance(obj, dict):
            errors.append(_line_error(number, "invalid_request", "Each line must be a JSON object."))
            continue
        missing = [key for key in ("custom_id", "method", "url", "body") if key not in obj]
        if missing:
            message = f"Missing required parameter: '{missing[0]}'."
            errors.append(_line_error(number, "missing_required_parameter", message, missing[0]))
            continue
        custom_id, body = obj["custom_id"], obj["body"]
        if not isinstance(custom_id, str) or not custom_id:
            errors.append(
                _line_error(number, "invalid_custom_id", "custom_id must be a non-empty string.", "custom_id")
            )
        elif obj["method"] != "POST":
            errors.append(
                _line_error(number, "invalid_method", "The method for this request must be 'POST'.", "method")
            )
        elif obj["url"] != endpoint:
            message = f"The url for this request does not match the batch endpoint '{endpoint}'."
            errors.append(_line_error(number, "invalid_url", message, "url"))
        elif not isinstance(body, dict) or not isinstance(body.get("model"), str):
            message = "Missing required parameter: 'body.model'."
            errors.append(_line_error(number, "missing_required_parameter", message, "body.model"))
        elif model is not None and body["model"] != model:
            message = f"All requests in a batch must use the same model: expected '{model}', got '{body['model']}'."
            errors.append(_line_error(number, "mismatched_model", message, "body.model"))
        elif custom_id in seen:
            message = (
                "The custom_id for this request is a duplicate of another request. "
                "The custom_id parameter must be unique for each request in a batch."
            )
            errors.append(_line_error(number, "duplicate_custom_id", message, "custom_id"))
        else:
            model = body["model"]
            seen.add(custom_id)
            lines.append(_BatchLine(number, custom_id, body))
    return lines, errors


def _parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """``multipart/form-data`` body -> field name -> (filename or None, bytes)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise _APIError(400, "The multipart/form-data body has no boundary.")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in body.split(b"--" + match.group(1).encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        head, sep, data = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            continue
        headers = head.decode("utf-8", "replace")
        disposition = re.search(r"(?im)^content-disposition:(.*)$", headers)
        name = re.search(r'\bname="([^"]*)"', disposition.group(1)) if disposition else None
        if name is None:
            continue
        filename = re.search(r'\bfilename="([^"]*)"', disposition.group(1)) if disposition else None
        fields[name.group(1)] = (filename.group(1) if filename else None, data.removesuffix(b"\r\n"))
    return fields


def _completion_window_seconds(provider: str, window: Any) -> float:
    """OpenAI accepts only ``24h``; DashScope's compatible mode accepts 24h..336h (or 1d..14d)."""
    if provider == OPENAI:
        if window != "24h":
            raise _APIError(
                400, f"Invalid completion_window {window!r}: only '24h' is supported.", param="completion_window"
            )
        return 86400.0
    match = re.fullmatch(r"(\d+)([hd])", window) if isinstance(window, str) else None
    hours = (int(match.group(1)) * (24 if match.group(2) == "d" else 1)) if match else 0
    if not 24 <= hours <= 336:
        raise _APIError(400, f"Invalid completion_window {window!r}: between 24h and 336h.", param="completion_window")
    return hours * 3600.0


def _check_metadata(metadata: Any) -> dict[str, str] | None:
    """OpenAI's rules: at most 16 string pairs, keys up to 64 characters, values up to 512."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or len(metadata) > 16:
        raise _APIError(400, "metadata must be an object with at most 16 key-value pairs.", param="metadata")
    for key, value in metadata.items():
        if not isinstance(value, str) or len(key) > 64 or len(value) > 512:
            raise _APIError(
                400, "metadata keys are strings of up to 64 characters, values up to 512.", param=f"metadata.{key}"
            )
    return dict(metadata)


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def _line_selected(rule: _BatchFaultRule, index: int, custom_id: str) -> bool:
    """The lines a ``line_500`` rule fails: matching custom_ids, else every Nth line, else the first one."""
    if rule.match is not None:
        return rule.match in custom_id
    if rule.every is not None:
        return (index + 1) % rule.every == 0
    return index == 0


class _BatchService:
    """State and logic of the Files and Batches endpoints; the public face is on :class:`FakeLLMServer`.

    Jobs progress lazily, when they are looked at (no background thread). ``lock`` is taken before the
    server's ``_lock`` (running a line takes the latter), never the other way round.
    """

    def __init__(self, fake: FakeLLMServer) -> None:
        self.fake = fake
        self.lock = threading.RLock()
        self.files: dict[str, _StoredFile] = {}
        self.jobs: dict[str, _Job] = {}
        self.rules: list[_BatchFaultRule] = []
        self.timing = _BatchTiming()
        self.calls: list[dict[str, Any]] = []
        self.created: list[dict[str, Any]] = []
        self.seq = 0

    # -- HTTP entry point ------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> _Reply | None:
        """Answer a Files/Batches call, or return None when the path is none of theirs."""
        split = urlsplit(raw_path)
        route = _BATCH_ROUTE.match(split.path)
        if route is None:
            return None
        provider = _BATCH_PREFIXES[route["prefix"]]
        query = {key: values[-1] for key, values in parse_qs(split.query).items()}
        operation = _BATCH_OPERATIONS.get((method, route["kind"], route["id"] is not None, route["action"]))
        delay = self.fake.latency_ms / 1000 + self._take_delay()
        request_id = uuid.uuid4().hex
        try:
            if self.fake.api_key is not None and headers.get("Authorization") != f"Bearer {self.fake.api_key}":
                raise _APIError(401, "Incorrect API key provided.", code="invalid_api_key")
            if operation is None:
                raise _APIError(404, f"Unknown path {method} {split.path}.")
            handler = getattr(self, "_" + operation.replace(".", "_"))
            reply: _Reply = handler(_Call(provider, route["id"], query, headers, body))
        except _APIError as exc:
            reply = _Reply(exc.status, exc.body, {})
        reply.delay = delay
        reply.request_id = request_id
        reply.headers.setdefault("X-Request-Id", request_id)
        with self.lock:
            self.calls.append(
                {
                    "index": len(self.calls),
                    "time": time.time(),
                    "method": method,
                    "path": split.path,
                    "provider": provider,
                    "operation": operation,
                    "id": route["id"],
                    "status": reply.status,
                    "delay": delay,
                }
            )
        return reply

    def _take_delay(self) -> float:
        with self.lock:
            for rule in self.rules:
                if rule.kind == "delay" and rule.remaining != 0:
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule.seconds
        return 0.0

    # -- Files -----------------------------------------------------------------------------------

    def _store(self, provider: str, filename: str, purpose: str, data: bytes) -> _StoredFile:
        with self.lock:
            self.seq += 1
            stored = _StoredFile(_new_id("file-"), provider, self.seq, filename, purpose, data, int(time.time()))
            self.files[stored.id] = stored
            return stored

    def _get_file(self, provider: str, file_id: str) -> _StoredFile:
        stored = self.files.get(file_id)
        if stored is None or stored.provider != provider:
            raise _APIError(404, f"No such File object: {file_id}", param="id")
        return stored

    def _files_create(self, call: _Call) -> _Reply:
        content_type = call.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            raise _APIError(400, "Expected a multipart/form-data body with 'file' and 'purpose'.")
        fields = _parse_multipart(content_type, call.body)
        if "purpose" not in fields:
            raise _APIError(400, "Missing required parameter: 'purpose'.", param="purpose")
        purpose = fields["purpose"][1].decode("utf-8", "replace")
        if purpose not in FILE_PURPOSES:
            raise _APIError(400, f"Invalid value for 'purpose': {purpose!r}.", param="purpose")
        filename, data = fields.get("file", (None, b""))
        if filename is None:
            raise _APIError(400, "Missing required parameter: 'file'.", param="file")
        if purpose == "batch" and not filename.endswith(".jsonl"):
            raise _APIError(400, "Invalid file format for Batch API. Must be .jsonl", param="file")
        return _Reply(200, self._store(call.provider, filename, purpose, data).as_json(), {})

    def _files_list(self, call: _Call) -> _Reply:
        limit = _limit(call.query, default=10_000, maximum=10_000)
        with self.lock:
            files = [f for f in self.files.values() if f.provider == call.provider]
        if "purpose" in call.query:
            files = [f for f in files if f.purpose == call.query["purpose"]]
        files.sort(key=lambda f: f.seq, reverse=call.query.get("order", "desc") != "asc")
        return _Reply(200, _page([f.as_json() for f in files], call.query.get("after"), limit), {})

    def _files_retrieve(self, call: _Call) -> _Reply:
        with self.lock:
            return _Reply(200, self._get_file(call.provider, call.id).as_json(), {})

    def _files_delete(self, call: _Call) -> _Reply:
        with self.lock:
            self._get_file(call.provider, call.id)
            del self.files[call.id]
        return _Reply(200, {"id": call.id, "object": "file", "deleted": True}, {})

    def _files_content(self, call: _Call) -> _Reply:
        with self.lock:
            stored = self._get_file(call.provider, call.id)
            if stored.content_failures > 0:
                stored.content_failures -= 1
                raise _APIError(500, _OPENAI_ERRORS[500][0], kind="server_error")
            data = stored.data
        return _Reply(200, {}, {"Content-Type": "application/octet-stream"}, raw=data)

    # -- Batches ---------------------------------------------------------------------------------

    def _get_job(self, provider: str, batch_id: str) -> _Job:
        job = self.jobs.get(batch_id)
        if job is None or job.provider != provider:
            raise _APIError(404, f"No batch found with id '{batch_id}'.", param="batch_id")
        return job

    def _batches_create(self, call: _Call) -> _Reply:
        try:
            params = json.loads(call.body or b"null")
        except json.JSONDecodeError as exc:
            raise _APIError(400, f"The body is not valid JSON: {exc}") from exc
        if not isinstance(params, dict):
            raise _APIError(400, "The body must be a JSON object.")
        for key in ("input_file_id", "endpoint", "completion_window"):
            if not params.get(key):
                raise _APIError(
                    400, f"Missing required parameter: '{key}'.", code="missing_required_parameter", param=key
                )
        endpoint = params["endpoint"]
        if endpoint != BATCH_ENDPOINT:
            message = f"Invalid value for 'endpoint': {endpoint!r}; the fake runs only '{BATCH_ENDPOINT}' batches."
            raise _APIError(400, message, code="invalid_value", param="endpoint")
        window_seconds = _completion_window_seconds(call.provider, params["completion_window"])
        metadata = _check_metadata(params.get("metadata"))
        with self.lock:
            stored = self._get_file(call.provider, params["input_file_id"])
            if stored.purpose != "batch":
                message = f"The input file {stored.id} must be uploaded with purpose 'batch'."
                raise _APIError(400, message, param="input_file_id")
            data = stored.data
        if len(data) > self.fake.batch_max_bytes:
            message = (
                f"The batch input file is larger than the {self.fake.batch_max_bytes} bytes maximum. "
                "Please try again with a smaller batch."
            )
            raise _APIError(400, message, code="file_too_large", param="input_file_id")
        count = len(_split_lines(data))
        if count > self.fake.batch_max_lines:
            message = f"The batch input file has {count} requests, more than the {self.fake.batch_max_lines} maximum."
            raise _APIError(400, message, code="too_many_requests", param="input_file_id")
        lines, errors = _parse_batch_input(data, endpoint)
        with self.lock:
            self.seq += 1
            job = _Job(
                id=_new_id("batch_"),
                provider=call.provider,
                seq=self.seq,
                endpoint=endpoint,
                input_file_id=stored.id,
                completion_window=params["completion_window"],
                window_seconds=window_seconds,
                metadata=metadata,
                headers=call.headers,
                lines=lines,
                validation_errors=errors,
                faults=self._take_faults(lines),
                created_at=int(time.time()),
                created_mono=time.monotonic(),
            )
            self.jobs[job.id] = job
            self.created.append(
                {
                    "id": job.id,
                    "provider": call.provider,
                    "metadata": metadata,
                    "input_file_id": job.input_file_id,
                    "endpoint": endpoint,
                    "completion_window": job.completion_window,
                    "lines": len(lines),
                    "faults": [rule.kind for rule in job.faults],
                    "created_at": job.created_at,
                }
            )
            return _Reply(200, self.as_json(job), {})

    def _take_faults(self, lines: list[_BatchLine]) -> list[_BatchFaultRule]:
        """The batch-level fault rules a new job gets (consuming their ``times``). Caller holds the lock."""
        taken: list[_BatchFaultRule] = []
        for rule in self.rules:
            if rule.kind == "delay" or rule.remaining == 0 or any(r.kind == rule.kind for r in taken):
                continue
            if rule.match is not None and not any(rule.match in line.custom_id for line in lines):
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
            taken.append(rule)
        return taken

    def _batches_list(self, call: _Call) -> _Reply:
        limit = _limit(call.query, default=20, maximum=100)
        with self.lock:
            jobs = sorted((j for j in self.jobs.values() if j.provider == call.provider), key=lambda j: -j.seq)
            for job in jobs:
                self.refresh(job, poll=False)
            data = [self.as_json(job) for job in jobs]
        return _Reply(200, _page(data, call.query.get("after"), limit), {})

    def _batches_retrieve(self, call: _Call) -> _Reply:
        with self.lock:
            job = self._get_job(call.provider, call.id)
            self.refresh(job, poll=True)
            return _Reply(200, self.as_json(job), {})

    def _batches_cancel(self, call: _Call) -> _Reply:
        with self.lock:
            job = self._get_job(call.provider, call.id)
            self.refresh(job, poll=False)
            if job.status in TERMINAL_BATCH_STATUSES:
                raise _APIError(409, f"Cannot cancel a batch with status '{job.status}'.")
            if job.status != "cancelling":
                job.status = "cancelling"
                job.times["cancelling_at"] = int(time.time())
            return _Reply(200, self.as_json(job), {})

    # -- progression -----------------------------------------------------------------------------

    def refresh(self, job: _Job, *, poll: bool) -> None:
        """Bring a job up to date; ``poll`` (a retrieve) also drives the poll-counted progression."""
        if job.status in TERMINAL_BATCH_STATUSES:
            return
        timing = self.timing
        now = time.monotonic()
        window = timing.window_s if timing.window_s is not None else job.window_seconds
        if job.status in ("validating", "in_progress") and now - job.created_mono >= window:
            self.finish(job, "expired")
            return
        if timing.manual:
            return
        if job.status == "cancelling":
            if poll:
                self.finish(job, "cancelled")
            return
        if job.status == "validating" and (
            now - job.created_mono < timing.validating_s or not self.start(job, job.created_mono + timing.validating_s)
        ):
            return
        if job.status == "in_progress":
            if job.rule("stuck") is not None:
                return
            total = len(job.lines)
            if timing.seconds_per_line > 0:
                target = int((now - job.in_progress_mono) / timing.seconds_per_line)
            else:
                job.polls += int(poll)
                polls, needed = job.polls, timing.in_progress_polls
                target = total if needed == 0 or polls > needed else total * max(polls - 1, 0) // needed
            self.run_to(job, target)
            if job.status == "in_progress" and job.done >= total:
                job.status = "finalizing"
                job.times["finalizing_at"] = int(time.time())
                job.final_left = timing.finalizing_polls
        elif job.status == "finalizing" and poll:
            job.final_left -= 1
        if job.status == "finalizing" and job.final_left <= 0:
            self.finish(job, "completed")

    def start(self, job: _Job, started_mono: float) -> bool:
        """End validation: fail the job, or start it; return whether it is now in progress."""
        now = int(time.time())
        if job.validation_errors or job.rule("fail_job") is not None:
            job.errors = {"object": "list", "data": job.validation_errors or [dict(FAIL_JOB_ERROR)]}
            self.finish(job, "failed")
            return False
        job.status = "in_progress"
        job.times["in_progress_at"] = now
        job.in_progress_mono = started_mono
        for kind, status in (("expire_half", "expired"), ("cancel", "cancelled")):
            if job.rule(kind) is not None and job.stop_at is None:
                job.stop_at, job.stop_status = len(job.lines) // 2, status
        return True

    def run_to(self, job: _Job, target: int) -> None:
        """Run lines in input order until ``target`` are done (or the job's stop point ends it)."""
        target = min(target, len(job.lines))
        if job.stop_at is not None:
            target = min(target, job.stop_at)
        while job.done < target:
            self._run_line(job, job.done)
            job.done += 1
        if job.stop_at is not None and job.stop_status is not None and job.done >= job.stop_at:
            self.finish(job, job.stop_status)

    def _run_line(self, job: _Job, index: int) -> None:
        line = job.lines[index]
        rule = job.rule("line_500")
        forced = "500" if rule is not None and _line_selected(rule, index, line.custom_id) else None
        reply = self.fake._build_reply(
            BATCH_ENDPOINT,
            job.headers,
            json.dumps(line.body).encode("ascii"),
            lane=BATCH_LANE,
            extra={
                "batch_id": job.id,
                "custom_id": line.custom_id,
                "batch_provider": job.provider,
                "batch_fault": "line_500" if forced else None,
            },
            forced_fault=forced,
        )
        record = {
            "id": _new_id("batch_req_"),
            "custom_id": line.custom_id,
            "response": {"status_code": reply.status, "request_id": reply.request_id, "body": reply.body},
            "error": None,
        }
        if reply.status == 200:
            job.outputs.append(record)
            job.completed += 1
            usage = reply.body.get("usage") or {}
            job.input_tokens += int(usage.get("prompt_tokens", 0))
            job.output_tokens += int(usage.get("completion_tokens", 0))
        else:
            job.error_lines.append(record)
            job.failed += 1

    def finish(self, job: _Job, status: str) -> None:
        """Put a job in a terminal status and write its output and error files."""
        now = int(time.time())
        job.status = status
        if status == "failed":
            job.times["failed_at"] = now
            return
        if status == "completed":
            job.times.setdefault("finalizing_at", now)
            job.times["completed_at"] = now
        else:
            if status == "expired":
                job.times["expired_at"] = now
                code, message = "batch_expired", BATCH_EXPIRED_MESSAGE
            else:
                job.times.setdefault("cancelling_at", now)
                job.times["cancelled_at"] = now
                code, message = "batch_cancelled", BATCH_CANCELLED_MESSAGE
            for line in job.lines[job.done :]:
                job.error_lines.append(
                    {
                        "id": _new_id("batch_req_"),
                        "custom_id": line.custom_id,
                        "response": None,
                        "error": {"code": code, "message": message},
                    }
                )
        outputs: list[str] = [json.dumps(r, ensure_ascii=False) for r in job.outputs]
        duplicate = job.rule("duplicate_line")
        if duplicate is not None and job.outputs:
            wanted = duplicate.match
            where = next((i for i, r in enumerate(job.outputs) if wanted is None or wanted in r["custom_id"]), 0)
            outputs.insert(where + 1, outputs[where])
        if job.rule("unknown_custom_id") is not None:
            if job.outputs:
                stray = json.loads(outputs[0])
            else:
                body = _openai_body(uuid.uuid4().hex, job.model, '{"translations": []}', "stop", 1, 1)
                stray = {"response": {"status_code": 200, "request_id": uuid.uuid4().hex, "body": body}, "error": None}
            stray.update(id=_new_id("batch_req_"), custom_id=UNKNOWN_CUSTOM_ID)
            outputs.append(json.dumps(stray, ensure_ascii=False))
        if job.rule("malformed_line") is not None:
            outputs.insert(min(1, len(outputs)), MALFORMED_LINE)
        if outputs:
            data = ("\n".join(outputs) + "\n").encode("utf-8")
            job.output_file_id = self._store(job.provider, f"{job.id}_output.jsonl", "batch_output", data).id
        if job.error_lines:
            data = ("\n".join(json.dumps(r, ensure_ascii=False) for r in job.error_lines) + "\n").encode("utf-8")
            job.error_file_id = self._store(job.provider, f"{job.id}_error.jsonl", "batch_output", data).id
        download = job.rule("download_500")
        target_file = job.output_file_id or job.error_file_id
        if download is not None and target_file is not None:
            self.files[target_file].content_failures = download.failures

    def advance(self, lines: int | None, batch_id: str | None) -> dict[str, str]:
        """Push jobs forward by hand (any timing mode); see :meth:`FakeLLMServer.advance_batches`."""
        if lines is not None and lines < 0:
            raise ValueError("lines must be >= 0 or None")
        with self.lock:
            if batch_id is not None and batch_id not in self.jobs:
                raise KeyError(batch_id)
            jobs = [self.jobs[batch_id]] if batch_id is not None else sorted(self.jobs.values(), key=lambda j: j.seq)
            for job in jobs:
                self.refresh(job, poll=False)
                if job.status == "cancelling":
                    self.finish(job, "cancelled")
                    continue
                if job.status == "validating" and not self.start(job, time.monotonic()):
                    continue
                if job.status == "in_progress" and job.rule("stuck") is None:
                    self.run_to(job, len(job.lines) if lines is None else job.done + lines)
                    if job.status == "in_progress" and job.done >= len(job.lines):
                        self.finish(job, "completed")
                if job.status == "finalizing":
                    self.finish(job, "completed")
            return {job.id: job.status for job in jobs}

    def expire(self, batch_id: str) -> str:
        with self.lock:
            job = self.jobs[batch_id]
            if job.status not in TERMINAL_BATCH_STATUSES:
                self.finish(job, "expired")
            return job.status

    def as_json(self, job: _Job) -> dict[str, Any]:
        """The wire Batch object."""
        started = "in_progress_at" in job.times
        return {
            "id": job.id,
            "object": "batch",
            "endpoint": job.endpoint,
            "model": job.model,
            "errors": job.errors,
            "input_file_id": job.input_file_id,
            "completion_window": job.completion_window,
            "status": job.status,
            "output_file_id": job.output_file_id,
            "error_file_id": job.error_file_id,
            "created_at": job.created_at,
            "in_progress_at": job.times.get("in_progress_at"),
            "expires_at": job.created_at + int(job.window_seconds),
            "finalizing_at": job.times.get("finalizing_at"),
            "completed_at": job.times.get("completed_at"),
            "failed_at": job.times.get("failed_at"),
            "expired_at": job.times.get("expired_at"),
            "cancelling_at": job.times.get("cancelling_at"),
            "cancelled_at": job.times.get("cancelled_at"),
            "request_counts": {
                "total": len(job.lines) if started else 0,
                "completed": job.completed,
                "failed": job.failed,
            },
            "metadata": job.metadata,
            "usage": {
                "input_tokens": job.input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": job.output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": job.input_tokens + job.output_tokens,
            },
        }


def _limit(query: dict[str, str], *, default: int, maximum: int) -> int:
    raw = query.get("limit")
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= maximum:
        raise _APIError(400, f"Invalid 'limit': {raw!r}; it must be between 1 and {maximum}.", param="limit")
    return limit


def _page(data: list[dict[str, Any]], after: str | None, limit: int) -> dict[str, Any]:
    """A cursor page as OpenAI lists return it: the ``limit`` objects after the one with id ``after``."""
    start = 0
    if after is not None:
        start = next((i + 1 for i, obj in enumerate(data) if obj["id"] == after), len(data))
    page = data[start : start + limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": start + limit < len(data),
    }


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # listen backlog; the default 5 resets bursts of concurrent connections

    def __init__(self, address: tuple[str, int], fake: FakeLLMServer) -> None:
        self.fake = fake
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs' connection pools expect
    disable_nagle_algorithm = True  # headers and body go out in separate writes: avoid 40 ms stalls

    def setup(self) -> None:
        super().setup()
        with self.server.fake._lock:
            self.server.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.fake._lock:
            self.server.fake._connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test and benchmark output quiet."""

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _headers(self) -> dict[str, str]:
        return {_canonical_header(name): value for name, value in self.headers.items()}

    def _batch_api(self, method: str, raw_body: bytes) -> bool:
        """Answer a Files/Batches call; False when the path is none of theirs."""
        fake = self.server.fake
        reply = fake._batches.handle(method, self.path, self._headers(), raw_body)
        if reply is None:
            return False
        if reply.delay > 0 and fake._stopping.wait(reply.delay):
            self.close_connection = True
            return True
        self._send(reply.status, reply.body, reply.headers, reply.raw)
        return True

    def do_POST(self) -> None:
        raw_body = self._read_body()
        if self._batch_api("POST", raw_body):
            return
        fake = self.server.fake
        fake._enter(1)
        try:
            headers = self._headers()
            reply = fake._build_reply(self.path, headers, raw_body)
            if reply.delay > 0 and fake._stopping.wait(reply.delay):
                self.close_connection = True
                return
            self._send(reply.status, reply.body, reply.headers)
        finally:
            fake._enter(-1)

    def do_GET(self) -> None:
        if not self._batch_api("GET", self._read_body()):
            self._send(404, _error_body(OPENAI, 404, str(uuid.uuid4())), {})

    def do_DELETE(self) -> None:
        if not self._batch_api("DELETE", self._read_body()):
            self._send(404, _error_body(OPENAI, 404, str(uuid.uuid4())), {})

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str], raw: bytes | None = None) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8") if raw is None else raw
        headers = dict(headers)
        content_type = headers.pop("Content-Type", "application/json; charset=utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its timeout)
            self.close_connection = True


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until SIGINT/SIGTERM; print the base URL first, then the SDK env settings."""
    parser = argparse.ArgumentParser(prog="python -m tests.fake_llm_server", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--retry-after", default="1", help="Retry-After value of 429 faults")
    parser.add_argument("--slow-seconds", type=float, default=5.0)
    parser.add_argument("--api-key", default=None, help="reject other bearer tokens with 401")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="random fault probability per request")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", default=",".join(RANDOM_DEFAULT_KINDS), help="comma list of random faults")
    args = parser.parse_args(argv)

    server = FakeLLMServer(
        port=args.port,
        latency_ms=args.latency_ms,
        retry_after=args.retry_after,
        slow_seconds=args.slow_seconds,
        api_key=args.api_key,
    )
    if args.fault_rate > 0:
        server.random_faults(args.fault_rate, args.seed, [k for k in args.kinds.split(",") if k])
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    server.start()
    print(server.base_url, flush=True)
    print(f"OPENAI_BASE_URL={server.base_url_openai}", flush=True)
    print(f"DASHSCOPE_HTTP_BASE_URL={server.base_url_dashscope}", flush=True)
    print(f"DASHSCOPE_COMPATIBLE_BASE_URL={server.base_url_compatible}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        faults = Counter(r["fault"] for r in server.requests)
        summary = f"requests: {server.request_count}, faults: {dict(faults)}"
        summary += f", batches: {len(server.batches_created)}, batch lines: {len(server.batch_requests)}"
        print(summary, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
