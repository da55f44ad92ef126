"""``python -m minicall demo``: the README's examples, run over loopback HTTP.

A :class:`~minicall.testing.FakeServer` answers in each provider's real wire format,
so every line printed here went through the same codecs, transport and call
machinery a real call uses.
"""
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from .. import llm
from .._model.errors import MinicallError
from .._model.messages import Message, Messages
from .._call.registry import PROVIDERS
from .._call.tools import BaseTool
from .format import cost_text

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
    names: list[str] = []
    for name in PROVIDERS:
        try:
            importlib.import_module(f"..providers.{name}", __package__)  # relative: vendored copies
        except ImportError:
            continue
        names.append(name)
    return names


class GetWeather(BaseTool):
    """Get the current weather in a city."""

    city: str

    def call(self) -> str:
        return f"It is sunny in {self.city}."


@dataclass
class Book:
    """A book."""

    title: str
    year: int


def run() -> int:
    """Run the demo; returns the exit status."""
    from ..testing import FakeServer, Reply, ToolCallReply

    @llm.call(provider="openai", model="gpt-4o-mini")
    def recommend_book(genre: str) -> str:
        return f"Recommend a {genre} book"

    failures = 0
    with FakeServer() as fake:
        print(f"FakeServer listening on {fake.url} (loopback HTTP, each provider's own wire format)\n")
        for provider in _available():
            name = cast(llm.Provider, provider)
            model = MODELS[provider]
            client = fake.client(provider)
            print(f"== {provider} ({model})")
            try:
                call: Callable[..., Any] = llm.override(recommend_book, provider=name, model=model, client=client)
                response = call("fantasy")
                _line("content", response.content)
                _line("finish_reasons", response.finish_reasons)
                _line("usage", response.usage)
                _line("cost", cost_text(response.cost))
                fake.script(Reply(text="Once upon a time, in a quiet library..."), provider=provider)
                _line("streamed", _stream_once(name, model, client))
                fake.script(
                    Reply(tool_calls=[ToolCallReply("GetWeather", {"city": "Paris"})]),
                    Reply(text="It is sunny in Paris today."),
                    provider=provider,
                )
                _line("tool loop", _tool_loop(name, model, client))
                fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]), provider=provider)
                _line("response_model", _extract(name, model, client))
            except MinicallError as exc:
                failures += 1
                _line("FAILED", exc)
            print()
        failures += _native_and_handoff(fake)
        failures += _batch(fake)
    print("all providers answered" if not failures else f"{failures} example(s) failed")
    return 1 if failures else 0


def _stream_once(provider: llm.Provider, model: str, client: Any) -> str:
    @llm.call(provider=provider, model=model, stream=True, client=client)
    def tell() -> str:
        return "Tell me a story"

    pieces = [chunk.content for chunk, _ in tell()]
    return "|".join(p for p in pieces if p)


def _tool_loop(provider: llm.Provider, model: str, client: Any) -> str:
    @llm.call(provider=provider, model=model, tools=[GetWeather], client=client)
    def assistant(history: list[Message]) -> list[Message]:
        return history

    history = [Messages.User("What is the weather in Paris?")]
    response = assistant(history)
    steps: list[str] = []
    while response.tools:
        outputs = [(tool, tool.call()) for tool in response.tools]
        steps += [f"{tool._name()}({tool.args}) -> {output!r}" for tool, output in outputs]
        history += [response.message_param, *response.tool_message_params(outputs)]
        response = assistant(history)
    return "; ".join([*steps, f"answer: {response.content}"])


def _extract(provider: llm.Provider, model: str, client: Any) -> str:
    @llm.call(provider=provider, model=model, response_model=Book, client=client)
    def extract_book(text: str) -> str:
        return f"Extract the book: {text}"

    return repr(extract_book("Dune by Frank Herbert, 1965"))


def _native_and_handoff(fake: Any) -> int:
    """API.md section 5's provider-module example, and a history carried across providers."""
    from ..providers import openai

    print("== provider module (openai.call, native message dicts)")
    try:

        @openai.call("gpt-4o-mini", client=fake.client("openai"))
        def native(genre: str) -> openai.OpenAIDynamicConfig:
            return {"messages": [{"role": "user", "content": f"Recommend a {genre} book"}]}

        response = native("fantasy")
        _line("message_param", response.message_param)

        @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
        def chat(history: list[Message]) -> list[Message]:
            return history

        history = [Messages.System("You are a librarian."), Messages.User("Recommend a fantasy book")]
        first = chat(history)
        history += [first.message_param, Messages.User("And one more?")]
        second = llm.override(chat, provider="anthropic", model=MODELS["anthropic"], client=fake.client("anthropic"))(history)
        _line("handoff", f"openai said {first.content!r}; anthropic, given the same history, said {second.content!r}")
        _line("anthropic got", fake.last.json.get("messages"))
    except MinicallError as exc:
        _line("FAILED", exc)
        return 1
    print()
    return 0


def _batch(fake: Any) -> int:
    """API.md section 10: one batch on the OpenAI batch API, polled to its end."""
    from .. import batch
    from ..testing import ErrorReply, Reply

    print("== batch (OpenAI batch API: JSONL file, batch, polls, output and error files)")
    try:

        @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
        def recommend_book(genre: str) -> str:
            return f"Recommend a {genre} book"

        fake.script(Reply(text="The Name of the Wind"), ErrorReply(400, "scripted item error"), provider="openai")
        fake.script_batch(polls=2)
        job = batch.submit(recommend_book, [{"genre": "fantasy"}, ("horror",), ("poetry",)])
        _line("submitted", f"{job.id}: {job.last_status.state if job.last_status else '?'}")
        polls: list[str] = []
        results = job.wait(poll_interval=0.05, on_progress=lambda s: polls.append(f"{s.state} {s.finished}/{s.total}"))
        _line("polls", ", ".join(polls))
        for n, result in enumerate(results):
            shown = f"{result.content!r} (cost {cost_text(result.cost)})" if isinstance(result, llm.CallResponse) else repr(result)
            _line(f"item {n}", shown)
    except MinicallError as exc:
        _line("FAILED", exc)
        return 1
    print()
    return 0
