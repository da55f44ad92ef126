"""Anthropic end to end: real loopback HTTP through FakeServer, via llm.call and anthropic.call."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from shared import ERROR_STATUSES, Book, get_weather

import minicall
from minicall import BaseDynamicConfig, Messages, llm
from minicall.providers import anthropic
from minicall.testing import ErrorReply, FakeServer, Reply, ThinkingReply, ToolCallReply

MODEL = "claude-3-5-sonnet-latest"


# -- simple calls ------------------------------------------------------------------------


def test_simple_call_through_llm_sends_messages_api_request(fake):
    @llm.call(provider="anthropic", model=MODEL, client=fake.client("anthropic"))
    def recommend_book(genre: str) -> str:
        return f"Recommend a {genre} book"

    fake.script(Reply(text="Try The Hobbit.", input_tokens=12, output_tokens=4, cached_tokens=2))
    response = recommend_book("fantasy")
    assert isinstance(response, llm.CallResponse)
    assert response.content == "Try The Hobbit."
    assert response.provider == "anthropic"
    assert response.finish_reasons == ["stop"]
    assert response.usage == minicall.Usage(12, 4, 2, 16)
    assert response.cost is not None and response.cost > 0
    assert response.id and response.id.startswith("msg_")
    assert response.message_param == Messages.Assistant([minicall.TextPart("Try The Hobbit.")])
    sent = fake.last
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "test-key"
    assert "authorization" not in sent.headers
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.json == {
        "model": MODEL,
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Recommend a fantasy book"}],
    }
    assert response.response["usage"]["cache_read_input_tokens"] == 2


def test_provider_module_speaks_native_messages_and_stop_reasons(fake):
    @anthropic.call(MODEL, client=fake.client("anthropic"))
    def recommend_book(genre: str) -> anthropic.AnthropicDynamicConfig:
        return {"messages": [{"role": "user", "content": f"Recommend a {genre} book"}]}

    response = recommend_book("fantasy")
    assert isinstance(response, anthropic.AnthropicCallResponse)
    assert response.content == "echo: Recommend a fantasy book"
    assert response.finish_reasons == ["end_turn"]
    assert response.message_param == {
        "role": "assistant",
        "content": [{"type": "text", "text": "echo: Recommend a fantasy book"}],
    }
    assert response.response["type"] == "message"


def test_system_and_multi_turn_history_and_message_param_round_trip(fake):
    client = fake.client("anthropic")

    @anthropic.call(MODEL, client=client)
    def chat(history: list[Any], question: str) -> anthropic.AnthropicDynamicConfig:
        return {
            "messages": [
                {"role": "system", "content": "Be brief."},
                *history,
                {"role": "user", "content": question},
            ]
        }

    first = chat([], "hi")
    second = chat([first.user_message_param, first.message_param], "and then?")
    assert second.content == "echo: and then?"
    assert fake.last.json["system"] == "Be brief."
    assert fake.last.json["messages"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "echo: hi"}]},
        {"role": "user", "content": "and then?"},
    ]


def test_neutral_system_messages_are_lifted_out(fake):
    @llm.call(provider="anthropic", model=MODEL, client=fake.client("anthropic"))
    def chat(question: str) -> list[minicall.Message]:
        return [
            Messages.System("Be brief."),
            Messages.User("Hello"),
            Messages.Assistant("Hi!"),
            Messages.User(question),
        ]

    chat("2+2?")
    assert fake.last.json["system"] == "Be brief."
    assert fake.last.json["messages"] == [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi!"},
        {"role": "user", "content": "2+2?"},
    ]


def test_native_and_common_call_params_reach_the_body(fake):
    client = fake.client("anthropic")

    @llm.call(
        provider="anthropic",
        model=MODEL,
        client=client,
        call_params={
            "temperature": 0.2,
            "max_tokens": 77,
            "stop": ["END"],
            "seed": 3,
            "presence_penalty": 1.0,
        },
    )
    def ask(q: str) -> BaseDynamicConfig:
        return {"messages": [Messages.User(q)], "call_params": {"top_k": 5}}

    ask("x")
    body = fake.last.json
    assert (body["temperature"], body["max_tokens"], body["stop_sequences"], body["top_k"]) == (
        0.2,
        77,
        ["END"],
        5,
    )
    assert "seed" not in body and "presence_penalty" not in body and "stop" not in body

    @anthropic.call(MODEL, client=client, call_params={"top_p": 0.5, "metadata": {"user_id": "u1"}})
    def native(q: str) -> str:
        return q

    native("y")
    assert fake.last.json["top_p"] == 0.5 and fake.last.json["metadata"] == {"user_id": "u1"}


def test_image_input_becomes_a_base64_image_block(fake):
    png = b"\x89PNG\r\n\x1a\n fake"

    @llm.call(provider="anthropic", model=MODEL, client=fake.client("anthropic"))
    def describe() -> list[minicall.Message]:
        return [
            Messages.User(
                [minicall.TextPart("What is this?"), minicall.ImagePart("image/png", image=png)]
            )
        ]

    describe()
    content = fake.last.json["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "What is this?"}
    assert content[1]["type"] == "image"
    assert content[1]["source"]["media_type"] == "image/png"
    assert base64.b64decode(content[1]["source"]["data"]) == png


def test_custom_client_via_decorator_and_via_dynamic_config(fake):
    with FakeServer() as other:
        use_dynamic = [True]

        @anthropic.call(
            MODEL, client=fake.client("anthropic", version="2099-01-01", betas=["b1", "b2"])
        )
        def ask(q: str) -> anthropic.AnthropicDynamicConfig:
            config: anthropic.AnthropicDynamicConfig = {
                "messages": [{"role": "user", "content": q}]
            }
            if use_dynamic[0]:
                config["client"] = other.client("anthropic", auth_token="tok-1", api_key=None)
            return config

        ask("one")
        use_dynamic[0] = False
        ask("two")
        assert [r.json["messages"][0]["content"] for r in other.requests] == ["one"]
        assert [r.json["messages"][0]["content"] for r in fake.requests] == ["two"]
        assert fake.last.headers["anthropic-version"] == "2099-01-01"
        assert fake.last.headers["anthropic-beta"] == "b1,b2"
        assert other.last.headers["authorization"] == "Bearer tok-1"
        assert "x-api-key" not in other.last.headers


def test_missing_credential_names_both_variables_before_any_io(fake, monkeypatch):

    @llm.call(provider="anthropic", model=MODEL)
    def ask(q: str) -> str:
        return q

    with pytest.raises(minicall.ConfigurationError, match="ANTHROPIC_API_KEY") as info:
        ask("hi")
    assert "ANTHROPIC_AUTH_TOKEN" in str(info.value)
    assert fake.requests == []


def test_env_client_reads_key_token_and_base_url(fake, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "env-token")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url("anthropic"))
    client = anthropic.AnthropicClient()
    assert "env-token" not in repr(client)
    assert client.auth_headers() == {"Authorization": "Bearer env-token"}
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    assert anthropic.AnthropicClient().auth_headers() == {"x-api-key": "env-key"}
    assert anthropic.AnthropicClient.is_configured()

    @anthropic.call(MODEL)
    def ask() -> str:
        return "hi"

    assert ask().content == "echo: hi"
    assert fake.last.headers["x-api-key"] == "env-key"


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        *ERROR_STATUSES,
        (529, minicall.InternalServerError),
    ],
)
def test_error_statuses_map_to_typed_errors_with_the_providers_message(
    fake, sleeps, status, error_type
):
    @llm.call(provider="anthropic", model=MODEL, client=fake.client("anthropic", max_retries=0))
    def ask() -> str:
        return "hi"

    fake.script(ErrorReply(status, f"words for {status}"))
    with pytest.raises(error_type) as info:
        ask()
    assert info.value.status_code == status
    assert info.value.message == f"words for {status}"
    assert info.value.provider == "anthropic"
    assert info.value.request_id == "req_fake000001"
    assert info.value.body["type"] == "error"
    assert "test-key" not in repr(info.value) and "test-key" not in str(info.value.headers)


def test_retry_after_header_is_honoured_on_429(fake, sleeps):
    @anthropic.call(MODEL, client=fake.client("anthropic"))
    def ask() -> str:
        return "hi"

    fake.script(ErrorReply(429, "slow down", headers={"retry-after": "3"}), Reply(text="done"))
    assert ask().content == "done"
    assert sleeps == [3.0]
    assert len(fake.requests) == 2


def test_overloaded_529_is_retried_then_succeeds(fake, sleeps):
    @anthropic.call(MODEL, client=fake.client("anthropic"))
    def ask() -> str:
        return "hi"

    fake.script(ErrorReply(529, "Overloaded"), Reply(text="done"))
    assert ask().content == "done"
    assert len(sleeps) == 1


# -- streams -----------------------------------------------------------------------------


def test_stream_concatenates_to_the_non_stream_content_with_usage_and_finish(fake):
    client = fake.client("anthropic")
    reply = Reply(text="Once upon a time there was a fox.", input_tokens=3, output_tokens=8)

    @llm.call(provider="anthropic", model=MODEL, client=client, stream=True)
    def tell() -> str:
        return "story"

    @llm.call(provider="anthropic", model=MODEL, client=client)
    def tell_whole() -> str:
        return "story"

    fake.script(reply, reply)
    stream = tell()
    assert fake.requests == []
    pieces = [chunk.content for chunk, tool in stream if tool is None]
    assert len([p for p in pieces if p]) > 1
    whole = tell_whole()
    assert "".join(pieces) == stream.content == whole.content
    assert stream.usage == whole.usage == minicall.Usage(3, 8, 0, 11)
    assert stream.finish_reasons == whole.finish_reasons == ["stop"]
    assert fake.requests[0].json["stream"] is True
    final = stream.construct_call_response()
    assert final.content == whole.content and final.usage == whole.usage
    assert stream.message_param == Messages.Assistant([minicall.TextPart(whole.content)])


def test_provider_stream_keeps_native_stop_reason_and_message_param(fake):
    @anthropic.call(MODEL, client=fake.client("anthropic"), stream=True)
    def tell() -> str:
        return "a b c"

    stream = tell()
    chunks = [chunk for chunk, _ in stream]
    assert isinstance(chunks[0], anthropic.AnthropicCallResponseChunk)
    assert stream.finish_reasons == ["end_turn"]
    assert stream.message_param == {
        "role": "assistant",
        "content": [{"type": "text", "text": "echo: a b c"}],
    }


def test_stream_tool_calls_are_assembled_from_pieces(fake):
    @llm.call(
        provider="anthropic",
        model=MODEL,
        client=fake.client("anthropic"),
        stream=True,
        tools=[Book],
    )
    def ask() -> str:
        return "x"

    fake.script(
        Reply(
            text="Two books:",
            tool_calls=[
                ToolCallReply("Book", {"title": "Dune", "year": 1965}),
                ToolCallReply("Book", {"title": "Emma", "year": 1815}),
            ],
        )
    )
    stream = ask()
    tools = [tool for _, tool in stream if tool is not None]
    assert [t.args for t in tools] == [
        {"title": "Dune", "year": 1965},
        {"title": "Emma", "year": 1815},
    ]
    assert stream.content == "Two books:"
    assert stream.finish_reasons == ["tool_calls"]


def test_stream_dropped_midway_keeps_partial_content(fake):
    @llm.call(provider="anthropic", model=MODEL, client=fake.client("anthropic"), stream=True)
    def tell() -> str:
        return "x"

    fake.script(Reply(text="one two three four five six", drop_after_events=6))
    stream = tell()
    seen = []
    with pytest.raises(minicall.MinicallError) as info:
        for chunk, _ in stream:
            seen.append(chunk.content)
    assert info.value.partial == "".join(seen)
    assert stream.content == info.value.partial
    assert info.value.partial.startswith("one")


def test_stream_error_event_raises_overloaded_with_partial(fake):
    @anthropic.call(MODEL, client=fake.client("anthropic"), stream=True)
    def tell() -> str:
        return "x"

    fake.script(
        Reply(
            text="alpha beta gamma delta", stream_error_after=5, stream_error_message="Overloaded"
        )
    )
    with pytest.raises(minicall.InternalServerError, match="Overloaded") as info:
        for _ in tell():
            pass
    assert info.value.status_code == 529
    assert info.value.partial and info.value.partial.startswith("alpha")


# -- extended thinking -------------------------------------------------------------------

THINKING_REPLY = Reply(
    text="Let me check.",
    thinking=[ThinkingReply("The user wants the weather in Paris.", "sig_abc"), ThinkingReply(redacted="ENCRYPTED==")],
    tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="toolu_1")],
)
THINKING_TURN = {
    "role": "assistant",
    "content": [
        {"type": "thinking", "thinking": "The user wants the weather in Paris.", "signature": "sig_abc"},
        {"type": "redacted_thinking", "data": "ENCRYPTED=="},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
    ],
}
THINKING_PARAMS: anthropic.AnthropicCallParams = {"max_tokens": 2048, "thinking": {"type": "enabled", "budget_tokens": 1024}}


@pytest.mark.parametrize("module", ["anthropic", "llm"])
def test_streamed_thinking_reply_gives_the_message_param_of_the_whole_reply(fake, module):
    client = fake.client("anthropic")
    if module == "anthropic":
        whole_call = anthropic.call(MODEL, client=client, tools=[get_weather], call_params=THINKING_PARAMS)
        stream_call = anthropic.call(MODEL, client=client, tools=[get_weather], call_params=THINKING_PARAMS, stream=True)
    else:
        whole_call = llm.call(provider="anthropic", model=MODEL, client=client, tools=[get_weather])
        stream_call = llm.call(provider="anthropic", model=MODEL, client=client, tools=[get_weather], stream=True)

    @whole_call
    def ask() -> str:
        return "weather in Paris?"

    @stream_call
    def ask_streamed() -> str:
        return "weather in Paris?"

    fake.script(THINKING_REPLY, THINKING_REPLY)
    whole = ask()
    stream = ask_streamed()
    tools = [tool for _, tool in stream if tool is not None]
    assert [t.args for t in tools] == [{"city": "Paris"}]
    assert stream.message_param == whole.message_param
    assert stream.construct_call_response().message_param == whole.message_param
    if module == "anthropic":
        assert whole.message_param == THINKING_TURN
    else:  # the neutral turn keeps what a whole reply's does: its text and tool calls
        assert whole.message_param == Messages.Assistant(
            [minicall.TextPart("Let me check."), minicall.ToolCallPart("toolu_1", "get_weather", {"city": "Paris"})]
        )


def test_thinking_blocks_of_a_streamed_turn_go_back_unchanged_in_the_next_request(fake):
    @anthropic.call(MODEL, client=fake.client("anthropic"), tools=[get_weather], call_params=THINKING_PARAMS, stream=True)
    def chat(history: list[Any]) -> anthropic.AnthropicDynamicConfig:
        return {"messages": [{"role": "user", "content": "weather in Paris?"}, *history]}

    fake.script(THINKING_REPLY, Reply(text="Sunny."))
    stream = chat([])
    outputs = [(tool, tool.call()) for _, tool in stream if tool is not None]
    history = [stream.message_param, *stream.tool_message_params(outputs)]
    assert "".join(chunk.content for chunk, _ in chat(history)) == "Sunny."
    assert fake.last.json["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert fake.last.json["messages"][1:] == [
        THINKING_TURN,
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny in Paris"}]},
    ]


def test_async_streamed_thinking_turn_is_the_whole_replys_turn(fake):
    @anthropic.call(MODEL, client=fake.client("anthropic"), tools=[get_weather], stream=True)
    async def ask() -> str:
        return "weather in Paris?"

    async def main() -> Any:
        stream = await ask()
        tools = [tool async for _, tool in stream if tool is not None]
        assert len(tools) == 1
        return stream.message_param

    fake.script(THINKING_REPLY)
    assert asyncio.run(main()) == THINKING_TURN


# -- tools and structured output ---------------------------------------------------------


def test_tool_call_round_trip_sends_tool_results_in_a_user_turn(fake):
    client = fake.client("anthropic")

    @anthropic.call(MODEL, client=client, tools=[get_weather])
    def chat(history: list[Any]) -> anthropic.AnthropicDynamicConfig:
        return {"messages": [{"role": "user", "content": "weather in Paris?"}, *history]}

    fake.script(
        Reply(
            text="Let me check.",
            tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="toolu_1")],
        )
    )
    response = chat([])
    tool = response.tool
    assert tool is not None and tool._name() == "get_weather"
    assert tool.args == {"city": "Paris"} and tool.id == "toolu_1"
    assert response.finish_reasons == ["tool_use"]
    assert tool.tool_call["type"] == "tool_use"
    sent_tools = fake.last.json["tools"]
    assert sent_tools[0]["name"] == "get_weather"
    assert sent_tools[0]["input_schema"]["properties"]["city"]["description"] == "The city name."
    assert "tool_choice" not in fake.last.json
    history = [response.message_param, *response.tool_message_params([(tool, tool.call())])]
    chat(history)
    assert fake.last.json["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny in Paris"}
            ],
        },
    ]


def test_parallel_tool_calls_and_neutral_tool_results(fake):
    client = fake.client("anthropic")

    @llm.call(provider="anthropic", model=MODEL, client=client, tools=[get_weather])
    def chat(history: list[Any]) -> list[Any]:
        return [Messages.User("weather in Paris and Rome?"), *history]

    fake.script(
        Reply(
            tool_calls=[
                ToolCallReply("get_weather", {"city": "Paris"}),
                ToolCallReply("get_weather", {"city": "Rome"}),
            ]
        )
    )
    response = chat([])
    assert response.tools is not None and [t.args["city"] for t in response.tools] == [
        "Paris",
        "Rome",
    ]
    results = response.tool_message_params([(t, t.call()) for t in response.tools])
    chat([response.message_param, *results])
    last = fake.last.json["messages"][-1]
    assert last["role"] == "user"
    assert [b["content"] for b in last["content"]] == ["sunny in Paris", "sunny in Rome"]
    assert [b["tool_use_id"] for b in last["content"]] == [t.id for t in response.tools]


def test_response_model_uses_a_forced_tool(fake):
    @llm.call(
        provider="anthropic", model=MODEL, client=fake.client("anthropic"), response_model=Book
    )
    def extract(text: str) -> str:
        return f"Extract the book: {text}"

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]))
    assert extract("Dune, 1965") == Book("Dune", 1965)
    assert fake.last.json["tool_choice"] == {"type": "tool", "name": "Book"}
    assert fake.last.json["tools"][0]["name"] == "Book"


def test_response_model_with_json_mode_puts_the_schema_instruction_in_system(fake):
    @anthropic.call(MODEL, client=fake.client("anthropic"), response_model=Book, json_mode=True)
    def extract(text: str) -> str:
        return f"Extract the book: {text}"

    fake.script(Reply(text=json.dumps({"title": "Dune", "year": 1965})))
    assert extract("Dune") == Book("Dune", 1965)
    body = fake.last.json
    assert "title" in body["system"] and "JSON" in body["system"]
    assert "tool_choice" not in body and "output_config" not in body


def test_json_mode_without_model_asks_for_json_in_system(fake):
    @llm.call(provider="anthropic", model=MODEL, client=fake.client("anthropic"), json_mode=True)
    def ask() -> list[minicall.Message]:
        return [Messages.System("You are terse."), Messages.User("Give me JSON")]

    fake.script(Reply(text='{"a": 1}'))
    assert json.loads(ask().content) == {"a": 1}
    system = fake.last.json["system"]
    assert system.startswith("You are terse.\n\n") and "JSON" in system


def test_output_parser_result_is_returned(fake):
    @anthropic.call(
        MODEL, client=fake.client("anthropic"), output_parser=lambda r: r.content.upper()
    )
    def ask() -> str:
        return "hi"

    assert ask() == "ECHO: HI"


# -- async -------------------------------------------------------------------------------


def test_async_call_stream_and_tool_call(fake):
    client = fake.client("anthropic")

    @llm.call(provider="anthropic", model=MODEL, client=client)
    async def ask(q: str) -> str:
        return q

    @anthropic.call(MODEL, client=client, stream=True)
    async def tell(q: str) -> str:
        return q

    @anthropic.call(MODEL, client=client, tools=[get_weather])
    async def weather() -> str:
        return "weather in Oslo?"

    async def main() -> tuple[str, str, str, Any]:
        response = await ask("hello")
        stream = await tell("a b c")
        text = "".join([chunk.content async for chunk, _ in stream])
        fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Oslo"})]))
        tooled = await weather()
        assert tooled.tool is not None
        return response.content, text, tooled.tool.call(), stream.usage

    content, text, tool_output, usage = asyncio.run(main())
    assert (content, text, tool_output) == ("echo: hello", "echo: a b c", "sunny in Oslo")
    assert usage is not None and usage.output_tokens == 4
