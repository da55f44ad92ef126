"""Misuse of structured output, streams, tools and async that mypy must flag."""

from __future__ import annotations

from dataclasses import dataclass

from minicall import llm
from minicall.providers import anthropic, openai


@dataclass
class Book:
    title: str


@llm.call(provider="openai", model="gpt-4o-mini", response_model=Book, stream=True)
def partial_books(text: str) -> str:
    return text


one_book: Book = partial_books("x")  # E: assignment


@llm.call(provider="openai", model="gpt-4o-mini", response_model=Book)
async def async_book(text: str) -> str:
    return text


async def misuse() -> None:
    book: Book = async_book("x")  # E: assignment
    title: int = (await async_book("x")).title  # E: assignment
    del book, title


@openai.call("gpt-4o-mini")
def native(text: str) -> str:
    return text


wrong_provider: anthropic.AnthropicCallResponse = native("x")  # E: assignment
native(text=3)  # E: arg-type


@openai.call("gpt-4o-mini", call_params={"temperature": "hot"})  # E: call-overload, untyped-decorator
def bad_params(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", stream=True)
def streamed(text: str) -> str:
    return text


for chunk, tool in streamed("x"):
    chunk.content.nope  # E: attr-defined
