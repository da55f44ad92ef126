"""The OpenAI batch API, server side, for OpenAI, Azure OpenAI and Groq.

``POST .../files`` (multipart: ``purpose``, ``file``) stores a file object;
``POST .../batches`` checks the file's JSONL lines (``custom_id`` unique, ``method``
POST, ``url`` the batch's ``endpoint``, ``body`` an object) and creates the batch;
``GET .../batches/{id}`` polls it (validating, in_progress, then completed, expired
or failed; cancelling then cancelled after a cancel); once completed the answers are
in an output file (2xx) and an error file (the rest), JSONL lines
``{id, custom_id, response: {status_code, request_id, body}, error}``, read from
``GET .../files/{id}/content`` (a scripted batch's garbage lines opening the output
file, or the error file when no item succeeded). The route prefix before ``/files`` and ``/batches``
is whatever the provider's base is (``/v1``, ``/openai/v1``, ``/openai``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from .._formats import Rendered, WireFormat, json_object
from .._reply import RecordedRequest
from . import BatchItem, BatchRecord, Batches, error_reply as _error, item_request, json_reply

__all__ = ["ENGINE", "OpenAIBatchEngine", "jsonl_items", "parse_multipart", "store_upload"]

_FILES = re.compile(r".*/files")
_CONTENT = re.compile(r".*/files/(?P<id>[^/]+)/content")
_BATCHES = re.compile(r".*/batches")
_BATCH = re.compile(r".*/batches/(?P<id>[^/]+)")
_CANCEL = re.compile(r".*/batches/(?P<id>[^/]+)/cancel")

_STATUS = {
    "running": "in_progress",
    "cancelling": "cancelling",
    "ended": "completed",
    "expired": "expired",
    "failed": "failed",
    "cancelled": "cancelled",
}
_NOT_RUN = {
    "expired": ("batch_expired", "This request could not be executed before the completion window expired."),
    "cancelled": ("batch_cancelled", "This request was not executed because the batch was cancelled."),
}


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """``multipart/form-data`` fields: name -> (filename, content)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise ValueError("multipart body without a boundary")
    delimiter = b"--" + match.group(1).encode()
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        disposition = head.decode("utf-8", "replace")
        name = re.search(r'name="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name is not None:
            fields[name.group(1)] = (filename.group(1) if filename else None, content.removesuffix(b"\r\n"))
    return fields


class OpenAIBatchEngine:
    """Files and batches as the OpenAI batch API keeps them."""

    def answer(self, batches: Batches, fmt: WireFormat, request: RecordedRequest) -> Rendered | None:
        route, method = request.route, request.method
        if method == "POST" and _FILES.fullmatch(route):
            return self._upload(batches, fmt, request)
        if method == "GET" and (m := _CONTENT.fullmatch(route)):
            return self._content(batches, fmt, request, m.group("id"))
        if method == "POST" and _BATCHES.fullmatch(route):
            return self._create(batches, fmt, request)
        if method == "POST" and (m := _CANCEL.fullmatch(route)):
            return self._cancel(batches, fmt, request, m.group("id"))
        if method == "GET" and (m := _BATCH.fullmatch(route)):
            record = batches.batches.get(m.group("id"))
            if record is None:
                return _error(fmt, request, 404, f"No batch found with id '{m.group('id')}'.")
            record.poll()
            return json_reply(200, self._batch(batches, record))
        return None

    def _upload(self, batches: Batches, fmt: WireFormat, request: RecordedRequest) -> Rendered:
        stored = store_upload(batches, fmt, request, batches.new_id("file-"))
        if isinstance(stored, Rendered):
            return stored
        file_id, filename, content = stored
        return json_reply(200, _file_object(file_id, filename, content, "batch"))

    def _content(self, batches: Batches, fmt: WireFormat, request: RecordedRequest, file_id: str) -> Rendered:
        found = batches.files.get(file_id)
        if found is None:
            return _error(fmt, request, 404, f"No such File object: {file_id}")
        return Rendered(200, {"content-type": "application/octet-stream"}, found[1])

    def _create(self, batches: Batches, fmt: WireFormat, request: RecordedRequest) -> Rendered:
        body = json_object(request.json)
        if not isinstance(request.json, dict):
            return _error(fmt, request, 400, "The body must be a JSON object.")
        missing = [k for k in ("input_file_id", "endpoint", "completion_window") if not isinstance(body.get(k), str)]
        if missing:
            return _error(fmt, request, 400, f"Missing required parameter: '{missing[0]}'.")
        if body["completion_window"] != "24h":
            return _error(fmt, request, 400, "completion_window must be '24h'.")
        found = batches.files.get(body["input_file_id"])
        if found is None:
            return _error(fmt, request, 404, f"No such File object: {body['input_file_id']}")
        items, problem = jsonl_items(found[1], body["endpoint"], request)
        record = batches.create(
            request.provider, batches.new_id("batch_"), items, fmt,
            endpoint=body["endpoint"], input_file_id=body["input_file_id"], metadata=body.get("metadata"),
        )
        record.extra["validating"] = True
        if problem is not None:
            record.invalid = problem
            record.polls_left = 0
        return json_reply(200, self._batch(batches, record))

    def _cancel(self, batches: Batches, fmt: WireFormat, request: RecordedRequest, batch_id: str) -> Rendered:
        record = batches.batches.get(batch_id)
        if record is None:
            return _error(fmt, request, 404, f"No batch found with id '{batch_id}'.")
        if record.state == "running":
            record.state = "cancelling"
        return json_reply(200, self._batch(batches, record))

    def _batch(self, batches: Batches, record: BatchRecord) -> dict[str, Any]:
        validating = record.extra.pop("validating", False)
        status = "validating" if validating and record.state == "running" else _STATUS[record.state]
        done = record.state in ("ended", "expired", "cancelled")
        total = len(record.items)
        completed = sum(1 for i in record.items if 200 <= i.status < 300) if record.ran else 0
        body: dict[str, Any] = {
            "id": record.id,
            "object": "batch",
            "endpoint": record.extra["endpoint"],
            "errors": None,
            "input_file_id": record.extra["input_file_id"],
            "completion_window": "24h",
            "status": status,
            "output_file_id": None,
            "error_file_id": None,
            "created_at": int(record.created),
            "in_progress_at": int(record.created),
            "expires_at": int(record.created) + 86400,
            "request_counts": {
                "total": total,
                "completed": completed,
                "failed": (total - completed) if done else 0,
            },
            "metadata": record.extra.get("metadata"),
        }
        if record.state == "failed":
            body["errors"] = {"object": "list", "data": [{"code": "invalid_request", "message": record.invalid, "line": None}]}
            body["request_counts"] = {"total": 0, "completed": 0, "failed": 0}
        if done:
            body["output_file_id"], body["error_file_id"] = self._outputs(batches, record)
        return body

    def _outputs(self, batches: Batches, record: BatchRecord) -> tuple[str | None, str | None]:
        if "outputs" not in record.extra:
            good: list[dict[str, Any]] = []
            bad: list[dict[str, Any]] = []
            for n, item in enumerate(record.items):
                line: dict[str, Any] = {"id": f"batch_req_{record.id}_{n}", "custom_id": item.custom_id}
                if record.ran:
                    line["response"] = {"status_code": item.status, "request_id": f"req_{record.id}_{n}", "body": item.body}
                    line["error"] = None
                else:
                    code, message = _NOT_RUN[record.state]
                    line["response"] = None
                    line["error"] = {"code": code, "message": message}
                (good if record.ran and 200 <= item.status < 300 else bad).append(line)
            garbage = list(record.plan.garbage)
            first, second = (garbage, []) if good else ([], garbage)
            record.extra["outputs"] = (
                self._store(batches, good, "batch_output", first),
                self._store(batches, bad, "batch_output", second),
            )
        outputs: tuple[str | None, str | None] = record.extra["outputs"]
        return outputs

    def _store(self, batches: Batches, lines: list[dict[str, Any]], purpose: str, garbage: list[str]) -> str | None:
        if not lines:
            return None
        file_id = batches.new_id("file-")
        content = b"".join(g.encode() + b"\n" for g in garbage)
        content += b"".join(json.dumps(line, separators=(",", ":")).encode() + b"\n" for line in lines)
        batches.files[file_id] = (f"{purpose}.jsonl", content)
        return file_id


def store_upload(
    batches: Batches, fmt: WireFormat, request: RecordedRequest, file_id: str
) -> tuple[str, str, bytes] | Rendered:
    """Keep the file of a ``multipart/form-data`` upload (``purpose=batch``, ``file``) as
    ``file_id``: its id, name and content, or the error response."""
    try:
        fields = parse_multipart(request.body, request.headers.get("content-type", ""))
    except ValueError as exc:
        return _error(fmt, request, 400, str(exc))
    purpose, upload = fields.get("purpose"), fields.get("file")
    if purpose is None or upload is None:
        return _error(fmt, request, 400, "The upload needs the fields 'purpose' and 'file'.")
    if purpose[1] != b"batch":
        return _error(fmt, request, 400, f"This fake only takes purpose 'batch', not {purpose[1]!r}.")
    filename = upload[0] or "upload.jsonl"
    batches.files[file_id] = (filename, upload[1])
    return file_id, filename, upload[1]


def jsonl_items(
    content: bytes, endpoint: str, request: RecordedRequest, *, lines_name_url: bool = True
) -> tuple[list[BatchItem], str | None]:
    """The requests of an input file, or the reason the batch fails: each line
    ``{custom_id, method, url, body}`` (``{custom_id, body}`` for Mistral, whose job
    names the endpoint: ``lines_name_url=False``)."""
    items: list[BatchItem] = []
    seen: set[str] = set()
    for n, line in enumerate(content.splitlines()):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            return [], f"Line {n + 1} is not valid JSON."
        line_object = json_object(obj)
        if not isinstance(obj, dict):
            return [], f"Line {n + 1} is not a JSON object."
        custom_id, body = line_object.get("custom_id"), line_object.get("body")
        if not isinstance(custom_id, str) or custom_id in seen:
            return [], f"Line {n + 1}: custom_id must be a unique string."
        if lines_name_url and (line_object.get("method") != "POST" or line_object.get("url") != endpoint):
            return [], f"Line {n + 1}: method must be POST and url {endpoint!r}."
        if not isinstance(body, dict):
            return [], f"Line {n + 1}: body must be an object."
        seen.add(custom_id)
        items.append(BatchItem(custom_id, item_request(endpoint, body, request.provider, request.index * 100_000 + n)))
    if not items:
        return [], "The input file has no requests."
    return items, None


def _file_object(file_id: str, filename: str, content: bytes, purpose: str) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": len(content),
        "created_at": 0,
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
    }


ENGINE = OpenAIBatchEngine()
