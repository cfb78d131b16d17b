"""The providers' Batch APIs through the official `openai` SDK's `files` and `batches` resources.

- `openai`: OpenAI itself (`OPENAI_API_KEY`, the configured or SDK-default base URL).
- `qwen`: DashScope's OpenAI-compatible mode (Alibaba Model Studio), `DASHSCOPE_API_KEY`. Its base URL is
  `DASHSCOPE_COMPATIBLE_BASE_URL`, else derived from the DashScope endpoint the realtime lane uses
  (`…/api/v1` -> `…/compatible-mode/v1`). Realtime Qwen stays on the `dashscope` SDK.

Calls that may pass (429, 5xx, timeouts, dropped connections) are retried with backoff (tenacity); a
download of an output file too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_random_exponential

from translation_pipeline.localization.translate.batch.jsonl import ENDPOINT

if TYPE_CHECKING:
    import openai

# `openai` (about 1 s to import) is imported when a client is made: a process on another lane or provider
# (pseudo, realtime qwen) never loads it

T = TypeVar("T")
DASHSCOPE_DEFAULT = "https://dashscope.aliyuncs.com/api/v1"
# statuses after which a job changes no more
FINAL = frozenset({"completed", "failed", "expired", "cancelled"})
LIST_PAGES = 20  # re-attaching looks at the newest 20 x 100 batches for our job key


class BatchApiError(Exception):
    """A Batch API call failed; `retryable` when trying again later may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class JobStatus:
    """A provider batch as the provider reports it."""

    batch_id: str
    status: str
    output_file_id: str | None = None
    error_file_id: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    errors: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.status in FINAL


def compatible_base_url(dashscope_base_url: str = "") -> str:
    """DashScope's OpenAI-compatible base URL: DASHSCOPE_COMPATIBLE_BASE_URL, else from the native endpoint."""
    if explicit := os.environ.get("DASHSCOPE_COMPATIBLE_BASE_URL"):
        return explicit
    native = (dashscope_base_url or os.environ.get("DASHSCOPE_HTTP_BASE_URL") or DASHSCOPE_DEFAULT).rstrip("/")
    root = native.removesuffix("/api/v1")
    return f"{root}/compatible-mode/v1"


def _may_pass(error: BaseException) -> bool:
    from translation_pipeline.localization.translate.providers.openai_sdk import openai

    if isinstance(error, openai.APIStatusError):
        return error.status_code == 429 or error.status_code >= 500
    return isinstance(error, openai.APIConnectionError)  # timeouts included


def _api_error(action: str, error: Exception) -> BatchApiError:
    from translation_pipeline.localization.translate.providers.openai_sdk import openai

    if isinstance(error, openai.APIStatusError):
        body = error.body if isinstance(error.body, dict) else {}
        detail = body.get("message") or error.message
        return BatchApiError(f"{action}: HTTP {error.status_code}: {detail}", retryable=_may_pass(error))
    return BatchApiError(f"{action}: {error}", retryable=_may_pass(error))


_retried = retry(retry=retry_if_exception(_may_pass), stop=stop_after_attempt(5),
                 wait=wait_random_exponential(multiplier=0.5, max=20), reraise=True)  # fmt: skip


class BatchClient:
    """Upload, create, follow, cancel and download provider batches."""

    def __init__(self, provider: str, *, base_url: str = "", timeout: float = 60.0) -> None:
        self.provider = provider
        if provider == "openai":
            key, url = None, base_url or None  # the SDK reads OPENAI_API_KEY / OPENAI_BASE_URL
        elif provider == "qwen":
            key, url = os.environ.get("DASHSCOPE_API_KEY"), compatible_base_url(base_url)
            if not key:
                raise BatchApiError("qwen batch: no API key: set DASHSCOPE_API_KEY", retryable=False)
        else:
            raise BatchApiError(f"{provider} has no Batch API (batch mode needs openai or qwen)", retryable=False)
        from translation_pipeline.localization.translate.providers.openai_sdk import openai

        try:
            self._client = openai.OpenAI(api_key=key, base_url=url, timeout=timeout, max_retries=0)
        except openai.OpenAIError as error:
            raise BatchApiError(f"{provider} batch: {error}", retryable=False) from error

    def _call(self, action: str, function: Callable[..., T], *args: object, **kwargs: object) -> T:
        from translation_pipeline.localization.translate.providers.openai_sdk import openai

        try:
            return _retried(function)(*args, **kwargs)
        except openai.OpenAIError as error:
            raise _api_error(action, error) from error

    def upload(self, name: str, data: bytes) -> str:
        created = self._call("upload", self._client.files.create, file=(name, data), purpose="batch")
        return created.id

    def create(self, input_file_id: str, metadata: dict[str, str]) -> JobStatus:
        batch = self._call("create batch", self._client.batches.create, input_file_id=input_file_id,
                           endpoint=ENDPOINT, completion_window="24h", metadata=metadata)  # fmt: skip
        return _status(batch)

    def retrieve(self, batch_id: str) -> JobStatus:
        return _status(self._call(f"retrieve {batch_id}", self._client.batches.retrieve, batch_id))

    def cancel(self, batch_id: str) -> JobStatus:
        return _status(self._call(f"cancel {batch_id}", self._client.batches.cancel, batch_id))

    def find(self, job_key: str) -> JobStatus | None:
        """The provider batch created for `job_key` (its metadata says so), if any: how a job whose creation
        was not recorded (the process died in between) is re-attached instead of submitted again."""
        after = None
        for _ in range(LIST_PAGES):
            kwargs = {"limit": 100, **({"after": after} if after else {})}
            page = self._call("list batches", self._client.batches.list, **kwargs)
            for batch in page.data:
                if (batch.metadata or {}).get("translation_job") == job_key:
                    return _status(batch)
            if not page.has_more or not page.data:
                return None
            after = page.data[-1].id
        return None

    def download(self, file_id: str) -> bytes:
        return self._call(f"download {file_id}", lambda: self._client.files.content(file_id).read())

    def close(self) -> None:
        self._client.close()


def _status(batch: openai.types.Batch) -> JobStatus:
    counts = batch.request_counts
    errors = "; ".join(f"{e.code}: {e.message}" for e in (batch.errors.data or [])) if batch.errors else ""
    return JobStatus(
        batch.id, batch.status, batch.output_file_id, batch.error_file_id,
        counts.total if counts else 0, counts.completed if counts else 0, counts.failed if counts else 0,
        errors[:300], dict(batch.metadata or {}),
    )  # fmt: skip
