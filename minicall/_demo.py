"""``python -m minicall demo``: the README's examples, run over loopback HTTP.

A :class:`~minicall.testing.FakeServer` answers in each provider's real wire format,
so every line printed here went through the same codecs, transport and call
machinery a real call uses.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, cast

from . import llm
from ._errors import MinicallError
from ._messages import Messages
from ._registry import PROVIDERS
from ._tools import BaseTool

MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-3-5-sonnet-latest",
    "google": "gemini-2.0-flash",
    "groq": "llama-3.3-70b-versatile",
    "xai": "grok-3",
    "mistral": "mistral-large-latest",
    "cohere": "command-r-plus",
    "litellm": "gpt-4o-mini",
    "azure": "gpt-4o-mini",
    "bedrock": "anthropic.claude-3-haiku-20240307-v1:0",
}


def _line(label: str, value: Any) -> None:
    print(f"  {label:<16} {value}")


def _available() -> list[str]:
    names = []
    for name in PROVIDERS:
        try:
            importlib.import_module(f"minicall.providers.{name}")
        except ImportError:
            continue
        names.append(name)
    return names


class GetWeather(BaseTool):
    """Get the current weather in a city."""

    city: str

    def call(self) -> str:
        return f"It is sunny in {self.city}."


def run() -> int:
    """Run the demo; returns the exit status."""
    from .testing import FakeServer, Reply, ToolCallReply

    @llm.call(provider="openai", model="gpt-4o-mini")
    def recommend_book(genre: str) -> str:
        return f"Recommend a {genre} book"

    failures = 0
    with FakeServer() as fake:
        print(f"FakeServer listening on {fake.url} (loopback HTTP, each provider's own wire format)\n")
        for provider in _available():
            model = MODELS[provider]
            client = fake.client(provider)
            name = cast(llm.Provider, provider)
            call: Callable[..., Any] = llm.override(recommend_book, provider=name, model=model, client=client)
            print(f"== {provider} ({model})")
            try:
                response = call("fantasy")
                _line("content", response.content)
                _line("finish_reasons", response.finish_reasons)
                _line("usage", response.usage)
                _line("cost (USD)", response.cost)
                fake.script(Reply(text="Once upon a time, in a quiet library..."), provider=provider)
                streamed = _stream_once(name, model, client)
                _line("streamed", streamed)
                fake.script(Reply(tool_calls=[ToolCallReply("GetWeather", {"city": "Paris"})]), provider=provider)
                tool_reply = _tool_once(name, model, client)
                _line("tool call", tool_reply)
            except MinicallError as exc:
                failures += 1
                _line("FAILED", exc)
            print()
    print("all providers answered" if not failures else f"{failures} provider(s) failed")
    return 1 if failures else 0


def _stream_once(provider: llm.Provider, model: str, client: Any) -> str:
    @llm.call(provider=provider, model=model, stream=True, client=client)
    def tell() -> str:
        return "Tell me a story"

    pieces = [chunk.content for chunk, _ in tell()]
    return "|".join(p for p in pieces if p)


def _tool_once(provider: llm.Provider, model: str, client: Any) -> str:
    @llm.call(provider=provider, model=model, tools=[GetWeather], client=client)
    def weather(city: str) -> list[Any]:
        return [Messages.User(f"What is the weather in {city}?")]

    response = weather("Paris")
    tool = response.tool
    if tool is None:
        return "(no tool call)"
    return f"{tool._name()}({tool.args}) -> {tool.call()}"
