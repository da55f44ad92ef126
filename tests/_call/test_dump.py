"""model_dump() / model_dump_json() on responses, constructed stream responses and chunks:
Mirascope's keys, plain JSON-able data, no secret, sync and async, over FakeServer."""

from __future__ import annotations

import asyncio
import base64
import enum
import importlib
import json
from dataclasses import dataclass
from typing import Any

import pytest

import minicall
from minicall import BaseDynamicConfig, llm, prompt_template
from minicall._call.dump import RESPONSE_KEYS, plain
from minicall.providers import anthropic, openai
from minicall.testing import Reply, ToolCallReply

# The keys of a Mirascope v1.25.7 BaseCallResponse.model_dump(): its fields, then its
# computed fields, in declaration order.
MIRASCOPE_KEYS = [
    "metadata", "response", "tool_types", "prompt_template", "fn_args", "dynamic_config", "messages",
    "call_params", "call_kwargs", "user_message_param", "start_time", "end_time", "content",
    "finish_reasons", "model", "id", "input_tokens", "cached_tokens", "output_tokens", "cost_metadata",
    "cost", "message_param",
]


def get_weather(city: str) -> str:
    """Get the weather.

    Args:
        city: The city.
    """
    return f"sunny in {city}"


def test_the_dump_has_mirascopes_keys_in_order_and_round_trips_through_json(fake):
    assert list(RESPONSE_KEYS) == MIRASCOPE_KEYS
    client = fake.client("openai", api_key="sk-secret-value")

    @llm.call(provider="openai", model="gpt-4o-mini", tools=[get_weather], call_params={"temperature": 0.5})
    @prompt_template("SYSTEM: You are a {role}.\nUSER: Weather in {city}?")
    def ask(city: str, role: str = "forecaster") -> BaseDynamicConfig:
        return {"metadata": {"tags": {"v1"}}, "client": client}

    fake.script(Reply(text="Let me check.", tool_calls=[ToolCallReply("get_weather", {"city": "Oslo"}, id="c1")],
                      input_tokens=10, output_tokens=5))
    response = ask("Oslo")
    dumped = response.model_dump()
    assert list(dumped) == MIRASCOPE_KEYS
    assert json.loads(json.dumps(dumped)) == dumped  # plain data, nothing json cannot take
    assert dumped["metadata"] == {"tags": ["v1"]}
    assert dumped["tool_types"] == [{"type": "function", "name": "get_weather"}]
    assert dumped["prompt_template"].startswith("SYSTEM: You are a {role}.")
    assert dumped["fn_args"] == {"city": "Oslo", "role": "forecaster"}
    assert dumped["messages"] == [
        {"role": "system", "content": "You are a forecaster."},
        {"role": "user", "content": "Weather in Oslo?"},
    ]
    assert dumped["user_message_param"] == {"role": "user", "content": "Weather in Oslo?"}
    assert dumped["call_params"] == {"temperature": 0.5}
    assert dumped["call_kwargs"] == fake.last.json
    assert dumped["response"]["object"] == "chat.completion"
    assert dumped["content"] == "Let me check." and dumped["finish_reasons"] == ["tool_calls"]
    assert (dumped["input_tokens"], dumped["output_tokens"], dumped["cached_tokens"]) == (10, 5, 0)
    assert dumped["cost_metadata"] == {"input_tokens": 10, "output_tokens": 5, "cached_tokens": 0}
    assert dumped["cost"] == response.cost and dumped["start_time"] <= dumped["end_time"]
    assert dumped["message_param"]["role"] == "assistant"
    assert dumped["message_param"]["content"][1] == {
        "id": "c1", "name": "get_weather", "args": {"city": "Oslo"}, "signature": None, "unparsed": None,
        "type": "tool_call",
    }
    # The client in the dynamic config is shown by its repr, which holds no key.
    assert "sk-secret-value" not in response.model_dump_json()
    assert dumped["dynamic_config"]["client"].startswith("OpenAIClient(")


def test_provider_responses_dump_native_messages_and_json_is_compact_or_indented(fake):
    @anthropic.call("claude-3-5-sonnet-latest", client=fake.client("anthropic"))
    async def ask(question: str) -> str:
        return question

    response = asyncio.run(ask("hi"))
    dumped = response.model_dump()
    assert dumped["messages"] == [{"role": "user", "content": "hi"}]
    assert dumped["message_param"] == {"role": "assistant", "content": [{"type": "text", "text": "echo: hi"}]}
    assert dumped["finish_reasons"] == ["end_turn"] and dumped["response"]["type"] == "message"
    assert dumped["tool_types"] == [] and dumped["dynamic_config"] is None
    compact = response.model_dump_json()
    assert json.loads(compact) == dumped and ", " not in compact.split('"content"')[0]
    assert response.model_dump_json(indent=2).startswith('{\n  "metadata": {}')


