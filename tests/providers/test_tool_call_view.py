"""``tool.tool_call`` reads as the official SDK's object for every provider (attribute
names as the SDK has them), stays a dict, and is read-only: called, streamed, async."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest
from shared import get_weather

from minicall import llm
from minicall._call.registry import PROVIDERS
from minicall._call.tool_call import ToolCallView, native_call
from minicall._cli.demo import MODELS
from minicall._model.messages import ToolCallPart
from minicall.providers import openai
from minicall.testing import FakeServer, Reply, ToolCallReply

ARGS = {"city": "Paris"}
CHAT_FAMILY = {"openai", "groq", "xai", "litellm", "azure", "mistral", "cohere"}


@pytest.fixture(scope="module")
def fake():
    with FakeServer() as server:
        yield server


def _sdk_facts(provider: str, call: Any) -> dict[str, Any]:
    """What Mirascope code reads off each SDK's tool-call object."""
    if provider in CHAT_FAMILY:  # ChatCompletionMessageToolCall, ToolCallV2, ChatCompletionsToolCall ...
        return {"id": call.id, "name": call.function.name, "args": json.loads(call.function.arguments)}
    if provider == "anthropic":  # ToolUseBlock
        assert call.type == "tool_use"
        return {"id": call.id, "name": call.name, "args": call.input}
    if provider == "google":  # genai FunctionCall (the Gemini API sends no id; minicall makes one)
        return {"name": call.name, "args": call.args}
    assert provider == "bedrock"  # ToolUseBlockTypeDef (a dict in boto3; camelCase keys)
    assert call["toolUseId"] == call.tool_use_id
    return {"id": call.tool_use_id, "name": call.name, "args": call.input}


def _weather(provider: str, fake: FakeServer, **kwargs: Any) -> Any:
    decorate = llm.call(provider=provider, model=MODELS[provider], client=fake.client(provider), tools=[get_weather],
                        **kwargs)  # type: ignore[call-overload]

    def ask(city: str) -> str:
        return f"Weather in {city}?"

    return decorate(ask)


@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_has_the_sdk_attribute_names(fake, provider, stream):
    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", ARGS, id="call_7")]), provider=provider)
    ask = _weather(provider, fake, stream=stream)
    if stream:
        tools = [tool for _, tool in ask("Paris") if tool is not None]
    else:
        tools = ask("Paris").tools or []
    [tool] = tools
    call = tool.tool_call
    assert isinstance(call, ToolCallView) and isinstance(call, dict)
    expected = {"name": "get_weather", "args": ARGS}
    assert _sdk_facts(provider, call) == (expected if provider == "google" else {"id": "call_7", **expected})
    json.dumps(call)  # still plain JSON


def test_streamed_and_unstreamed_views_are_the_same_json(fake):
    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", ARGS, id="call_9")]), provider="anthropic")
    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", ARGS, id="call_9")]), provider="anthropic")
    whole = _weather("anthropic", fake)("Paris").tool.tool_call
    streamed = next(t for _, t in _weather("anthropic", fake, stream=True)("Paris") if t is not None).tool_call
    assert whole == streamed == {"type": "tool_use", "id": "call_9", "name": "get_weather", "input": ARGS}


def test_async_provider_call_tool_call_view(fake):
    @openai.call("gpt-4o-mini", client=fake.client("openai"), tools=[get_weather])
    async def ask(city: str) -> str:
        return f"Weather in {city}?"

    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", ARGS, id="call_a")]), provider="openai")
    tool = asyncio.run(ask("Paris")).tool
    assert tool.tool_call.function.name == "get_weather" and tool.tool_call.type == "function"
    assert tool.tool_call["function"]["arguments"] == json.dumps(ARGS, separators=(",", ":"))


def test_the_view_is_read_only_copyable_and_names_missing_attributes():
    view = ToolCallView({"id": "c", "function": {"name": "f"}, "items_": [{"a": 1}]})
    for mutate in (lambda: view.__setitem__("id", "x"), lambda: view.update(id="x"), lambda: view.pop("id"),
                   lambda: view.setdefault("z", 1), view.clear, view.popitem, lambda: setattr(view, "id", "x"),
                   lambda: view.function.__setitem__("name", "g"), lambda: delattr(view, "id"),
                   lambda: view.__delitem__("id")):
        with pytest.raises(TypeError, match="read-only"):
            mutate()
    assert view == {"id": "c", "function": {"name": "f"}, "items_": [{"a": 1}]}
    assert view.items_[0].a == 1
    with pytest.raises(AttributeError, match="has no 'nope'.*'id', 'function'"):
        _ = view.nope
    with pytest.raises(AttributeError):
        _ = view._private
    assert copy.deepcopy(view).function.name == "f" and dict(view)["id"] == "c"


def test_native_call_falls_back_to_the_call_when_the_turn_has_another_shape():
    class OddCodec:
        def native_assistant(self, message: Any) -> dict[str, Any]:
            return {"content": "no tool calls here"}

    call = ToolCallPart("c1", "get_weather", ARGS)
    assert native_call(OddCodec(), "openai", call) is call  # type: ignore[arg-type]
    assert native_call(OddCodec(), "anthropic", call) is call  # type: ignore[arg-type]
