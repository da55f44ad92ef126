"""Misuse that mypy must flag: each line marked ``# E: <code>`` must produce that error."""

from __future__ import annotations

from dataclasses import dataclass

from minicall import llm


@llm.call(provider="openai", model="gpt-4o-mini")
def recommend_book(genre: str) -> str:
    return f"Recommend a {genre} book"


recommend_book(42)  # E: arg-type
recommend_book("fantasy", "extra")  # E: call-arg
as_text: str = recommend_book("fantasy")  # E: assignment
recommend_book("fantasy").upper()  # E: attr-defined


@dataclass
class Book:
    title: str


@llm.call(provider="openai", model="gpt-4o-mini", response_model=Book)
def extract(text: str) -> str:
    return text


not_a_response: llm.CallResponse = extract("x")  # E: assignment


@llm.call(provider="openai", model="gpt-4o-mini", stream=True)
def streamed(text: str) -> str:
    return text


streamed("x").content.nope  # E: attr-defined
wrong_stream: llm.CallResponse = streamed("x")  # E: assignment


def parse(response: llm.CallResponse) -> int:
    return len(response.content)


@llm.call(provider="openai", model="gpt-4o-mini", output_parser=parse)
def parsed(text: str) -> str:
    return text


not_int: str = parsed("x")  # E: assignment


@llm.call(provider="openai", model="gpt-4o-mini")
async def async_book(genre: str) -> str:
    return genre


not_awaited: llm.CallResponse = async_book("x")  # E: assignment
