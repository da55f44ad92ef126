"""Mistral batch jobs, server side.

``POST /v1/files`` (multipart: ``file``, ``purpose``) stores a file object (the
mistralai SDK's ``CreateFileResponse``); ``POST /v1/batch/jobs`` takes
``{input_files, endpoint, model, metadata, timeout_hours}``, checks the files' JSONL
lines (``custom_id`` unique, ``body`` an object) and creates the job, QUEUED;
``GET /v1/batch/jobs/{id}`` polls it (RUNNING, then SUCCESS, TIMEOUT_EXCEEDED or
FAILED; CANCELLATION_REQUESTED then CANCELLED after ``POST .../{id}/cancel``). Once
it ran, the answers are in ``output_file`` (2xx) and ``error_file`` (the rest), JSONL
lines ``{id, custom_id, response: {status_code, body}, error}`` read from
``GET /v1/files/{id}/content`` (a scripted batch's garbage lines opening the output
file); requests that never ran have no line. Ids are UUIDs, as Mistral's are.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .._formats import Rendered, WireFormat, json_array, json_object
from .._reply import RecordedRequest
from . import BatchRecord, Batches, error_reply as _error, json_reply
from .openai import jsonl_items, store_upload

__all__ = ["ENGINE", "MistralBatchEngine"]

_FILES = "/v1/files"
_CONTENT = re.compile(r"/v1/files/(?P<id>[^/]+)/content")
_JOBS = "/v1/batch/jobs"
_JOB = re.compile(r"/v1/batch/jobs/(?P<id>[^/]+)(?P<cancel>/cancel)?")
_ENDPOINTS = ("/v1/chat/completions",)

_STATUS = {
    "running": "RUNNING",
    "cancelling": "CANCELLATION_REQUESTED",
    "ended": "SUCCESS",
    "expired": "TIMEOUT_EXCEEDED",
    "failed": "FAILED",
    "cancelled": "CANCELLED",
}


def _uuid(batches: Batches) -> str:
    return "00000000-0000-4000-8000-" + batches.new_id("")[-12:].rjust(12, "0")


class MistralBatchEngine:
    """Files and batch jobs as the Mistral API keeps them."""

    def answer(self, batches: Batches, fmt: WireFormat, request: RecordedRequest) -> Rendered | None:
        route, method = request.route, request.method
        if route == _FILES and method == "POST":
            return self._upload(batches, fmt, request)
        if method == "GET" and (m := _CONTENT.fullmatch(route)):
            found = batches.files.get(m.group("id"))
            if found is None:
                return _error(fmt, request, 404, f"File {m.group('id')} not found")
            return Rendered(200, {"content-type": "application/octet-stream"}, found[1])
        if route == _JOBS and method == "POST":
            return self._create(batches, fmt, request)
        match = _JOB.fullmatch(route)
        if match is None:
            return None
        record = batches.batches.get(match.group("id"))
        if record is None or record.provider != "mistral":
            return _error(fmt, request, 404, f"Batch job {match.group('id')} not found")
        if match.group("cancel") and method == "POST":
            if record.state == "running":
                record.state = "cancelling"
            return json_reply(200, self._job(batches, record))
        if not match.group("cancel") and method == "GET":
            record.poll()
            return json_reply(200, self._job(batches, record))
        return None

    def _upload(self, batches: Batches, fmt: WireFormat, request: RecordedRequest) -> Rendered:
        stored = store_upload(batches, fmt, request, _uuid(batches))
        if isinstance(stored, Rendered):
            return stored
        file_id, filename, content = stored
        return json_reply(200, _file_object(file_id, filename, content, "batch_request", "upload"))

    def _create(self, batches: Batches, fmt: WireFormat, request: RecordedRequest) -> Rendered:
        body = json_object(request.json)
        if not isinstance(request.json, dict):
            return _error(fmt, request, 422, "body: a JSON object is required")
        endpoint = body.get("endpoint")
        if endpoint not in _ENDPOINTS:
            return _error(fmt, request, 422, f"endpoint: this fake serves {', '.join(_ENDPOINTS)}")
        files = json_array(body.get("input_files"))
        if not files or not all(isinstance(f, str) for f in files):
            return _error(fmt, request, 422, "input_files: a list of file ids is required")
        contents: list[bytes] = []
        for file_id in files:
            found = batches.files.get(str(file_id))
            if found is None:
                return _error(fmt, request, 404, f"File {file_id} not found")
            contents.append(found[1])
        items, problem = jsonl_items(b"\n".join(contents), str(endpoint), request, lines_name_url=False)
        record = batches.create(
            "mistral", _uuid(batches), items, fmt,
            endpoint=endpoint, input_files=[str(f) for f in files], model=body.get("model"),
            metadata=body.get("metadata"), queued=True,
        )
        if problem is not None:
            record.invalid = problem
            record.polls_left = 0
        return json_reply(200, self._job(batches, record))

    def _job(self, batches: Batches, record: BatchRecord) -> dict[str, Any]:
        queued = record.extra.pop("queued", False)
        status = "QUEUED" if queued and record.state == "running" else _STATUS[record.state]
        total = len(record.items)
        succeeded = sum(1 for i in record.items if 200 <= i.status < 300) if record.ran else 0
        failed = (total - succeeded) if record.ran else 0
        done = record.state in ("ended", "expired", "cancelled", "failed")
        job: dict[str, Any] = {
            "id": record.id,
            "object": "batch",
            "input_files": record.extra["input_files"],
            "metadata": record.extra.get("metadata"),
            "endpoint": record.extra["endpoint"],
            "model": record.extra.get("model"),
            "agent_id": None,
            "output_file": None,
            "error_file": None,
            "errors": [],
            "outputs": None,
            "status": status,
            "created_at": int(record.created),
            "total_requests": total,
            "completed_requests": succeeded + failed,
            "succeeded_requests": succeeded,
            "failed_requests": failed,
            "started_at": int(record.created),
            "completed_at": int(record.created) if done else None,
        }
        if record.state == "failed":
            job["errors"] = [{"message": record.invalid or "failed", "count": 1}]
            job["total_requests"] = 0
        elif record.ran:
            job["output_file"], job["error_file"] = self._outputs(batches, record)
        return job

    def _outputs(self, batches: Batches, record: BatchRecord) -> tuple[str | None, str | None]:
        if "outputs" not in record.extra:
            good: list[bytes] = [g.encode() for g in record.plan.garbage]
            bad: list[bytes] = []
            for n, item in enumerate(record.items):
                line = {"id": f"batch-{record.id}-{n}", "custom_id": item.custom_id,
                        "response": {"status_code": item.status, "body": item.body}, "error": None}
                (good if 200 <= item.status < 300 else bad).append(json.dumps(line, separators=(",", ":")).encode())
            record.extra["outputs"] = (
                self._store(batches, good, "batch_result"),
                self._store(batches, bad, "batch_error"),
            )
        outputs: tuple[str | None, str | None] = record.extra["outputs"]
        return outputs

    def _store(self, batches: Batches, lines: list[bytes], sample_type: str) -> str | None:
        if not lines:
            return None
        file_id = _uuid(batches)
        batches.files[file_id] = (f"{sample_type}.jsonl", b"".join(line + b"\n" for line in lines))
        return file_id


def _file_object(file_id: str, filename: str, content: bytes, sample_type: str, source: str) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": len(content),
        "created_at": 0,
        "filename": filename,
        "purpose": "batch",
        "sample_type": sample_type,
        "source": source,
        "num_lines": content.count(b"\n"),
        "mimetype": "application/jsonl",
        "signature": None,
        "expires_at": None,
        "visibility": "workspace",
    }


ENGINE = MistralBatchEngine()
