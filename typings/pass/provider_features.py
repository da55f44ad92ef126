"""Provider-specific features as Mirascope v1 users write them: must pass mypy --strict
and pyright strict."""

from __future__ import annotations

from minicall import llm
from minicall.providers import anthropic, bedrock, google, groq, openai

BETA = {"anthropic-beta": "prompt-caching-2024-07-31"}


@anthropic.call("claude-3-5-sonnet-latest", call_params={"max_tokens": 100, "extra_headers": BETA})
def claude(genre: str) -> str:
    return f"Recommend a {genre} book"


@openai.call("gpt-4o-mini", call_params={"extra_headers": {"x-trace": "1"}})
def gpt(genre: str) -> str:
    return f"Recommend a {genre} book"


@llm.call(provider="groq", model="llama-3.1-8b-instant", call_params={"extra_headers": {"x-trace": "1"}})
def any_provider(genre: str) -> str:
    return f"Recommend a {genre} book"


def dynamic(genre: str) -> google.GoogleDynamicConfig:
    return {"call_params": {"extra_headers": {"x-goog-user-project": "p"}}}


def params() -> tuple[bedrock.BedrockCallParams, groq.GroqCallParams]:
    return {"extra_headers": {"x-trace": "1"}}, {"extra_headers": {"x-trace": "1"}}
