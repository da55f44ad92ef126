"""Bedrock Converse end to end over loopback HTTP through FakeServer."""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
from typing import Any

import pytest
from shared import ERROR_STATUSES, Book

import minicall
from minicall import Messages, llm
from minicall._auth.sigv4 import AwsCredentials, canonical_request, sign
from minicall._call import pipeline as call_module
from minicall._model.http import HttpRequest
from minicall.providers import bedrock
from minicall.testing import ErrorReply, FakeServer, Reply, ToolCallReply

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
ENCODED = "anthropic.claude-3-haiku-20240307-v1%3A0"
_AWS_ENV = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
)


@pytest.fixture(autouse=True)
def _no_aws_environment(monkeypatch, tmp_path):
    """No developer region, profile or ~/.aws files reach these tests."""
    for name in _AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))


def assert_signed_by(
    request: Any, secret: str = "fake-secret-key", region: str = "us-east-1"
) -> None:
    """The recorded request carries a valid SigV4 signature for its own timestamp."""
    auth = request.headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDFAKESERVER/")
    assert f"/{region}/bedrock/aws4_request" in auth
    amz_date = request.headers["x-amz-date"]
    now = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    signed = [n for n in auth.split("SignedHeaders=")[1].split(",")[0].split(";")]
    headers = {n: request.headers[n] for n in signed if n != "host"}
    url = f"http://{request.headers['host']}{request.raw_path}"
    again = sign(
        HttpRequest("POST", url, headers, request.body),
        AwsCredentials("AKIDFAKESERVER", secret, request.headers.get("x-amz-security-token")),
        region=region,
        service="bedrock",
        now=now,
    )
    assert again.headers["Authorization"] == auth
    assert canonical_request(HttpRequest("POST", url, headers, request.body))[1] == ";".join(signed)


def test_simple_call_through_llm(fake):
    @llm.call(provider="bedrock", model=MODEL, client=fake.client("bedrock"))
    def recommend(genre: str) -> str:
        return f"Recommend a {genre} book"

    fake.script(Reply(text="Try The Hobbit.", input_tokens=12, output_tokens=4, cached_tokens=2))
    response = recommend("fantasy")
    assert isinstance(response, llm.CallResponse)
    assert response.content == "Try The Hobbit."
    assert response.finish_reasons == ["stop"]
    assert response.usage == minicall.Usage(12, 4, 2, 16)
    assert response.model == MODEL
    assert response.id and len(response.id) == 36  # the x-amzn-RequestId header
    assert response.message_param == Messages.Assistant([minicall.TextPart("Try The Hobbit.")])
    sent = fake.last
    assert sent.route == f"/model/{ENCODED}/converse"
    assert sent.json == {
        "messages": [{"role": "user", "content": [{"text": "Recommend a fantasy book"}]}]
    }
    assert "SignedHeaders=content-type;host;x-amz-date," in sent.headers["authorization"]
    assert_signed_by(sent)


def test_request_id_header_is_the_response_id(fake):
    @bedrock.call(MODEL, client=fake.client("bedrock"))
    def ask() -> str:
        return "hi"

    fake.script(Reply(text="ok", headers={"x-amzn-requestid": "req-abc-123"}))
    response = ask()
    assert isinstance(response, bedrock.BedrockCallResponse)
    assert response.id == "req-abc-123"
    assert response.finish_reasons == ["end_turn"]
    assert response.message_param == {"role": "assistant", "content": [{"text": "ok"}]}


def test_provider_module_with_native_messages_system_and_history(fake):
    @bedrock.call(MODEL, client=fake.client("bedrock"))
    def chat(question: str) -> bedrock.BedrockDynamicConfig:
        return {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"text": "Hello"}]},
                {"role": "assistant", "content": [{"text": "Hi!"}]},
                {"role": "user", "content": [{"text": question}]},
            ]
        }

    response = chat("Recommend a book")
    assert response.content == "echo: Recommend a book"
    body = fake.last.json
    assert body["system"] == [{"text": "Be brief."}]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]


