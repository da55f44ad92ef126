"""The official SDKs' batch calls and minicall's, side by side against FakeServer.

openai's ``client.files.create`` / ``client.batches.create``, anthropic's
``client.messages.batches.create``, google-genai's ``client.batches.create`` and
mistralai's ``client.files.upload`` / ``client.batch.jobs.create`` send the same batch
minicall sends (same method, path and body; the same multipart fields
for an uploaded file), and each SDK reads the batch objects and results files the fake
serves as minicall reads them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from minicall import batch, llm
from minicall.testing import ErrorReply, FakeServer, Reply
from minicall.testing._batch.openai import parse_multipart

pytestmark = [pytest.mark.conformance, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

ITEMS = [("fantasy",), ("horror",)]


def recommender(provider: str, model: str, client: Any) -> Any:
    @llm.call(provider=provider, model=model, client=client)
    def recommend_book(genre: str) -> str:
        return f"Recommend a {genre} book"

    return recommend_book


def test_openai_files_and_batches_match_the_sdk(fake: FakeServer) -> None:
    openai = pytest.importorskip("openai")
    fake.script(Reply(text="Dune"), ErrorReply(400, "bad item"), provider="openai")
    job = batch.submit(recommender("openai", "gpt-4o-mini", fake.client("openai", max_retries=0)), ITEMS)
    results = job.wait(poll_interval=0)
    ours_upload, ours_create = fake.requests[0], fake.requests[1]
    ours_fields = parse_multipart(ours_upload.body, ours_upload.headers["content-type"])
    filename, content = ours_fields["file"]

    sdk = openai.OpenAI(api_key="test-key", base_url=fake.base_url("openai"), max_retries=0)
    start = len(fake.requests)
    uploaded = sdk.files.create(file=(filename, content), purpose="batch")
    created = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    theirs_upload, theirs_create = fake.requests[start], fake.requests[start + 1]

    assert (ours_upload.method, ours_upload.path) == (theirs_upload.method, theirs_upload.path) == ("POST", "/v1/files")
    assert ours_upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert theirs_upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert ours_fields == parse_multipart(theirs_upload.body, theirs_upload.headers["content-type"])
    assert (ours_create.method, ours_create.path) == (theirs_create.method, theirs_create.path) == ("POST", "/v1/batches")
    assert {**ours_create.json, "input_file_id": "-"} == {**theirs_create.json, "input_file_id": "-"}
    assert ours_upload.headers["authorization"] == theirs_upload.headers["authorization"] == "Bearer test-key"

    # The SDK reads the fake's batch object and output file as minicall did.
    assert created.status == "validating"
    again = sdk.batches.retrieve(job.id)
    assert (again.status, again.request_counts.total, again.request_counts.failed) == ("completed", 2, 1)
    output = sdk.files.content(again.output_file_id).text
    lines = [json.loads(line) for line in output.splitlines()]
    completion = openai.types.chat.ChatCompletion.model_validate(lines[0]["response"]["body"])
    assert completion.choices[0].message.content == results[0].content == "Dune"
    error_line = json.loads(sdk.files.content(again.error_file_id).text)
    assert error_line["custom_id"] == "1" and error_line["response"]["status_code"] == results[1].status_code == 400


def test_anthropic_message_batches_match_the_sdk(fake: FakeServer) -> None:
    anthropic = pytest.importorskip("anthropic")
    fake.script(Reply(text="Dune"), ErrorReply(429, "slow down"), provider="anthropic")
    client = fake.client("anthropic", api_key=None, auth_token="tok", max_retries=0)
    job = batch.submit(recommender("anthropic", "claude-3-5-haiku-latest", client), ITEMS)
    results = job.wait(poll_interval=0)
    ours = fake.requests[0]

    sdk = anthropic.Anthropic(auth_token="tok", base_url=fake.base_url("anthropic"), max_retries=0)
    start = len(fake.requests)
    created = sdk.messages.batches.create(requests=ours.json["requests"])
    theirs = fake.requests[start]
    assert (ours.method, ours.path) == (theirs.method, theirs.path) == ("POST", "/v1/messages/batches")
    assert ours.json == theirs.json
    assert ours.headers["authorization"] == theirs.headers["authorization"] == "Bearer tok"
    assert ours.headers["content-type"].startswith("application/json")

    assert created.processing_status == "in_progress"
    ended = sdk.messages.batches.retrieve(job.id)
    assert ended.processing_status == "ended" and ended.request_counts.errored == 1
    read = list(sdk.messages.batches.results(job.id))
    assert [r.custom_id for r in read] == ["0", "1"]
    assert read[0].result.type == "succeeded"
    assert read[0].result.message.content[0].text == results[0].content == "Dune"
    assert read[1].result.type == "errored"
    assert read[1].result.error.error.message == results[1].message == "slow down"
    assert results[1].status_code == 429


def test_gemini_batch_mode_matches_the_sdk(fake: FakeServer) -> None:
    genai = pytest.importorskip("google.genai")
    from google.genai import types

    fake.script(Reply(text="Dune"), ErrorReply(400, "bad item"), provider="google")
    job = batch.submit(recommender("google", "gemini-2.0-flash", fake.client("google", max_retries=0)), ITEMS)
    results = job.wait(poll_interval=0)
    ours = fake.requests[0]
    inline = ours.json["batch"]["inputConfig"]["requests"]["requests"]

    options = types.HttpOptions(base_url=fake.base_url("google"), retry_options=types.HttpRetryOptions(attempts=1))
    sdk = genai.Client(api_key="test-key", http_options=options)
    start = len(fake.requests)
    src = [{"contents": entry["request"]["contents"], "metadata": entry["metadata"]} for entry in inline]
    created = sdk.batches.create(model="gemini-2.0-flash", src=src, config={"display_name": "minicall-batch"})
    theirs = fake.requests[start]
    assert (ours.method, ours.path) == (theirs.method, theirs.path) == (
        "POST", "/v1/models/gemini-2.0-flash:batchGenerateContent")
    assert ours.json == theirs.json
    assert ours.headers["x-goog-api-key"] == theirs.headers["x-goog-api-key"] == "test-key"

    assert created.name.startswith("batches/")
    assert str(created.state) in ("JobState.JOB_STATE_PENDING", "JOB_STATE_PENDING", "JobState.JOB_STATE_RUNNING",
                                  "JOB_STATE_RUNNING")
    done = sdk.batches.get(name=job.id)
    assert "SUCCEEDED" in str(done.state)
    responses = done.dest.inlined_responses
    assert responses[0].response.text == results[0].content == "Dune"
    assert responses[1].error is not None and results[1].status_code == 400


def test_mistral_batch_jobs_match_the_sdk(fake: FakeServer) -> None:
    mistralai = pytest.importorskip("mistralai.client")
    fake.script(Reply(text="Dune"), ErrorReply(400, "bad item"), provider="mistral")
    job = batch.submit(recommender("mistral", "mistral-small-latest", fake.client("mistral", max_retries=0)), ITEMS)
    results = job.wait(poll_interval=0)
    ours_upload, ours_create = fake.requests[0], fake.requests[1]
    ours_fields = parse_multipart(ours_upload.body, ours_upload.headers["content-type"])
    filename, content = ours_fields["file"]

    sdk = mistralai.Mistral(api_key="test-key", server_url=fake.base_url("mistral"))
    start = len(fake.requests)
    uploaded = sdk.files.upload(file={"file_name": filename, "content": content}, purpose="batch")
    created = sdk.batch.jobs.create(input_files=[uploaded.id], endpoint="/v1/chat/completions",
                                    model="mistral-small-latest", timeout_hours=24)
    theirs_upload, theirs_create = fake.requests[start], fake.requests[start + 1]

    assert (ours_upload.method, ours_upload.path) == (theirs_upload.method, theirs_upload.path) == ("POST", "/v1/files")
    theirs_fields = parse_multipart(theirs_upload.body, theirs_upload.headers["content-type"])
    theirs_fields.pop("visibility", None)  # the SDK sends its default, "workspace"
    assert ours_fields == theirs_fields
    assert (ours_create.method, ours_create.path) == (theirs_create.method, theirs_create.path) == (
        "POST", "/v1/batch/jobs")
    assert {**ours_create.json, "input_files": "-"} == {**theirs_create.json, "input_files": "-"}
    assert ours_upload.headers["authorization"] == theirs_upload.headers["authorization"] == "Bearer test-key"
    assert [json.loads(line)["custom_id"] for line in content.splitlines()] == ["0", "1"]

    # The SDK reads the fake's job, file object and result files as minicall did.
    assert uploaded.purpose == "batch" and created.status == "QUEUED"
    again = sdk.batch.jobs.get(job_id=job.id)
    assert (again.status, again.total_requests, again.succeeded_requests, again.failed_requests) == (
        "SUCCESS", 2, 1, 1)
    output = sdk.files.download(file_id=again.output_file).read()
    line = json.loads(output.splitlines()[0])
    completion = mistralai.models.ChatCompletionResponse.model_validate(line["response"]["body"])
    assert completion.choices[0].message.content == results[0].content == "Dune"
    error_line = json.loads(sdk.files.download(file_id=again.error_file).read())
    assert error_line["custom_id"] == "1" and error_line["response"]["status_code"] == results[1].status_code == 400
    assert "bad item" in str(results[1])
    cancelled = sdk.batch.jobs.cancel(job_id=created.id)
    assert cancelled.status == "CANCELLATION_REQUESTED"


def _groq_sdk(fake: FakeServer) -> Any:
    return pytest.importorskip("groq").Groq(api_key="test-key", base_url=fake.base_url("groq"), max_retries=0)


def _azure_sdk(fake: FakeServer) -> Any:
    openai = pytest.importorskip("openai")
    return openai.AzureOpenAI(api_key="test-key", azure_endpoint=fake.base_url("azure"), api_version="2024-10-21",
                              max_retries=0)


def _azure_v1_sdk(fake: FakeServer) -> Any:
    openai = pytest.importorskip("openai")
    return openai.OpenAI(api_key="test-key", base_url=fake.base_url("azure") + "/openai/v1", max_retries=0)


@pytest.mark.parametrize(
    ("provider", "model", "client_kwargs", "make_sdk", "upload_path", "create_path", "url", "auth"),
    [
        ("groq", "llama-3.1-8b-instant", {}, _groq_sdk, "/openai/v1/files", "/openai/v1/batches",
         "/v1/chat/completions", ("authorization", "Bearer test-key")),
        ("azure", "my-deployment", {"api_version": "2024-10-21", "deployment_style": "openai"}, _azure_sdk,
         "/openai/files?api-version=2024-10-21", "/openai/batches?api-version=2024-10-21", "/chat/completions",
         ("api-key", "test-key")),
        ("azure", "my-deployment", {"v1": True}, _azure_v1_sdk, "/openai/v1/files", "/openai/v1/batches",
         "/chat/completions", ("authorization", "Bearer test-key")),
    ],
    ids=["groq", "azure-openai", "azure-v1"],
)
def test_groq_and_azure_openai_batches_match_their_sdks(
    fake: FakeServer, provider: str, model: str, client_kwargs: dict[str, Any], make_sdk: Any,
    upload_path: str, create_path: str, url: str, auth: tuple[str, str],
) -> None:
    # Groq and Azure OpenAI run the OpenAI batch API under their own paths, auth and
    # endpoint names; their SDKs' files.create / batches.create are the reference.
    sdk = make_sdk(fake)
    if client_kwargs.pop("v1", False):
        client_kwargs["base_url"] = fake.base_url("azure") + "/openai/v1"
    fake.script(Reply(text="Dune"), ErrorReply(400, "bad item"), provider=provider)
    client = fake.client(provider, max_retries=0, **client_kwargs)
    job = batch.submit(recommender(provider, model, client), ITEMS)
    results = job.wait(poll_interval=0)
    ours_upload, ours_create = fake.requests[0], fake.requests[1]
    ours_fields = parse_multipart(ours_upload.body, ours_upload.headers["content-type"])
    filename, content = ours_fields["file"]
    lines = [json.loads(line) for line in content.splitlines()]
    assert [(line["custom_id"], line["url"], line["body"]["model"]) for line in lines] == [
        ("0", url, model), ("1", url, model)]

    start = len(fake.requests)
    uploaded = sdk.files.create(file=(filename, content), purpose="batch")
    sdk.batches.create(input_file_id=uploaded.id, endpoint=url, completion_window="24h")
    theirs_upload, theirs_create = fake.requests[start], fake.requests[start + 1]
    assert (ours_upload.method, ours_upload.path) == (theirs_upload.method, theirs_upload.path) == ("POST", upload_path)
    assert ours_fields == parse_multipart(theirs_upload.body, theirs_upload.headers["content-type"])
    assert (ours_create.method, ours_create.path) == (theirs_create.method, theirs_create.path) == ("POST", create_path)
    assert {**ours_create.json, "input_file_id": "-"} == {**theirs_create.json, "input_file_id": "-"}
    name, value = auth
    assert ours_upload.headers[name] == theirs_upload.headers[name] == ours_create.headers[name] == value

    again = sdk.batches.retrieve(job.id)
    assert (again.status, again.request_counts.total, again.request_counts.failed) == ("completed", 2, 1)
    output = json.loads(sdk.files.content(again.output_file_id).read().splitlines()[0])
    assert output["response"]["body"]["choices"][0]["message"]["content"] == results[0].content == "Dune"
    assert results[1].status_code == 400
