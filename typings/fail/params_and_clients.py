"""call_params typos, wrong clients and unchecked partials that both checkers must flag."""

from __future__ import annotations

from dataclasses import dataclass

from minicall import llm
from minicall.providers import anthropic, openai


@llm.call(provider="openai", model="gpt-4o-mini", call_params={"temprature": 0.2})  # E: call-overload, untyped-decorator
def typo(text: str) -> str:
    return text


@openai.call("gpt-4o-mini", call_params={"max_token": 10})  # E: call-overload, untyped-decorator
def native_typo(text: str) -> str:
    return text


@openai.call("gpt-4o-mini", client=anthropic.AnthropicClient(api_key="k"))  # E: call-overload, untyped-decorator
def wrong_client(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", client="sk-not-a-client")  # E: call-overload, untyped-decorator
def not_a_client(text: str) -> str:
    return text


@dataclass
class Book:
    title: str
    year: int


@llm.call(provider="openai", model="gpt-4o-mini", response_model=Book, stream=True)
def partial_books(text: str) -> str:
    return text


ages = [2026 - p.year for p in partial_books("Dune")]  # E: operator
