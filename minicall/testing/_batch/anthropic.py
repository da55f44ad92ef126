"""Anthropic message batches, server side.

``POST /v1/messages/batches`` takes ``{"requests": [{custom_id, params}]}`` (each
``custom_id`` unique and matching ``^[a-zA-Z0-9_-]{1,64}$``, each ``params`` a
Messages API body without ``stream``) and answers a ``message_batch`` object;
``GET .../{id}`` polls it (``processing_status`` in_progress, canceling, ended);
``POST .../{id}/cancel`` cancels; ``GET .../{id}/results`` (the ``results_url``) is
JSONL ``{custom_id, result}`` with ``result.type`` succeeded, errored, canceled or
expired. A scripted ``failed`` outcome is refused at creation (a 400), as Anthropic
validates a batch when it is created.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .._formats import Rendered, WireFormat, json_array, json_object
from .._reply import RecordedRequest
from . import BatchItem, BatchRecord, Batches, error_reply as _error, item_request, iso_time, json_reply

__all__ = ["ENGINE", "AnthropicBatchEngine"]

_BATCHES = "/v1/messages/batches"
_ONE = re.compile(r"/v1/messages/batches/(?P<id>[^/]+)(?P<tail>/cancel|/results)?")
_CUSTOM_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")


class AnthropicBatchEngine:
    """Message batches as the Anthropic API keeps them."""

    def answer(self, batches: Batches, fmt: WireFormat, request: RecordedRequest) -> Rendered | None:
        route, method = request.route, request.method
        if route == _BATCHES and method == "POST":
            return self._create(batches, fmt, request)
        match = _ONE.fullmatch(route)
        if match is None:
            return None
        record = batches.batches.get(match.group("id"))
        if record is None or record.provider != "anthropic":
            return _error(fmt, request, 404, f"No batch with id {match.group('id')!r}.")
        tail = match.group("tail")
        if tail == "/cancel" and method == "POST":
            if record.state == "running":
                record.state = "cancelling"
                record.extra["cancel_initiated_at"] = iso_time(record.created)
            return json_reply(200, _batch(batches, record))
        if tail == "/results" and method == "GET":
            if record.state in ("running", "cancelling"):
                return _error(fmt, request, 400, "Batch is still processing; results are not available yet.")
            lines = b"".join(g.encode() + b"\n" for g in record.plan.garbage)
            lines += b"".join(json.dumps(_result(record, i), separators=(",", ":")).encode() + b"\n" for i in record.items)
            return Rendered(200, {"content-type": "application/binary"}, lines)
        if tail is None and method == "GET":
            record.poll()
            return json_reply(200, _batch(batches, record))
        return None

    def _create(self, batches: Batches, fmt: WireFormat, request: RecordedRequest) -> Rendered:
        requests = json_array(json_object(request.json).get("requests"))
        if not requests:
            return _error(fmt, request, 400, "requests: a non-empty list is required")
        items: list[BatchItem] = []
        seen: set[str] = set()
        for n, value in enumerate(requests):
            entry = json_object(value)
            custom_id = entry.get("custom_id")
            params = entry.get("params")
            entry_params = json_object(params)
            if not isinstance(custom_id, str) or not _CUSTOM_ID.fullmatch(custom_id) or custom_id in seen:
                return _error(fmt, request, 400, f"requests.{n}.custom_id: must be unique and match ^[a-zA-Z0-9_-]{{1,64}}$")
            if not isinstance(params, dict) or entry_params.get("stream"):
                return _error(fmt, request, 400, f"requests.{n}.params: a Messages request without stream is required")
            seen.add(custom_id)
            items.append(BatchItem(custom_id, item_request("/v1/messages", params, "anthropic", request.index * 100_000 + n)))
        if batches.plans and batches.plans[0].outcome == "failed":
            return _error(fmt, request, 400, batches.plans.popleft().error)
        record = batches.create("anthropic", batches.new_id("msgbatch_"), items, fmt)
        return json_reply(200, _batch(batches, record))


def _result(record: BatchRecord, item: BatchItem) -> dict[str, Any]:
    result: dict[str, Any]
    if record.state == "ended" and 200 <= item.status < 300:
        result = {"type": "succeeded", "message": item.body}
    elif record.state == "ended":
        result = {"type": "errored", "error": item.body}
    else:
        result = {"type": "canceled" if record.state == "cancelled" else "expired"}
    return {"custom_id": item.custom_id, "result": result}


def _batch(batches: Batches, record: BatchRecord) -> dict[str, Any]:
    counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    ended = record.state in ("ended", "expired", "cancelled", "failed")
    for item in record.items:
        if not ended:
            counts["processing"] += 1
        elif record.state == "ended":
            counts["succeeded" if 200 <= item.status < 300 else "errored"] += 1
        else:
            counts["canceled" if record.state == "cancelled" else "expired"] += 1
    return {
        "id": record.id,
        "type": "message_batch",
        "processing_status": "ended" if ended else ("canceling" if record.state == "cancelling" else "in_progress"),
        "request_counts": counts,
        "ended_at": iso_time(record.created) if ended else None,
        "created_at": iso_time(record.created),
        "expires_at": iso_time(record.created + 86400),
        "archived_at": None,
        "cancel_initiated_at": record.extra.get("cancel_initiated_at"),
        "results_url": f"{batches.base_url('anthropic')}/v1/messages/batches/{record.id}/results" if ended else None,
    }


ENGINE = AnthropicBatchEngine()
