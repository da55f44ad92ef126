"""parse_partial / partial_value: best-effort values while structured output streams."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional, TypedDict

import strategies
from hypothesis import given, settings
from hypothesis import strategies as st

from minicall._schema.partial_json import parse_partial, partial_value

json_values = strategies.json_values(text=st.text(), floats=st.floats(allow_nan=False, allow_infinity=False))


def is_subvalue(part: Any, whole: Any) -> bool:
    """``part`` could be what a prefix of ``whole``'s JSON shows (None: not seen yet)."""
    if part is None:
        return True
    if isinstance(whole, dict):
        return isinstance(part, dict) and all(
            k in whole and is_subvalue(v, whole[k]) for k, v in part.items())
    if isinstance(whole, list):
        return isinstance(part, list) and len(part) <= len(whole) and all(
            is_subvalue(p, w) for p, w in zip(part, whole))
    if isinstance(whole, str):
        return isinstance(part, str) and whole.startswith(part)
    return part == whole and type(part) is type(whole)


@settings(max_examples=200, deadline=None)
@given(json_values, st.booleans())
def test_a_whole_document_parses_to_itself(value: Any, ascii_only: bool) -> None:
    assert parse_partial(json.dumps(value, ensure_ascii=ascii_only)) == value


@settings(max_examples=100, deadline=None)
@given(st.lists(json_values, max_size=3) | st.dictionaries(st.text(max_size=3), json_values,
                                                           max_size=3),
       st.booleans())
def test_every_prefix_gives_a_subvalue(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    for end in range(len(text) + 1):
        assert is_subvalue(parse_partial(text[:end]), value), text[:end]


def test_open_strings_arrays_and_objects_are_closed() -> None:
    assert parse_partial('{"a": [1, "tw') == {"a": [1, "tw"]}
    assert parse_partial('{"a": {"b": tr') == {"a": {"b": True}}
    assert parse_partial('[null, fal') == [None, False]


def test_unfinished_keys_and_numbers_are_dropped() -> None:
    assert parse_partial('{"title": "x", "ye') == {"title": "x"}
    assert parse_partial('{"title": "x", "year"') == {"title": "x"}
    assert parse_partial('{"title": "x", "year": ') == {"title": "x"}
    assert parse_partial('{"year": 19') == {}
    assert parse_partial("[1, 2") == [1]
    assert parse_partial('{"n": 1.5e') == {}


def test_half_escapes_are_dropped() -> None:
    assert parse_partial('"ab\\') == "ab"
    assert parse_partial('"ab\\u00') == "ab"
    assert parse_partial('"\\ud83d') == ""
    assert parse_partial('"a\\"b') == 'a"b'


def test_empty_or_garbage_input_gives_none_or_what_was_read() -> None:
    assert parse_partial("") is None
    assert parse_partial("   ") is None
    assert parse_partial("hello") is None
    assert parse_partial('{"a": 1, @@@') == {"a": 1}
    assert parse_partial("12") == 12  # a top-level number is returned as read


@dataclass(frozen=True)
class Book:
    title: str
    year: int


class Movie(TypedDict):
    name: str
    rating: float


def test_partial_dataclass_has_none_for_missing_fields() -> None:
    book = partial_value(Book, parse_partial('{"title": "Du'))
    assert isinstance(book, Book)
    assert (book.title, book.year) == ("Du", None)


def test_complete_values_are_validated() -> None:
    assert partial_value(Book, {"title": "Dune", "year": 1965}) == Book("Dune", 1965)
    assert partial_value(list[Book], [{"title": "a", "year": 1}, {"title": "b"}])[0] == Book("a", 1)


def test_partial_typeddict_lists_and_optionals() -> None:
    assert partial_value(Movie, {"name": "Al"}) == {"name": "Al"}
    books = partial_value(list[Book], [{"title": "a"}])
    assert books[0].title == "a" and books[0].year is None
    assert partial_value(Optional[Book], {"title": "x"}).title == "x"
    assert partial_value(int, "not yet") is None
    assert partial_value(Book, None) is None


def test_partial_pydantic_model_uses_model_construct() -> None:
    import pytest

    pydantic = pytest.importorskip("pydantic")

    class Author(pydantic.BaseModel):
        name: str
        born: int

    author = partial_value(Author, {"name": "Fr"})
    assert isinstance(author, Author)
    assert (author.name, author.born) == ("Fr", None)
