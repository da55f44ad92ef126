"""Partial tool streams misused: each line marked ``# E: <code>`` must produce that error."""

from __future__ import annotations

from minicall import BaseTool, llm


class GetBookAuthor(BaseTool):
    """Returns the author of the book with the given title."""

    title: str


@llm.call(provider="openai", model="gpt-4o-mini", tools=[GetBookAuthor], stream={"partial_tools": True})
def identify_authors(book: str) -> str:
    return f"Who wrote {book}?"


def use() -> None:
    for _, tool in identify_authors("Dune"):
        if tool:
            tool.delta.upper()  # E: union-attr
            wrong: int = tool.delta  # E: assignment
            del wrong


llm.call(provider="openai", model="gpt-4o-mini", stream={"partial_tool": True})  # E: call-overload
llm.call(provider="openai", model="gpt-4o-mini", stream={"partial_tools": "yes"})  # E: call-overload
