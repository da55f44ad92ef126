"""Anthropic message batches.

API reference: https://docs.anthropic.com/en/api/creating-message-batches (the
anthropic SDK's ``client.messages.batches``). ``POST {base}/v1/messages/batches`` with
``{"requests": [{"custom_id", "params"}]}``, ``params`` being the Messages API body
the plain call sends; it returns a ``message_batch`` object (``processing_status``:
in_progress, canceling, ended; ``request_counts``: processing, succeeded, errored,
canceled, expired; ``results_url`` once ended). ``GET .../batches/{id}`` polls,
``POST .../batches/{id}/cancel`` cancels, and the results are JSONL lines
``{custom_id, result: {type: succeeded, message} | {type: errored, error} |
{type: canceled} | {type: expired}}``. Limits: 100,000 requests or 256 MB a batch;
a ``custom_id`` matches ``^[a-zA-Z0-9_-]{1,64}$``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..._model.http import HttpRequest, split_url
from ..._model.batch import BatchResults, BatchState, BatchStatus, ItemResult
from ..._model.errors import ConfigurationError
from ..._model.spec import Endpoint
from ..anthropic.stream import ERROR_STATUS, anthropic_error_text
from ..._model.wire import Reader, dumps, loads
from . import PayloadWriter, ResultLines, Step, batch_request

__all__ = ["ANTHROPIC", "MessageBatchCodec"]

PROVIDER = "anthropic"
_MESSAGES = "/v1/messages"
_COUNTS = ("processing", "succeeded", "errored", "canceled", "expired")


class _BodyWriter:
    """The create request's JSON body, each item's ``params`` spliced in as encoded."""

    content_type = "application/json"

    def __init__(self) -> None:
        self._first = True

    def begin(self) -> bytes:
        return b'{"requests":['

    def item(self, custom_id: str, request: HttpRequest) -> bytes:
        head = b'{"custom_id":' if self._first else b',{"custom_id":'
        self._first = False
        return head + dumps(custom_id) + b',"params":' + request.body + b"}"

    def end(self) -> bytes:
        return b"]}"


class MessageBatchCodec:
    """Anthropic's Message Batches API."""

    label = "the Anthropic message batches API"
    max_requests: int | None = 100_000
    max_bytes = 256 * 1024 * 1024

    def _base(self, sample: HttpRequest) -> str:
        url = sample.url.partition("?")[0]
        if not url.endswith(_MESSAGES):
            raise ConfigurationError(f"{self.label} needs the Messages endpoint, not {url!r}")
        return url + "/batches"

    def check(self, sample: HttpRequest, endpoint: Endpoint) -> None:
        self._base(sample)

    def writer(self, sample: HttpRequest, token: str) -> PayloadWriter:
        return _BodyWriter()

    def submit(self, sample: HttpRequest, payload: bytes, content_type: str) -> Step[BatchStatus]:
        reply = yield batch_request(sample, "POST", self._base(sample), payload, content_type)
        return _status(reply)

    def status(self, sample: HttpRequest, batch_id: str) -> Step[BatchStatus]:
        reply = yield batch_request(sample, "GET", f"{self._base(sample)}/{quote(batch_id, safe='')}")
        return _status(reply)

    def cancel(self, sample: HttpRequest, batch_id: str) -> Step[BatchStatus]:
        reply = yield batch_request(sample, "POST", f"{self._base(sample)}/{quote(batch_id, safe='')}/cancel")
        return _status(reply)

    def results(self, sample: HttpRequest, status: BatchStatus) -> Step[BatchResults]:
        read = Reader(PROVIDER)
        url = f"{self._base(sample)}/{quote(status.id, safe='')}/results"
        given = read.opt_str(status.raw.get("results_url"), "results_url")
        # The credentials go along: follow results_url only to the host they belong to.
        if given and _origin(given) == _origin(url):
            url = given
        lines = ResultLines(PROVIDER, _item)
        yield lines.download(batch_request(sample, "GET", url))
        return lines.results()

    def inputs(self, sample: HttpRequest, status: BatchStatus) -> Step[BatchResults] | None:
        return None  # Anthropic keeps no copy of a batch's requests to read back


def _origin(url: str) -> tuple[str, str]:
    parts = split_url(url)
    return parts.scheme, parts.netloc


def _status(body: bytes) -> BatchStatus:
    read = Reader(PROVIDER)
    raw = read.obj(loads(body, PROVIDER), "")
    counts_obj = read.obj(raw.get("request_counts"), "request_counts")
    counts = {k: read.opt_int(counts_obj.get(k), f"request_counts.{k}") or 0 for k in _COUNTS}
    processing = read.str(raw.get("processing_status"), "processing_status")
    state: BatchState = "running"
    if processing == "ended":
        # Anthropic ends every batch the same way; what ended it tells the states apart.
        ran = counts["succeeded"] + counts["errored"]
        if raw.get("cancel_initiated_at") and counts["canceled"]:
            state = "cancelled"
        elif counts["expired"] and not ran:
            state = "expired"
        else:
            state = "ended"
    return BatchStatus(
        id=read.str(raw.get("id"), "id"),
        state=state,
        total=sum(counts.values()),
        succeeded=counts["succeeded"],
        failed=counts["errored"] + counts["canceled"] + counts["expired"],
        raw=raw,
    )


_NOT_RUN = {
    "canceled": "the batch was cancelled before this request ran",
    "expired": "the batch expired (24 hours) before this request ran",
}


def _item(read: Reader, line: dict[str, Any]) -> ItemResult:
    custom_id = read.str(line.get("custom_id"), "custom_id")
    result = read.obj(line.get("result"), "result")
    kind = read.str(result.get("type"), "result.type")
    if kind == "succeeded":
        return ItemResult(custom_id, 200, read.obj(result.get("message"), "result.message"))
    if kind == "errored":
        error = read.obj(result.get("error"), "result.error")
        inner = read.opt_obj(error.get("error"), "result.error.error") or {}
        status = ERROR_STATUS.get(str(inner.get("type")), 500)
        request_id = read.opt_str(error.get("request_id"), "result.error.request_id")
        return ItemResult(custom_id, status, error, anthropic_error_text(error), request_id)
    return ItemResult(custom_id, None, result, _NOT_RUN.get(kind, f"the request did not run ({kind})"))


ANTHROPIC = MessageBatchCodec()
