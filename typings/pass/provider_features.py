"""Provider-specific features as Mirascope v1 users write them: must pass mypy --strict
and pyright strict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from minicall import (
    BaseTool,
    CacheControlPart,
    Message,
    Messages,
    ResponseModelConfigDict,
    TextPart,
    ToolConfig,
    llm,
    prompt_template,
)
from minicall.providers import anthropic, azure, bedrock, google, groq, openai

BETA = {"anthropic-beta": "prompt-caching-2024-07-31"}


@anthropic.call("claude-3-5-sonnet-latest", call_params={"max_tokens": 100, "extra_headers": BETA, "timeout": 30.0})
def claude(genre: str) -> str:
    return f"Recommend a {genre} book"


@openai.call("gpt-4o-mini", call_params={"extra_headers": {"x-trace": "1"}, "extra_query": {"a": 1}, "extra_body": {"b": [2]}})
def gpt(genre: str) -> str:
    return f"Recommend a {genre} book"


@llm.call(provider="groq", model="llama-3.1-8b-instant", call_params={"extra_headers": {"x-trace": "1"}})
def any_provider(genre: str) -> str:
    return f"Recommend a {genre} book"


def dynamic(genre: str) -> google.GoogleDynamicConfig:
    return {"call_params": {"extra_headers": {"x-goog-user-project": "p"}}}


def params() -> tuple[bedrock.BedrockCallParams, groq.GroqCallParams]:
    return {"extra_headers": {"x-trace": "1"}}, {"extra_headers": {"x-trace": "1"}}


# -- strict structured outputs -----------------------------------------------------------


class GetWeather(BaseTool):
    """Get the weather."""

    tool_config: ClassVar[openai.OpenAIToolConfig] = openai.OpenAIToolConfig(strict=True)
    city: str

    def call(self) -> str:
        return self.city


class Lookup(BaseTool):
    """Look a term up."""

    tool_config: ClassVar[azure.AzureToolConfig] = azure.AzureToolConfig(strict=True)
    term: str


@dataclass
class Book:
    """A book."""

    model_config = ResponseModelConfigDict(strict=True)
    title: str
    year: int = 2000


@openai.call("gpt-4o-mini", tools=[GetWeather])
def weather(city: str) -> str:
    return f"Weather in {city}?"


@openai.call("gpt-4o-mini", response_model=Book, json_mode=True)
def extract_book(text: str) -> str:
    return f"Extract the book: {text}"


def use_strict() -> str:
    book: Book = extract_book("Dune, 1965")
    tool = weather("Oslo").tool
    config: ToolConfig = GetWeather.tool_config
    del config
    return book.title + ("" if tool is None else str(tool.call()))


# -- prompt caching ------------------------------------------------------------------------


@anthropic.call("claude-3-5-sonnet-latest", call_params={"max_tokens": 1024})
@prompt_template(
    """
    SYSTEM: Here is the book in its entirety: {book}
    {:cache_control}
    USER: {query}
    """
)
def analyze_book(query: str, book: str) -> None: ...


class Search(BaseTool):
    """Search the book."""

    tool_config: ClassVar[anthropic.AnthropicToolConfig] = anthropic.AnthropicToolConfig(
        cache_control={"type": "ephemeral"}
    )
    term: str


@anthropic.call("claude-3-5-sonnet-latest", tools=[Search])
def cached_messages(question: str) -> list[Message]:
    return [
        Messages.System([TextPart("Long instructions"), CacheControlPart(type="cache_control", cache_type="ephemeral")]),
        Messages.User([TextPart(question), CacheControlPart(ttl="1h")]),
    ]


def use_caching() -> tuple[int | None, int | None, float | None]:
    response: anthropic.AnthropicCallResponse = analyze_book("themes?", "...")
    usage = response.usage
    written = None if usage is None else usage.cache_write_tokens
    cached_messages("x")
    return response.cached_tokens, written, response.cost
