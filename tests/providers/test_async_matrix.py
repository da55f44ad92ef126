"""Async calls for every provider, end to end over loopback through FakeServer.

Each test runs once per provider in ``minicall._call.registry.PROVIDERS``; a provider whose
module or FakeServer wire format is not there yet is skipped with the reason. Every
test drives ``async def`` prompt functions on one event loop with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from shared import Book

import minicall
from minicall import Messages, llm
from minicall._call.registry import PROVIDERS, provider_module
from minicall._http._async import AsyncioTransport
from minicall.testing import ErrorReply, FakeServer, Reply, ToolCallReply

_FORMATS = Path(minicall.__file__).parent / "testing" / "_formats"

# A plausible model per provider; the fake echoes whatever it is asked for.
MODELS: dict[str, str] = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-3-5-sonnet-latest",
    "google": "gemini-1.5-flash",
    "groq": "llama-3.1-8b-instant",
    "xai": "grok-2",
    "mistral": "mistral-small-latest",
    "cohere": "command-r-plus",
    "litellm": "gpt-4o-mini",
    "azure": "gpt-4o-mini",
    "bedrock": "anthropic.claude-3-haiku-20240307-v1:0",
}


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def test_every_provider_has_a_module_and_a_fake_server_format():
    for name in PROVIDERS:
        assert importlib.util.find_spec(f"minicall.providers.{name}") is not None, name
        assert (_FORMATS / f"{name}.py").exists(), name


def _call(provider: str, client: Any, **options: Any) -> Any:
    return llm.call(provider=provider, model=MODELS.get(provider, "model-x"), client=client, **options)


async def _until(condition: Any, what: str, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.01)


# -- call and stream ----------------------------------------------------------------


def test_async_call_returns_an_awaitable_of_the_reply(fake, provider):
    @_call(provider, fake.client(provider))
    async def ask(question: str) -> str:
        return question

    pending = ask("hello there")
    assert asyncio.iscoroutine(pending) and fake.requests == []
    response = asyncio.run(pending)
    assert isinstance(response, llm.CallResponse)
    assert response.content == "echo: hello there"
    assert response.provider == provider
    assert response.usage is not None and response.usage.input_tokens > 0
    assert len(fake.requests) == 1


def test_provider_module_async_call_gives_its_own_response_class(fake, provider):
    module = provider_module(provider)
    client = fake.client(provider)

    @module.call(MODELS.get(provider, "model-x"), client=client)
    async def ask(question: str) -> str:
        return question

    @module.call(MODELS.get(provider, "model-x"), client=client, stream=True)
    async def tell(question: str) -> str:
        return question

    async def main() -> tuple[Any, Any, str]:
        response = await ask("native hello")
        stream = await tell("native stream")
        text = "".join([chunk.content async for chunk, _ in stream])
        return response, stream, text

    response, stream, text = asyncio.run(main())
    assert response.content == "echo: native hello"
    assert type(response).__module__ == module.__name__
    assert type(stream).__module__ == module.__name__
    assert text == "echo: native stream"


def test_async_stream_concatenates_to_the_reply_with_usage_at_the_end(fake, provider):
    @_call(provider, fake.client(provider), stream=True)
    async def tell(topic: str) -> str:
        return topic

    text = "Once upon a time there was a fox."
    fake.script(Reply(text=text, input_tokens=3, output_tokens=8))

    async def main() -> tuple[Any, list[str]]:
        stream = await tell("a story")
        assert fake.requests == []  # lazy until iterated
        pieces = [chunk.content async for chunk, tool in stream if tool is None]
        return stream, pieces

    stream, pieces = asyncio.run(main())
    assert len([p for p in pieces if p]) > 1
    assert "".join(pieces) == text == stream.content
    assert stream.usage is not None
    assert (stream.usage.input_tokens, stream.usage.output_tokens) == (3, 8)
    assert stream.finish_reasons
    final = stream.construct_call_response()
    assert final.content == text and final.usage == stream.usage


def test_async_error_status_maps_to_the_typed_error_with_the_providers_message(fake, provider):
    @_call(provider, fake.client(provider, max_retries=0))
    async def ask() -> str:
        return "hi"

    fake.script(ErrorReply(401, message="bad key for async"), ErrorReply(400, message="bad body for async"))
    with pytest.raises(minicall.AuthenticationError) as auth:
        asyncio.run(ask())
    with pytest.raises(minicall.BadRequestError) as bad:
        asyncio.run(ask())
    assert auth.value.message == "bad key for async" and auth.value.status_code == 401
    assert bad.value.message == "bad body for async" and bad.value.provider == provider
    assert "test-key" not in repr(auth.value) + str(auth.value)


# -- tools --------------------------------------------------------------------------


async def get_weather(city: str) -> str:
    """Get the weather.

    Args:
        city: The city name.
    """
    await asyncio.sleep(0)
    return f"sunny in {city}"


def test_async_tool_is_awaited_and_its_result_goes_back(fake, provider):
    client = fake.client(provider)

    @_call(provider, client, tools=[get_weather])
    async def chat(history: list[Any]) -> list[Any]:
        return [Messages.User("Weather in Paris?"), *history]

    fake.script(
        Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="call_1")]),
        Reply(text="It is sunny."),
    )

    async def main() -> tuple[Any, Any, Any]:
        first = await chat([])
        tool = first.tool
        assert tool is not None
        output = await tool.call()
        history = [first.message_param, *first.tool_message_params([(tool, output)])]
        second = await chat(history)
        return tool, output, second

    tool, output, second = asyncio.run(main())
    assert tool._name() == "get_weather" and tool.args == {"city": "Paris"}
    assert output == "sunny in Paris"
    assert second.content == "It is sunny."
    sent = json.dumps(fake.last.json)
    assert "sunny in Paris" in sent and "get_weather" in sent


def test_async_stream_yields_the_tool_call_assembled(fake, provider):
    @_call(provider, fake.client(provider), tools=[get_weather], stream=True)
    async def chat() -> str:
        return "Weather in Rome and Oslo?"

    fake.script(
        Reply(
            tool_calls=[
                ToolCallReply("get_weather", {"city": "Rome"}, id="call_a"),
                ToolCallReply("get_weather", {"city": "Oslo"}, id="call_b"),
            ]
        )
    )

    async def main() -> list[str]:
        stream = await chat()
        tools = [tool async for _, tool in stream if tool is not None]
        return [await tool.call() for tool in tools]

    assert asyncio.run(main()) == ["sunny in Rome", "sunny in Oslo"]


# -- structured output --------------------------------------------------------------


def test_async_response_model_via_the_forced_tool(fake, provider):
    @_call(provider, fake.client(provider), response_model=Book)
    async def extract(text: str) -> str:
        return f"Extract the book: {text}"

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]))
    book = asyncio.run(extract("Dune, 1965"))
    assert book == Book("Dune", 1965)
    assert "Book" in json.dumps(fake.last.json)


def test_async_response_model_in_json_mode(fake, provider):
    @_call(provider, fake.client(provider), response_model=Book, json_mode=True)
    async def extract(text: str) -> str:
        return f"Extract the book: {text}"

    fake.script(Reply(text=json.dumps({"title": "Emma", "year": 1815})))
    assert asyncio.run(extract("Emma")) == Book("Emma", 1815)


def test_async_streamed_response_model_yields_partials_then_the_value(fake, provider):
    @_call(provider, fake.client(provider), response_model=Book, stream=True)
    async def extract() -> str:
        return "Dune"

    @_call(provider, fake.client(provider), response_model=Book, stream=True, json_mode=True)
    async def extract_json() -> str:
        return "Dune"

    fake.script(
        Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]),
        Reply(text='{"title": "Dune Messiah", "year": 1969}'),
    )

    async def main() -> tuple[list[Any], list[Any]]:
        partials = await extract()
        tool_values = [p async for p in partials]
        partials = await extract_json()
        json_values = [p async for p in partials]
        return tool_values, json_values

    tool_values, json_values = asyncio.run(main())
    assert tool_values[-1] == Book("Dune", 1965)
    assert json_values[-1] == Book("Dune Messiah", 1969)
    assert len(json_values) >= 2  # the JSON text arrived word by word


# -- retries, timeouts, cancellation ------------------------------------------------


def test_async_retry_after_429_honours_retry_after(fake, provider, async_sleeps):
    @_call(provider, fake.client(provider, max_retries=2))
    async def ask() -> str:
        return "hi"

    fake.script(ErrorReply(429, message="slow down", headers={"retry-after": "3"}), Reply(text="ok"))
    assert asyncio.run(ask()).content == "ok"
    assert async_sleeps == [3.0]
    assert len(fake.requests) == 2


def test_async_retries_give_up_with_the_attempt_count(fake, provider, async_sleeps):
    @_call(provider, fake.client(provider, max_retries=1))
    async def ask() -> str:
        return "hi"

    fake.script(ErrorReply(500, message="boom"), ErrorReply(500, message="boom again"))
    with pytest.raises(minicall.InternalServerError) as info:
        asyncio.run(ask())
    assert info.value.attempts == 2 and info.value.message == "boom again"
    assert len(async_sleeps) == 1 and 0 < async_sleeps[0] <= 8


def test_async_call_times_out(fake, provider):
    @_call(provider, fake.client(provider, timeout=0.5, max_retries=0))
    async def ask() -> str:
        return "hi"

    fake.script(Reply(text="too late", delay=5))
    started = time.monotonic()
    with pytest.raises(minicall.APITimeoutError):
        asyncio.run(ask())
    assert time.monotonic() - started < 4.5


def test_async_idle_stream_times_out_with_partial_content(fake, provider):
    @_call(provider, fake.client(provider, timeout=0.25, max_retries=0), stream=True)
    async def tell() -> str:
        return "x"

    fake.script(Reply(text="alpha beta gamma", chunk_delay=5))

    seen: list[str] = []

    async def main() -> None:
        stream = await tell()
        async for chunk, _ in stream:
            seen.append(chunk.content)

    with pytest.raises(minicall.APITimeoutError) as info:
        asyncio.run(main())
    assert info.value.partial == "".join(seen)  # exactly what had arrived, nothing lost
    assert len(fake.requests) == 1  # a started stream is never retried


def _single_slot_client(fake: FakeServer, provider: str) -> Any:
    # One connection slot: a slot leaked by a cancelled call would hang the next one.
    return fake.client(provider, transport=AsyncioTransport(max_connections_per_host=1), max_retries=0)


def test_cancelling_a_pending_request_leaves_the_pool_usable(fake, provider):
    client = _single_slot_client(fake, provider)

    @_call(provider, client)
    async def ask(question: str) -> str:
        return question

    fake.script(Reply(text="never delivered", delay=5))

    async def main() -> str:
        task = asyncio.ensure_future(ask("slow"))
        await _until(lambda: len(fake.requests) == 1, "the request to arrive")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        response = await asyncio.wait_for(ask("after cancel"), 5)
        return str(response.content)

    assert asyncio.run(main()) == "echo: after cancel"
    assert len(fake.requests) == 2


def test_cancelling_mid_stream_leaves_the_pool_usable(fake, provider):
    client = _single_slot_client(fake, provider)
    gate = threading.Event()

    @_call(provider, client, stream=True)
    async def tell(topic: str) -> str:
        return topic

    @_call(provider, client)
    async def ask(question: str) -> str:
        return question

    fake.script(Reply(text="alpha beta gamma delta", gate=gate))

    async def main() -> str:
        first = asyncio.Event()

        async def consume() -> None:
            stream = await tell("story")
            async for _ in stream:
                first.set()

        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(first.wait(), 5)  # the stream is open and held by the gate
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        response = await asyncio.wait_for(ask("after cancel"), 5)
        return str(response.content)

    try:
        assert asyncio.run(main()) == "echo: after cancel"
    finally:
        gate.set()
    assert len(fake.requests) == 2


# -- concurrency --------------------------------------------------------------------


def test_500_concurrent_calls_each_get_their_own_reply(fake, provider):
    @_call(provider, fake.client(provider, max_retries=0))
    async def ask(token: str) -> str:
        return token

    tokens = [f"token-{i:04d}" for i in range(500)]

    async def main() -> list[Any]:
        return list(await asyncio.gather(*(ask(t) for t in tokens)))

    responses = asyncio.run(main())
    assert [t for t, r in zip(tokens, responses) if t not in r.content] == []
    assert len(fake.requests) == 500
    assert fake.connections_accepted <= 100  # the pool bounds open connections
