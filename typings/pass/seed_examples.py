"""The README's examples, annotated as users write them: must pass mypy --strict."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from minicall import BaseDynamicConfig, BaseTool, Message, Messages, Partial, llm, prompt_template
from minicall.providers import openai

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:

    def assert_type(value, _type):
        return value


@llm.call(provider="openai", model="gpt-4o-mini")
def recommend_book(genre: str) -> str:
    return f"Recommend a {genre} book"


def use_recommend_book() -> str:
    response: llm.CallResponse = recommend_book("fantasy")
    finish: list[str] | None = response.finish_reasons
    tokens: int | None = response.input_tokens
    cost: float | None = response.cost
    other: llm.CallResponse = llm.override(
        recommend_book,
        provider="anthropic",
        model="claude-3-5-sonnet-latest",
        call_params={"temperature": 0.7},
    )("fantasy")
    del finish, tokens, cost
    return response.content + other.content


@openai.call("gpt-4o-mini")
def native_book(genre: str) -> openai.OpenAIDynamicConfig:
    return {"messages": [{"role": "user", "content": f"Recommend a {genre} book"}]}


def use_native() -> None:
    response: openai.OpenAICallResponse = native_book("fantasy")
    history: list[openai.OpenAIMessageParam] = [response.message_param]
    del history


@llm.call(provider="openai", model="gpt-4o-mini")
@prompt_template(
    """
    SYSTEM: You are a librarian.
    USER: Recommend a {genre} book
    """
)
def templated(genre: str) -> BaseDynamicConfig:
    return {"metadata": {"tags": ["x"]}}


@llm.call(provider="openai", model="gpt-4o-mini", stream=True)
def streamed(genre: str) -> str:
    return f"Recommend a {genre} book"


def use_stream() -> str:
    stream: llm.Stream = streamed("fantasy")
    for chunk, tool in stream:
        if tool is None:
            print(chunk.content, end="")
    final: llm.CallResponse = stream.construct_call_response()
    return final.content


@dataclass
class Book:
    title: str
    year: int


@llm.call(provider="openai", model="gpt-4o-mini", response_model=Book)
def extract_book(text: str) -> str:
    return f"Extract the book: {text}"


@llm.call(provider="openai", model="gpt-4o-mini", response_model=Book, stream=True)
def extract_partial(text: str) -> str:
    return text


def use_models() -> int:
    book: Book = extract_book("Dune, 1965")
    partials: Iterable[Partial[Book]] = extract_partial("Dune")
    return book.year + sum(1 for _ in partials)


def use_structured_stream() -> int:
    # Mirascope's structured stream: the partials, then the whole value and the chunk stream.
    streamed = extract_partial("Dune")
    assert_type(streamed, llm.StructuredStream[Book])
    for partial in streamed:
        assert_type(partial, Partial[Book])
    assert_type(streamed.constructed_response_model, Book)
    return streamed.constructed_response_model.year + len(streamed.stream.content)


def shout(response: llm.CallResponse) -> str:
    return response.content.upper()


@llm.call(provider="openai", model="gpt-4o-mini", output_parser=shout)
def parsed(text: str) -> str:
    return text


class GetWeather(BaseTool):
    """Get the weather in a city."""

    city: str

    def call(self) -> str:
        return f"sunny in {self.city}"


@llm.call(provider="openai", model="gpt-4o-mini", tools=[GetWeather])
def weather(city: str) -> list[Message]:
    return [Messages.User(f"Weather in {city}?")]


def use_tools() -> str:
    response = weather("Paris")
    tool = response.tool
    text: str = parsed("hi")
    if tool is not None:
        return str(tool.call()) + text
    return text


@llm.call(provider="openai", model="gpt-4o-mini")
async def async_book(genre: str) -> str:
    return f"Recommend a {genre} book"


@llm.call(provider="openai", model="gpt-4o-mini", stream=True)
async def async_stream(genre: str) -> str:
    return genre


@llm.call(provider="openai", model="gpt-4o-mini", response_model=Book, stream=True)
async def async_partials(text: str) -> str:
    return text


async def use_async() -> str:
    response: llm.CallResponse = await async_book("fantasy")
    stream: llm.AsyncStream = await async_stream("x")
    async for chunk, _ in stream:
        print(chunk.content)
    partials: AsyncIterable[Partial[Book]] = await async_partials("Dune")
    async for book in partials:
        print(book)
    return response.content


if __name__ == "__main__":
    asyncio.run(use_async())