def test_neutral_system_and_multi_turn_history(fake):
    @llm.call(provider="bedrock", model=MODEL, client=fake.client("bedrock"))
    def chat() -> list[minicall.Message]:
        return [
            Messages.System("Be brief."),
            Messages.User("Hello"),
            Messages.Assistant("Hi!"),
            Messages.User("More?"),
        ]

    chat()
    body = fake.last.json
    assert body["system"] == [{"text": "Be brief."}]
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "Hello"}]},
        {"role": "assistant", "content": [{"text": "Hi!"}]},
        {"role": "user", "content": [{"text": "More?"}]},
    ]


def test_call_params_native_and_common_appear_in_the_body(fake):
    @bedrock.call(MODEL, client=fake.client("bedrock"), call_params={"max_tokens": 50, "top_k": 5})
    def ask() -> bedrock.BedrockDynamicConfig:
        return {
            "messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "call_params": {"temperature": 0.2, "inferenceConfig": {"topP": 0.8}, "stop": ["END"]},
        }

    ask()
    body = fake.last.json
    assert body["inferenceConfig"] == {
        "maxTokens": 50,
        "temperature": 0.2,
        "topP": 0.8,
        "stopSequences": ["END"],
    }
    assert body["additionalModelRequestFields"] == {"top_k": 5}


def test_image_input_is_sent_as_base64_bytes(fake):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8

    @llm.call(provider="bedrock", model=MODEL, client=fake.client("bedrock"))
    def look() -> list[minicall.Message]:
        return [
            Messages.User(
                [minicall.TextPart("What is this?"), minicall.ImagePart("image/png", image=png)]
            )
        ]

    look()
    content = fake.last.json["messages"][0]["content"]
    assert content[1] == {
        "image": {"format": "png", "source": {"bytes": base64.b64encode(png).decode()}}
    }


def test_custom_client_via_dynamic_config_serves_one_call(fake):
    other = FakeServer().start()
    try:

        @llm.call(provider="bedrock", model=MODEL, client=fake.client("bedrock"))
        def ask(use_other: bool) -> minicall.BaseDynamicConfig:
            config: minicall.BaseDynamicConfig = {"messages": [Messages.User("hi")]}
            if use_other:
                config["client"] = other.client("bedrock")
            return config

        ask(True)
        ask(False)
        assert len(other.requests) == 1 and len(fake.requests) == 1
    finally:
        other.stop()


@pytest.mark.parametrize(
    ("status", "error"),
    ERROR_STATUSES,
)
def test_error_statuses_map_to_typed_errors_with_the_service_message(fake, sleeps, status, error):
    @llm.call(provider="bedrock", model=MODEL, client=fake.client("bedrock", max_retries=0))
    def ask() -> str:
        return "hi"

    fake.script(ErrorReply(status, message=f"scripted failure {status}"))
    with pytest.raises(error) as info:
        ask()
    err = info.value
    assert err.status_code == status and err.message == f"scripted failure {status}"
    assert err.provider == "bedrock" and err.request_id
    assert "fake-secret-key" not in str(err) + repr(err) + json.dumps(err.headers)
    assert sleeps == []


def test_throttling_is_retried_honouring_retry_after(fake, sleeps):
    @llm.call(provider="bedrock", model=MODEL, client=fake.client("bedrock"))
    def ask() -> str:
        return "hi"

    fake.script(
        ErrorReply(429, message="slow down", headers={"retry-after": "2"}), Reply(text="ok")
    )
    assert ask().content == "ok"
    assert sleeps == [2.0]
    first, second = fake.requests
    assert first.headers["authorization"] and second.headers["authorization"]


