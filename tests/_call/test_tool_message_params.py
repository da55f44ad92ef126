"""``tool_message_params`` is a classmethod, as in Mirascope v1: callable on the class and
on a response alike, with the same messages, for every provider's response class; and on
every stream class and stream, giving that stream's response class's messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from shared import PARALLEL_WEATHER, get_weather

from minicall import ConfigurationError, Message, Messages, ToolResultPart, llm
from minicall._call.registry import PROVIDERS, provider_module
from minicall._call.stream import BaseStream
from minicall._call.tools import convert_tools
from minicall._cli.demo import MODELS
from minicall.testing import FakeServer, Reply, ToolCallReply

# provider -> the name of its response class in minicall.providers.<provider>
RESPONSE_CLASSES = {
    "openai": "OpenAICallResponse",
    "anthropic": "AnthropicCallResponse",
    "google": "GoogleCallResponse",
    "groq": "GroqCallResponse",
    "xai": "XAICallResponse",
    "mistral": "MistralCallResponse",
    "cohere": "CohereCallResponse",
    "litellm": "LiteLLMCallResponse",
    "azure": "AzureCallResponse",
    "bedrock": "BedrockCallResponse",
}


def _tool_round(fake: FakeServer, provider: str, **client_kwargs: Any) -> tuple[Any, Any]:
    """A provider-module call that asks for two tools; its response and the decorated function."""
    module = provider_module(provider)

    @module.call(MODELS[provider], client=fake.client(provider, **client_kwargs), tools=[get_weather])
    def chat(history: list[Any]) -> list[Any]:
        return history

    fake.script(*PARALLEL_WEATHER, provider=provider)
    return chat([Messages.User("Weather in Paris and Rome?")]), chat


def test_every_provider_has_a_response_class_listed_here():
    assert set(RESPONSE_CLASSES) == set(PROVIDERS)


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_class_and_instance_give_the_same_tool_messages_and_the_provider_accepts_them(fake, provider):
    response, chat = _tool_round(fake, provider)
    response_class = getattr(provider_module(provider), RESPONSE_CLASSES[provider])
    assert type(response) is response_class
    outputs = [(tool, tool.call()) for tool in response.tools]

    from_class = response_class.tool_message_params(outputs)
    assert from_class == response.tool_message_params(outputs)
    assert from_class and all(isinstance(m, dict) for m in from_class)  # native dicts

    assert chat([Messages.User("Weather?"), response.message_param, *from_class]).content == "Both sunny."
    sent = json.dumps(fake.last.json)
    assert "sunny in Paris" in sent and "sunny in Rome" in sent


def test_azure_class_messages_match_either_deployment_style(fake):
    response, _ = _tool_round(fake, "azure", deployment_style="openai")
    outputs = [(tool, tool.call()) for tool in response.tools]
    assert provider_module("azure").AzureCallResponse.tool_message_params(outputs) == (
        response.tool_message_params(outputs))


def test_the_neutral_class_gives_neutral_tool_messages(fake):
    @llm.call(provider="anthropic", model=MODELS["anthropic"], client=fake.client("anthropic"), tools=[get_weather])
    def chat(question: str) -> str:
        return question

    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Oslo"}, id="call_o")]),
                provider="anthropic")
    response = chat("Weather in Oslo?")
    outputs = [(response.tool, {"sky": "clear"})]
    messages = llm.CallResponse.tool_message_params(outputs)
    assert messages == response.tool_message_params(outputs)
    assert messages == [Message("tool", [ToolResultPart("call_o", "get_weather", '{"sky": "clear"}')])]


@pytest.mark.parametrize("response_class", [llm.CallResponse, *(
    getattr(provider_module(p), name) for p, name in RESPONSE_CLASSES.items())], ids=lambda c: c.__name__)
def test_no_tool_outputs_give_no_messages(response_class):
    assert response_class.tool_message_params([]) == []


# -- streams ------------------------------------------------------------------------------
# Mirascope v1.25.7: ``BaseStream.tool_message_params(self, ...)`` returns
# ``self.call_response_type.tool_message_params(...)`` and ``llm.Stream`` has it as a
# classmethod returning ``CallResponse.tool_message_params(...)``. minicall's streams have
# it as a classmethod delegating to their response class, which serves both uses.


def _stream_class(provider: str, kind: str = "Stream") -> Any:
    return getattr(provider_module(provider), RESPONSE_CLASSES[provider].replace("CallResponse", kind))


def _streamed_tool_round(fake: FakeServer, provider: str) -> tuple[Any, Any, list[Any]]:
    module = provider_module(provider)

    @module.call(MODELS[provider], client=fake.client(provider), tools=[get_weather], stream=True)
    def chat(history: list[Any]) -> list[Any]:
        return history

    fake.script(*PARALLEL_WEATHER, provider=provider)
    stream = chat([Messages.User("Weather in Paris and Rome?")])
    tools = [tool for _, tool in stream if tool is not None]
    return stream, chat, tools


def _weather_tool(call_id: str) -> Any:
    """A ``get_weather`` tool instance, as a response would build it."""
    (tool_type,) = convert_tools([get_weather])
    return tool_type.from_call(call_id, {"city": "Paris"}, None)


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_stream_class_and_stream_give_the_response_class_tool_messages_and_the_provider_accepts_them(
    fake, provider
):
    stream, chat, tools = _streamed_tool_round(fake, provider)
    assert type(stream) is _stream_class(provider)
    outputs = [(tool, tool.call()) for tool in tools]
    expected = getattr(provider_module(provider), RESPONSE_CLASSES[provider]).tool_message_params(outputs)

    assert expected and stream.tool_message_params(outputs) == expected
    assert _stream_class(provider).tool_message_params(outputs) == expected
    assert _stream_class(provider, "AsyncStream").tool_message_params(outputs) == expected

    follow_up = chat([Messages.User("Weather?"), stream.message_param, *stream.tool_message_params(outputs)])
    assert "".join(chunk.content for chunk, _ in follow_up) == "Both sunny."
    sent = json.dumps(fake.last.json)
    assert "sunny in Paris" in sent and "sunny in Rome" in sent


def test_a_stream_gives_tool_messages_without_building_a_response(fake, monkeypatch):
    stream, _, tools = _streamed_tool_round(fake, "anthropic")

    def no_response() -> Any:
        raise AssertionError("tool_message_params built a whole response")

    monkeypatch.setattr(stream, "construct_call_response", no_response)
    outputs = [(tool, tool.call()) for tool in tools]
    assert stream.tool_message_params(outputs) == [
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_p1", "content": "sunny in Paris"},
            {"type": "tool_result", "tool_use_id": "call_p2", "content": "sunny in Rome"},
        ]}
    ]


def test_the_neutral_stream_classes_give_neutral_tool_messages(fake):
    @llm.call(provider="anthropic", model=MODELS["anthropic"], client=fake.client("anthropic"),
              tools=[get_weather], stream=True)
    def chat(question: str) -> str:
        return question

    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Oslo"}, id="call_o")]),
                provider="anthropic")
    stream = chat("Weather in Oslo?")
    tool = next(tool for _, tool in stream if tool is not None)
    outputs = [(tool, {"sky": "clear"})]
    expected = [Message("tool", [ToolResultPart("call_o", "get_weather", '{"sky": "clear"}')])]
    assert llm.Stream.tool_message_params(outputs) == expected
    assert llm.AsyncStream.tool_message_params(outputs) == expected
    assert stream.tool_message_params(outputs) == expected == llm.CallResponse.tool_message_params(outputs)


def test_a_subclass_of_a_stream_class_keeps_its_response_class():
    anthropic = provider_module("anthropic")

    class MyStream(anthropic.AnthropicStream):
        pass

    outputs = [(_weather_tool("call_1"), "sunny")]
    assert MyStream.tool_message_params(outputs) == anthropic.AnthropicCallResponse.tool_message_params(outputs)


def test_a_stream_class_naming_no_response_class_says_so():
    with pytest.raises(ConfigurationError, match="names no response class"):
        BaseStream.tool_message_params([(_weather_tool("call_1"), "sunny")])

