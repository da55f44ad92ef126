"""The batch codecs alone: each provider's batch objects and result lines, with no I/O.

A step is driven by hand: each request it yields is answered with a body, as the
drivers do over HTTP.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import JSON, json_values

import minicall
from minicall._codecs.batch import Download, ResultLines, batch_codec
from minicall._codecs.batch.anthropic import ANTHROPIC
from minicall._codecs.batch.gemini import GEMINI
from minicall._codecs.batch.mistral import MISTRAL
from minicall._codecs.batch.openai import AZURE, GROQ, OPENAI, response_line
from minicall._model.batch import ItemResult
from minicall._model.http import HttpRequest, HttpResponse, MockTransport

OPENAI_SAMPLE = HttpRequest("POST", "https://api.openai.com/v1/chat/completions", {"Content-Type": "application/json"})
ANTHROPIC_SAMPLE = HttpRequest("POST", "https://api.anthropic.com/v1/messages", {"anthropic-version": "2023-06-01"})
GEMINI_SAMPLE = HttpRequest("POST", "https://generativelanguage.googleapis.com/v1/models/gemini-2.0-flash:generateContent")
MISTRAL_SAMPLE = HttpRequest("POST", "https://api.mistral.ai/v1/chat/completions", {},
                             b'{"model":"mistral-small-latest","messages":[]}')


def drive(step: Any, *bodies: Any) -> tuple[list[HttpRequest], Any]:
    """Run a step, answering its requests with ``bodies`` (dicts JSON-encoded) in turn;
    a results file is fed in pieces of 7 bytes, as a driver feeds what arrives."""
    sent: list[HttpRequest] = []
    answers = iter(bodies)
    try:
        request = next(step)
        while True:
            body = next(answers)
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            if isinstance(request, Download):
                sent.append(request.request)
                for n in range(0, len(raw), 7):
                    request.feed(raw[n:n + 7])
                request.close()
                raw = b""
            else:
                sent.append(request)
            request = step.send(raw)
    except StopIteration as done:
        return sent, done.value


def openai_batch(status: str, **extra: Any) -> dict[str, Any]:
    return {"id": "batch_1", "object": "batch", "status": status,
            "request_counts": {"total": 3, "completed": 1, "failed": 1}, **extra}


@pytest.mark.parametrize("status,state", [
    ("validating", "pending"), ("in_progress", "running"), ("finalizing", "running"),
    ("cancelling", "running"), ("completed", "ended"), ("expired", "expired"),
    ("cancelled", "cancelled"), ("failed", "failed"), ("some_new_state", "running"),
])
def test_openai_states_map_to_the_six(status, state):
    _, got = drive(OPENAI.status(OPENAI_SAMPLE, "batch_1"), openai_batch(status))
    assert got.state == state and (got.total, got.succeeded, got.failed) == (3, 1, 1)
    assert got.raw["status"] == status


def test_openai_urls_follow_the_chat_completions_base():
    sent, _ = drive(OPENAI.status(OPENAI_SAMPLE, "batch/1"), openai_batch("completed"))
    assert sent[0].method == "GET" and sent[0].url == "https://api.openai.com/v1/batches/batch%2F1"
    groq = HttpRequest("POST", "https://api.groq.com/openai/v1/chat/completions")
    assert drive(GROQ.cancel(groq, "b"), openai_batch("cancelling"))[0][0].url == "https://api.groq.com/openai/v1/batches/b/cancel"
    azure = HttpRequest("POST", "https://r.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21")
    assert drive(AZURE.status(azure, "b"), openai_batch("completed"))[0][0].url == (
        "https://r.openai.azure.com/openai/batches/b?api-version=2024-10-21")


def test_openai_submit_uploads_then_creates():
    sent, status = drive(
        OPENAI.submit(OPENAI_SAMPLE, b"payload", "multipart/form-data; boundary=x"),
        {"id": "file-1", "object": "file"}, openai_batch("validating"),
    )
    upload, create = sent
    assert (upload.method, upload.url, upload.body) == ("POST", "https://api.openai.com/v1/files", b"payload")
    assert upload.headers["Content-Type"] == "multipart/form-data; boundary=x"
    assert json.loads(create.body) == {"input_file_id": "file-1", "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    assert status.state == "pending"


def test_openai_results_join_output_and_error_files():
    status = drive(OPENAI.status(OPENAI_SAMPLE, "b"), openai_batch("completed", output_file_id="f-out", error_file_id="f-err"))[1]
    output = b'{"custom_id":"0","response":{"status_code":200,"request_id":"r0","body":{"id":"c"}},"error":null}\n\n'
    errors = (
        b'{"custom_id":"1","response":{"status_code":429,"body":{"error":{"message":"slow down"}}},"error":null}\n'
        b'{"custom_id":"2","response":null,"error":{"code":"batch_expired","message":"too late"}}\n'
    )
    sent, found = drive(OPENAI.results(OPENAI_SAMPLE, status), output, errors)
    items = found.items
    assert [r.url for r in sent] == ["https://api.openai.com/v1/files/f-out/content", "https://api.openai.com/v1/files/f-err/content"]
    assert [(i.custom_id, i.status) for i in items] == [("0", 200), ("1", 429), ("2", None)]
    assert items[0].body == {"id": "c"} and items[0].request_id == "r0"
    assert items[1].message == "slow down"
    assert items[2].message == "too late (batch_expired)"


def test_openai_failed_batch_carries_its_reason():
    raw = openai_batch("failed", errors={"object": "list", "data": [{"code": "x", "message": "line 3 is bad"}]})
    assert drive(OPENAI.status(OPENAI_SAMPLE, "b"), raw)[1].error == "line 3 is bad"


def anthropic_batch(status: str, cancel: str | None = None, **counts: int) -> dict[str, Any]:
    full = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0, **counts}
    return {"id": "msgbatch_1", "type": "message_batch", "processing_status": status,
            "request_counts": full, "cancel_initiated_at": cancel, "results_url": None}


@pytest.mark.parametrize("raw,state", [
    (anthropic_batch("in_progress", processing=2), "running"),
    (anthropic_batch("canceling", "2024-01-01T00:00:00Z", processing=2), "running"),
    (anthropic_batch("ended", succeeded=1, errored=1), "ended"),
    (anthropic_batch("ended", "2024-01-01T00:00:00Z", succeeded=1, canceled=1), "cancelled"),
    (anthropic_batch("ended", expired=2), "expired"),
    (anthropic_batch("ended", succeeded=1, expired=1), "ended"),
])
def test_anthropic_ended_is_told_apart_by_what_ended_it(raw, state):
    got = drive(ANTHROPIC.status(ANTHROPIC_SAMPLE, "msgbatch_1"), raw)[1]
    assert got.state == state and got.total == 2


def test_anthropic_results_url_is_followed_only_to_the_clients_host():
    base = "https://api.anthropic.com/v1/messages/batches/msgbatch_1/results"
    for given_url, expected in [(base + "?page=1", base + "?page=1"), ("https://evil.example/steal", base)]:
        raw = {**anthropic_batch("ended", succeeded=1), "results_url": given_url}
        status = drive(ANTHROPIC.status(ANTHROPIC_SAMPLE, "msgbatch_1"), raw)[1]
        sent, _ = drive(ANTHROPIC.results(ANTHROPIC_SAMPLE, status), b"")
        assert sent[0].url == expected
        assert sent[0].headers["anthropic-version"] == "2023-06-01"


def test_anthropic_result_lines():
    status = drive(ANTHROPIC.status(ANTHROPIC_SAMPLE, "m"), anthropic_batch("ended", succeeded=1))[1]
    lines = b"\n".join(json.dumps(x).encode() for x in [
        {"custom_id": "0", "result": {"type": "succeeded", "message": {"id": "msg"}}},
        {"custom_id": "1", "result": {"type": "errored", "error": {"type": "error", "request_id": "req_9",
                                                                     "error": {"type": "rate_limit_error", "message": "wait"}}}},
        {"custom_id": "2", "result": {"type": "canceled"}},
        {"custom_id": "3", "result": {"type": "expired"}},
    ])
    items = drive(ANTHROPIC.results(ANTHROPIC_SAMPLE, status), lines)[1].items
    assert [(i.status, i.message) for i in items][1:] == [
        (429, "wait"), (None, "the batch was cancelled before this request ran"),
        (None, "the batch expired (24 hours) before this request ran")]
    assert items[0].body == {"id": "msg"} and items[1].request_id == "req_9"


def gemini_operation(state: str, output: list[Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"state": state, "batchStats": {"requestCount": "2", "successfulRequestCount": "1",
                                                          "failedRequestCount": "1"}}
    if output is not None:
        meta["output"] = {"inlinedResponses": {"inlinedResponses": output}}
    return {"name": "batches/abc", "metadata": meta}


@pytest.mark.parametrize("state,expected", [
    ("BATCH_STATE_PENDING", "pending"), ("BATCH_STATE_RUNNING", "running"), ("BATCH_STATE_SUCCEEDED", "ended"),
    ("BATCH_STATE_FAILED", "failed"), ("BATCH_STATE_CANCELLED", "cancelled"), ("BATCH_STATE_EXPIRED", "expired"),
    ("JOB_STATE_SUCCEEDED", "ended"), ("BATCH_STATE_UNSPECIFIED", "running"),
])
def test_gemini_states_map_to_the_six(state, expected):
    got = drive(GEMINI.status(GEMINI_SAMPLE, "batches/abc"), gemini_operation(state))[1]
    assert got.state == expected and (got.id, got.total, got.succeeded, got.failed) == ("batches/abc", 2, 1, 1)


def test_gemini_batches_on_the_clients_version_and_cancels_then_rereads():
    sent, status = drive(GEMINI.cancel(GEMINI_SAMPLE, "batches/abc"), {}, gemini_operation("BATCH_STATE_CANCELLED"))
    assert [(r.method, r.url) for r in sent] == [
        ("POST", "https://generativelanguage.googleapis.com/v1/batches/abc:cancel"),
        ("GET", "https://generativelanguage.googleapis.com/v1/batches/abc"),
    ]
    assert status.state == "cancelled"
    sent, _ = drive(GEMINI.submit(GEMINI_SAMPLE, b"{}", "application/json"), gemini_operation("BATCH_STATE_PENDING"))
    assert sent[0].url == "https://generativelanguage.googleapis.com/v1/models/gemini-2.0-flash:batchGenerateContent"


def test_gemini_inlined_responses_and_grpc_errors():
    op = gemini_operation("BATCH_STATE_SUCCEEDED", [
        {"response": {"candidates": []}, "metadata": {"key": "0"}},
        {"error": {"code": 8, "message": "quota"}, "metadata": {"key": "1"}},
        {"error": {"code": 3, "message": "bad"}},
    ])
    status = drive(GEMINI.status(GEMINI_SAMPLE, "batches/abc"), op)[1]
    sent, found = drive(GEMINI.results(GEMINI_SAMPLE, status))
    items = found.items
    assert sent == []  # the responses came with the batch
    assert [(i.custom_id, i.status, i.message) for i in items] == [("0", 200, None), ("1", 429, "quota"), ("2", 400, "bad")]


@pytest.mark.parametrize("codec,sample,body", [
    (OPENAI, OPENAI_SAMPLE, {"id": "b", "status": 3}),
    (OPENAI, OPENAI_SAMPLE, [1, 2]),
    (ANTHROPIC, ANTHROPIC_SAMPLE, {"id": "b", "processing_status": "ended"}),
    (GEMINI, GEMINI_SAMPLE, {"metadata": {"state": "BATCH_STATE_RUNNING"}}),
    (OPENAI, OPENAI_SAMPLE, b"not json"),
])
def test_garbage_batch_objects_are_response_format_errors(codec, sample, body):
    with pytest.raises(minicall.ResponseFormatError):
        drive(codec.status(sample, "b"), body)


def _plain(read: Any, obj: dict[str, Any]) -> ItemResult:
    return ItemResult(obj["custom_id"], 200, obj)


@given(st.lists(st.dictionaries(st.text(max_size=8), JSON, max_size=3), max_size=5),
       st.integers(min_value=1, max_value=40), st.sampled_from([b"\n", b"\r\n", b"\n\n"]))
def test_result_lines_read_back_every_line_whatever_the_pieces_and_blank_lines(objects, piece, end):
    objects = [{**o, "custom_id": str(n)} for n, o in enumerate(objects)]
    body = end.join(json.dumps(o).encode() for o in objects)  # the last line has no end
    lines = ResultLines("openai", _plain)
    download = lines.download(OPENAI_SAMPLE)
    for n in range(0, len(body), piece):
        download.feed(body[n:n + piece])
    download.close()
    found = lines.results()
    assert [i.body for i in found.items] == objects and found.unreadable == 0


def test_a_results_download_lifts_the_transports_body_cap_only_for_the_file():
    download = ResultLines("openai", _plain).download(OPENAI_SAMPLE)
    assert download.request.max_body_bytes is not None and download.request.max_body_bytes >= 4 * 1024**3
    assert OPENAI_SAMPLE.max_body_bytes is None


def test_unreadable_lines_are_counted_and_a_line_naming_its_item_is_an_error_in_its_slot(monkeypatch):
    import minicall._codecs.batch as codecs

    monkeypatch.setattr(codecs, "RESULTS_MAX_LINE", 100)
    lines = ResultLines("openai", response_line)
    download = lines.download(OPENAI_SAMPLE, "output file")
    download.feed(b'{"a": 1}\n[1]\nnot json\n{"custom_id": "x' + b"y" * 500 + b'"}\n')
    download.feed(b'{"custom_id": "3", "response": {"status_code": "two hundred"}}\n')
    download.feed(b'{"custom_id": "4", "response": {"status_code": 200, "body": {"id": "ok"}}}')
    download.close()
    found = lines.results()
    assert found.unreadable == 4
    assert [p.split(":")[0] for p in found.problems] == [f"output file line {n}" for n in (1, 2, 3, 4)]
    assert "no custom_id" in found.problems[0] and "expected a JSON object" in found.problems[1]
    assert "not JSON" in found.problems[2] and "longer than 100 bytes" in found.problems[3]
    bad, good = found.items
    assert bad.custom_id == "3" and isinstance(bad.error, minicall.ResponseFormatError)
    assert "output file line 5" in str(bad.error) and "status_code" in str(bad.error)
    assert (good.custom_id, good.status, good.body, good.error) == ("4", 200, {"id": "ok"}, None)


_KEYS = ("id", "status", "request_counts", "total_requests", "SUCCESS", "errors", "total", "completed", "failed", "processing_status", "succeeded",
         "errored", "canceled", "expired", "name", "metadata", "state", "batchStats", "requestCount", "errors",
         "data", "message", "BATCH_STATE_SUCCEEDED", "in_progress", "ended")


@pytest.mark.parametrize("codec,sample", [(OPENAI, OPENAI_SAMPLE), (ANTHROPIC, ANTHROPIC_SAMPLE), (GEMINI, GEMINI_SAMPLE),
                                          (MISTRAL, MISTRAL_SAMPLE)])
@given(body=json_values(_KEYS))
def test_any_json_as_a_batch_object_is_a_status_or_a_response_format_error(codec, sample, body):
    try:
        status = drive(codec.status(sample, "b"), body)[1]
    except minicall.ResponseFormatError:
        return
    assert status.state in ("pending", "running", "ended", "expired", "cancelled", "failed")


_LINE_KEYS = ("custom_id", "response", "status_code", "body", "error", "result", "type", "succeeded", "errored",
              "message", "request_id", "code", "inlinedResponses", "metadata", "key", "output")


@given(line=json_values(_LINE_KEYS))
def test_any_results_line_is_an_item_result_an_error_in_its_slot_or_unreadable(line):
    done = {
        OPENAI: (OPENAI_SAMPLE, openai_batch("completed", output_file_id="f")),
        ANTHROPIC: (ANTHROPIC_SAMPLE, anthropic_batch("ended", succeeded=1)),
        GEMINI: (GEMINI_SAMPLE, gemini_operation("BATCH_STATE_SUCCEEDED", [line])),
        MISTRAL: (MISTRAL_SAMPLE, mistral_job("SUCCESS", output_file="f")),
    }
    for codec, (sample, raw) in done.items():
        status = drive(codec.status(sample, "b"), raw)[1]
        found = drive(codec.results(sample, status), json.dumps(line).encode())[1]
        assert len(found.items) + found.unreadable == 1
        for i in found.items:
            assert isinstance(i.custom_id, str) and (i.status is None or isinstance(i.status, int))
            assert i.error is None or (isinstance(i.error, minicall.ResponseFormatError) and i.status is None)


def test_the_payload_writers_splice_each_body_in_as_encoded():
    body = b'{"model":"m","messages":[{"role":"user","content":"a\\nb"}]}'
    request = HttpRequest("POST", OPENAI_SAMPLE.url, {}, body)
    writer = OPENAI.writer(OPENAI_SAMPLE, "tok")
    jsonl = writer.begin() + writer.item("0", request) + writer.item("1", request) + writer.end()
    from minicall.testing._batch.openai import parse_multipart

    fields = parse_multipart(jsonl, writer.content_type)
    assert fields["purpose"] == (None, b"batch")
    lines = [json.loads(line) for line in fields["file"][1].splitlines()]
    assert lines[1] == {"custom_id": "1", "method": "POST", "url": "/v1/chat/completions", "body": json.loads(body)}
    for codec, sample, read in [
        (ANTHROPIC, ANTHROPIC_SAMPLE, lambda v: [r["params"] for r in v["requests"]]),
        (GEMINI, GEMINI_SAMPLE, lambda v: [r["request"] for r in v["batch"]["inputConfig"]["requests"]["requests"]]),
    ]:
        w = codec.writer(sample, "tok")
        whole = json.loads(w.begin() + w.item("0", request) + w.item("1", request) + w.end())
        assert read(whole) == [json.loads(body)] * 2


def test_unknown_providers_raise_a_configuration_error_naming_those_that_batch():
    with pytest.raises(minicall.ConfigurationError, match="openai, azure, groq, anthropic, google, mistral"):
        batch_codec("cohere")


def test_an_error_status_on_upload_is_the_typed_error_without_the_key():
    from minicall import batch, llm
    from minicall.providers.openai import OpenAIClient

    def handler(request: HttpRequest) -> HttpResponse:
        body = json.dumps({"error": {"message": "Incorrect API key provided: sk-sec***", "type": "invalid_request_error"}})
        return HttpResponse(401, {"content-type": "application/json", "x-request-id": "req_7"}, body.encode())

    client = OpenAIClient(api_key="sk-secret-key-123", transport=MockTransport(handler), max_retries=0)

    @llm.call(provider="openai", model="gpt-4o-mini", client=client)
    def hello(name: str) -> str:
        return name

    with pytest.raises(minicall.AuthenticationError) as caught:
        batch.submit(hello, [("a",)])
    assert caught.value.request_id == "req_7" and "sk-secret-key-123" not in repr(caught.value)
    assert "/v1/files" in str(caught.value) or caught.value.status_code == 401


def test_polling_retries_a_server_error_like_a_plain_call(sleeps):
    from minicall import batch, llm
    from minicall.providers.openai import OpenAIClient

    answers = [HttpResponse(503, {}, b'{"error":{"message":"busy"}}'),
               HttpResponse(200, {"content-type": "application/json"}, json.dumps(openai_batch("in_progress")).encode())]
    seen: list[HttpRequest] = []

    def handler(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        return answers.pop(0)

    client = OpenAIClient(api_key="k", transport=MockTransport(handler), max_retries=1)

    @llm.call(provider="openai", model="gpt-4o-mini", client=client)
    def hello(name: str) -> str:
        return name

    assert batch.resume(hello, "batch_1").status().state == "running"
    assert len(seen) == 2 and len(sleeps) == 1
    assert seen[0].headers["Authorization"] == "Bearer k"


def test_openai_inputs_read_the_input_file_back_and_the_others_keep_none():
    status = drive(OPENAI.status(OPENAI_SAMPLE, "b"), openai_batch("completed", input_file_id="file-in"))[1]
    lines = (b'{"custom_id":"0","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[]}}\n'
             b'{"custom_id":"1","method":"POST","url":"/v1/chat/completions","body":"not an object"}\n')
    step = OPENAI.inputs(OPENAI_SAMPLE, status)
    assert step is not None
    sent, found = drive(step, lines)
    assert [r.url for r in sent] == ["https://api.openai.com/v1/files/file-in/content"]
    assert (found.items[0].custom_id, found.items[0].body) == ("0", {"model": "m", "messages": []})
    assert isinstance(found.items[1].error, minicall.ResponseFormatError)
    assert OPENAI.inputs(OPENAI_SAMPLE, drive(OPENAI.status(OPENAI_SAMPLE, "b"), openai_batch("completed"))[1]) is None
    ended = drive(ANTHROPIC.status(ANTHROPIC_SAMPLE, "m"), anthropic_batch("ended", succeeded=1))[1]
    assert ANTHROPIC.inputs(ANTHROPIC_SAMPLE, ended) is None
    assert GEMINI.inputs(GEMINI_SAMPLE, drive(GEMINI.status(GEMINI_SAMPLE, "b"), gemini_operation("BATCH_STATE_SUCCEEDED"))[1]) is None


def mistral_job(status: str, **extra: Any) -> dict[str, Any]:
    return {"id": "job-1", "object": "batch", "status": status, "input_files": ["f-in"], "errors": [],
            "endpoint": "/v1/chat/completions", "total_requests": 3, "succeeded_requests": 1,
            "failed_requests": 1, **extra}


@pytest.mark.parametrize("status,state", [
    ("QUEUED", "pending"), ("RUNNING", "running"), ("CANCELLATION_REQUESTED", "running"),
    ("SUCCESS", "ended"), ("FAILED", "failed"), ("TIMEOUT_EXCEEDED", "expired"), ("CANCELLED", "cancelled"),
    ("SOMETHING_NEW", "running"),
])
def test_mistral_states_map_to_the_six(status, state):
    got = drive(MISTRAL.status(MISTRAL_SAMPLE, "job-1"), mistral_job(status))[1]
    assert got.state == state and (got.total, got.succeeded, got.failed) == (3, 1, 1)


def test_mistral_submit_uploads_then_creates_a_job_on_the_model_and_reads_files_back():
    sent, status = drive(MISTRAL.submit(MISTRAL_SAMPLE, b"payload", "multipart/form-data; boundary=x"),
                         {"id": "f-in", "object": "file"}, mistral_job("QUEUED"))
    upload, create = sent
    assert (upload.method, upload.url) == ("POST", "https://api.mistral.ai/v1/files")
    assert (create.method, create.url) == ("POST", "https://api.mistral.ai/v1/batch/jobs")
    assert json.loads(create.body) == {"input_files": ["f-in"], "endpoint": "/v1/chat/completions",
                                       "model": "mistral-small-latest", "timeout_hours": 24}
    assert status.state == "pending"
    failed = drive(MISTRAL.status(MISTRAL_SAMPLE, "job-1"),
                   mistral_job("FAILED", errors=[{"message": "line 2 is bad", "count": 1}]))[1]
    assert failed.error == "line 2 is bad"
    done = drive(MISTRAL.status(MISTRAL_SAMPLE, "job-1"), mistral_job("SUCCESS", output_file="f-out"))[1]
    output = (b'{"id":"r","custom_id":"0","response":{"status_code":200,"body":{"id":"c"}},"error":null}\n'
              b'{"id":"r","custom_id":"1","response":{"status_code":422,"body":{"object":"error","message":"no"}}}\n')
    sent, found = drive(MISTRAL.results(MISTRAL_SAMPLE, done), output)
    assert [r.url for r in sent] == ["https://api.mistral.ai/v1/files/f-out/content"]
    assert [(i.custom_id, i.status, i.message) for i in found.items] == [("0", 200, None), ("1", 422, "no")]
    step = MISTRAL.inputs(MISTRAL_SAMPLE, done)
    assert step is not None
    sent, found = drive(step, b'{"custom_id":"0","body":{"messages":[]}}\n')
    assert [r.url for r in sent] == ["https://api.mistral.ai/v1/files/f-in/content"]
    assert found.items[0].body == {"messages": []}
    writer = MISTRAL.writer(MISTRAL_SAMPLE, "tok")
    assert writer.item("7", MISTRAL_SAMPLE) == b'{"custom_id":"7","body":' + MISTRAL_SAMPLE.body + b"}\n"
