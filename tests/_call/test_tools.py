"""Tools: BaseTool classes, function tools, specs, and response-model tools."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Literal

import pytest

from minicall._call.tools import (
    DEFAULT_TOOL_DESCRIPTION,
    BaseTool,
    convert_tools,
    response_model_tool,
    tool_from_function,
    tool_spec,
    unwrap,
    unwrap_partial,
)
from minicall._model.errors import ConfigurationError, ValidationError
from minicall._schema.partial_json import parse_partial


def format_book(title: str, author: str, year: int = 2000) -> str:
    """Returns a nicely formatted book.

    Args:
        title: The title of the book.
        author: The author of the book.
        year: The year it came out.
    """
    return f"{title} by {author} ({year})"


async def fetch_weather(city: str) -> str:
    """Looks up the weather."""
    await asyncio.sleep(0)
    return f"sunny in {city}"


class FormatBook(BaseTool):
    """Formats a book.

    Attributes:
        title: The title.
    """

    title: str
    stars: Annotated[int, "How many stars"] = 3

    def call(self) -> str:
        return f"{self.title} {'*' * self.stars}"


def test_function_tool_takes_name_description_and_arg_descriptions() -> None:
    tool = tool_from_function(format_book)
    assert tool.__name__ == "format_book" and tool._name() == "format_book"
    spec = tool_spec(tool)
    assert spec.name == "format_book"
    assert spec.description == "Returns a nicely formatted book."
    assert spec.strict is False
    assert spec.parameters == {
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "The title of the book."},
            "author": {"type": "string", "description": "The author of the book."},
            "year": {"type": "integer", "description": "The year it came out.", "default": 2000},
        },
        "required": ["title", "author"],
    }


def test_function_tool_call_honours_defaults_and_keeps_the_raw_call() -> None:
    tool_type = tool_from_function(format_book)
    raw = {"id": "call_1", "function": {"name": "format_book"}}
    tool = tool_type.from_call("call_1", {"title": "Dune", "author": "Herbert"}, raw)
    assert tool.args == {"title": "Dune", "author": "Herbert", "year": 2000}
    assert tool.id == "call_1" and tool.tool_call is raw
    assert tool.call() == "Dune by Herbert (2000)"


def test_async_function_tool_call_returns_a_coroutine() -> None:
    tool = convert_tools([fetch_weather])[0].from_call("c", {"city": "Oslo"})
    assert asyncio.run(tool.call()) == "sunny in Oslo"


def test_positional_only_parameters_are_passed_positionally() -> None:
    def add(a: int, /, b: int) -> int:
        return a - b

    assert tool_from_function(add).from_call(None, {"a": 5, "b": 2}).call() == 3


def test_bad_arguments_raise_validation_error_with_paths() -> None:
    with pytest.raises(ValidationError) as info:
        tool_from_function(format_book).from_call("c", {"title": 1, "year": "x"})
    assert info.value.errors == ["title: expected str, got 1",
                                 "author: missing required field",
                                 'year: expected int, got "x"']


def test_function_tools_need_annotations_and_no_star_args() -> None:
    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    def starred(*items: int) -> None: ...

    with pytest.raises(ConfigurationError, match="needs a type"):
        tool_from_function(untyped)
    with pytest.raises(ConfigurationError):
        tool_from_function(starred)


def test_base_tool_fields_args_and_description() -> None:
    tool = FormatBook.from_call("id9", {"title": "Dune"}, {"raw": True})
    assert tool.args == {"title": "Dune", "stars": 3}
    assert (tool.id, tool.tool_call, tool.title) == ("id9", {"raw": True}, "Dune")
    assert FormatBook._name() == "FormatBook"
    assert FormatBook._description() == "Formats a book."
    assert tool.call() == "Dune ***"
    props = tool_spec(FormatBook).parameters["properties"]
    assert props["title"]["description"] == "The title."
    assert props["stars"]["description"] == "How many stars"
    assert FormatBook(title="x") == FormatBook(title="x") != FormatBook(title="y")


def test_base_tool_without_docstring_gets_the_default_description() -> None:
    class Bare(BaseTool):
        x: int

    assert Bare._description() == DEFAULT_TOOL_DESCRIPTION
    with pytest.raises(NotImplementedError):
        Bare(x=1).call()


def test_async_base_tool_call() -> None:
    class Shout(BaseTool):
        text: str

        async def call(self) -> str:
            return self.text.upper()

    assert asyncio.run(Shout.from_call("c", {"text": "hi"}).call()) == "HI"


class _FieldInfoLike:
    """Looks like pydantic's FieldInfo (default, default_factory, description), is not."""

    def __init__(self, default: object, *, description: str | None = None,
                 default_factory: object = None) -> None:
        self.default, self.description, self.default_factory = default, description, default_factory


