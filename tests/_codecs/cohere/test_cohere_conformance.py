"""The official Cohere SDK (``cohere.ClientV2``) and minicall, side by side on FakeServer.

Both make the same call; the requests must agree on method, path, auth scheme and the
parsed JSON body, and both must read the same scripted replies (whole and streamed) as
the same content, usage, finish reason and tool arguments.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from shared import Book, get_weather

from minicall.providers import cohere as mc
from minicall.testing import Reply, ToolCallReply
from minicall.testing._reply import RecordedRequest

cohere_sdk = pytest.importorskip("cohere")

pytestmark = [pytest.mark.conformance, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

MODEL = "command-r-plus"


@pytest.fixture()
def sdk(fake):
    return cohere_sdk.ClientV2(
        "test-key",
        base_url=fake.base_url("cohere"),
        max_retries=0,
        log_warning_experimental_features=False,
    )


def same_request(ours: RecordedRequest, theirs: RecordedRequest) -> None:
    assert ours.method == theirs.method == "POST"
    assert ours.path == theirs.path == "/v2/chat"
    assert ours.headers["authorization"] == theirs.headers["authorization"] == "Bearer test-key"
    assert ours.headers["content-type"].startswith("application/json")
    assert theirs.headers["content-type"].startswith("application/json")
    assert ours.json == theirs.json


HISTORY: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                 {"type": "image_url", "image_url": {"url": "data:image/png;base64,cG5nIQ=="}}]},
]


def test_text_call_with_params_sends_the_same_request(fake, sdk):
    @mc.call(MODEL, client=fake.client("cohere"), call_params={"top_p": 0.5, "stop": ["END"], "k": 4, "max_tokens": 30})
    def ask() -> mc.CohereDynamicConfig:
        return {"messages": HISTORY}

    ask()
    ours = fake.last
    sdk.chat(model=MODEL, messages=HISTORY, p=0.5, stop_sequences=["END"], k=4, max_tokens=30)
    same_request(ours, fake.last)


def test_tool_call_and_tool_result_history_send_the_same_requests(fake, sdk):
    @mc.call(MODEL, client=fake.client("cohere"), tools=[get_weather])
    def chat(history: list[Any]) -> mc.CohereDynamicConfig:
        return {"messages": [{"role": "user", "content": "weather in Paris?"}, *history]}

    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="w1")]))
    response = chat([])
    tools = fake.last.json["tools"]
    tool = response.tool
    assert tool is not None
    history = [response.message_param, *response.tool_message_params([(tool, tool.call())])]
    chat(history)
    ours = fake.last
    sdk.chat(model=MODEL, messages=[{"role": "user", "content": "weather in Paris?"}, *history], tools=tools)
    same_request(ours, fake.last)
    assert tools[0]["function"]["parameters"]["properties"]["city"]["type"] == "string"


def test_structured_output_sends_the_same_requests(fake, sdk):
    @mc.call(MODEL, client=fake.client("cohere"), response_model=Book)
    def by_tool() -> str:
        return "Dune, 1965"

    @mc.call(MODEL, client=fake.client("cohere"), response_model=Book, json_mode=True)
    def by_json() -> str:
        return "Dune, 1965"

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]))
    assert by_tool() == Book("Dune", 1965)
    ours = fake.last
    messages = ours.json["messages"]
    sdk.chat(model=MODEL, messages=messages, tools=ours.json["tools"], tool_choice="REQUIRED")
    same_request(ours, fake.last)

    fake.script(Reply(text=json.dumps({"title": "Dune", "year": 1965})))
    assert by_json() == Book("Dune", 1965)
    ours = fake.last
    schema = ours.json["response_format"]["json_schema"]
    sdk.chat(model=MODEL, messages=ours.json["messages"], response_format={"type": "json_object", "json_schema": schema})
    same_request(ours, fake.last)


def test_streams_send_the_same_request(fake, sdk):
    @mc.call(MODEL, client=fake.client("cohere"), stream=True)
    def tell() -> str:
        return "story"

    list(tell())
    ours = fake.last
    list(sdk.chat_stream(model=MODEL, messages=[{"role": "user", "content": "story"}]))
    same_request(ours, fake.last)
    assert ours.json["stream"] is True


REPLIES = [
    Reply(text="Plain answer here.", input_tokens=9, output_tokens=3, cached_tokens=1),
    Reply(text="Checking.", tool_calls=[ToolCallReply("get_weather", {"city": "Oslo"}, id="a"),
                                       ToolCallReply("get_weather", {"city": "Rome"}, id="b")]),
    Reply(text="cut off", finish_reason="length", input_tokens=4, output_tokens=2),
]


def sdk_usage(usage: Any) -> tuple[int, int, int]:
    return int(usage.billed_units.input_tokens), int(usage.billed_units.output_tokens), int(usage.cached_tokens or 0)


@pytest.mark.parametrize("reply", REPLIES)
def test_whole_replies_parse_the_same(fake, sdk, reply):
    @mc.call(MODEL, client=fake.client("cohere"), tools=[get_weather])
    def ask() -> str:
        return "go"

    fake.script(reply, reply)
    ours = ask()
    theirs = sdk.chat(model=MODEL, messages=[{"role": "user", "content": "go"}])
    their_text = "".join(c.text for c in theirs.message.content or [] if c.type == "text")
    assert ours.content == their_text
    assert ours.finish_reasons == [theirs.finish_reason]
    assert ours.id == theirs.id.replace("000002", "000001")
    assert ours.usage is not None
    assert (ours.usage.input_tokens, ours.usage.output_tokens, ours.usage.cached_tokens) == sdk_usage(theirs.usage)
    their_args = [json.loads(c.function.arguments) for c in theirs.message.tool_calls or []]
    assert [t.args for t in ours.tools or []] == their_args
    assert [t.id for t in ours.tools or []] == [c.id for c in theirs.message.tool_calls or []]


@pytest.mark.parametrize("reply", REPLIES)
def test_streamed_replies_parse_the_same(fake, sdk, reply):
    @mc.call(MODEL, client=fake.client("cohere"), tools=[get_weather], stream=True)
    def ask() -> str:
        return "go"

    fake.script(reply, reply)
    stream = ask()
    our_tools = [tool.args for _, tool in stream if tool is not None]
    text: list[str] = []
    args: dict[int, str] = {}
    finish = None
    usage = None
    for event in sdk.chat_stream(model=MODEL, messages=[{"role": "user", "content": "go"}]):
        if event.type == "content-delta":
            text.append(event.delta.message.content.text or "")
        elif event.type == "tool-call-start":
            args[event.index] = event.delta.message.tool_calls.function.arguments or ""
        elif event.type == "tool-call-delta":
            args[event.index] += event.delta.message.tool_calls.function.arguments or ""
        elif event.type == "message-end":
            finish, usage = event.delta.finish_reason, event.delta.usage
    assert stream.content == "".join(text) == reply.text
    assert stream.finish_reasons == [finish]
    assert stream.usage is not None
    assert (stream.usage.input_tokens, stream.usage.output_tokens, stream.usage.cached_tokens) == sdk_usage(usage)
    assert our_tools == [json.loads(args[i]) for i in sorted(args)]
