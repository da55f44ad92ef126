"""Gemini API and Vertex AI end to end: real loopback HTTP through FakeServer."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from shared import ERROR_STATUSES, Book, get_weather

import minicall
from minicall import BaseDynamicConfig, Messages, llm
from minicall._http._default import default_transport
from minicall._model.http import AsyncHttpResponse, HttpRequest, HttpResponse
from minicall.providers import google
from minicall.testing import ErrorReply, FakeServer, Reply, ToolCallReply

MODEL = "gemini-2.0-flash"
PATH = f"/v1/models/{MODEL}:generateContent"


def test_simple_call_sends_generate_content_with_the_api_key_header(fake):
    @llm.call(provider="google", model=MODEL, client=fake.client("google"))
    def recommend(genre: str) -> str:
        return f"Recommend a {genre} book"

    fake.script(Reply(text="Try Dune.", input_tokens=12, output_tokens=3, cached_tokens=2))
    response = recommend("sci-fi")
    assert response.content == "Try Dune."
    assert response.provider == "google"
    assert response.model == MODEL
    assert response.id == "fake-response-000001"
    assert response.finish_reasons == ["stop"]
    assert response.usage == minicall.Usage(12, 3, 2, 15)
    assert response.message_param == Messages.Assistant([minicall.TextPart("Try Dune.")])
    sent = fake.last
    assert sent.path == PATH
    assert sent.headers["x-goog-api-key"] == "test-key"
    assert "authorization" not in sent.headers
    assert sent.json == {"contents": [{"role": "user", "parts": [{"text": "Recommend a sci-fi book"}]}]}


def test_provider_module_speaks_native_contents_and_finish_reasons(fake):
    @google.call(MODEL, client=fake.client("google"))
    def recommend(genre: str) -> google.GoogleDynamicConfig:
        return {"messages": [{"role": "user", "parts": [{"text": f"Recommend a {genre} book"}]}]}

    response = recommend("fantasy")
    assert isinstance(response, google.GoogleCallResponse)
    assert response.content == "echo: Recommend a fantasy book"
    assert response.finish_reasons == ["STOP"]
    assert response.message_param == {"role": "model", "parts": [{"text": "echo: Recommend a fantasy book"}]}
    assert response.response["candidates"][0]["content"]["parts"][0]["text"] == response.content


def test_system_and_multi_turn_history_become_system_instruction_and_contents(fake):
    @llm.call(provider="google", model=MODEL, client=fake.client("google"))
    def chat(question: str) -> list[minicall.Message]:
        return [Messages.System("You are terse."), Messages.User("Hi"), Messages.Assistant("Hello."), Messages.User(question)]

    assert chat("Why?").content == "echo: Why?"
    body = fake.last.json
    assert body["systemInstruction"] == {"parts": [{"text": "You are terse."}], "role": "user"}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [{"text": "Hello."}]},
        {"role": "user", "parts": [{"text": "Why?"}]},
    ]


def test_native_and_common_call_params_land_in_generation_config(fake):
    @google.call(MODEL, client=fake.client("google"),
                 call_params={"top_k": 5, "safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]})
    def ask() -> google.GoogleDynamicConfig:
        return {"messages": [{"role": "user", "parts": [{"text": "x"}]}], "call_params": {"max_output_tokens": 20}}

    ask()
    body = fake.last.json
    assert body["generationConfig"] == {"topK": 5, "maxOutputTokens": 20}
    assert body["safetySettings"] == [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]

    @llm.call(provider="google", model=MODEL, client=fake.client("google"),
              call_params={"top_p": 0.4, "stop": ["END"], "temperature": 0.1, "seed": 7, "max_tokens": 9})
    def common() -> str:
        return "x"

    common()
    assert fake.last.json["generationConfig"] == {
        "topP": 0.4, "stopSequences": ["END"], "temperature": 0.1, "seed": 7, "maxOutputTokens": 9,
    }


def test_image_input_becomes_inline_data(fake):
    @llm.call(provider="google", model=MODEL, client=fake.client("google"))
    def look() -> list[minicall.Message]:
        return [Messages.User([minicall.TextPart("What is this?"), minicall.ImagePart("image/png", image=b"png!")])]

    assert look().content == "echo: What is this?"
    assert fake.last.json["contents"][0]["parts"] == [
        {"text": "What is this?"},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(b"png!").decode()}},
    ]


def test_custom_client_via_decorator_and_via_dynamic_config(fake):
    other = FakeServer().start()
    try:
        @google.call(MODEL, client=fake.client("google", api_version="v1beta", headers={"x-app": "mine"}))
        def ask(use_other: bool) -> google.GoogleDynamicConfig:
            config: google.GoogleDynamicConfig = {"messages": [{"role": "user", "parts": [{"text": "hi"}]}]}
            if use_other:
                config["client"] = other.client("google", api_key="other-key")
            return config

        ask(False)
        assert fake.last.path == f"/v1beta/models/{MODEL}:generateContent"
        assert fake.last.headers["x-app"] == "mine"
        ask(True)
        assert other.last.headers["x-goog-api-key"] == "other-key"
        ask(False)
        assert len(fake.requests) == 2 and len(other.requests) == 1
    finally:
        other.stop()


@pytest.mark.parametrize(
    ("status", "error_type"),
    ERROR_STATUSES,
)
def test_error_statuses_map_to_typed_errors_with_googles_message(fake, sleeps, status, error_type):
    @llm.call(provider="google", model=MODEL, client=fake.client("google", max_retries=0))
    def ask() -> str:
        return "x"

    fake.script(ErrorReply(status, message=f"google says {status}"))
    with pytest.raises(error_type) as info:
        ask()
    assert info.value.status_code == status
    assert info.value.message == f"google says {status}"
    assert info.value.provider == "google"
    assert info.value.body["error"]["code"] == status
    assert "test-key" not in repr(info.value) + str(info.value.headers)


def test_429_is_retried_honouring_retry_after(fake, sleeps):
    @llm.call(provider="google", model=MODEL, client=fake.client("google"))
    def ask() -> str:
        return "x"

    fake.script(ErrorReply(429, message="slow down", headers={"retry-after": "2"}), Reply(text="ok"))
    assert ask().content == "ok"
    assert sleeps == [2.0]
    assert len(fake.requests) == 2


def test_missing_api_key_names_the_variables_before_any_io(fake):
    with pytest.raises(minicall.ConfigurationError, match="GOOGLE_API_KEY or GEMINI_API_KEY"):
        google.GoogleClient(base_url=fake.base_url("google"))
    assert fake.requests == []


def test_env_client_prefers_google_api_key_and_reads_base_url_and_version(fake, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key")
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", fake.base_url("google"))
    monkeypatch.setenv("GOOGLE_GENAI_API_VERSION", "beta")
    client = google.GoogleClient()
    assert "google-key" not in repr(client)

    @google.call(MODEL, client=client)
    def ask() -> str:
        return "x"

    ask()
    assert fake.last.headers["x-goog-api-key"] == "google-key"
    assert fake.last.path == f"/v1beta/models/{MODEL}:generateContent"


def test_stream_concatenates_to_the_same_content_with_usage_and_finish_at_the_end(fake):
    @llm.call(provider="google", model=MODEL, client=fake.client("google"), stream=True)
    def tell() -> str:
        return "story"

    fake.script(Reply(text="Once upon a time there was a fox.", input_tokens=3, output_tokens=8))
    stream = tell()
    assert fake.requests == []
    chunks = [chunk for chunk, tool in stream]
    pieces = [c.content for c in chunks]
    assert len([p for p in pieces if p]) > 1
    assert "".join(pieces) == stream.content == "Once upon a time there was a fox."
    assert chunks[-1].finish_reasons == ["stop"]
    assert stream.usage == minicall.Usage(3, 8, 0, 11)
    assert fake.last.path == f"/v1/models/{MODEL}:streamGenerateContent?alt=sse"
    final = stream.construct_call_response()
    assert final.content == stream.content and final.usage == stream.usage
    assert final.model == MODEL and final.id == "fake-response-000001"


def test_stream_tool_calls_arrive_whole(fake):
    @google.call(MODEL, client=fake.client("google"), stream=True, tools=[get_weather, Book])
    def ask() -> str:
        return "x"

    fake.script(Reply(text="Let me check.", tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}), ToolCallReply("Book", {"title": "Emma", "year": 1815})]))
    stream = ask()
    tools = [tool for _, tool in stream if tool is not None]
    assert [t.args for t in tools] == [{"city": "Paris"}, {"title": "Emma", "year": 1815}]
    assert len({t.id for t in tools}) == 2
    assert tools[0].call() == "sunny in Paris"
    assert stream.finish_reasons == ["STOP"]
    assert stream.message_param["parts"][1] == {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}


def test_stream_error_event_raises_api_error_with_partial(fake):
    @llm.call(provider="google", model=MODEL, client=fake.client("google"), stream=True)
    def tell() -> str:
        return "x"

    fake.script(Reply(text="alpha beta gamma delta", stream_error_after=2, stream_error_message="overloaded"))
    stream = tell()
    with pytest.raises(minicall.InternalServerError, match="overloaded") as info:
        for _ in stream:
            pass
    assert info.value.partial == "alpha beta "
    assert stream.content == info.value.partial


def test_stream_dropped_midway_keeps_partial_content(fake):
    @llm.call(provider="google", model=MODEL, client=fake.client("google"), stream=True)
    def tell() -> str:
        return "x"

    fake.script(Reply(text="one two three four five six", drop_after_events=3))
    stream = tell()
    seen: list[str] = []
    with pytest.raises(minicall.MinicallError) as info:
        for chunk, _ in stream:
            seen.append(chunk.content)
    assert info.value.partial == "".join(seen) == stream.content == "one two three "


def test_tool_call_round_trip_sends_function_response_in_a_user_turn(fake):
    @google.call(MODEL, client=fake.client("google"), tools=[get_weather])
    def chat(history: list[Any]) -> google.GoogleDynamicConfig:
        return {"messages": [{"role": "user", "parts": [{"text": "weather in Paris?"}]}, *history]}

    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"})]))
    response = chat([])
    tool = response.tool
    assert tool is not None and tool.args == {"city": "Paris"} and tool.id == "call_0"
    declaration = fake.last.json["tools"][0]["functionDeclarations"][0]
    assert declaration["name"] == "get_weather"
    assert declaration["parameters"]["properties"]["city"] == {"type": "STRING", "description": "The city name."}
    assert "toolConfig" not in fake.last.json
    history = [response.message_param, *response.tool_message_params([(tool, tool.call())])]
    chat(history)
    assert fake.last.json["contents"][1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"result": "sunny in Paris"}}}]},
    ]


def test_parallel_tool_calls_all_come_back_and_go_back_in_one_turn(fake):
    @llm.call(provider="google", model=MODEL, client=fake.client("google"), tools=[get_weather])
    def ask(history: list[Any]) -> list[Any]:
        return [Messages.User("Weather in Oslo and Rome?"), *history]

    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Oslo"}), ToolCallReply("get_weather", {"city": "Rome"}, id="r-1")]))
    response = ask([])
    assert [t.call() for t in response.tools] == ["sunny in Oslo", "sunny in Rome"]
    results = response.tool_message_params([(t, t.call()) for t in response.tools])
    ask([response.message_param, *results])
    turn = fake.last.json["contents"][2]
    assert turn == {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"result": "sunny in Oslo"}}},
        {"functionResponse": {"name": "get_weather", "response": {"result": "sunny in Rome"}, "id": "r-1"}},
    ]}


def test_response_model_through_a_forced_tool_sets_mode_any(fake):
    @llm.call(provider="google", model=MODEL, client=fake.client("google"), response_model=Book)
    def extract(text: str) -> str:
        return f"Extract the book: {text}"

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]))
    assert extract("Dune, 1965") == Book("Dune", 1965)
    assert fake.last.json["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["Book"]}}
    assert [d["name"] for d in fake.last.json["tools"][0]["functionDeclarations"]] == ["Book"]


def test_response_model_with_json_mode_sends_mime_type_and_schema(fake):
    @llm.call(provider="google", model=MODEL, client=fake.client("google"), response_model=Book, json_mode=True)
    def extract(text: str) -> str:
        return f"Extract the book: {text}"

    fake.script(Reply(text=json.dumps({"title": "Dune", "year": 1965})))
    assert extract("Dune") == Book("Dune", 1965)
    config = fake.last.json["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"]["type"] == "OBJECT"
    assert set(config["responseSchema"]["properties"]) == {"title", "year"}
    assert "tools" not in fake.last.json


def test_output_parser_result_is_returned(fake):
    @llm.call(provider="google", model=MODEL, client=fake.client("google"), output_parser=lambda r: r.content.upper())
    def ask() -> str:
        return "x"

    fake.script(Reply(text="quiet"))
    assert ask() == "QUIET"


def test_dynamic_config_call_params_reach_the_body(fake):
    @llm.call(provider="google", model=MODEL, client=fake.client("google"))
    def ask() -> BaseDynamicConfig:
        return {"messages": [Messages.User("x")], "call_params": {"max_tokens": 3}}

    ask()
    assert fake.last.json["generationConfig"] == {"maxOutputTokens": 3}


def test_async_call_stream_and_tool(fake):
    client = fake.client("google")

    @llm.call(provider="google", model=MODEL, client=client)
    async def ask(q: str) -> str:
        return q

    @google.call(MODEL, client=client, stream=True)
    async def tell(q: str) -> str:
        return q

    @google.call(MODEL, client=client, tools=[get_weather])
    async def use_tool() -> str:
        return "weather?"

    async def main() -> tuple[str, str, Any]:
        response = await ask("hello")
        stream = await tell("a b c")
        text = "".join([chunk.content async for chunk, _ in stream])
        fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Lima"})]))
        tooled = await use_tool()
        return response.content, text, tooled.tool

    content, text, tool = asyncio.run(main())
    assert (content, text) == ("echo: hello", "echo: a b c")
    assert tool is not None and tool.call() == "sunny in Lima"


# -- Vertex AI ------------------------------------------------------------------------

VERTEX_PATH = f"/v1beta1/projects/proj/locations/us-central1/publishers/google/models/{MODEL}:generateContent"
TOKEN_URL = "https://oauth2.example.test/token"


class TokenTransport:
    """Answers token requests itself and sends everything else over loopback."""

    def __init__(self) -> None:
        self.token_requests: list[HttpRequest] = []

    def _token(self, request: HttpRequest) -> HttpResponse:
        self.token_requests.append(request)
        body = json.dumps({"access_token": f"ya29.token{len(self.token_requests)}", "expires_in": 3599})
        return HttpResponse(200, {"content-type": "application/json"}, body.encode())

    def send(self, request: HttpRequest, *, stream: bool = False) -> HttpResponse:
        if request.url == TOKEN_URL:
            return self._token(request)
        return default_transport().send(request, stream=stream)

    async def send_async(self, request: HttpRequest, *, stream: bool = False) -> AsyncHttpResponse:
        if request.url == TOKEN_URL:
            answer = self._token(request)
            return AsyncHttpResponse(answer.status, answer.headers, answer.body)
        return await default_transport().send_async(request, stream=stream)


def test_vertex_with_an_access_token_uses_the_project_path_and_bearer(fake):
    client = fake.client("google", vertex=True, project="proj", location="us-central1", access_token="ya29.static")

    @llm.call(provider="google", model=MODEL, client=client)
    def ask() -> str:
        return "hi"

    assert ask().content == "echo: hi"
    assert fake.last.path == VERTEX_PATH
    assert fake.last.headers["authorization"] == "Bearer ya29.static"
    assert "x-goog-api-key" not in fake.last.headers
    assert "ya29" not in repr(client)


def test_vertex_from_the_environment_with_a_token_provider(fake, monkeypatch):
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "proj")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "us-central1")
    monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", fake.base_url("google"))
    tokens = iter(["t1", "t2"])
    client = google.GoogleClient(token_provider=lambda: next(tokens))

    @google.call(MODEL, client=client, stream=True)
    def tell() -> str:
        return "a b"

    assert "".join(c.content for c, _ in tell()) == "echo: a b"
    assert fake.last.path == VERTEX_PATH.replace(":generateContent", ":streamGenerateContent?alt=sse")
    assert fake.last.headers["authorization"] == "Bearer t1"


def test_vertex_authorized_user_credentials_fetch_and_cache_a_token(fake, monkeypatch, tmp_path):
    creds = tmp_path / "adc.json"
    creds.write_text(json.dumps({
        "type": "authorized_user", "client_id": "cid", "client_secret": "csecret",
        "refresh_token": "rtoken", "token_uri": TOKEN_URL,
    }))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(creds))
    transport = TokenTransport()
    client = google.GoogleClient(vertex=True, project="proj", location="us-central1",
                                 base_url=fake.base_url("google"), transport=transport)

    @llm.call(provider="google", model=MODEL, client=client)
    def ask() -> str:
        return "hi"

    @llm.call(provider="google", model=MODEL, client=client)
    async def ask_async() -> str:
        return "hi"

    ask()
    assert asyncio.run(ask_async()).content == "echo: hi"
    assert len(transport.token_requests) == 1
    fresh = google.GoogleClient(vertex=True, project="proj", location="us-central1",
                                base_url=fake.base_url("google"), transport=transport)
    assert asyncio.run(llm.override(ask_async, client=fresh)()).content == "echo: hi"
    assert len(transport.token_requests) == 2
    assert fake.last.headers["authorization"] == "Bearer ya29.token2"
    assert b"grant_type=refresh_token" in transport.token_requests[0].body
    assert [r.headers["authorization"] for r in fake.requests[:2]] == ["Bearer ya29.token1"] * 2
    assert "csecret" not in repr(client) and "rtoken" not in repr(client)


def test_vertex_without_credentials_or_project_names_what_is_missing(fake, monkeypatch, tmp_path):
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))  # no gcloud application-default file either
    with pytest.raises(minicall.ConfigurationError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        google.GoogleClient(vertex=True, project="proj", base_url=fake.base_url("google"))
    with pytest.raises(minicall.ConfigurationError, match="GOOGLE_CLOUD_PROJECT"):
        google.GoogleClient(vertex=True, access_token="t")
    assert fake.requests == []


def test_vertex_express_mode_uses_the_api_key_without_a_project(fake):
    client = fake.client("google", vertex=True)

    @google.call(MODEL, client=client)
    def ask() -> str:
        return "hi"

    ask()
    assert fake.last.path == f"/v1beta1/publishers/google/models/{MODEL}:generateContent"
    assert fake.last.headers["x-goog-api-key"] == "test-key"


def test_vertex_default_hosts_follow_the_location():
    def host(location: str) -> str:
        return google.GoogleClient(vertex=True, project="p", location=location, access_token="t").base_url

    assert host("us-central1") == "https://us-central1-aiplatform.googleapis.com"
    assert host("global") == "https://aiplatform.googleapis.com"
    assert host("eu") == "https://aiplatform.eu.rep.googleapis.com"


def test_vertex_token_rejected_with_401_is_fetched_again_on_the_next_call(fake, monkeypatch, tmp_path):
    creds = tmp_path / "adc.json"
    creds.write_text(json.dumps({
        "type": "authorized_user", "client_id": "cid", "client_secret": "csecret",
        "refresh_token": "rtoken", "token_uri": TOKEN_URL,
    }))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(creds))
    transport = TokenTransport()
    client = google.GoogleClient(vertex=True, project="proj", location="us-central1",
                                 base_url=fake.base_url("google"), transport=transport, max_retries=0)

    @llm.call(provider="google", model=MODEL, client=client)
    def ask() -> str:
        return "hi"

    fake.script(ErrorReply(401, message="token revoked"), provider="google")
    with pytest.raises(minicall.AuthenticationError):
        ask()
    assert ask().content == "echo: hi"
    assert len(transport.token_requests) == 2  # the revoked token was not reused
    assert fake.last.headers["authorization"] == "Bearer ya29.token2"
