"""Cohere v2 Chat end to end: real loopback HTTP through FakeServer."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from shared import ERROR_STATUSES, Book, get_weather

import minicall
from minicall import BaseDynamicConfig, Messages, llm
from minicall.providers import cohere
from minicall.testing import ErrorReply, FakeServer, Reply, ToolCallReply

MODEL = "command-r-plus"


def test_simple_call_sends_v2_chat_and_reads_text_usage_and_requested_model(fake):
    @llm.call(provider="cohere", model=MODEL, client=fake.client("cohere"))
    def recommend(genre: str) -> str:
        return f"Recommend a {genre} book"

    fake.script(Reply(text="Try Dune.", input_tokens=12, output_tokens=3, cached_tokens=2))
    response = recommend("sci-fi")
    assert response.content == "Try Dune."
    assert response.provider == "cohere"
    assert response.model == MODEL
    assert response.id == "fake-000001"
    assert response.finish_reasons == ["stop"]
    assert response.usage == minicall.Usage(12, 3, 2, 15)
    assert response.cost == pytest.approx((12 * 2.50 + 3 * 10.00) / 1e6)
    assert response.message_param == Messages.Assistant([minicall.TextPart("Try Dune.")])
    sent = fake.last
    assert sent.path == "/v2/chat"
    assert sent.headers["authorization"] == "Bearer test-key"
    assert sent.json == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Recommend a sci-fi book"}],
        "stream": False,
    }


def test_provider_module_speaks_native_messages_and_finish_reasons(fake):
    @cohere.call(MODEL, client=fake.client("cohere"))
    def recommend(genre: str) -> cohere.CohereDynamicConfig:
        return {"messages": [{"role": "user", "content": f"Recommend a {genre} book"}]}

    response = recommend("fantasy")
    assert isinstance(response, cohere.CohereCallResponse)
    assert response.content == "echo: Recommend a fantasy book"
    assert response.finish_reasons == ["COMPLETE"]
    assert response.message_param == {"role": "assistant", "content": "echo: Recommend a fantasy book"}
    assert response.response["message"]["content"][0]["text"] == response.content


def test_system_and_multi_turn_history_keep_their_roles(fake):
    @llm.call(provider="cohere", model=MODEL, client=fake.client("cohere"))
    def chat(question: str) -> list[minicall.Message]:
        return [
            Messages.System("You are terse."),
            Messages.User("Hi"),
            Messages.Assistant("Hello."),
            Messages.User(question),
        ]

    assert chat("Why?").content == "echo: Why?"
    assert fake.last.json["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Why?"},
    ]


def test_native_and_common_call_params_appear_renamed_in_the_body(fake):
    @cohere.call(MODEL, client=fake.client("cohere"), call_params={"k": 5, "safety_mode": "STRICT"})
    def ask() -> cohere.CohereDynamicConfig:
        return {"messages": [{"role": "user", "content": "x"}], "call_params": {"max_tokens": 20}}

    ask()
    body = fake.last.json
    assert (body["k"], body["safety_mode"], body["max_tokens"]) == (5, "STRICT", 20)

    @llm.call(provider="cohere", model=MODEL, client=fake.client("cohere"),
              call_params={"top_p": 0.4, "stop": ["END"], "temperature": 0.1, "seed": 7, "presence_penalty": 0.2})
    def common() -> str:
        return "x"

    common()
    body = fake.last.json
    assert (body["p"], body["stop_sequences"], body["temperature"], body["seed"], body["presence_penalty"]) == (
        0.4, ["END"], 0.1, 7, 0.2,
    )
    assert "top_p" not in body and "stop" not in body


def test_image_input_becomes_an_image_url_part(fake):
    @llm.call(provider="cohere", model=MODEL, client=fake.client("cohere"))
    def look() -> list[minicall.Message]:
        return [Messages.User([minicall.TextPart("What is this?"), minicall.ImagePart("image/png", image=b"png!")])]

    look()
    content = fake.last.json["messages"][0]["content"]
    assert content == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,cG5nIQ=="}},
    ]


def test_custom_client_via_decorator_and_via_dynamic_config(fake):
    other = FakeServer().start()
    try:
        @cohere.call(MODEL, client=fake.client("cohere", client_name="my-app"))
        def ask(use_other: bool) -> cohere.CohereDynamicConfig:
            config: cohere.CohereDynamicConfig = {"messages": [{"role": "user", "content": "hi"}]}
            if use_other:
                config["client"] = other.client("cohere", api_key="other-key")
            return config

        ask(False)
        assert fake.last.headers["x-client-name"] == "my-app"
        ask(True)
        assert other.last.headers["authorization"] == "Bearer other-key"
        ask(False)
        assert len(fake.requests) == 2 and len(other.requests) == 1
    finally:
        other.stop()


@pytest.mark.parametrize(
    ("status", "error_type"),
    ERROR_STATUSES,
)
def test_error_statuses_map_to_typed_errors_with_coheres_message(fake, sleeps, status, error_type):
    @llm.call(provider="cohere", model=MODEL, client=fake.client("cohere", max_retries=0))
    def ask() -> str:
        return "x"

    fake.script(ErrorReply(status, message=f"cohere says {status}"))
    with pytest.raises(error_type) as info:
        ask()
    assert info.value.status_code == status
    assert info.value.message == f"cohere says {status}"
    assert info.value.provider == "cohere"
    assert info.value.request_id == "req_1"
    assert "test-key" not in repr(info.value) + str(info.value.headers)


def test_429_is_retried_honouring_retry_after(fake, sleeps):
    @llm.call(provider="cohere", model=MODEL, client=fake.client("cohere"))
    def ask() -> str:
        return "x"

    fake.script(ErrorReply(429, message="slow down", headers={"retry-after": "2"}), Reply(text="ok"))
    assert ask().content == "ok"
    assert sleeps == [2.0]
    assert len(fake.requests) == 2


def test_missing_api_key_names_the_variables_before_any_io(fake, monkeypatch):
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.delenv("COHERE_API_KEY", raising=False)
    with pytest.raises(minicall.ConfigurationError, match="CO_API_KEY"):
        cohere.CohereClient(base_url=fake.base_url("cohere"))
    assert fake.requests == []


def test_env_client_reads_key_fallback_and_base_url(fake, monkeypatch):
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.setenv("COHERE_API_KEY", "env-key")
    monkeypatch.setenv("CO_API_URL", fake.base_url("cohere"))
    client = cohere.CohereClient()
    assert client.base_url == fake.base_url("cohere")
    assert "env-key" not in repr(client)
    assert cohere.CohereClient(base_url="https://api.cohere.ai/v1").base_url == "https://api.cohere.ai"

    @cohere.call(MODEL, client=client)
    def ask() -> str:
        return "x"

    ask()
    assert fake.last.headers["authorization"] == "Bearer env-key"


def test_stream_concatenates_to_the_same_content_with_usage_and_finish_at_the_end(fake):
    @llm.call(provider="cohere", model=MODEL, client=fake.client("cohere"), stream=True)
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
    assert stream.finish_reasons == ["stop"]
    assert fake.last.json["stream"] is True
    final = stream.construct_call_response()
    assert final.content == stream.content and final.usage == stream.usage
    assert final.model == MODEL and final.id == "fake-000001"


def test_stream_tool_calls_are_assembled_from_pieces(fake):
    @cohere.call(MODEL, client=fake.client("cohere"), stream=True, tools=[get_weather, Book])
    def ask() -> str:
        return "x"

    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}), ToolCallReply("Book", {"title": "Emma", "year": 1815})]))
    stream = ask()
    tools = [tool for _, tool in stream if tool is not None]
    assert [t.args for t in tools] == [{"city": "Paris"}, {"title": "Emma", "year": 1815}]
    assert tools[0].call() == "sunny in Paris"
    assert stream.finish_reasons == ["TOOL_CALL"]


def test_stream_error_event_raises_api_error_with_partial(fake):
    @llm.call(provider="cohere", model=MODEL, client=fake.client("cohere"), stream=True)
    def tell() -> str:
        return "x"

    fake.script(Reply(text="alpha beta gamma delta", stream_error_after=4, stream_error_message="overloaded"))
    stream = tell()
    with pytest.raises(minicall.APIError, match="overloaded") as info:
        for _ in stream:
            pass
    assert info.value.partial == "alpha beta "
    assert stream.content == info.value.partial


def test_stream_dropped_midway_keeps_partial_content(fake):
    @llm.call(provider="cohere", model=MODEL, client=fake.client("cohere"), stream=True)
    def tell() -> str:
        return "x"

    fake.script(Reply(text="one two three four five six", drop_after_events=4))
    stream = tell()
    seen: list[str] = []
    with pytest.raises(minicall.MinicallError) as info:
        for chunk, _ in stream:
            seen.append(chunk.content)
    assert info.value.partial == "".join(seen) == stream.content
    assert info.value.partial.startswith("one")


def test_tool_call_round_trip_sends_tool_results_in_cohere_shape(fake):
    @cohere.call(MODEL, client=fake.client("cohere"), tools=[get_weather])
    def chat(history: list[Any]) -> cohere.CohereDynamicConfig:
        return {"messages": [{"role": "user", "content": "weather in Paris?"}, *history]}

    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="get_weather_1")]))
    response = chat([])
    tool = response.tool
    assert tool is not None and tool.args == {"city": "Paris"} and tool.id == "get_weather_1"
    assert response.finish_reasons == ["TOOL_CALL"]
    sent_tool = fake.last.json["tools"][0]
    assert sent_tool["type"] == "function"
    assert sent_tool["function"]["parameters"]["properties"]["city"]["description"] == "The city name."
    assert "tool_choice" not in fake.last.json
    history = [response.message_param, *response.tool_message_params([(tool, tool.call())])]
    chat(history)
    assert fake.last.json["messages"][1:] == [
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "get_weather_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
            ],
            "tool_plan": "I will call get_weather.",
        },
        {"role": "tool", "tool_call_id": "get_weather_1", "content": [{"type": "text", "text": "sunny in Paris"}]},
    ]


def test_parallel_tool_calls_all_come_back(fake):
    @llm.call(provider="cohere", model=MODEL, client=fake.client("cohere"), tools=[get_weather])
    def ask() -> str:
        return "Weather in Oslo and Rome?"

    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Oslo"}), ToolCallReply("get_weather", {"city": "Rome"})]))
    response = ask()
    assert [t.call() for t in response.tools] == ["sunny in Oslo", "sunny in Rome"]
    assert response.finish_reasons == ["tool_calls"]
    results = response.tool_message_params([(t, t.call()) for t in response.tools])
    assert [r.role for r in results] == ["tool"]
    assert fake.pending == 0


def test_response_model_through_a_forced_tool_offers_only_that_tool(fake):
    @llm.call(provider="cohere", model=MODEL, client=fake.client("cohere"), response_model=Book, tools=[get_weather])
    def extract(text: str) -> str:
        return f"Extract the book: {text}"

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]))
    assert extract("Dune, 1965") == Book("Dune", 1965)
    assert fake.last.json["tool_choice"] == "REQUIRED"
    assert [t["function"]["name"] for t in fake.last.json["tools"]] == ["Book"]


def test_response_model_with_json_mode_sends_the_schema(fake):
    @llm.call(provider="cohere", model=MODEL, client=fake.client("cohere"), response_model=Book, json_mode=True)
    def extract(text: str) -> str:
        return f"Extract the book: {text}"

    fake.script(Reply(text=json.dumps({"title": "Dune", "year": 1965})))
    assert extract("Dune") == Book("Dune", 1965)
    fmt = fake.last.json["response_format"]
    assert fmt["type"] == "json_object"
    assert set(fmt["json_schema"]["properties"]) == {"title", "year"}
    assert "tools" not in fake.last.json


def test_json_mode_without_model_asks_for_a_json_object(fake):
    @cohere.call(MODEL, client=fake.client("cohere"), json_mode=True)
    def ask() -> str:
        return "Give me JSON"

    fake.script(Reply(text='{"a": 1}'))
    assert json.loads(ask().content) == {"a": 1}
    assert fake.last.json["response_format"] == {"type": "json_object"}


def test_output_parser_result_is_returned(fake):
    @llm.call(provider="cohere", model=MODEL, client=fake.client("cohere"), output_parser=lambda r: r.content.upper())
    def ask() -> str:
        return "x"

    fake.script(Reply(text="quiet"))
    assert ask() == "QUIET"


def test_dynamic_config_call_params_reach_the_body(fake):
    @llm.call(provider="cohere", model=MODEL, client=fake.client("cohere"))
    def ask() -> BaseDynamicConfig:
        return {"messages": [Messages.User("x")], "call_params": {"max_tokens": 3}}

    ask()
    assert fake.last.json["max_tokens"] == 3


def test_async_call_stream_and_tool(fake):
    client = fake.client("cohere")

    @llm.call(provider="cohere", model=MODEL, client=client)
    async def ask(q: str) -> str:
        return q

    @cohere.call(MODEL, client=client, stream=True)
    async def tell(q: str) -> str:
        return q

    @cohere.call(MODEL, client=client, tools=[get_weather])
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
