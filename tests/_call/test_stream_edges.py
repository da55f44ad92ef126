"""Stream facts that travel in headers, and streams that hold no events."""

from __future__ import annotations

import asyncio

import pytest

import minicall
from minicall import llm
from minicall.testing import RawReply, Reply


def test_litellm_stream_reports_the_proxys_cost_header(fake):
    @llm.call(provider="litellm", model="gpt-4o-mini", client=fake.client("litellm"), stream=True)
    def ask() -> str:
        return "hi"

    fake.script(Reply(text="a b c", reported_cost=0.0123))
    stream = ask()
    assert "".join(c.content for c, _ in stream) == "a b c"
    assert stream.cost == pytest.approx(0.0123)
    assert stream.construct_call_response().cost == pytest.approx(0.0123)


def test_bedrock_stream_id_is_the_request_id_header(fake):
    @llm.call(provider="bedrock", model="amazon.nova-micro-v1:0", client=fake.client("bedrock"), stream=True)
    def ask() -> str:
        return "hi"

    stream = ask()
    list(stream)
    assert stream.id is not None
    assert stream.construct_call_response().id == stream.id


@pytest.mark.parametrize("provider", ["openai", "anthropic", "cohere"])
def test_an_html_page_labelled_as_a_stream_is_a_format_error(fake, provider):
    model = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-latest", "cohere": "command-r"}[provider]

    @llm.call(provider=provider, model=model, client=fake.client(provider), stream=True)
    def ask() -> str:
        return "hi"

    fake.script(RawReply(200, {"content-type": "text/event-stream"}, b"<html><body>Gateway says no</body></html>"))
    with pytest.raises(minicall.ResponseFormatError) as info:
        list(ask())
    assert "Gateway says no" in str(info.value)


def test_an_empty_event_stream_async_is_a_format_error(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), stream=True)
    async def ask() -> str:
        return "hi"

    fake.script(RawReply(200, {"content-type": "text/event-stream"}, b"<html>nope</html>"))

    async def run() -> None:
        stream = await ask()
        async for _ in stream:
            pass

    with pytest.raises(minicall.ResponseFormatError):
        asyncio.run(run())


@pytest.mark.parametrize("provider", ["openai", "anthropic", "google"])
def test_a_streamed_response_model_that_fails_carries_the_stream_response(fake, provider):
    from shared import Book

    from minicall._cli.demo import MODELS
    from minicall.testing import ToolCallReply

    @llm.call(provider=provider, model=MODELS[provider], client=fake.client(provider), response_model=Book, stream=True)
    def extract() -> str:
        return "Dune"

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": "1965"})]), provider=provider)
    partials = []
    with pytest.raises(minicall.ValidationError) as info:
        for partial in extract():
            partials.append(partial)
    assert partials and partials[-1].title == "Dune"  # the partial values came before the error
    assert info.value.errors == ['year: expected int, got "1965"']
    assert info.value.response is not None and info.value.response.provider == provider
