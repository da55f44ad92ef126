"""Documents (PDFs) to Mistral: the ``document_url`` chunk its SDK sends, not OpenAI's ``file``.

The mistralai SDK's user content chunks are ``text``, ``image_url``, ``document_url``,
``file``, ``input_audio`` and a few more; its ``DocumentURLChunk`` is
``{type: "document_url", document_url, document_name?}`` and its ``FileChunk`` is
``{type: "file", file_id}`` (a file uploaded beforehand). A ``DocumentPart`` carries
bytes, so minicall sends them as a ``data:application/pdf;base64,`` URL in a
``document_url`` chunk; other media types are refused before anything is sent. The
rest of the OpenAI family keeps OpenAI's ``file`` part, unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

import minicall
from minicall import DocumentPart, Messages, TextPart, llm
from minicall._codecs.openai.codec import (
    AZURE,
    GROQ,
    LITELLM,
    MISTRAL,
    OPENAI,
    XAI,
    OpenAICompatCodec,
)
from minicall._model.spec import CallSpec, Endpoint
from minicall._model.wire import dumps
from minicall.providers import mistral
from minicall.testing import FakeServer, Reply

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PDF_URL = "data:application/pdf;base64," + base64.b64encode(PDF).decode()
QUESTION = "What is the last sentence?"


def _user(*parts: Any) -> list[Any]:
    return [Messages.User([TextPart(QUESTION), *parts])]


def _sent_parts(fake: FakeServer) -> list[Any]:
    return fake.last.json["messages"][0]["content"]


# -- the codec ----------------------------------------------------------------------------


def test_mistral_sends_a_pdf_as_a_document_url_chunk_with_a_data_url() -> None:
    native = OpenAICompatCodec(MISTRAL).to_native(_user(DocumentPart("application/pdf", PDF)))
    assert native == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": QUESTION},
                {"type": "document_url", "document_url": PDF_URL},
            ],
        }
    ]


def test_mistral_media_type_is_matched_without_regard_to_case() -> None:
    part = OpenAICompatCodec(MISTRAL).to_native(_user(DocumentPart("Application/PDF", PDF)))
    assert part[0]["content"][1] == {"type": "document_url", "document_url": PDF_URL}


@pytest.mark.parametrize("dialect", [OPENAI, GROQ, XAI, LITELLM, AZURE], ids=lambda d: d.provider)
def test_the_rest_of_the_family_keeps_openais_file_part_byte_for_byte(dialect: Any) -> None:
    spec = CallSpec(model="m", messages=tuple(_user(DocumentPart("application/pdf", PDF))))
    endpoint = Endpoint(base_url="http://x")
    file_part = {"filename": "document.pdf", "file_data": PDF_URL}
    expected = {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": QUESTION},
                    {"type": "file", "file": file_part},
                ],
            }
        ],
    }
    assert OpenAICompatCodec(dialect).encode(spec, endpoint).body == dumps(expected)


@pytest.mark.parametrize("media_type", ["text/plain", "application/msword", "image/png"])
def test_mistral_refuses_a_document_that_is_not_a_pdf(media_type: str) -> None:
    with pytest.raises(minicall.PromptError, match="PDF") as info:
        OpenAICompatCodec(MISTRAL).to_native(_user(DocumentPart(media_type, b"data")))
    assert media_type in str(info.value)


# -- end to end through FakeServer ---------------------------------------------------------


def test_llm_call_sends_the_pdf_as_a_document_url_and_reads_the_reply(fake: FakeServer) -> None:
    @llm.call(provider="mistral", model="mistral-small-latest", client=fake.client("mistral"))
    def ask(pdf: bytes) -> list[Any]:
        return _user(DocumentPart("application/pdf", pdf))

    fake.script(Reply(text="The end.", input_tokens=40, output_tokens=3))
    response = ask(PDF)
    assert response.content == "The end."
    assert fake.last.path == "/v1/chat/completions"
    assert _sent_parts(fake) == [
        {"type": "text", "text": QUESTION},
        {"type": "document_url", "document_url": PDF_URL},
    ]
    assert response.user_message_param is not None


def test_provider_module_stream_and_async_send_the_same_chunk(fake: FakeServer) -> None:
    client = fake.client("mistral")

    @mistral.call("mistral-small-latest", client=client, stream=True)
    def streamed() -> mistral.MistralDynamicConfig:
        return {"messages": _user(DocumentPart("application/pdf", PDF))}

    @mistral.call("mistral-small-latest", client=client)
    async def awaited() -> mistral.MistralDynamicConfig:
        return {"messages": _user(DocumentPart("application/pdf", PDF))}

    fake.script(Reply(text="Streamed end."), Reply(text="Async end."))
    stream = streamed()
    assert "".join(chunk.content for chunk, _ in stream) == "Streamed end."
    assert fake.last.json["stream"] is True
    assert _sent_parts(fake)[1] == {"type": "document_url", "document_url": PDF_URL}
    assert asyncio.run(awaited()).content == "Async end."
    assert _sent_parts(fake)[1] == {"type": "document_url", "document_url": PDF_URL}


def test_a_non_pdf_document_raises_before_any_request(fake: FakeServer) -> None:
    @llm.call(provider="mistral", model="mistral-small-latest", client=fake.client("mistral"))
    def ask() -> list[Any]:
        return _user(DocumentPart("text/plain", b"plain words"))

    @mistral.call("mistral-small-latest", client=fake.client("mistral"), stream=True)
    def streamed() -> mistral.MistralDynamicConfig:
        return {"messages": _user(DocumentPart("text/plain", b"plain words"))}

    with pytest.raises(minicall.PromptError, match="'text/plain'.*TextPart"):
        ask()
    with pytest.raises(minicall.PromptError, match="'text/plain'"):
        list(streamed())
    assert fake.requests == []


# -- beside the mistralai SDK --------------------------------------------------------------


@pytest.mark.conformance
def test_request_body_matches_what_the_mistralai_sdk_serializes(fake: FakeServer) -> None:
    sdk = pytest.importorskip("mistralai.client")
    models = sdk.models
    fake.script(Reply(text="The end."), Reply(text="The end."))
    client = sdk.Mistral(api_key="test-key", server_url=fake.base_url("mistral"))
    theirs_reply = client.chat.complete(
        model="mistral-small-latest",
        messages=[
            models.UserMessage(
                content=[
                    models.TextChunk(text=QUESTION),
                    models.DocumentURLChunk(document_url=PDF_URL),
                ]
            )
        ],
    )
    theirs = fake.last

    @mistral.call("mistral-small-latest", client=fake.client("mistral", max_retries=0))
    def ask() -> mistral.MistralDynamicConfig:
        return {"messages": _user(DocumentPart("application/pdf", PDF))}

    ours_response = ask()
    ours = fake.last
    theirs_body = dict(theirs.json)
    assert theirs_body.pop("stream") is False  # the SDK always says so; False is the default
    assert ours.json == theirs_body
    assert (ours.method, ours.path) == (theirs.method, theirs.path)
    assert ours.headers["authorization"] == theirs.headers["authorization"]
    assert ours_response.content == theirs_reply.choices[0].message.content == "The end."
    # The SDK's own model reads the chunk minicall sent back as a DocumentURLChunk.
    chunk = models.UserMessage.model_validate(ours.json["messages"][0]).content[1]
    assert isinstance(chunk, models.DocumentURLChunk)
    assert json.loads(chunk.model_dump_json(by_alias=True)) == {
        "type": "document_url",
        "document_url": PDF_URL,
    }
