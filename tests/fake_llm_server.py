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
    ) -> None:
        self.latency_ms = latency_ms
        self.answer = answer or (lambda target, text: f"[{target}] {text}")
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.api_key = api_key
        self._requested_port = port
        self._lock = threading.Lock()
        self._plan: deque[str] = deque()
        self._rules: list[_ItemRule] = []
        self._random: _RandomMode | None = None
        self._requests: list[dict[str, Any]] = []
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

    # -- request log -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Snapshot of the request log.

        Each entry has: index, time, protocol (``"openai"``, ``"dashscope"`` or None for an unknown
        path), path, model, headers (names in Title-Case, e.g. ``Authorization``), body, item_ids,
        source_language, target_language, fault (None when no fault was chosen, e.g. a rejected
        request) and status.
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
            entry["index"] = len(self._requests)
            self._requests.append(entry)

    def _build_reply(self, path: str, headers: dict[str, str], raw_body: bytes) -> _Reply:
        path = path.split("?", 1)[0]
        protocol = OPENAI if path in OPENAI_PATHS else DASHSCOPE if path == DASHSCOPE_PATH else None
        entry: dict[str, Any] = {
            "time": time.time(),
            "protocol": protocol,
            "path": path,
            "model": None,
            "headers": headers,
            "body": None,
            "item_ids": [],
            "source_language": None,
            "target_language": None,
            "fault": None,
        }
        latency = self.latency_ms / 1000
        request_id = str(uuid.uuid4())
        if protocol is None:
            entry["status"] = 404
            self._record(entry)
            return _Reply(404, _error_body(OPENAI, 404, request_id), {}, latency)

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
            return _Reply(400, _error_body(protocol, 400, request_id, str(exc)), {}, latency)

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
            return _Reply(401, _error_body(protocol, 401, request_id), {}, latency)

        with self._lock:
            fault, target = self._choose_fault(target_language, items)
        entry["fault"] = fault

        if fault in HTTP_STATUS_FAULTS:
            status = HTTP_STATUS_FAULTS[fault]
            extra = {"Retry-After": str(self.retry_after)} if status == 429 else {}
            entry["status"] = status
            self._record(entry)
            return _Reply(status, _error_body(protocol, status, request_id), extra, latency)

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
        return _Reply(200, reply, {}, latency)


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

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length)
        fake = self.server.fake
        fake._enter(1)
        try:
            headers = {_canonical_header(name): value for name, value in self.headers.items()}
            reply = fake._build_reply(self.path, headers, raw_body)
            if reply.delay > 0 and fake._stopping.wait(reply.delay):
                self.close_connection = True
                return
            self._send(reply.status, reply.body, reply.headers)
        finally:
            fake._enter(-1)

    def do_GET(self) -> None:
        self._send(404, _error_body(OPENAI, 404, str(uuid.uuid4())), {})

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
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
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        faults = Counter(r["fault"] for r in server.requests)
        print(f"requests: {server.request_count}, faults: {dict(faults)}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
