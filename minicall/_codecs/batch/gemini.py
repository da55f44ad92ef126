"""The Gemini API's batch mode, with inline requests.

API reference: https://ai.google.dev/gemini-api/docs/batch-mode (google-genai's
``client.batches``). ``POST {base}/{version}/models/{model}:batchGenerateContent``
with ``{"batch": {"displayName", "inputConfig": {"requests": {"requests":
[{"request": GenerateContentRequest, "metadata": {"key"}}]}}}}`` returns a
long-running operation named ``batches/{id}``, whose ``metadata`` is the batch:
``state`` (``BATCH_STATE_PENDING``, ``_RUNNING``, ``_SUCCEEDED``, ``_FAILED``,
``_CANCELLED``, ``_EXPIRED``), ``batchStats`` and, once done, ``output.inlinedResponses
.inlinedResponses``: ``{response | error, metadata}`` per request, in input order.
``GET {base}/{version}/batches/{id}`` polls it and ``POST .../batches/{id}:cancel``
cancels it, all on the client's API version. Inline requests are capped at 20 MB a batch (larger ones need the Files
API, which minicall does not use: split the items instead). Vertex AI's batch
prediction reads from Cloud Storage or BigQuery only and is not supported.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..._model.http import HttpRequest
from ..._model.batch import BatchResults, BatchState, BatchStatus, ItemResult
from ..._model.errors import ConfigurationError, ResponseFormatError
from ..._model.spec import Endpoint
from ..._model.wire import Reader, dumps, loads
from .._common import error_text
from . import PayloadWriter, Step, batch_request

__all__ = ["GEMINI", "GeminiBatchCodec"]

PROVIDER = "google"
_GENERATE = ":generateContent"

_STATES: dict[str, BatchState] = {
    "PENDING": "pending",
    "RUNNING": "running",
    "SUCCEEDED": "ended",
    "FAILED": "failed",
    "CANCELLED": "cancelled",
    "EXPIRED": "expired",
}


# An inlined error is a google.rpc.Status: its ``code`` is a gRPC code, mapped to the
# HTTP status Google's REST gateway sends it with (google/rpc/code.proto).
_GRPC_HTTP: dict[int, int] = {
    1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429,
    9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401,
}


class _InlineWriter:
    """The ``batchGenerateContent`` body, each item's request spliced in as encoded."""

    content_type = "application/json"

    def __init__(self) -> None:
        self._first = True

    def begin(self) -> bytes:
        return b'{"batch":{"displayName":"minicall-batch","inputConfig":{"requests":{"requests":['

    def item(self, custom_id: str, request: HttpRequest) -> bytes:
        head = b'{"request":' if self._first else b',{"request":'
        self._first = False
        return head + request.body + b',"metadata":{"key":' + dumps(custom_id) + b"}}"

    def end(self) -> bytes:
        return b"]}}}}"


