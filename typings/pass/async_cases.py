"""``async def`` prompt functions, as mypy --strict and pyright strict see them: coroutines
of what sync gives, so ``asyncio.run``, ``create_task`` and ``gather`` take them."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
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


def typed_coroutines() -> None:
    coroutine = assert_type(recommend("fantasy"), Coroutine[object, None, llm.CallResponse])
    coroutine.close()
    assert_type(asyncio.run(recommend("fantasy")), llm.CallResponse)
    assert_type(asyncio.run(recommend_stream("fantasy")), llm.AsyncStream)
    assert_type(asyncio.run(extract("Dune")), Book)
    assert_type(asyncio.run(extract_partials("Dune")), llm.AsyncStructuredStream[Book])
    assert_type(asyncio.run(count("hi")), int)
    assert_type(asyncio.run(native("fantasy")), openai.OpenAICallResponse)
    assert_type(asyncio.run(native_stream("fantasy")), anthropic.AnthropicAsyncStream)


async def tasks_and_gather() -> str:
    task = asyncio.create_task(recommend("fantasy"))
    native_task = asyncio.create_task(native("fantasy"))
    assert_type(await task, llm.CallResponse)
    assert_type(await native_task, openai.OpenAICallResponse)
    response, book, words = await asyncio.gather(recommend("horror"), extract("Dune"), count("hi"))
    assert_type(response, llm.CallResponse)
    assert_type(book, Book)
    assert_type(words, int)
    return response.content + book.title + str(words)


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
        year = partial.year
        if isinstance(year, int):  # a partial's fields may still be missing
            book.year = year
    native_response: openai.OpenAICallResponse = await native("x")
    native_text = ""
    async for native_chunk, _ in await native_stream("x"):
        native_text += native_chunk.content
    return len(text + final.content + native_response.content + native_text) + book.year + await count("x")