def test_stream_text_concatenates_with_usage_and_finish_at_the_end(fake):
    @llm.call(provider="bedrock", model=MODEL, client=fake.client("bedrock"), stream=True)
    def tell() -> str:
        return "story"

    fake.script(Reply(text="Once upon a time there was a fox", input_tokens=3, output_tokens=9))
    stream = tell()
    pieces = []
    for chunk, tool in stream:
        assert tool is None
        pieces.append(chunk.content)
    assert len([p for p in pieces if p]) > 3
    assert "".join(pieces) == "Once upon a time there was a fox" == stream.content
    assert stream.usage == minicall.Usage(3, 9, 0, 12)
    assert stream.finish_reasons == ["stop"]
    response = stream.construct_call_response()
    assert response.content == stream.content and response.model == MODEL
    assert fake.last.route == f"/model/{ENCODED}/converse-stream"
    assert_signed_by(fake.last)


def test_stream_tool_call_is_assembled_from_pieces(fake):
    def get_weather(city: str) -> str:
        """Weather in a city."""
        return f"sunny in {city}"

    @bedrock.call(MODEL, client=fake.client("bedrock"), stream=True, tools=[get_weather])
    def ask() -> str:
        return "weather?"

    fake.script(
        Reply(
            text="Checking.",
            tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="tu_9")],
        )
    )
    stream = ask()
    tools = [tool for _, tool in stream if tool is not None]
    assert len(tools) == 1 and tools[0].args == {"city": "Paris"} and tools[0].id == "tu_9"
    assert tools[0].call() == "sunny in Paris"
    assert stream.finish_reasons == ["tool_use"]
    assert stream.message_param == {
        "role": "assistant",
        "content": [
            {"text": "Checking."},
            {"toolUse": {"toolUseId": "tu_9", "name": "get_weather", "input": {"city": "Paris"}}},
        ],
    }


def test_stream_error_frame_raises_typed_error_with_partial(fake):
    @llm.call(provider="bedrock", model=MODEL, client=fake.client("bedrock"), stream=True)
    def tell() -> str:
        return "x"

    fake.script(
        Reply(
            text="alpha beta gamma delta", stream_error_after=3, stream_error_message="overloaded"
        )
    )
    stream = tell()
    with pytest.raises(minicall.InternalServerError, match="overloaded") as info:
        for _ in stream:
            pass
    assert info.value.partial == "alpha beta " == stream.content


def test_dropped_stream_raises_with_partial(fake):
    @llm.call(provider="bedrock", model=MODEL, client=fake.client("bedrock"), stream=True)
    def tell() -> str:
        return "x"

    fake.script(Reply(text="one two three four five six", drop_after_events=4))
    stream = tell()
    seen = []
    with pytest.raises(minicall.MinicallError) as info:
        for chunk, _ in stream:
            seen.append(chunk.content)
    assert info.value.partial == "".join(seen) == "one two three "


def test_tool_round_trip_makes_a_valid_next_request(fake):
    def get_weather(city: str) -> str:
        """Get the weather.

        Args:
            city: The city name.
        """
        return f"sunny in {city}"

    @bedrock.call(MODEL, client=fake.client("bedrock"), tools=[get_weather])
    def chat(history: list[Any]) -> bedrock.BedrockDynamicConfig:
        return {
            "messages": [{"role": "user", "content": [{"text": "weather in Paris?"}]}, *history]
        }

    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="tu_1")]))
    response = chat([])
    tool = response.tool
    assert tool is not None and tool.args == {"city": "Paris"} and tool.id == "tu_1"
    assert response.finish_reasons == ["tool_use"]
    spec = fake.last.json["toolConfig"]["tools"][0]["toolSpec"]
    assert spec["name"] == "get_weather"
    assert spec["inputSchema"]["json"]["properties"]["city"]["description"] == "The city name."
    history = [response.message_param, *response.tool_message_params([(tool, tool.call())])]
    chat(history)
    assert fake.last.json["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {
                    "toolUse": {
                        "toolUseId": "tu_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    }
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": "tu_1",
                        "content": [{"text": "sunny in Paris"}],
                        "status": "success",
                    }
                }
            ],
        },
    ]