class PydanticUndefinedType:  # named as pydantic names its "no default" sentinel's type
    pass


def test_field_info_objects_are_read_by_duck_typing_without_pydantic() -> None:
    class Shelve(BaseTool):
        """Shelve a book."""

        title: str = _FieldInfoLike(..., description="The title")  # type: ignore[assignment]
        shelf: str = _FieldInfoLike(PydanticUndefinedType())  # type: ignore[assignment]
        copies: int = _FieldInfoLike(1, description="How many")  # type: ignore[assignment]
        notes: list[str] = _FieldInfoLike(  # type: ignore[assignment]
            PydanticUndefinedType(), default_factory=list)

    schema = tool_spec(Shelve).parameters
    assert schema["required"] == ["title", "shelf"]
    assert schema["properties"]["title"] == {"type": "string", "description": "The title"}
    assert schema["properties"]["copies"] == {"type": "integer", "description": "How many", "default": 1}
    assert "default" not in schema["properties"]["notes"]
    one = Shelve.from_call("1", {"title": "Dune", "shelf": "A"})
    two = Shelve(title="Emma", shelf="B")
    assert one.args == {"title": "Dune", "shelf": "A", "copies": 1, "notes": []}
    assert one.notes is not two.notes
    with pytest.raises(ValidationError, match="shelf"):
        Shelve.from_call("3", {"title": "Dune"})


def test_reserved_field_names_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="id"):
        class Clash(BaseTool):
            id: int


def test_convert_tools_passes_classes_and_caches_functions() -> None:
    first = convert_tools([format_book, FormatBook])
    second = convert_tools([format_book])
    assert first[1] is FormatBook
    assert first[0] is second[0]
    with pytest.raises(ConfigurationError):
        convert_tools([42])  # type: ignore[list-item]


@dataclass
class Book:
    """A book to extract."""

    title: str
    year: int


def test_response_model_tool_for_an_object_type_uses_its_fields() -> None:
    tool_type = response_model_tool(Book)
    spec = tool_spec(tool_type)
    assert spec.name == "Book" and spec.description == "A book to extract."
    assert spec.parameters["required"] == ["title", "year"]
    assert unwrap(tool_type, {"title": "Dune", "year": 1965}) == Book("Dune", 1965)
    tool = tool_type.from_call("c", {"title": "Dune", "year": 1965})
    assert tool.args == {"title": "Dune", "year": 1965} and tool.call() == Book("Dune", 1965)
    assert response_model_tool(Book) is tool_type


@pytest.mark.parametrize(("tp", "name", "value"), [
    (list[Book], "list", [Book("a", 1)]),
    (int, "int", 7),
    (Literal["yes", "no"], "Literal", "yes"),
])
def test_non_object_types_are_wrapped_as_value(tp: object, name: str, value: object) -> None:
    tool_type = response_model_tool(tp)
    spec = tool_spec(tool_type)
    assert spec.name == name
    assert spec.parameters["required"] == ["value"]
    assert "`value`" in spec.description
    from minicall._schema.validate import dump

    assert unwrap(tool_type, {"value": dump(value)}) == value


def test_unwrap_reports_problems_relative_to_the_type() -> None:
    with pytest.raises(ValidationError) as info:
        unwrap(response_model_tool(list[Book]), {"value": [{"title": "a", "year": "1"}]})
    assert info.value.errors == ['[0].year: expected int, got "1"']
    with pytest.raises(ValidationError):
        unwrap(response_model_tool(int), {"answer": 1})
    with pytest.raises(ConfigurationError):
        unwrap(FormatBook, {})


def test_unwrap_partial_builds_partial_values() -> None:
    books = unwrap_partial(response_model_tool(list[Book]),
                           parse_partial('{"value": [{"title": "a", "year": 1}, {"title": "b'))
    assert books[0] == Book("a", 1)
    assert (books[1].title, books[1].year) == ("b", None)
    book = unwrap_partial(response_model_tool(Book), parse_partial('{"title": "Du'))
    assert (book.title, book.year) == ("Du", None)


def test_pydantic_response_model_and_tool() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Pet(pydantic.BaseModel):
        """A pet."""

        name: str
        age: int

    tool_type = response_model_tool(Pet)
    spec = tool_spec(tool_type)
    assert spec.name == "Pet" and spec.description == "A pet."
    assert set(spec.parameters["properties"]) == {"name", "age"}
    assert unwrap(tool_type, {"name": "Rex", "age": 3}) == Pet(name="Rex", age=3)
    with pytest.raises(ValidationError) as info:
        unwrap(tool_type, {"name": "Rex", "age": "old"})
    assert info.value.errors[0].startswith("age: ")
    assert tool_type.from_call("c", {"name": "Rex", "age": 3}).args == {"name": "Rex", "age": 3}
