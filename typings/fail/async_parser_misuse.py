"""Misuse of ``async def`` output parsers that mypy must flag."""

from __future__ import annotations

from minicall import llm
from minicall.providers import openai


async def word_count(response: llm.CallResponse) -> int:
    return len(response.content.split())


@llm.call(provider="openai", model="gpt-4o-mini", output_parser=word_count)
async def count_words(text: str) -> str:
    return text


async def misuse() -> None:
    not_awaited: int = count_words("x")  # E: assignment
    wrong_type: str = await count_words("x")  # E: assignment
    (await count_words("x")).upper()  # E: attr-defined
    del not_awaited, wrong_type


async def wrong_response(response: openai.OpenAICallResponse) -> int:
    return len(response.content)


@llm.call(provider="anthropic", model="claude-3-5-sonnet-latest", output_parser=wrong_response)  # E: call-overload, untyped-decorator
async def mismatched(text: str) -> str:
    return text
