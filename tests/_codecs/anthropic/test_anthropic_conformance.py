"""The official Anthropic SDK and minicall, side by side on FakeServer.

Both make the same call; the requests must agree on method, path, auth scheme,
``anthropic-version`` and the parsed JSON body, and both must read the same scripted
replies (whole and streamed) as the same content, usage, stop reason and tool input.

SDK drift (PROVIDERS.md section 2): anthropic 2.x sends an API key as ``Authorization:
Bearer`` and its own ``anthropic-version``; 0.x sent ``X-Api-Key`` and ``2023-06-01``.
So both sides authenticate with a bearer ``auth_token`` (the same header in every
version), and minicall is given the SDK's version string through its ``version``
option, which the headers must then agree on.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from shared import Book, get_weather

from minicall import llm
from minicall.providers import anthropic as mc
from minicall.testing import ErrorReply, RawReply, Reply, ThinkingReply, ToolCallReply
from minicall.testing._reply import RecordedRequest

anthropic_sdk = pytest.importorskip("anthropic")

pytestmark = [pytest.mark.conformance, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

MODEL = "claude-3-5-sonnet-latest"
TOKEN = "tok-test"


def _sdk_version_header() -> str:
    from anthropic import _constants

    return str(getattr(_constants, "ANTHROPIC_API_VERSION", "2023-06-01"))


SDK_VERSION = _sdk_version_header()



@pytest.fixture()
def sdk(fake):
    return anthropic_sdk.Anthropic(
        auth_token=TOKEN, base_url=fake.base_url("anthropic"), max_retries=0
    )


@pytest.fixture()
def client(fake):
    return fake.client(
        "anthropic", api_key=None, auth_token=TOKEN, version=SDK_VERSION, max_retries=0
    )


def same_request(ours: RecordedRequest, theirs: RecordedRequest) -> None:
    assert ours.method == theirs.method == "POST"
    assert ours.path == theirs.path == "/v1/messages"
    assert ours.headers["authorization"] == theirs.headers["authorization"] == f"Bearer {TOKEN}"
    assert "x-api-key" not in ours.headers and "x-api-key" not in theirs.headers
    assert ours.headers["anthropic-version"] == theirs.headers["anthropic-version"] == SDK_VERSION
    assert ours.headers["content-type"].startswith("application/json")
    assert theirs.headers["content-type"].startswith("application/json")
    assert ours.json == theirs.json


SYSTEM = "Be brief."
IMAGE = {
    "type": "image",
    "source": {"type": "base64", "media_type": "image/png", "data": "cG5nIQ=="},
}
USER: list[dict[str, Any]] = [
    {"role": "user", "content": [{"type": "text", "text": "What is this?"}, IMAGE]},
]


def test_text_call_with_params_sends_the_same_request(fake, sdk, client):
    @mc.call(
        MODEL,
        client=client,
        call_params={"max_tokens": 30, "stop": ["END"], "metadata": {"user_id": "u1"}},
    )
    def ask() -> mc.AnthropicDynamicConfig:
        return {"messages": [{"role": "system", "content": SYSTEM}, *USER]}

    ask()
    ours = fake.last
    sdk.messages.create(
        model=MODEL,
        max_tokens=30,
        system=SYSTEM,
        messages=USER,
        stop_sequences=["END"],
        metadata={"user_id": "u1"},
    )
    same_request(ours, fake.last)


def test_default_max_tokens_matches_an_sdk_call_with_1024(fake, sdk, client):
    @llm.call(provider="anthropic", model=MODEL, client=client)
    def ask() -> str:
        return "hi"

    ask()
    ours = fake.last
    sdk.messages.create(model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": "hi"}])
    same_request(ours, fake.last)


def test_tool_call_and_forced_tool_send_the_same_request(fake, sdk, client):
    @mc.call(MODEL, client=client, tools=[get_weather])
    def ask() -> str:
        return "weather in Paris?"

    ask()
    ours = fake.last
    tools = ours.json["tools"]
    assert tools[0]["input_schema"]["properties"]["city"]["type"] == "string"
    sdk.messages.create(
        model=MODEL,
        max_tokens=1024,
        messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=tools,
    )
    same_request(ours, fake.last)


def test_structured_output_by_forced_tool_sends_the_same_request(fake, sdk, client):

    @mc.call(MODEL, client=client, response_model=Book)
    def extract() -> str:
        return "Dune, 1965"

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]))
    assert extract() == Book("Dune", 1965)
    ours = fake.last
    sdk.messages.create(
        model=MODEL,
        max_tokens=1024,
        messages=[{"role": "user", "content": "Dune, 1965"}],
        tools=ours.json["tools"],
        tool_choice={"type": "tool", "name": "Book"},
    )
    same_request(ours, fake.last)


def test_tool_history_round_trip_sends_the_same_request(fake, sdk, client):
    @mc.call(MODEL, client=client, tools=[get_weather])
    def chat(history: list[Any]) -> mc.AnthropicDynamicConfig:
        return {"messages": [{"role": "user", "content": "weather?"}, *history]}

    fake.script(
        Reply(
            text="Checking.",
            tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="toolu_1")],
        )
    )
    first = chat([])
    assert first.tool is not None
    history = [first.message_param, *first.tool_message_params([(first.tool, first.tool.call())])]
    chat(history)
    ours = fake.last
    sdk.messages.create(
        model=MODEL,
        max_tokens=1024,
        messages=[
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
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
        ],
        tools=ours.json["tools"],
    )
    same_request(ours, fake.last)


def test_stream_request_is_the_same(fake, sdk, client):
    @mc.call(MODEL, client=client, stream=True)
    def tell() -> str:
        return "a story"

    list(tell())
    ours = fake.last
    with sdk.messages.stream(
        model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": "a story"}]
    ) as s:
        s.get_final_message()
    assert ours.json["stream"] is True
    same_request(ours, fake.last)


# -- parsing the same replies --------------------------------------------------------------

REPLIES = [
    Reply(text="Try The Hobbit.", input_tokens=12, output_tokens=4, cached_tokens=5),
    Reply(
        text="Two calls:",
        tool_calls=[
            ToolCallReply("get_weather", {"city": "Paris"}),
            ToolCallReply("get_weather", {"city": "Rome"}),
        ],
        input_tokens=7,
        output_tokens=9,
    ),
    Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Oslo"})], finish_reason="tool_calls"),
    Reply(text="cut off", finish_reason="length"),
]


def sdk_view(message: Any) -> dict[str, Any]:
    usage = message.usage
    cached = usage.cache_read_input_tokens or 0
    return {
        "content": "".join(b.text for b in message.content if b.type == "text"),
        "tools": [(b.name, b.input) for b in message.content if b.type == "tool_use"],
        "stop": message.stop_reason,
        "usage": (
            usage.input_tokens + (usage.cache_creation_input_tokens or 0) + cached,
            usage.output_tokens,
            cached,
        ),
    }


def minicall_view(response: Any, tools: list[Any]) -> dict[str, Any]:
    usage = response.usage
    return {
        "content": response.content,
        "tools": [(t._name(), t.args) for t in tools],
        "stop": response.finish_reasons[0],
        "usage": (usage.input_tokens, usage.output_tokens, usage.cached_tokens),
    }


@pytest.mark.parametrize("reply", REPLIES)
def test_whole_replies_parse_the_same(fake, sdk, client, reply):
    @mc.call(MODEL, client=client, tools=[get_weather])
    def ask() -> str:
        return "hello there"

    fake.script(reply, reply)
    response = ask()
    ours = minicall_view(response, response.tools or [])
    theirs = sdk_view(
        sdk.messages.create(
            model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": "hello there"}]
        )
    )
    assert ours == theirs


def streamed_with_tools(fake: Any, client: Any, scripted: Any, prompt: str) -> tuple[Any, list[Any]]:
    """A streamed minicall call offering ``get_weather``, iterated; ``scripted`` is the
    reply for it and for the SDK call that follows."""

    @mc.call(MODEL, client=client, tools=[get_weather], stream=True)
    def ask() -> str:
        return prompt

    fake.script(scripted, scripted)
    stream = ask()
    return stream, [tool for _, tool in stream if tool is not None]


@pytest.mark.parametrize("reply", REPLIES)
def test_streamed_replies_parse_the_same(fake, sdk, client, reply):
    stream, tools = streamed_with_tools(fake, client, reply, "hello there")
    ours = minicall_view(stream, tools)
    with sdk.messages.stream(
        model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": "hello there"}]
    ) as s:
        theirs = sdk_view(s.get_final_message())
    assert ours == theirs


# -- extended thinking: the streamed turn, accumulated ----------------------------------------

THINKING_REPLY = Reply(
    text="Checking.",
    thinking=[ThinkingReply("Paris, so call get_weather.", "sig_1"), ThinkingReply(redacted="ENCRYPTED==")],
    tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="toolu_1")],
)
THINKING = {"type": "enabled", "budget_tokens": 1024}
WEATHER_Q = [{"role": "user", "content": "weather?"}]


def _sdk_final(sdk: Any, **kwargs: Any) -> Any:
    with sdk.messages.stream(model=MODEL, max_tokens=2048, messages=WEATHER_Q, **kwargs) as s:
        return s.get_final_message()


def test_streamed_thinking_turn_is_the_message_the_sdk_accumulates(fake, sdk, client):
    @mc.call(MODEL, client=client, tools=[get_weather], call_params={"max_tokens": 2048, "thinking": THINKING})
    def ask() -> str:
        return "weather?"

    @mc.call(MODEL, client=client, tools=[get_weather], call_params={"max_tokens": 2048, "thinking": THINKING}, stream=True)
    def ask_streamed() -> str:
        return "weather?"

    fake.script(THINKING_REPLY, THINKING_REPLY, THINKING_REPLY)
    stream = ask_streamed()
    for _ in stream:
        pass
    final = _sdk_final(sdk, thinking=THINKING, tools=fake.last.json["tools"])
    assert [b.type for b in final.content] == ["thinking", "redacted_thinking", "text", "tool_use"]
    assert stream.message_param["content"] == [b.to_dict() for b in final.content]
    assert stream.message_param == ask().message_param


def test_streamed_thinking_turn_goes_back_as_the_sdk_sends_it(fake, sdk, client):
    params: mc.AnthropicCallParams = {"max_tokens": 2048, "thinking": THINKING}

    @mc.call(MODEL, client=client, tools=[get_weather], call_params=params, stream=True)
    def chat(history: list[Any]) -> mc.AnthropicDynamicConfig:
        return {"messages": [*WEATHER_Q, *history]}

    fake.script(THINKING_REPLY, Reply(text="Sunny."), THINKING_REPLY)
    stream = chat([])
    outputs = [(tool, tool.call()) for _, tool in stream if tool is not None]
    list(chat([stream.message_param, *stream.tool_message_params(outputs)]))
    ours = fake.last
    tools = ours.json["tools"]
    final = _sdk_final(sdk, thinking=THINKING, tools=tools)
    tool_use = final.content[-1]
    results = [{"type": "tool_result", "tool_use_id": tool_use.id, "content": get_weather(**tool_use.input)}]
    with sdk.messages.stream(
        model=MODEL,
        max_tokens=2048,
        thinking=THINKING,
        tools=tools,
        messages=[
            *WEATHER_Q,
            {"role": "assistant", "content": final.content},
            {"role": "user", "content": results},
        ],
    ) as s:
        s.get_final_message()
    same_request(ours, fake.last)


def test_a_stream_of_every_block_kind_accumulates_as_the_sdk_accumulates_it(fake, sdk, client):
    from test_anthropic_stream_blocks import stream_of, whole

    citation = {
        "type": "char_location",
        "cited_text": "It is sunny.",
        "document_index": 0,
        "document_title": None,
        "start_char_index": 0,
        "end_char_index": 12,
    }
    content = [
        {"type": "thinking", "thinking": "Search first, then answer.", "signature": "sig_2"},
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "Paris"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
        {"type": "text", "text": "It is sunny.", "citations": [citation]},
        {"type": "redacted_thinking", "data": "ENCRYPTED=="},
        {"type": "text", "text": "Shall I check Rome?"},
        {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}},
    ]
    body = stream_of(whole(content), [3, 11, 20])
    raw = RawReply(200, {"content-type": "text/event-stream"}, body)
    stream, tools = streamed_with_tools(fake, client, raw, "weather?")
    assert [t.args for t in tools] == [{"city": "Rome"}]  # the server's tool is not the client's
    final = _sdk_final(sdk)
    assert stream.message_param["content"] == [b.to_dict() for b in final.content]
    assert stream.content == "".join(b.text for b in final.content if b.type == "text")


def test_error_status_and_message_agree(fake, sdk, client):
    @mc.call(MODEL, client=client)
    def ask() -> str:
        return "hi"

    fake.script(
        ErrorReply(429, "Number of requests has exceeded your rate limit"),
        ErrorReply(429, "Number of requests has exceeded your rate limit"),
    )
    with pytest.raises(mc.RateLimitError) as ours:
        ask()
    with pytest.raises(anthropic_sdk.RateLimitError) as theirs:
        sdk.messages.create(
            model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": "hi"}]
        )
    assert ours.value.status_code == theirs.value.status_code == 429
    assert ours.value.message == theirs.value.body["error"]["message"]
    # Both read the request id from the ``request-id`` header of their own request.
    assert (ours.value.request_id, theirs.value.request_id) == ("req_fake000001", "req_fake000002")


def test_in_stream_error_is_an_error_on_both_sides(fake, sdk, client):
    @mc.call(MODEL, client=client, stream=True)
    def tell() -> str:
        return "a b c d e"

    reply = Reply(
        text="one two three four", stream_error_after=4, stream_error_message="Overloaded"
    )
    fake.script(reply, reply)
    with pytest.raises(mc.InternalServerError, match="Overloaded"):
        list(tell())
    messages = [{"role": "user", "content": "x"}]
    with (
        pytest.raises(anthropic_sdk.APIStatusError) as theirs,
        sdk.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as s,
    ):
        s.get_final_message()
    assert json.dumps(theirs.value.body).find("overloaded_error") >= 0
