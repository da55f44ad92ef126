"""Mirascope code moved over: retries, llm.context, toolkits, FromCallArgs, vertex, direct
prompt calls, model_dump and tool_call views, as mypy --strict and pyright strict see them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import minicall
from minicall import BaseDynamicConfig, BaseToolKit, FromCallArgs, Messages, llm, prompt_template, toolkit_tool
from minicall.providers import openai, vertex
from minicall.retries import FallbackError, collect_errors, fallback, retry

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:

    def assert_type(value, _type):
        return value


@fallback(minicall.RateLimitError, [{"catch": minicall.RateLimitError, "provider": "anthropic", "model": "claude"}])
@llm.call(provider="openai", model="gpt-4o-mini")
def answer(question: str) -> str:
    return question


@retry(minicall.ValidationError, attempts=3, after=collect_errors(minicall.ValidationError))
@llm.call(provider="gemini", model="gemini-2.0-flash", response_model=int, json_mode=True)
def pages(book: str, *, errors: list[minicall.ValidationError] | None = None) -> str:
    return book


@vertex.call("gemini-2.0-flash")
async def on_vertex(genre: str) -> vertex.AsyncVertexDynamicConfig:
    return {"messages": [Messages.User(genre)]}


@openai.call("gpt-4o-mini")
async def with_async_config(genre: str) -> openai.AsyncOpenAIDynamicConfig:
    return {"messages": [{"role": "user", "content": genre}]}


class Tools(BaseToolKit):
    __namespace__ = "typing_tools"
    level: str

    @toolkit_tool
    def suggest(self, author: str) -> str:
        """Suggest {self.level} reading."""
        return author


@dataclass
class Books:
    texts: Annotated[list[str], FromCallArgs()]
    count: int


@prompt_template("Recommend a {genre} book")
def templated(genre: str) -> None: ...


@prompt_template()
def configured(genre: str) -> BaseDynamicConfig:
    return {"messages": [Messages.User(genre)]}


def use() -> None:
    try:
        response = answer("why?")
        assert_type(response, llm.CallResponse)
        caught: list[BaseException] = getattr(response, "_caught", [])
        dumped: dict[str, Any] = response.model_dump(exclude={"response"})
        text: str = response.model_dump_json(indent=2)
        print(caught, dumped, text)
        if response.tool is not None:
            print(response.tool.tool_call.function.name)
    except FallbackError as error:
        print(error.errors)
    assert_type(pages("Dune"), int)
    with llm.context(provider="vertex", model="gemini-2.0-flash"):
        answer("again")
    tools = Tools(level="beginner").create_tools()
    print(tools, templated("fantasy")[0], configured("horror").get("messages"))


def catch_validation() -> None:
    try:
        pages("Dune")
    except minicall.PydanticValidationError as error:  # pydantic's and minicall's (pydantic >= 2.10)
        lines: list[str] = error.errors
        print(lines, error.response)
