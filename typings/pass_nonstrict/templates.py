"""Mirascope's template style: prompt functions without a return annotation are sync calls.

Checked by plain mypy and pyright's standard mode (``--strict`` forbids unannotated
functions): the calls keep their types although the prompt functions have none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from minicall import llm, prompt_template
from minicall.providers import anthropic, openai

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:

    def assert_type(value, _type):
        return value


@llm.call(provider="openai", model="gpt-4o-mini")
@prompt_template("Recommend a {genre} book")
def recommend(genre: str): ...


@llm.call(provider="openai", model="gpt-4o-mini", stream=True)
@prompt_template("Recommend a {genre} book")
def recommend_stream(genre: str): ...


@openai.call("gpt-4o-mini")
@prompt_template("Recommend a {genre} book")
def native(genre: str): ...


@anthropic.call("claude-3-5-sonnet-latest", stream=True)
@prompt_template("Recommend a {genre} book")
def native_stream(genre: str): ...


@llm.call(provider="openai", model="gpt-4o-mini")
def plain(genre: str):
    return f"Recommend a {genre} book"


@openai.call("gpt-4o-mini")
@prompt_template("Recommend a {genre} book for a {age}-year-old")
def computed(genre: str):
    return {"computed_fields": {"age": 12}}


@llm.call(provider="openai", model="gpt-4o-mini")
def untyped(genre):
    return f"Recommend a {genre} book"


def use() -> str:
    assert_type(recommend("fantasy"), llm.CallResponse)
    assert_type(recommend_stream("fantasy"), llm.Stream)
    assert_type(native("fantasy"), openai.OpenAICallResponse)
    assert_type(native_stream("fantasy"), anthropic.AnthropicStream)
    assert_type(computed("fantasy"), openai.OpenAICallResponse)
    # Without a template, mypy sees an unannotated return as Any, which matches the sync and
    # the coroutine overload alike: the call is Any there (pyright infers the str: typed).
    text = recommend("fantasy").content + native("horror").content + plain("x").content + untyped("y").content
    for chunk, _ in recommend_stream("mystery"):
        text += chunk.content
    for native_chunk, _ in native_stream("mystery"):
        text += native_chunk.content
    return text