def test_parallel_tool_calls_come_back_as_tools(fake):
    def get_weather(city: str) -> str:
        """Weather."""
        return city

    @llm.call(provider="bedrock", model=MODEL, client=fake.client("bedrock"), tools=[get_weather])
    def ask() -> str:
        return "two cities"

    fake.script(
        Reply(
            tool_calls=[
                ToolCallReply("get_weather", {"city": "Paris"}),
                ToolCallReply("get_weather", {"city": "Rome"}),
            ]
        )
    )
    response = ask()
    assert [t.args["city"] for t in response.tools or []] == ["Paris", "Rome"]
    assert response.finish_reasons == ["tool_calls"]


def test_response_model_uses_a_forced_tool(fake):
    @llm.call(provider="bedrock", model=MODEL, client=fake.client("bedrock"), response_model=Book)
    def extract(text: str) -> str:
        return f"Extract: {text}"

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]))
    assert extract("Dune, 1965") == Book("Dune", 1965)
    config = fake.last.json["toolConfig"]
    assert config["toolChoice"] == {"tool": {"name": "Book"}}
    assert config["tools"][0]["toolSpec"]["name"] == "Book"


def test_response_model_with_json_mode_adds_the_instruction_to_system(fake):
    @llm.call(
        provider="bedrock",
        model=MODEL,
        client=fake.client("bedrock"),
        response_model=Book,
        json_mode=True,
    )
    def extract(text: str) -> str:
        return f"Extract: {text}"

    fake.script(Reply(text=json.dumps({"title": "Dune", "year": 1965})))
    assert extract("Dune") == Book("Dune", 1965)
    body = fake.last.json
    assert "toolConfig" not in body
    assert "JSON" in body["system"][-1]["text"] and '"year"' in body["system"][-1]["text"]


def test_output_parser_result_is_returned(fake):
    @bedrock.call(MODEL, client=fake.client("bedrock"), output_parser=lambda r: r.content.upper())
    def ask() -> str:
        return "hi"

    assert ask() == "ECHO: HI"


def test_async_call_stream_and_tool_call(fake):
    client = fake.client("bedrock")

    def get_weather(city: str) -> str:
        """Weather."""
        return city

    @llm.call(provider="bedrock", model=MODEL, client=client)
    async def ask(q: str) -> str:
        return q

    @bedrock.call(MODEL, client=client, stream=True)
    async def tell(q: str) -> str:
        return q

    @bedrock.call(MODEL, client=client, tools=[get_weather])
    async def tool_ask() -> str:
        return "weather"

    async def main() -> tuple[str, str, Any]:
        response = await ask("hello")
        stream = await tell("a b c")
        text = "".join([chunk.content async for chunk, _ in stream])
        fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Oslo"})]))
        tooled = await tool_ask()
        return response.content, text, tooled.tool

    content, text, tool = asyncio.run(main())
    assert (content, text) == ("echo: hello", "echo: a b c")
    assert tool is not None and tool.call() == "Oslo"
    assert_signed_by(fake.requests[0])


# -- client configuration ----------------------------------------------------------------


def test_missing_credentials_raise_configuration_error_naming_the_variables_before_io(fake):
    @llm.call(provider="bedrock", model=MODEL)
    def ask() -> str:
        return "hi"

    with pytest.raises(minicall.ConfigurationError, match="AWS_ACCESS_KEY_ID") as info:
        ask()
    assert "AWS_BEARER_TOKEN_BEDROCK" in str(info.value)
    assert fake.requests == []


