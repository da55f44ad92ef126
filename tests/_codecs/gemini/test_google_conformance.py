"""google-genai and minicall side by side against FakeServer: same requests, same readings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from shared import get_weather

genai = pytest.importorskip("google.genai")
from google.genai import types

from minicall import Messages, llm
from minicall.providers import google
from minicall.testing import FakeServer, Reply, ToolCallReply

pytestmark = pytest.mark.conformance

MODEL = "gemini-2.0-flash"


@dataclass
class Book:
    # No docstring, unlike shared.Book: the genai SDK leaves a class docstring out of the
    # response schema it sends and minicall keeps it, so the two requests would differ.
    title: str
    year: int

def sdk_client(fake: FakeServer, **kw: Any) -> Any:
    options = types.HttpOptions(base_url=fake.base_url("google"), retry_options=types.HttpRetryOptions(attempts=1))
    return genai.Client(api_key="test-key", http_options=options, **kw)


def _body(value: Any) -> Any:
    """The body with two SDK spellings evened out: it sends ``"generationConfig": {}``
    when its config holds only client-side options, and ``property_ordering`` in snake
    case (the API reads both spellings)."""
    if isinstance(value, list):
        return [_body(v) for v in value]
    if not isinstance(value, dict):
        return value
    return {("propertyOrdering" if k == "property_ordering" else k): _body(v)
            for k, v in value.items() if not (k == "generationConfig" and v == {})}


def essentials(fake: FakeServer) -> list[tuple[str, str, str | None, str | None, Any]]:
    return [
        (r.method, r.path, r.headers.get("x-goog-api-key"), r.headers.get("authorization"), _body(r.json))
        for r in fake.requests
    ]


def test_text_call_with_system_and_params_sends_the_same_request(fake):
    sdk = sdk_client(fake)
    sdk.models.generate_content(
        model=MODEL,
        contents=[types.Content(role="user", parts=[types.Part(text="Hi")]),
                  types.Content(role="model", parts=[types.Part(text="Hello.")]),
                  types.Content(role="user", parts=[types.Part(text="Why?")])],
        config=types.GenerateContentConfig(system_instruction="Be terse.", temperature=0.5, max_output_tokens=9,
                                           stop_sequences=["END"], top_k=3, seed=2),
    )

    @llm.call(provider="google", model=MODEL, client=fake.client("google"),
              call_params={"temperature": 0.5, "max_tokens": 9, "stop": "END", "top_k": 3, "seed": 2})
    def ask() -> list[Any]:
        return [Messages.System("Be terse."), Messages.User("Hi"), Messages.Assistant("Hello."), Messages.User("Why?")]

    ask()
    theirs, ours = essentials(fake)
    assert ours == theirs
    assert ours[1] == f"/v1/models/{MODEL}:generateContent"


def test_tools_and_forced_tool_send_the_same_request(fake):
    sdk = sdk_client(fake)
    ours_client = fake.client("google")

    @google.call(MODEL, client=ours_client, tools=[get_weather])
    def ask() -> str:
        return "Weather in Oslo?"

    ask()
    declaration = fake.last.json["tools"][0]["functionDeclarations"][0]
    fake.reset()
    sdk.models.generate_content(
        model=MODEL, contents="Weather in Oslo?",
        config=types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[types.FunctionDeclaration(
                name=declaration["name"], description=declaration["description"],
                parameters=types.Schema.model_validate(declaration["parameters"]))])],
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        ),
    )
    ask()
    theirs, ours = essentials(fake)
    assert ours == theirs

    fake.reset()
    sdk.models.generate_content(
        model=MODEL, contents="Weather in Oslo?",
        config=types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[types.FunctionDeclaration(
                name=declaration["name"], description=declaration["description"],
                parameters=types.Schema.model_validate(declaration["parameters"]))])],
            tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
                mode="ANY", allowed_function_names=["get_weather"])),
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        ),
    )

    @google.call(MODEL, client=ours_client, tools=[get_weather], call_params={
        "tool_config": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}})
    def forced() -> str:
        return "Weather in Oslo?"

    forced()
    theirs, ours = essentials(fake)
    assert ours == theirs


def test_json_schema_output_sends_the_same_request(fake):
    schema = {"type": "OBJECT", "properties": {"title": {"type": "STRING"}, "year": {"type": "INTEGER"}},
              "required": ["title", "year"]}
    sdk = sdk_client(fake)
    sdk.models.generate_content(model=MODEL, contents="Dune", config=types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=types.Schema.model_validate(schema)))

    @google.call(MODEL, client=fake.client("google"), response_model=Book, json_mode=True)
    def ask() -> str:
        return "Dune"

    fake.script(Reply(text='{"title": "Dune", "year": 1965}'))
    assert ask() == Book("Dune", 1965)
    theirs, ours = essentials(fake)
    assert ours == theirs


def test_streams_go_to_the_same_sse_endpoint_and_read_the_same(fake):
    reply = Reply(text="Once upon a time.", input_tokens=4, output_tokens=5)
    fake.script(reply, reply)
    sdk = sdk_client(fake)
    sdk_chunks = list(sdk.models.generate_content_stream(model=MODEL, contents="story"))

    @google.call(MODEL, client=fake.client("google"), stream=True)
    def tell() -> str:
        return "story"

    stream = tell()
    ours = [chunk.content for chunk, _ in stream]
    theirs, mine = essentials(fake)
    assert mine == theirs
    assert mine[1].endswith(":streamGenerateContent?alt=sse")
    assert ours == [c.text or "" for c in sdk_chunks]
    last = sdk_chunks[-1]
    assert stream.finish_reasons == [last.candidates[0].finish_reason.value]
    assert stream.usage is not None
    assert stream.usage.input_tokens == last.usage_metadata.prompt_token_count
    assert stream.usage.output_tokens == last.usage_metadata.candidates_token_count


def test_replies_parse_to_the_same_content_usage_finish_and_tool_arguments(fake):
    reply = Reply(text="Checking.", tool_calls=[ToolCallReply("get_weather", {"city": "Oslo"}),
                                                ToolCallReply("get_weather", {"city": "Rome"})],
                  input_tokens=7, output_tokens=11, cached_tokens=2)
    fake.script(reply, reply)
    sdk = sdk_client(fake)
    theirs = sdk.models.generate_content(model=MODEL, contents="Weather?", config=types.GenerateContentConfig(
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True)))

    @google.call(MODEL, client=fake.client("google"), tools=[get_weather])
    def ask() -> str:
        return "Weather?"

    ours = ask()
    assert ours.content == theirs.text
    assert ours.finish_reasons == [theirs.candidates[0].finish_reason.value]
    assert [t.args for t in ours.tools] == [c.args for c in theirs.function_calls]
    usage = theirs.usage_metadata
    assert (ours.input_tokens, ours.output_tokens, ours.cached_tokens, ours.usage.total_tokens) == (
        usage.prompt_token_count, usage.candidates_token_count, usage.cached_content_token_count,
        usage.total_token_count)
    assert ours.model == theirs.model_version
    assert (ours.id, theirs.response_id) == ("fake-response-000002", "fake-response-000001")


def test_vertex_requests_match_in_path_auth_and_body(fake):
    credentials = pytest.importorskip("google.oauth2.credentials").Credentials(token="ya29.same")
    options = types.HttpOptions(base_url=fake.base_url("google"), retry_options=types.HttpRetryOptions(attempts=1))
    sdk = genai.Client(vertexai=True, project="proj", location="us-central1", credentials=credentials,
                       http_options=options)
    sdk.models.generate_content(model=MODEL, contents="hi")
    client = fake.client("google", vertex=True, project="proj", location="us-central1", access_token="ya29.same")

    @google.call(MODEL, client=client)
    def ask() -> str:
        return "hi"

    ask()
    theirs, ours = essentials(fake)
    assert ours[:2] == theirs[:2]
    assert ours[3:] == theirs[3:]
    assert ours[1] == f"/v1beta1/projects/proj/locations/us-central1/publishers/google/models/{MODEL}:generateContent"
