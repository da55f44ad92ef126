"""The async call path itself, provider-blind (through OpenAI's format over loopback).

The per-provider matrix is tests/providers/test_async_matrix.py; transport faults are in
tests/_call/test_hardening_faults.py. Here: what ``async def`` prompt functions do with the
decorator's options, how async streams behave when abandoned, broken or iterated
twice, and that cancellation stays cancellation.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from typing import Any

import pytest
from shared import Book

import minicall
from minicall import BaseTool, llm
from minicall._http._async import AsyncioTransport
from minicall.providers import openai
from minicall.testing import ErrorReply, FakeServer, Reply, ToolCallReply

MODEL = "gpt-4o-mini"


def _one_slot(fake: FakeServer) -> Any:
    return fake.client("openai", transport=AsyncioTransport(max_connections_per_host=1), max_retries=0)


# -- the prompt function ------------------------------------------------------------


def test_prompt_function_is_awaited_once_per_call(fake):
    calls: list[str] = []

    @llm.call(provider="openai", model=MODEL, client=fake.client("openai"))
    async def ask(q: str) -> str:
        calls.append(q)
        await asyncio.sleep(0)
        return q

    async def main() -> list[str]:
        return [(await ask("one")).content, (await ask("two")).content]

    assert asyncio.run(main()) == ["echo: one", "echo: two"]
    assert calls == ["one", "two"]


def test_prompt_function_error_propagates_before_any_request(fake):
    @llm.call(provider="openai", model=MODEL, client=fake.client("openai"))
    async def ask() -> str:
        raise LookupError("no such prompt")

    with pytest.raises(LookupError, match="no such prompt"):
        asyncio.run(ask())
    assert fake.requests == []


def test_bad_prompt_return_is_a_prompt_error(fake):
    @llm.call(provider="openai", model=MODEL, client=fake.client("openai"))
    async def ask() -> Any:
        return 42

    with pytest.raises(minicall.PromptError, match="returned int"):
        asyncio.run(ask())
    assert fake.requests == []


def test_dynamic_config_from_an_async_function_sets_params_and_client(fake):
    @openai.call(MODEL, client=fake.client("openai", api_key="decorator-key"))
    async def ask(q: str) -> openai.OpenAIDynamicConfig:
        return {
            "messages": [{"role": "user", "content": q}],
            "call_params": {"temperature": 0.25},
            "client": fake.client("openai", api_key="dynamic-key"),
        }

    response = asyncio.run(ask("configured"))
    assert response.content == "echo: configured"
    assert fake.last.json["temperature"] == 0.25
    assert fake.last.headers["authorization"] == "Bearer dynamic-key"


def test_override_keeps_an_async_function_async(fake):
    @llm.call(provider="openai", model=MODEL, client=fake.client("openai"))
    async def ask(q: str) -> str:
        return q

    other = llm.override(ask, model="gpt-4o", call_params={"seed": 7})
    response = asyncio.run(other("overridden"))
    assert response.content == "echo: overridden"
    assert fake.last.json["model"] == "gpt-4o" and fake.last.json["seed"] == 7


def test_output_parser_applies_to_async_calls(fake):
    @llm.call(provider="openai", model=MODEL, client=fake.client("openai"), output_parser=lambda r: r.content.upper())
    async def ask() -> str:
        return "quiet"

    assert asyncio.run(ask()) == "ECHO: QUIET"


def test_async_response_model_validation_error_carries_the_response(fake):
    @llm.call(provider="openai", model=MODEL, client=fake.client("openai"), response_model=Book, json_mode=True)
    async def extract() -> str:
        return "x"

    fake.script(Reply(text=json.dumps({"title": "Dune", "year": "soon"})))
    with pytest.raises(minicall.ValidationError) as info:
        asyncio.run(extract())
    assert any("year" in e for e in info.value.errors)
    assert info.value.response is not None and info.value.response.provider == "openai"


# -- tools --------------------------------------------------------------------------


class Lookup(BaseTool):
    """Look a word up."""

    word: str

    async def call(self) -> str:
        await asyncio.sleep(0)
        return f"{self.word}: a thing"


def test_base_tool_with_async_call_runs_on_the_loop(fake):
    @llm.call(provider="openai", model=MODEL, client=fake.client("openai"), tools=[Lookup])
    async def define(word: str) -> str:
        return f"Define {word}"

    fake.script(Reply(tool_calls=[ToolCallReply("Lookup", {"word": "fox"}, id="call_9")]))

    async def main() -> tuple[Any, str]:
        response = await define("fox")
        tool = response.tool
        assert isinstance(tool, Lookup)
        return response, await tool.call()

    response, output = asyncio.run(main())
    assert output == "fox: a thing"
    messages = response.tool_message_params([(response.tool, output)])
    assert len(messages) == 1 and "fox: a thing" in repr(messages[0])


# -- streams ------------------------------------------------------------------------


def test_async_stream_can_be_iterated_only_once(fake):
    @llm.call(provider="openai", model=MODEL, client=fake.client("openai"), stream=True)
    async def tell() -> str:
        return "once"

    async def main() -> str:
        stream = await tell()
        text = "".join([chunk.content async for chunk, _ in stream])
        with pytest.raises(RuntimeError, match="only once"):
            async for _ in stream:
                pass
        return text

    assert asyncio.run(main()) == "echo: once"
    assert len(fake.requests) == 1


def test_abandoned_async_stream_gives_its_connection_back(fake):
    client = _one_slot(fake)

    @llm.call(provider="openai", model=MODEL, client=client, stream=True)
    async def tell() -> str:
        return "a long story of many words"

    @llm.call(provider="openai", model=MODEL, client=client)
    async def ask() -> str:
        return "next"

    async def main() -> tuple[str, str]:
        stream = await tell()
        async for chunk, _ in stream:
            if chunk.content:
                break
        # With one connection slot, a stream that kept its connection would block this.
        response = await asyncio.wait_for(ask(), 5)
        return stream.content, response.content

    partial, answer = asyncio.run(main())
    assert "echo: a long story of many words".startswith(partial) and partial
    assert answer == "echo: next"


def test_async_stream_dropped_midway_raises_with_partial(fake):
    @llm.call(provider="openai", model=MODEL, client=fake.client("openai"), stream=True)
    async def tell() -> str:
        return "x"

    fake.script(Reply(text="one two three four five six", drop_after_events=4))
    seen: list[str] = []

    async def main() -> Any:
        stream = await tell()
        async for chunk, _ in stream:
            seen.append(chunk.content)
        return stream

    with pytest.raises(minicall.MinicallError) as info:
        asyncio.run(main())
    assert info.value.partial == "".join(seen) and info.value.partial.startswith("one")
    assert len(fake.requests) == 1


def test_async_stream_error_event_raises_api_error_with_partial(fake):
    @llm.call(provider="openai", model=MODEL, client=fake.client("openai"), stream=True)
    async def tell() -> str:
        return "x"

    fake.script(Reply(text="alpha beta gamma delta", stream_error_after=3, stream_error_message="overloaded"))

    async def main() -> None:
        stream = await tell()
        async for _ in stream:
            pass

    with pytest.raises(minicall.APIError, match="overloaded") as info:
        asyncio.run(main())
    assert info.value.partial and "alpha beta gamma delta".startswith(info.value.partial)


def test_async_stream_error_status_before_the_stream_is_typed_and_retried(fake, async_sleeps):
    @llm.call(provider="openai", model=MODEL, client=fake.client("openai", max_retries=1), stream=True)
    async def tell() -> str:
        return "x"

    fake.script(ErrorReply(503, message="busy", headers={"retry-after": "2"}), Reply(text="fine now"))

    async def main() -> str:
        stream = await tell()
        return "".join([chunk.content async for chunk, _ in stream])

    assert asyncio.run(main()) == "fine now"
    assert async_sleeps == [2.0] and len(fake.requests) == 2


def test_first_async_chunk_arrives_before_the_rest_is_sent(fake):
    gate = threading.Event()

    @llm.call(provider="openai", model=MODEL, client=fake.client("openai"), stream=True)
    async def tell() -> str:
        return "x"

    fake.script(Reply(text="alpha beta gamma", gate=gate))

    async def main() -> tuple[str, str]:
        stream = await tell()
        iterator = stream.__aiter__()
        # The server holds everything after its first event until the gate opens:
        # this would time out if the body were buffered whole.
        chunk, _ = await asyncio.wait_for(iterator.__anext__(), 5)
        first = chunk.content
        gate.set()
        rest = "".join([chunk.content async for chunk, _ in iterator])
        return first, rest

    try:
        first, rest = asyncio.run(main())
    finally:
        gate.set()
    assert first + rest == "alpha beta gamma"


def test_concurrent_streams_on_one_loop_do_not_mix(fake):
    @llm.call(provider="openai", model=MODEL, client=fake.client("openai"), stream=True)
    async def tell(token: str) -> str:
        return f"{token} and more words after it"

    async def one(token: str) -> str:
        stream = await tell(token)
        return "".join([chunk.content async for chunk, _ in stream])

    async def main() -> list[str]:
        return list(await asyncio.gather(*(one(f"s{i:03d}") for i in range(50))))

    texts = asyncio.run(main())
    assert texts == [f"echo: s{i:03d} and more words after it" for i in range(50)]


# -- loops, transports, cancellation ------------------------------------------------


def test_one_client_serves_several_event_loops_and_sync_calls(fake):
    client = fake.client("openai")

    @llm.call(provider="openai", model=MODEL, client=client)
    async def ask(q: str) -> str:
        return q

    @llm.call(provider="openai", model=MODEL, client=client)
    def ask_sync(q: str) -> str:
        return q

    assert asyncio.run(ask("first loop")).content == "echo: first loop"
    assert ask_sync("in between").content == "echo: in between"
    assert asyncio.run(ask("second loop")).content == "echo: second loop"


class _SyncOnly:
    def send(self, request: Any, *, stream: bool = False) -> Any:
        raise AssertionError("an async call must not use the sync transport")


def test_async_call_through_a_sync_only_transport_is_a_configuration_error(fake):
    client = fake.client("openai", transport=_SyncOnly())

    @llm.call(provider="openai", model=MODEL, client=client)
    async def ask() -> str:
        return "hi"

    with pytest.raises(minicall.ConfigurationError, match="send_async"):
        asyncio.run(ask())
    assert fake.requests == []


def test_cancellation_is_not_turned_into_a_minicall_error(fake):
    @llm.call(provider="openai", model=MODEL, client=fake.client("openai", max_retries=0))
    async def ask() -> str:
        return "hi"

    fake.script(Reply(text="late", delay=5))

    async def main() -> BaseException | None:
        task = asyncio.ensure_future(ask())
        while not fake.requests:
            await asyncio.sleep(0.01)
        task.cancel()
        results = await asyncio.gather(task, return_exceptions=True)
        return results[0]

    outcome = asyncio.run(main())
    assert isinstance(outcome, asyncio.CancelledError)
    assert not isinstance(outcome, minicall.MinicallError)


def test_wait_for_deadline_cancels_a_call_and_the_client_keeps_working(fake):
    client = _one_slot(fake)

    @llm.call(provider="openai", model=MODEL, client=client)
    async def ask(q: str) -> str:
        return q

    fake.script(Reply(text="late", delay=5))

    async def main() -> str:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ask("slow"), 0.2)
        return str((await asyncio.wait_for(ask("quick"), 5)).content)

    assert asyncio.run(main()) == "echo: quick"


def test_an_async_output_parser_is_awaited(fake):
    async def shout(response: Any) -> str:
        return str(response.content).upper()

    @llm.call(provider="openai", model=MODEL, client=fake.client("openai"), output_parser=shout)
    async def ask(q: str) -> str:
        return q

    assert asyncio.run(ask("hi")) == "ECHO: HI"


def test_a_sync_prompt_with_an_async_output_parser_returns_the_parsers_coroutine(fake):
    # As in Mirascope: a sync call hands back what the parser returned, here a coroutine;
    # typings/pass/async_parsers.py pins its type as Coroutine[Any, Any, str].
    async def shout(response: Any) -> str:
        return str(response.content).upper()

    @llm.call(provider="openai", model=MODEL, client=fake.client("openai"), output_parser=shout)
    def ask(q: str) -> str:
        return q

    pending = ask("hi")
    assert inspect.iscoroutine(pending)
    assert asyncio.run(pending) == "ECHO: HI"
