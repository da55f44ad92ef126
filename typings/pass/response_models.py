"""Every ``response_model`` kind the README lists, as both strict checkers see it: the type
itself where a type can stand for it, ``Any`` where it cannot (``Literal``, ``Optional``,
``Union``, ``Annotated``), and never an untyped decorator; sync, async, streamed and
through provider modules."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple, Optional, TypedDict, Union

from minicall import Partial, llm
from minicall.providers import anthropic, openai

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:

    def assert_type(value, _type):
        return value


@dataclass
class Book:
    title: str
    year: int


class BookDict(TypedDict):
    title: str
    year: int


class BookRow(NamedTuple):
    title: str
    year: int


class Genre(Enum):
    FANTASY = "fantasy"
    HORROR = "horror"


@llm.call(provider="openai", model="gpt-4o-mini", response_model=BookDict)
def as_typed_dict(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=BookRow)
def as_named_tuple(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=Genre)
def as_enum(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=str)
def as_str(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=int)
def as_int(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=float)
def as_float(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=bool)
def as_bool(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=list[Book])
def as_list(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=tuple[int, ...])
def as_tuple(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=dict[str, int])
def as_dict(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=set[str])
def as_set(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=Literal["yes", "no"])
def as_literal(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=Optional[Book])
def as_optional(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=Union[Book, int])
def as_union(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=Annotated[int, "a year"])
def as_annotated(text: str) -> str:
    return text


@openai.call("gpt-4o-mini", response_model=Literal["yes", "no"])
def native_literal(text: str) -> str:
    return text


@anthropic.call("claude-3-5-sonnet-latest", response_model=list[Book])
def native_list(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=Optional[Book])
async def async_optional(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=BookDict)
async def async_typed_dict(text: str) -> str:
    return text


@llm.call(provider="openai", model="gpt-4o-mini", response_model=list[Book], stream=True)
def streamed_list(text: str) -> str:
    return text


def use() -> None:
    assert_type(as_typed_dict("x"), BookDict)
    assert_type(as_named_tuple("x"), BookRow)
    assert_type(as_enum("x"), Genre)
    assert_type(as_str("x"), str)
    assert_type(as_int("x"), int)
    assert_type(as_float("x"), float)
    assert_type(as_bool("x"), bool)
    assert_type(as_list("x"), list[Book])
    assert_type(as_tuple("x"), tuple[int, ...])
    assert_type(as_dict("x"), dict[str, int])
    assert_type(as_set("x"), set[str])
    # Forms a type cannot stand for are Any: usable, not an untyped decorator.
    assert_type(as_literal("x"), Any)
    assert_type(as_optional("x"), Any)
    assert_type(as_union("x"), Any)
    assert_type(as_annotated("x"), Any)
    assert_type(native_literal("x"), Any)
    assert_type(native_list("x"), list[Book])
    assert_type(asyncio.run(async_optional("x")), Any)
    assert_type(asyncio.run(async_typed_dict("x")), BookDict)
    partials: Iterable[Partial[list[Book]]] = streamed_list("x")  # a StructuredStream is iterable
    assert_type(streamed_list("x"), llm.StructuredStream[list[Book]])
    assert_type(next(iter(partials)), Partial[list[Book]])
    # The parameters stay typed through every decorator.
    as_literal(text="x")
