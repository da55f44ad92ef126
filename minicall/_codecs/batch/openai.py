"""The OpenAI batch API, also served by Azure OpenAI and Groq.

API reference: https://platform.openai.com/docs/api-reference/batch and
https://platform.openai.com/docs/guides/batch. Four steps:

1. the requests, one JSON object a line (``{custom_id, method, url, body}``), are
   uploaded as a file: ``POST {base}/files``, ``multipart/form-data`` with the fields
   ``purpose=batch`` and ``file`` (as the openai SDK's ``client.files.create``);
2. ``POST {base}/batches`` ``{input_file_id, endpoint, completion_window: "24h"}``
   (``client.batches.create``) returns the batch object;
3. ``GET {base}/batches/{id}`` polls it (``status``: validating, in_progress,
   finalizing, completed, failed, expired, cancelling, cancelled;
   ``request_counts``: total, completed, failed); ``POST .../{id}/cancel`` cancels;
4. ``GET {base}/files/{id}/content`` reads the output file and the error file, JSONL
   lines ``{id, custom_id, response: {status_code, request_id, body}, error}``
   (streamed line by line) joined to the requests by ``custom_id``. The input file
   stays readable there too: a batch resumed without its items reads its requests back.

``{base}`` is where the plain call's ``/chat/completions`` lives: ``/v1`` for OpenAI,
``/openai/v1`` for Groq, ``/openai`` (with ``?api-version=``) or ``/openai/v1`` for
Azure OpenAI, whose deployment path is not part of it (the body's ``model`` names the
deployment). Limits: 50,000 requests and 200 MB per file (OpenAI, Groq); Azure
OpenAI takes 100,000 requests in a 200 MB file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..._model.http import HttpRequest
from ..._model.batch import BatchResults, BatchState, BatchStatus, ItemResult
from ..._model.errors import ConfigurationError
from ..._model.spec import Endpoint
from ..._model.wire import Reader, dumps, loads
from .._common import error_text
from ..openai.reading import compat_error_text
from . import PayloadWriter, ResultLines, Step, batch_request

__all__ = ["AZURE", "GROQ", "OPENAI", "FilesBatchCodec", "JsonlWriter", "input_line", "response_line"]

_STATES: dict[str, BatchState] = {
    "validating": "pending",
    "in_progress": "running",
    "finalizing": "running",
    "cancelling": "running",
    "completed": "ended",
    "expired": "expired",
    "cancelled": "cancelled",
    "failed": "failed",
}

_CHAT = "/chat/completions"
_DEPLOYMENT = re.compile(r"/deployments/[^/]+$")
_MB = 1024 * 1024


class JsonlWriter:
    """The input file inside a ``multipart/form-data`` body, as ``files.create`` sends it.

    Each line is ``{custom_id, method, url, body}``, or ``{custom_id, body}`` without a
    ``url`` (Mistral's batch lines, whose job names the endpoint).
    """

    def __init__(self, url: str | None, boundary: str) -> None:
        self._head = b"" if url is None else b',"method":"POST","url":' + dumps(url)
        self._boundary = boundary.encode("ascii")
        self.content_type = f"multipart/form-data; boundary={boundary}"

    def begin(self) -> bytes:
        b = self._boundary
        return (
            b"--" + b + b'\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
            b"--" + b + b'\r\nContent-Disposition: form-data; name="file"; filename="minicall-batch.jsonl"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n"
        )

    def item(self, custom_id: str, request: HttpRequest) -> bytes:
        # The plain call's body is spliced in as encoded: compact JSON has no raw newline.
        return b'{"custom_id":' + dumps(custom_id) + self._head + b',"body":' + request.body + b"}\n"

    def end(self) -> bytes:
        return b"\r\n--" + self._boundary + b"--\r\n"


@dataclass(frozen=True)
class FilesBatchCodec:
    """The OpenAI batch API as one provider serves it."""

    provider: str
    label: str
    item_url: str
    """The ``url`` of each JSONL line and the batch's ``endpoint``."""
    max_requests: int | None
    max_bytes: int
    needs_openai_path: bool = False
    """Azure: only Azure OpenAI batches (AI Model Inference has no batch API)."""

    def _base(self, sample: HttpRequest) -> tuple[str, str]:
        """The API base and the query (``api-version``) every batch URL carries."""
        url, _, query = sample.url.partition("?")
        if not url.endswith(_CHAT):
            raise ConfigurationError(f"{self.label} needs a chat completions endpoint, not {url!r}")
        base = _DEPLOYMENT.sub("", url[: -len(_CHAT)])
        return base, ("?" + query if query else "")

    def check(self, sample: HttpRequest, endpoint: Endpoint) -> None:
        base, _ = self._base(sample)
        if self.needs_openai_path and not base.endswith(("/openai", "/openai/v1")):
            raise ConfigurationError(
                f"{self.label}: Azure AI Model Inference endpoints have no batch API; use an Azure "
                "OpenAI client (deployment_style='openai' or 'v1') with a Global Batch deployment"
            )

    def _url(self, sample: HttpRequest, path: str) -> str:
        base, query = self._base(sample)
        return base + path + query

    def writer(self, sample: HttpRequest, token: str) -> PayloadWriter:
        return JsonlWriter(self.item_url, "minicall-" + token)

    def submit(self, sample: HttpRequest, payload: bytes, content_type: str) -> Step[BatchStatus]:
        read = Reader(self.provider)
        upload = yield batch_request(sample, "POST", self._url(sample, "/files"), payload, content_type)
        file_id = read.str(read.obj(loads(upload, self.provider), "").get("id"), "id")
        body = {"input_file_id": file_id, "endpoint": self.item_url, "completion_window": "24h"}
        created = yield batch_request(sample, "POST", self._url(sample, "/batches"), dumps(body))
        return self._status(created)

    def status(self, sample: HttpRequest, batch_id: str) -> Step[BatchStatus]:
        reply = yield batch_request(sample, "GET", self._url(sample, f"/batches/{quote(batch_id, safe='')}"))
        return self._status(reply)

    def cancel(self, sample: HttpRequest, batch_id: str) -> Step[BatchStatus]:
        reply = yield batch_request(sample, "POST", self._url(sample, f"/batches/{quote(batch_id, safe='')}/cancel"))
        return self._status(reply)

    def _status(self, body: bytes) -> BatchStatus:
        read = Reader(self.provider)
        raw = read.obj(loads(body, self.provider), "")
        counts = read.opt_obj(raw.get("request_counts"), "request_counts") or {}
        errors = read.opt_obj(raw.get("errors"), "errors") or {}
        messages = [error_text({"error": e}) for e in read.opt_arr(errors.get("data"), "errors.data")]
        return BatchStatus(
            id=read.str(raw.get("id"), "id"),
            state=_STATES.get(read.str(raw.get("status"), "status"), "running"),
            total=read.opt_int(counts.get("total"), "request_counts.total"),
            succeeded=read.opt_int(counts.get("completed"), "request_counts.completed") or 0,
            failed=read.opt_int(counts.get("failed"), "request_counts.failed") or 0,
            error="; ".join(m for m in messages if m) or None,
            raw=raw,
        )

    def results(self, sample: HttpRequest, status: BatchStatus) -> Step[BatchResults]:
        read = Reader(self.provider)
        lines = ResultLines(self.provider, response_line)
        for key, name in (("output_file_id", "output file"), ("error_file_id", "error file")):
            file_id = read.opt_str(status.raw.get(key), key)
            if not file_id:
                continue
            url = self._url(sample, f"/files/{quote(file_id, safe='')}/content")
            yield lines.download(batch_request(sample, "GET", url), name)
        return lines.results()

    def inputs(self, sample: HttpRequest, status: BatchStatus) -> Step[BatchResults] | None:
        file_id = Reader(self.provider).opt_str(status.raw.get("input_file_id"), "input_file_id")
        return self._inputs(sample, file_id) if file_id else None

    def _inputs(self, sample: HttpRequest, file_id: str) -> Step[BatchResults]:
        lines = ResultLines(self.provider, input_line)
        url = self._url(sample, f"/files/{quote(file_id, safe='')}/content")
        yield lines.download(batch_request(sample, "GET", url), "input file")
        return lines.results()


def response_line(read: Reader, line: dict[str, Any]) -> ItemResult:
    """One line of an output or error file: ``{custom_id, response: {status_code,
    request_id, body}, error}`` (Mistral's too, without ``request_id``)."""
    custom_id = read.str(line.get("custom_id"), "custom_id")
    response = read.opt_obj(line.get("response"), "response")
    if response is not None:
        code = read.int(response.get("status_code"), "response.status_code")
        body = response.get("body")
        request_id = read.opt_str(response.get("request_id"), "response.request_id")
        if 200 <= code < 300:
            return ItemResult(custom_id, 200, body, request_id=request_id)
        # The compatible providers' spellings too (Mistral's top-level ``message``).
        return ItemResult(custom_id, code, body, compat_error_text(body), request_id)
    error = line.get("error")
    if isinstance(error, str) and error:  # words alone (mistralai types the error as any JSON)
        return ItemResult(custom_id, None, {"error": error}, error)
    error = read.opt_obj(error, "error") or {}
    words = error_text({"error": error}) or "the request did not run"
    code_name = error.get("code")
    message = f"{words} ({code_name})" if isinstance(code_name, str) else words
    return ItemResult(custom_id, None, {"error": error}, message)


def input_line(read: Reader, line: dict[str, Any]) -> ItemResult:
    """One request of the input file, as submitted: its ``body`` the request body."""
    custom_id = read.str(line.get("custom_id"), "custom_id")
    return ItemResult(custom_id, 200, read.obj(line.get("body"), "body"))


OPENAI = FilesBatchCodec("openai", "the OpenAI batch API", "/v1/chat/completions", 50_000, 200 * _MB)
GROQ = FilesBatchCodec("groq", "the Groq batch API", "/v1/chat/completions", 50_000, 200 * _MB)
AZURE = FilesBatchCodec("azure", "the Azure OpenAI batch API", "/chat/completions", 100_000, 200 * _MB, True)
