"""The feature matrix of issues 3 and 5, sync, for every provider through FakeServer.

Each provider's own e2e tests check its exact wire shapes; this file proves the same
user-level behaviour holds everywhere: tools, parallel tools, tool results carried
back, structured output both ways, JSON mode, streamed tools and partial models,
output parsers, and a history handed from any provider to any other.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from shared import PARALLEL_WEATHER, Book, get_weather

from minicall import Message, Messages, llm
from minicall._call.registry import PROVIDERS
from minicall._cli.demo import MODELS
from minicall.testing import FakeServer, Reply, ToolCallReply

ALL = list(PROVIDERS)



@pytest.fixture(scope="module")
def fake():
    with FakeServer() as server:
        yield server


def _call(provider: str, fake: FakeServer, **kwargs: Any) -> Any:
    return llm.call(provider=provider, model=MODELS[provider], client=fake.client(provider), **kwargs)  # type: ignore[call-overload]


@pytest.mark.parametrize("provider", ALL)
def test_parallel_tool_calls_and_results_carried_back(fake, provider):
    @_call(provider, fake, tools=[get_weather])
    def chat(history: list[Message]) -> list[Message]:
        return history

    fake.script(*PARALLEL_WEATHER, provider=provider)
    history = [Messages.User("Weather in Paris and Rome?")]
    response = chat(history)
    tools = response.tools or []
    assert [t.args for t in tools] == [{"city": "Paris"}, {"city": "Rome"}]
    assert response.finish_reasons in (["tool_calls"], ["stop"])  # Gemini reports STOP for tool calls
    outputs = [(t, t.call()) for t in tools]
    history += [response.message_param, *response.tool_message_params(outputs)]
    assert chat(history).content == "Both sunny."
    sent = json.dumps(fake.last.json)
    assert "sunny in Paris" in sent and "sunny in Rome" in sent


@pytest.mark.parametrize("provider", ALL)
@pytest.mark.parametrize("json_mode", [False, True])
def test_response_model_through_tool_or_json_mode(fake, provider, json_mode):
    @_call(provider, fake, response_model=Book, json_mode=json_mode)
    def extract(text: str) -> str:
        return f"Extract: {text}"

    if json_mode:
        fake.script(Reply(text=json.dumps({"title": "Dune", "year": 1965})), provider=provider)
    else:
        fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]), provider=provider)
    assert extract("Dune, 1965") == Book("Dune", 1965)


@pytest.mark.parametrize("provider", ALL)
def test_json_mode_content_is_json_text(fake, provider):
    @_call(provider, fake, json_mode=True)
    def ask() -> str:
        return "Three colours as JSON"

    fake.script(Reply(text='{"colours": ["red", "green", "blue"]}'), provider=provider)
    assert json.loads(ask().content) == {"colours": ["red", "green", "blue"]}


@pytest.mark.parametrize("provider", ALL)
def test_streamed_tools_and_partial_models(fake, provider):
    @_call(provider, fake, stream=True, tools=[get_weather])
    def chat() -> str:
        return "weather?"

    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Oslo"}),
                                  ToolCallReply("get_weather", {"city": "Lima"})]), provider=provider)
    tools = [tool for _, tool in chat() if tool is not None]
    assert [t.args for t in tools] == [{"city": "Oslo"}, {"city": "Lima"}]

    @_call(provider, fake, stream=True, response_model=Book)
    def extract() -> str:
        return "Dune"

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]), provider=provider)
    values = list(extract())
    assert values[-1] == Book("Dune", 1965)


@pytest.mark.parametrize("provider", ALL)
def test_output_parser_and_stream_equals_whole_reply(fake, provider):
    @_call(provider, fake, output_parser=lambda r: r.content.upper())
    def shout() -> str:
        return "hi"

    assert shout() == "ECHO: HI"

    @_call(provider, fake, stream=True)
    def tell() -> str:
        return "x"

    fake.script(Reply(text="one two three four"), provider=provider)
    stream = tell()
    assert "".join(c.content for c, _ in stream) == "one two three four"
    assert stream.construct_call_response().content == "one two three four"
    assert stream.usage is not None and stream.usage.output_tokens > 0


@pytest.mark.parametrize(("first", "second"), [(a, b) for a in ALL for b in ALL if a != b][::7])
def test_history_carries_across_providers(fake, first, second):
    @_call(first, fake)
    def chat(history: list[Message]) -> list[Message]:
        return history

    history = [Messages.System("You are terse."), Messages.User("Name a colour.")]
    reply = chat(history)
    history += [reply.message_param, Messages.User("Another?")]
    other = llm.override(chat, provider=second, model=MODELS[second], client=fake.client(second))  # type: ignore[arg-type]
    assert other(history).content == "echo: Another?"
    sent = json.dumps(fake.last.json)
    assert "Name a colour." in sent and "echo: Name a colour." in sent and "You are terse." in sent


@pytest.mark.parametrize("provider", ALL)
def test_a_call_param_minicall_does_not_list_is_sent_as_given(fake, provider):
    # A type error (the TypedDicts list the known keys), but at run time sent as is, as
    # Mirascope does: a parameter newer than minicall still reaches the provider.
    @_call(provider, fake, call_params={"brand_new_param": {"level": 3}})
    def ask(question: str) -> str:
        return question

    assert ask("hi").content == "echo: hi"
    name = "brandNewParam" if provider == "google" else "brand_new_param"  # Gemini's REST spelling
    assert f'"{name}": {{"level": 3}}' in json.dumps(fake.last.json)