class GeminiBatchCodec:
    """The Gemini API's ``batchGenerateContent`` with inlined requests and responses."""

    label = "the Gemini API batch mode"
    max_requests: int | None = None
    max_bytes = 20 * 1000 * 1000

    def _split(self, sample: HttpRequest) -> tuple[str, str]:
        """The versioned API root and the model path's URL (``.../models/x``)."""
        url = sample.url.partition("?")[0]
        if not url.endswith(_GENERATE):
            raise ConfigurationError(f"{self.label} needs a generateContent endpoint, not {url!r}")
        model_url = url[: -len(_GENERATE)]
        cut = model_url.rfind("/models/")
        if cut < 0:
            cut = model_url.rfind("/tunedModels/")
        if cut < 0:
            raise ConfigurationError(f"{self.label}: cannot find the model in {url!r}")
        # The plain call's API version: google-genai sends batchGenerateContent on its
        # default version too (v1 in the 3.x SDK the conformance tests run).
        return model_url[:cut], model_url

    def check(self, sample: HttpRequest, endpoint: Endpoint) -> None:
        if endpoint.options.get("vertex") == "true":
            raise ConfigurationError(
                "Vertex AI batch prediction reads its input from Cloud Storage or BigQuery, which "
                "minicall does not manage; batch through the Gemini API (a GoogleClient with an API key)"
            )
        self._split(sample)

    def writer(self, sample: HttpRequest, token: str) -> PayloadWriter:
        return _InlineWriter()

    def submit(self, sample: HttpRequest, payload: bytes, content_type: str) -> Step[BatchStatus]:
        _, model_url = self._split(sample)
        reply = yield batch_request(sample, "POST", model_url + ":batchGenerateContent", payload, content_type)
        return _status(reply)

    def _job_url(self, sample: HttpRequest, batch_id: str) -> str:
        root, _ = self._split(sample)
        name = batch_id.removeprefix("batches/")
        return f"{root}/batches/{quote(name, safe='')}"

    def status(self, sample: HttpRequest, batch_id: str) -> Step[BatchStatus]:
        reply = yield batch_request(sample, "GET", self._job_url(sample, batch_id))
        return _status(reply)

    def cancel(self, sample: HttpRequest, batch_id: str) -> Step[BatchStatus]:
        yield batch_request(sample, "POST", self._job_url(sample, batch_id) + ":cancel", b"{}")
        # The cancel reply is an empty object: the batch itself is read again.
        reply = yield batch_request(sample, "GET", self._job_url(sample, batch_id))
        return _status(reply)

    def results(self, sample: HttpRequest, status: BatchStatus) -> Step[BatchResults]:
        read = Reader(PROVIDER)
        meta = read.opt_obj(status.raw.get("metadata"), "metadata") or {}
        output = read.opt_obj(meta.get("output"), "metadata.output")
        if output is None:  # some answers carry the output as the operation's response
            output = read.opt_obj(status.raw.get("response"), "response") or {}
        outer = read.opt_obj(output.get("inlinedResponses"), "output.inlinedResponses") or {}
        lines = read.opt_arr(outer.get("inlinedResponses"), "output.inlinedResponses.inlinedResponses")
        return BatchResults([_read_item(read, n, line) for n, line in enumerate(lines)])
        yield  # a step that sends nothing: the responses came with the batch

    def inputs(self, sample: HttpRequest, status: BatchStatus) -> Step[BatchResults] | None:
        return None  # the batch operation does not give its inline requests back


def _count(read: Reader, stats: dict[str, Any], key: str) -> int | None:
    value = stats.get(key)
    # int64 counts arrive as JSON strings (proto3 JSON mapping).
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return read.opt_int(value, f"metadata.batchStats.{key}")


def _status(body: bytes) -> BatchStatus:
    read = Reader(PROVIDER)
    raw = read.obj(loads(body, PROVIDER), "")
    meta = read.opt_obj(raw.get("metadata"), "metadata") or {}
    stats = read.opt_obj(meta.get("batchStats"), "metadata.batchStats") or {}
    state_name = read.opt_str(meta.get("state"), "metadata.state") or ""
    state = _STATES.get(state_name.removeprefix("BATCH_STATE_").removeprefix("JOB_STATE_"), "running")
    error = read.opt_obj(raw.get("error"), "error")
    return BatchStatus(
        id=read.str(raw.get("name"), "name"),
        state=state,
        total=_count(read, stats, "requestCount"),
        succeeded=_count(read, stats, "successfulRequestCount") or 0,
        failed=_count(read, stats, "failedRequestCount") or 0,
        error=error_text({"error": error}) if error is not None else None,
        raw=raw,
    )


def _read_item(read: Reader, n: int, line: Any) -> ItemResult:
    """Item ``n``'s result; an entry not understood is the error in its slot (the
    responses come in input order, so its slot is known)."""
    try:
        return _item(read, n, line)
    except ResponseFormatError as exc:
        return ItemResult(str(n), None, line, str(exc), error=exc)


def _item(read: Reader, n: int, line: Any) -> ItemResult:
    path = f"output.inlinedResponses[{n}]"
    item = read.obj(line, path)
    meta = read.opt_obj(item.get("metadata"), f"{path}.metadata") or {}
    key = meta.get("key")
    custom_id = key if isinstance(key, str) else str(n)
    error = read.opt_obj(item.get("error"), f"{path}.error")
    if error is not None:
        code = read.opt_int(error.get("code"), f"{path}.error.code") or 2
        status = code if code >= 100 else _GRPC_HTTP.get(code, 500)
        return ItemResult(custom_id, status, {"error": error}, error_text({"error": error}))
    return ItemResult(custom_id, 200, read.obj(item.get("response"), f"{path}.response"))


GEMINI = GeminiBatchCodec()
