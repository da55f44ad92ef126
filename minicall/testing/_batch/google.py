"""The Gemini API's batch mode, server side (inline requests only).

``POST /{version}/models/{model}:batchGenerateContent`` takes ``{"batch":
{"displayName", "inputConfig": {"requests": {"requests": [{"request", "metadata"}]}}}}``
and answers a long-running operation named ``batches/{id}`` whose ``metadata`` is
the batch (``state`` ``BATCH_STATE_*``, ``batchStats`` with int64 counts as strings);
``GET /{version}/batches/{id}`` polls it and, once it succeeded, carries
``metadata.output.inlinedResponses.inlinedResponses`` (``{response | error,
metadata}`` per request, in input order; an error is a ``google.rpc.Status`` with a
gRPC code) and the same output as the operation's ``response``.
``POST /{version}/batches/{id}:cancel`` answers ``{}``.
"""

from __future__ import annotations

import re
from typing import Any

from .._formats import Rendered, WireFormat, json_array, json_object
from .._reply import ErrorReply, RecordedRequest
from . import BatchItem, BatchRecord, Batches, item_request, iso_time, json_reply

__all__ = ["ENGINE", "GeminiBatchEngine"]

_CREATE = re.compile(r"/(?P<version>v1\w*)/(?P<model>(?:models|tunedModels)/[^:/]+):batchGenerateContent")
_ONE = re.compile(r"/(?P<version>v1\w*)/batches/(?P<id>[^/:]+)(?P<cancel>:cancel)?")

_STATES = {
    "running": "BATCH_STATE_RUNNING",
    "cancelling": "BATCH_STATE_RUNNING",
    "ended": "BATCH_STATE_SUCCEEDED",
    "expired": "BATCH_STATE_EXPIRED",
    "failed": "BATCH_STATE_FAILED",
    "cancelled": "BATCH_STATE_CANCELLED",
}
# HTTP status -> the gRPC code of the google.rpc.Status an inlined error carries.
_GRPC = {400: 3, 401: 16, 403: 7, 404: 5, 409: 10, 429: 8, 499: 1, 500: 13, 501: 12, 503: 14, 504: 4}
_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main."


class GeminiBatchEngine:
    """Batch jobs as the Gemini API keeps them."""

    def answer(self, batches: Batches, fmt: WireFormat, request: RecordedRequest) -> Rendered | None:
        route, method = request.route, request.method
        created = _CREATE.fullmatch(route)
        if created is not None and method == "POST":
            return self._create(batches, fmt, request, created.group("version"), created.group("model"))
        match = _ONE.fullmatch(route)
        if match is None:
            return None
        name = match.group("id")
        record = batches.batches.get(name)
        if record is None or record.provider != "google":
            return fmt.render_error(ErrorReply(404, f"Batch batches/{name} not found."), request)
        if match.group("cancel") and method == "POST":
            if record.state == "running":
                record.state = "cancelling"
            return json_reply(200, {})
        if not match.group("cancel") and method == "GET":
            record.poll()
            return json_reply(200, _operation(record))
        return None

    def _create(self, batches: Batches, fmt: WireFormat, request: RecordedRequest, version: str, model: str) -> Rendered:
        batch = json_object(json_object(request.json).get("batch"))
        inner = json_object(json_object(batch.get("inputConfig")).get("requests"))
        requests = json_array(inner.get("requests"))
        if not requests:
            return fmt.render_error(ErrorReply(400, "batch.inputConfig.requests.requests is required."), request)
        items: list[BatchItem] = []
        for n, value in enumerate(requests):
            entry = json_object(value)
            given = entry.get("request")
            params = json_object(given)
            if not isinstance(given, dict) or not isinstance(params.get("contents"), list):
                return fmt.render_error(ErrorReply(400, f"requests[{n}].request.contents is required."), request)
            key = json_object(entry.get("metadata")).get("key")
            path = f"/{version}/{model}:generateContent"
            items.append(BatchItem(str(key if key is not None else n), item_request(path, params, "google", request.index * 100_000 + n)))
        batch_id = batches.new_id("fakebatch")
        display = batch.get("displayName")
        record = batches.create("google", batch_id, items, fmt, model=model, display_name=display, keys=[
            json_object(entry).get("metadata") for entry in requests
        ])
        return json_reply(200, _operation(record))


def _operation(record: BatchRecord) -> dict[str, Any]:
    total = len(record.items)
    ran = record.ran
    good = sum(1 for i in record.items if 200 <= i.status < 300) if ran else 0
    done = record.state in ("ended", "expired", "cancelled", "failed")
    metadata: dict[str, Any] = {
        "@type": _TYPE + "GenerateContentBatch",
        "model": record.extra["model"],
        "displayName": record.extra.get("display_name") or "",
        "createTime": iso_time(record.created),
        "updateTime": iso_time(record.created),
        "state": _STATES[record.state],
        "name": f"batches/{record.id}",
        "batchStats": {
            "requestCount": str(total),
            "successfulRequestCount": str(good),
            "failedRequestCount": str(total - good if ran else 0),
            "pendingRequestCount": str(0 if done else total),
        },
    }
    operation: dict[str, Any] = {"name": f"batches/{record.id}", "metadata": metadata}
    if done:
        operation["done"] = True
        metadata["endTime"] = iso_time(record.created)
    if ran:
        output = {"inlinedResponses": {"inlinedResponses": [_inlined(record, n, i) for n, i in enumerate(record.items)]}}
        metadata["output"] = output
        operation["response"] = {"@type": _TYPE + "GenerateContentBatchOutput", **output}
    elif record.state == "failed":
        operation["error"] = {"code": 3, "message": record.invalid or "The batch failed."}
    return operation


def _inlined(record: BatchRecord, n: int, item: BatchItem) -> dict[str, Any]:
    keys: list[Any] = record.extra.get("keys") or []
    out: dict[str, Any] = {}
    if 200 <= item.status < 300:
        out["response"] = item.body
    else:
        error = json_object(item.body).get("error")
        fields = json_object(error)
        message = fields.get("message") if isinstance(error, dict) else "error"
        out["error"] = {"code": _GRPC.get(item.status, 13), "message": message}
    if n < len(keys) and keys[n] is not None:
        out["metadata"] = keys[n]
    return out


ENGINE = GeminiBatchEngine()
