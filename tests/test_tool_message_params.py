"""``tool_message_params`` is a classmethod, as in Mirascope v1: callable on the class and
on a response alike, with the same messages, for every provider's response class."""

from __future__ import annotations

import json
from typing import Any

import pytest
from shared import PARALLEL_WEATHER, get_weather

from minicall import Message, Messages, ToolResultPart, llm
from minicall._demo import MODELS
from minicall._registry import PROVIDERS, provider_module
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
