"""Mistral batch jobs.

API reference: https://docs.mistral.ai/capabilities/batch and the mistralai SDK
(``client.files.upload``, ``client.batch.jobs``; models ``CreateBatchJobRequest``,
``BatchJob``, ``BatchJobStatus``, ``CreateFileResponse``; the line envelopes of
``mistralai.extra.batch``). Four steps, all under ``{host}/v1``:

1. the requests, one JSON object a line (``{custom_id, body}``, ``body`` the request
   the plain call sends), are uploaded as a file: ``POST /v1/files``,
   ``multipart/form-data`` with ``purpose=batch`` and ``file``;
2. ``POST /v1/batch/jobs`` ``{input_files: [id], endpoint: "/v1/chat/completions",
   model, timeout_hours: 24}`` returns the job;
3. ``GET /v1/batch/jobs/{id}`` polls it (``status``: QUEUED, RUNNING, SUCCESS, FAILED,
   TIMEOUT_EXCEEDED, CANCELLATION_REQUESTED, CANCELLED; ``total_requests``,
   ``succeeded_requests``, ``failed_requests``; ``errors: [{message, count}]``);
   ``POST .../{id}/cancel`` cancels;
4. ``GET /v1/files/{id}/content`` reads ``output_file`` and ``error_file``, JSONL lines
   ``{custom_id, response: {status_code, body}, error}`` (streamed line by line),
   joined to the requests by ``custom_id``; the ``input_files`` stay readable there,
   so a job resumed without its items reads its requests back.

Limits: a million requests a batch, 512 MB a file (the Files API's cap).
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import quote

from ..._model.http import HttpRequest
from ..._model.batch import BatchResults, BatchState, BatchStatus
from ..._model.errors import ConfigurationError, ResponseFormatError
from ..._model.spec import Endpoint
from ..._model.wire import Reader, dumps, loads
from . import PayloadWriter, ResultLines, Step, batch_request
from .openai import JsonlWriter, input_line, response_line

__all__ = ["MISTRAL", "MistralBatchCodec"]

PROVIDER = "mistral"
_ENDPOINT = "/v1/chat/completions"
_CHAT = "/chat/completions"

_STATES: dict[str, BatchState] = {
    "QUEUED": "pending",
    "RUNNING": "running",
    "CANCELLATION_REQUESTED": "running",
    "SUCCESS": "ended",
    "FAILED": "failed",
    "TIMEOUT_EXCEEDED": "expired",
    "CANCELLED": "cancelled",
}


class MistralBatchCodec:
    """Mistral's batch jobs over uploaded JSONL files."""

    label = "the Mistral batch API"
    max_requests: int | None = 1_000_000
    max_bytes = 512 * 1024 * 1024

    def _base(self, sample: HttpRequest) -> str:
        """``{host}/v1``: where the plain call's ``/chat/completions`` lives."""
        url = sample.url.partition("?")[0]
        if not url.endswith(_ENDPOINT):
            raise ConfigurationError(f"{self.label} needs the chat completions endpoint, not {url!r}")
        return url[: -len(_CHAT)]

    def check(self, sample: HttpRequest, endpoint: Endpoint) -> None:
        self._base(sample)

    def writer(self, sample: HttpRequest, token: str) -> PayloadWriter:
        return JsonlWriter(None, "minicall-" + token)

    def submit(self, sample: HttpRequest, payload: bytes, content_type: str) -> Step[BatchStatus]:
        read = Reader(PROVIDER)
        base = self._base(sample)
        upload = yield batch_request(sample, "POST", base + "/files", payload, content_type)
        file_id = read.str(read.obj(loads(upload, PROVIDER), "").get("id"), "id")
        body: dict[str, Any] = {"input_files": [file_id], "endpoint": _ENDPOINT, "timeout_hours": 24}
        model = _model_of(sample)
        if model is not None:
            body["model"] = model
        created = yield batch_request(sample, "POST", base + "/batch/jobs", dumps(body))
        return _status(created)

    def _job_url(self, sample: HttpRequest, batch_id: str) -> str:
        return f"{self._base(sample)}/batch/jobs/{quote(batch_id, safe='')}"

    def status(self, sample: HttpRequest, batch_id: str) -> Step[BatchStatus]:
        reply = yield batch_request(sample, "GET", self._job_url(sample, batch_id))
        return _status(reply)

    def cancel(self, sample: HttpRequest, batch_id: str) -> Step[BatchStatus]:
        reply = yield batch_request(sample, "POST", self._job_url(sample, batch_id) + "/cancel")
        return _status(reply)

    def _content_url(self, sample: HttpRequest, file_id: str) -> str:
        return f"{self._base(sample)}/files/{quote(file_id, safe='')}/content"

    def results(self, sample: HttpRequest, status: BatchStatus) -> Step[BatchResults]:
        read = Reader(PROVIDER)
        lines = ResultLines(PROVIDER, response_line)
        for key, name in (("output_file", "output file"), ("error_file", "error file")):
            file_id = read.opt_str(status.raw.get(key), key)
            if file_id:
                yield lines.download(batch_request(sample, "GET", self._content_url(sample, file_id)), name)
        return lines.results()

    def inputs(self, sample: HttpRequest, status: BatchStatus) -> Step[BatchResults] | None:
        read = Reader(PROVIDER)
        files = [read.str(f, "input_files[]") for f in read.opt_arr(status.raw.get("input_files"), "input_files")]
        return self._inputs(sample, files) if files else None

    def _inputs(self, sample: HttpRequest, files: list[str]) -> Step[BatchResults]:
        lines = ResultLines(PROVIDER, input_line)
        for file_id in files:
            yield lines.download(batch_request(sample, "GET", self._content_url(sample, file_id)), "input file")
        return lines.results()


def _model_of(sample: HttpRequest) -> str | None:
    """The model the plain call names (the job's ``model``; the bodies name it too)."""
    try:
        body: object = loads(sample.body, PROVIDER) if sample.body else None
    except ResponseFormatError:
        return None
    model = cast("dict[str, object]", body).get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else None


def _status(body: bytes) -> BatchStatus:
    read = Reader(PROVIDER)
    raw = read.obj(loads(body, PROVIDER), "")
    errors = [read.obj(e, "errors[]") for e in read.opt_arr(raw.get("errors"), "errors")]
    messages = [read.opt_str(e.get("message"), "errors[].message") for e in errors]
    return BatchStatus(
        id=read.str(raw.get("id"), "id"),
        state=_STATES.get(read.str(raw.get("status"), "status"), "running"),
        total=read.opt_int(raw.get("total_requests"), "total_requests"),
        succeeded=read.opt_int(raw.get("succeeded_requests"), "succeeded_requests") or 0,
        failed=read.opt_int(raw.get("failed_requests"), "failed_requests") or 0,
        error="; ".join(m for m in messages if m) or None,
        raw=raw,
    )


MISTRAL = MistralBatchCodec()
