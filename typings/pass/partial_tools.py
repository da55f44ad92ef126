"""Partial tool streams as users write them (``stream={"partial_tools": True}``): must
pass mypy --strict and pyright strict, sync and async, neutral and provider modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from minicall import BaseTool, llm
from minicall.providers import anthropic

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:

    def assert_type(value, _type):
        return value


class GetBookAuthor(BaseTool):
    """Returns the author of the book with the given title."""

    title: str

    def call(self) -> str:
        return "Patrick Rothfuss" if self.title == "The Name of the Wind" else "Unknown"


@llm.call(provider="openai", model="gpt-4o-mini", tools=[GetBookAuthor], stream={"partial_tools": True})
def identify_authors(books: list[str]) -> str:
    return f"Who wrote {books}?"


def use_partial_tools() -> list[str]:
    stream: llm.Stream = identify_authors(["The Name of the Wind"])
    out: list[str] = []
    for chunk, tool in stream:
        if tool:
            assert_type(tool.delta, str | None)
            if tool.delta is not None:  # partial tool
                out.append(tool.delta)
            else:
                out.append(str(tool.call()))
        else:
            out.append(chunk.content)
    return out


@anthropic.call("claude-3-5-sonnet-latest", tools=[GetBookAuthor], stream={"partial_tools": True})
async def identify_async(book: str) -> str:
    return f"Who wrote {book}?"


async def use_async_partial_tools() -> list[str | None]:
    stream: anthropic.AnthropicAsyncStream = await identify_async("Mistborn")
    return [tool.delta async for _, tool in stream if tool is not None]


@llm.call(provider="openai", model="gpt-4o-mini", tools=[GetBookAuthor], stream={"partial_tools": False})
def plain(book: str) -> str:
    return book


def use_plain() -> llm.Stream:
    return plain("Dune")
