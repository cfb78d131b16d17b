"""Batch API files: one JSONL line per request batch (the same chat request the realtime lane sends), cut to the
provider's limits; output and error files read back line by line, every oddity reported, none fatal."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from translation_pipeline.localization.translate.contract import BatchItem, ProviderReply, RequestBatch, Usage

ENDPOINT = "/v1/chat/completions"
# line errors worth sending again: the provider's own failures and lines a job never ran
RETRYABLE_CODES = ("batch_expired", "batch_cancelled", "batch_failed")


@dataclass(frozen=True)
class FileLimits:
    """Per input file: OpenAI's and DashScope's limits are 50,000 requests and 200 MB."""

    max_lines: int = 50_000
    max_bytes: int = 200 * 1024 * 1024


def request_line(custom_id: str, model: str, messages: list[dict[str, str]]) -> bytes:
    """One input line: the realtime lane's chat request (JSON mode) for `custom_id`."""
    body = {"model": model, "messages": messages, "response_format": {"type": "json_object"}}
    line = {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}
    return (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")


def split_lines(lines: Sequence[bytes], limits: FileLimits) -> list[list[bytes]]:
    """`lines` cut, in order, into files within `limits`. ValueError for one line over the byte limit."""
    files: list[list[bytes]] = []
    current: list[bytes] = []
    size = 0
    for line in lines:
        if len(line) > limits.max_bytes:
            raise ValueError(f"one batch request is {len(line)} bytes, over the file limit of {limits.max_bytes}")
        if current and (len(current) >= limits.max_lines or size + len(line) > limits.max_bytes):
            files.append(current)
            current, size = [], 0
        current.append(line)
        size += len(line)
    if current:
        files.append(current)
    return files


def batch_to_json(batch: RequestBatch) -> str:
    """A request batch as the JSON a line record keeps, so its answers are checked after any restart."""
    return json.dumps(
        {"batch_id": batch.batch_id, "source_language": batch.source_language,
         "target_language": batch.target_language,
         "items": [[i.id, i.text, i.context, i.max_length] for i in batch.items]},
        ensure_ascii=False,
    )  # fmt: skip


def batch_from_json(text: str) -> RequestBatch:
    data = json.loads(text)
    items = tuple(BatchItem(i, t, c, m) for i, t, c, m in data["items"])
    return RequestBatch(data["batch_id"], data["source_language"], data["target_language"], items)


@dataclass(frozen=True)
class LineResult:
    """One answered line: the reply (HTTP 200), or why it failed and whether sending it again may help."""

    reply: ProviderReply | None
    error: str = ""
    retryable: bool = True


@dataclass
class ResultFile:
    results: dict[str, LineResult] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # one line each: malformed, unknown or repeated lines


def _reply(body: object) -> ProviderReply:
    """The chat completion of a 200 line; ValueError when it has none."""
    if not isinstance(body, dict) or not body.get("choices"):
        raise ValueError("answer without choices")
    choice = body["choices"][0]
    usage = body.get("usage") or {}
    return ProviderReply(
        content=(choice.get("message") or {}).get("content") or "",
        finish_reason=choice.get("finish_reason") or "stop",
        usage=Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)),
    )


def _line_result(record: dict) -> LineResult:
    error = record.get("error")
    if isinstance(error, dict) and error:
        code = str(error.get("code") or "error")
        return LineResult(None, f"{code}: {error.get('message') or ''}".strip(), code in RETRYABLE_CODES)
    response = record.get("response") or {}
    status = int(response.get("status_code") or 0)
    body = response.get("body")
    if status == 200:
        return LineResult(_reply(body))
    detail = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
    return LineResult(None, f"HTTP {status}: {detail}".strip(), status == 429 or status >= 500)


def read_results(chunks: Iterable[bytes], known: set[str], into: ResultFile, name: str) -> None:
    """Add the lines of an output or error file (`name` for the problem lines) to `into`: a line for a custom_id
    not asked for, a custom_id seen before (the first is kept) and a line that is not the expected JSON are
    reported and ignored."""
    for number, raw in enumerate(b"".join(chunks).splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            custom_id = str(record["custom_id"])
            result = _line_result(record)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            into.problems.append(f"{name} line {number}: not a batch result ({type(error).__name__}: {error})"[:300])
            continue
        if custom_id not in known:
            into.problems.append(f"{name} line {number}: unknown custom_id {custom_id[:60]!r}, ignored")
        elif custom_id in into.results:
            into.problems.append(f"{name} line {number}: custom_id {custom_id[:60]!r} answered again, ignored")
        else:
            into.results[custom_id] = result