def test_missing_region_raises_naming_the_variables(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
    with pytest.raises(minicall.ConfigurationError, match="AWS_REGION.*AWS_DEFAULT_REGION"):
        bedrock.BedrockClient()


def test_environment_credentials_region_and_endpoint(fake, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFAKESERVER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-session-token")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.base_url("bedrock"))
    client = bedrock.BedrockClient()
    assert client.region == "eu-west-3" and client.auth_scheme == "sigv4"
    assert "env-secret" not in repr(client) and "env-session-token" not in repr(client)

    @llm.call(provider="bedrock", model=MODEL, client=client)
    def ask() -> str:
        return "hi"

    ask()
    sent = fake.last
    assert sent.headers["x-amz-security-token"] == "env-session-token"
    assert "x-amz-security-token" in sent.headers["authorization"]
    assert_signed_by(sent, secret="env-secret", region="eu-west-3")


def test_default_base_url_uses_the_region():
    client = bedrock.BedrockClient(region="us-west-2", access_key_id="AKID", secret_access_key="s")
    assert client.base_url == "https://bedrock-runtime.us-west-2.amazonaws.com"


def test_shared_credentials_and_config_files_with_a_profile(fake, monkeypatch, tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text(
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n"
        "[work]\naws_access_key_id = AKIDFAKESERVER\naws_secret_access_key = file-secret\n"
    )
    config = tmp_path / "config"
    config.write_text("[default]\nregion = us-east-1\n[profile work]\nregion = ap-south-1\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "work")
    client = bedrock.BedrockClient(base_url=fake.base_url("bedrock"))
    assert client.region == "ap-south-1"

    @llm.call(provider="bedrock", model=MODEL, client=client)
    def ask() -> str:
        return "hi"

    ask()
    assert_signed_by(fake.last, secret="file-secret", region="ap-south-1")


def test_unreadable_credentials_file_is_a_configuration_error_without_secrets(
    monkeypatch, tmp_path
):
    creds = tmp_path / "credentials"
    creds.write_text("aws_secret_access_key = leaked-secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    with pytest.raises(minicall.ConfigurationError) as info:
        bedrock.BedrockClient(region="us-east-1")
    assert "leaked-secret" not in str(info.value)


def test_api_key_is_sent_as_bearer_without_signing(fake, monkeypatch):
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key")
    client = bedrock.BedrockClient(region="us-east-1", base_url=fake.base_url("bedrock"))
    assert client.auth_scheme == "bearer" and "bedrock-api-key" not in repr(client)

    @llm.call(provider="bedrock", model=MODEL, client=client)
    def ask() -> str:
        return "hi"

    ask()
    assert fake.last.headers["authorization"] == "Bearer bedrock-api-key"
    assert "x-amz-date" not in fake.last.headers


def test_explicit_access_keys_win_over_the_bearer_variable(monkeypatch):
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key")
    client = bedrock.BedrockClient(region="us-east-1", access_key_id="AKID", secret_access_key="s")
    assert client.auth_scheme == "sigv4"
    with pytest.raises(minicall.ConfigurationError, match="both"):
        bedrock.BedrockClient(region="us-east-1", access_key_id="AKID")


def test_streamed_response_model_yields_partials_then_the_value(fake):
    @llm.call(
        provider="bedrock",
        model=MODEL,
        client=fake.client("bedrock"),
        stream=True,
        response_model=Book,
    )
    def extract() -> str:
        return "Dune, 1965"

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]))
    values = list(extract())
    assert values[-1] == Book("Dune", 1965) and len(values) >= 2
    assert fake.last.json["toolConfig"]["toolChoice"] == {"tool": {"name": "Book"}}


def test_frames_before_a_bad_crc_in_one_read_reach_the_caller(fake):
    from minicall._framing.eventstream import encode_message
    from minicall.testing import RawReply

    def event(name: str, payload: dict) -> bytes:
        headers = {":event-type": name, ":content-type": "application/json", ":message-type": "event"}
        return encode_message(headers, json.dumps(payload).encode())

    good = event("messageStart", {"role": "assistant"}) + b"".join(
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": word}})
        for word in ("one ", "two ")
    )
    bad = bytearray(event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "three"}}))
    bad[-2] ^= 0x10
    # One body with a Content-Length: the client reads it all in one piece.
    fake.script(RawReply(200, {"content-type": "application/vnd.amazon.eventstream"}, good + bytes(bad)))

    @llm.call(provider="bedrock", model=MODEL, client=fake.client("bedrock"), stream=True)
    def tell() -> str:
        return "x"

    stream = tell()
    seen = []
    with pytest.raises(minicall.ResponseFormatError, match="message CRC mismatch") as info:
        for chunk, _ in stream:
            seen.append(chunk.content)
    assert "".join(seen) == "one two " == info.value.partial == stream.content
