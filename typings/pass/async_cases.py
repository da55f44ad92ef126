"""``async def`` prompt functions, as mypy --strict sees them: awaitables of what sync gives."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from minicall import llm
from minicall.providers import anthropic, openai

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:

    def assert_type(value, _type):
        return value


@dataclass
class Book:
    title: str
    year: int


@llm.call(provider="openai", model="gpt-4o-mini")
async def recommend(genre: str) -> str:
    return f"Recommend a {genre} book"


@llm.call(provider="openai", model="gpt-4o-mini", stream=True)
async def recommend_stream(genre: str) -> str:
    return f"Recommend a {genre} book"


@llm.call(provider="openai", model="gpt-4o-mini", response_model=Book)
async def extract(text: str) -> str:
    return f"Extract the book: {text}"


@llm.call(provider="openai", model="gpt-4o-mini", response_model=Book, stream=True)
async def extract_partials(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", output_parser=lambda r: len(r.content))
async def count(text: str) -> str:
    return text


@openai.call("gpt-4o-mini")
async def native(genre: str) -> openai.OpenAIDynamicConfig:
    return {"messages": [{"role": "user", "content": genre}]}


@anthropic.call("claude-3-5-sonnet-latest", stream=True)
async def native_stream(genre: str) -> str:
    return genre


def typed_awaitables() -> None:
    assert_type(recommend("fantasy"), Awaitable[llm.CallResponse])
    assert_type(recommend_stream("fantasy"), Awaitable[llm.AsyncStream])
    assert_type(extract("Dune"), Awaitable[Book])
    assert_type(extract_partials("Dune"), Awaitable[AsyncIterable[Book]])
    assert_type(count("hi"), Awaitable[int])
    assert_type(native("fantasy"), Awaitable[openai.OpenAICallResponse])
    assert_type(native_stream("fantasy"), Awaitable[anthropic.AnthropicAsyncStream])


async def use_them() -> int:
    response = await recommend("fantasy")
    text: str = response.content
    stream = await recommend_stream("fantasy")
    async for chunk, tool in stream:
        text += chunk.content
        if tool is not None:
            await tool.call()
    final: llm.CallResponse = stream.construct_call_response()
    book: Book = await extract("Dune")
    async for partial in await extract_partials("Dune"):
        book = partial
    native_response: openai.OpenAICallResponse = await native("x")
    native_text = ""
    async for native_chunk, _ in await native_stream("x"):
        native_text += native_chunk.content
    return len(text + final.content + native_response.content + native_text) + book.year + await count("x")
