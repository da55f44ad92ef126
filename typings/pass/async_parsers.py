"""``async def`` output parsers: awaiting the call gives the parser's awaited value."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from minicall import llm
from minicall.providers import anthropic, openai

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:

    def assert_type(value, _type):
        return value


async def word_count(response: llm.CallResponse) -> int:
    return len(response.content.split())


async def native_text(response: openai.OpenAICallResponse) -> str:
    return response.content


def sync_length(response: anthropic.AnthropicCallResponse) -> int:
    return len(response.content)


@llm.call(provider="openai", model="gpt-4o-mini", output_parser=word_count)
async def count_words(text: str) -> str:
    return text


@openai.call("gpt-4o-mini", output_parser=native_text)
async def native(text: str) -> str:
    return text


@anthropic.call("claude-3-5-sonnet-latest", output_parser=sync_length)
async def sync_parser_async_fn(text: str) -> str:
    return text


@anthropic.call("claude-3-5-sonnet-latest", output_parser=sync_length)
def sync_parser_sync_fn(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", output_parser=word_count)
def async_parser_sync_fn(text: str) -> str:
    return text


def typed_results() -> None:
    awaited_parser = assert_type(count_words("x"), Coroutine[object, None, int])
    awaited_parser.close()
    assert_type(asyncio.run(count_words("x")), int)
    assert_type(asyncio.run(native("x")), str)
    assert_type(asyncio.run(sync_parser_async_fn("x")), int)
    assert_type(sync_parser_sync_fn("x"), int)
    # A sync prompt function hands back the parser's coroutine for the caller to await.
    coroutine: Coroutine[Any, Any, int] = async_parser_sync_fn("x")
    coroutine.close()


async def awaited() -> int:
    words: int = await count_words("x")
    text: str = await native("x")
    length: int = await sync_parser_async_fn("x")
    later: int = await async_parser_sync_fn("x")
    return words + len(text) + length + later + sync_parser_sync_fn("x")