def test_openai_family_responses_add_mirascopes_audio_keys(fake):
    # Mirascope's OpenAICallResponse (and xAI's and LiteLLM's, built on it) has audio and
    # audio_transcript as computed fields after message_param; the others do not.
    @openai.call("gpt-4o-audio-preview", client=fake.client("openai"))
    def speak() -> str:
        return "Say hi"

    fake.script(Reply(audio=b"RIFF0000WAVE", audio_transcript="hi"))
    dumped = speak().model_dump()
    assert list(dumped) == [*MIRASCOPE_KEYS, "audio", "audio_transcript"]
    assert dumped["audio"] == base64.b64encode(b"RIFF0000WAVE").decode() and dumped["audio_transcript"] == "hi"
    for provider, model in (("xai", "grok-3"), ("litellm", "gpt-4o-mini")):
        module = importlib.import_module(f"minicall.providers.{provider}")

        @module.call(model, client=fake.client(provider))
        def native() -> str:
            return "hi"

        assert list(native().model_dump()) == [*MIRASCOPE_KEYS, "audio", "audio_transcript"]
        assert native().model_dump()["audio"] is None

    @anthropic.call("claude-3-5-sonnet-latest", client=fake.client("anthropic"))
    def other() -> str:
        return "hi"

    assert list(other().model_dump()) == MIRASCOPE_KEYS


def test_include_exclude_and_exclude_none_pick_keys(fake):
    @openai.call("gpt-4o-mini", client=fake.client("openai"))
    def ask() -> str:
        return "hi"

    response = ask()
    assert response.model_dump(include={"content", "model"}) == {"content": "echo: hi", "model": "gpt-4o-mini"}
    assert "response" not in response.model_dump(exclude={"response"})
    assert "prompt_template" not in response.model_dump(exclude_none=True)
    assert response.model_dump(mode="json") == response.model_dump()


@pytest.mark.parametrize("is_async", [False, True])
def test_streams_dump_their_chunks_and_the_constructed_response(fake, is_async):
    client = fake.client("openai")
    fake.script(Reply(text="one two three", input_tokens=3, output_tokens=3))

    if is_async:

        @llm.call(provider="openai", model="gpt-4o-mini", stream=True, client=client)
        async def tell_async() -> str:
            return "count"

        async def run() -> tuple[Any, list[Any]]:
            stream = await tell_async()
            return stream, [chunk async for chunk, _ in stream]

        stream, chunks = asyncio.run(run())
    else:

        @llm.call(provider="openai", model="gpt-4o-mini", stream=True, client=client)
        def tell() -> str:
            return "count"

        stream = tell()
        chunks = [chunk for chunk, _ in stream]
    first = chunks[0].model_dump()
    assert list(first) == ["chunk"] and first["chunk"]["object"] == "chat.completion.chunk"
    assert json.loads(chunks[0].model_dump_json()) == first
    dumped = stream.construct_call_response().model_dump()
    assert list(dumped) == MIRASCOPE_KEYS
    assert dumped["content"] == "one two three" and dumped["output_tokens"] == 3
    assert dumped["message_param"] == {"role": "assistant", "content": [{"text": "one two three", "type": "text"}]}


class Color(enum.Enum):
    RED = "red"


@dataclass
class Shelf:
    name: str
    picture: bytes


def test_plain_turns_every_value_into_json_data():
    pydantic = pytest.importorskip("pydantic")

    class Book(pydantic.BaseModel):
        title: str

    loop: list[Any] = []
    loop.append(loop)
    value = {
        1: Color.RED, "set": frozenset({2}), "shelf": Shelf("a", b"\x00\xff"), "book": Book(title="t"),
        "fn": get_weather, "cls": Shelf, "tool": minicall.BaseTool, "obj": object, "other": 3 + 4j,
        "image": minicall.ImagePart("image/png", image=b"png"), "loop": loop,
    }
    out = plain(value)
    json.dumps(out)
    assert out["1"] == "red" and out["set"] == [2]
    assert out["shelf"] == {"name": "a", "picture": "AP8="}
    assert out["book"] == {"title": "t"}
    assert out["fn"] == "get_weather" and out["cls"] == "Shelf" and out["obj"] == "object"
    assert out["tool"] == {"type": "function", "name": "BaseTool"}
    assert out["other"] == "(3+4j)"
    assert out["image"] == {"media_type": "image/png", "image": "cG5n", "url": None, "detail": None, "type": "image"}
    assert "..." in json.dumps(out["loop"])  # cut off, not a RecursionError
