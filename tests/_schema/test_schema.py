"""json_schema and its OpenAI-strict and Gemini dialects."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, make_dataclass
from typing import Annotated, Any, Literal, NamedTuple, Optional, TypedDict

import pytest

from minicall._model.errors import ConfigurationError
from minicall._schema.dialects import gemini_schema, strict_nulls_dropped, strict_openai
from minicall._schema.generate import json_schema

jsonschema = pytest.importorskip("jsonschema")


class Genre(enum.Enum):
    """A genre."""

    FANTASY = "fantasy"
    SCIFI = "scifi"


@dataclass
class Author:
    """Who wrote it.

    Args:
        name: Full name.
    """

    name: str
    born: Optional[int] = None


class Desc:
    description = "From an object."


@dataclass
class Book:
    """A book on the shelf."""

    title: Annotated[str, "The title"]
    author: Author
    genre: Genre
    subtitle: Annotated[str, Desc()] = ""
    tags: set[str] = field(default_factory=set)
    year: int = field(default=2000, metadata={"description": "Year published"})


@dataclass
class Node:
    value: int
    children: list[Node]


def _valid(schema: dict[str, Any]) -> dict[str, Any]:
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def test_dataclass_schema_has_fields_defaults_descriptions_and_defs() -> None:
    schema = _valid(json_schema(Book))
    assert schema["description"] == "A book on the shelf."
    assert schema["required"] == ["title", "author", "genre"]
    props = schema["properties"]
    assert props["title"] == {"type": "string", "description": "The title"}
    assert props["subtitle"]["description"] == "From an object."
    assert props["year"] == {"type": "integer", "description": "Year published", "default": 2000}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    assert props["author"] == {"$ref": "#/$defs/Author"}
    assert schema["$defs"]["Author"]["properties"]["name"]["description"] == "Full name."
    assert schema["$defs"]["Genre"] == {"description": "A genre.", "type": "string",
                                        "enum": ["fantasy", "scifi"]}
    assert schema["$defs"]["Author"]["properties"]["born"]["anyOf"] == [
        {"type": "integer"}, {"type": "null"}]


def test_recursive_types_use_refs() -> None:
    schema = _valid(json_schema(Node))
    assert schema["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert "Node" in schema["$defs"]
    jsonschema.validate({"value": 1, "children": [{"value": 2, "children": []}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"value": 1, "children": [{"value": "x", "children": []}]}, schema)


class Movie(TypedDict, total=False):
    name: str
    rating: float


class Point(NamedTuple):
    x: int
    y: int = 0


@pytest.mark.parametrize(("tp", "expected"), [
    (str, {"type": "string"}), (int, {"type": "integer"}), (float, {"type": "number"}),
    (bool, {"type": "boolean"}), (type(None), {"type": "null"}), (Any, {}),
    (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
    (Literal[1, "a"], {"enum": [1, "a"]}),
    (list[int], {"type": "array", "items": {"type": "integer"}}),
    (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
    (tuple[int, str], {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}],
                       "minItems": 2, "maxItems": 2}),
    (dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
    (Optional[str], {"anyOf": [{"type": "string"}, {"type": "null"}]}),
    (int | str, {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
    (Movie, {"type": "object", "properties": {"name": {"type": "string"},
                                              "rating": {"type": "number"}}}),
    (Point, {"type": "object", "properties": {"x": {"type": "integer"},
                                              "y": {"type": "integer", "default": 0}},
             "required": ["x"]}),
])
def test_type_to_schema_table(tp: Any, expected: dict[str, Any]) -> None:
    assert _valid(json_schema(tp)) == expected


def test_unsupported_types_raise_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        json_schema(complex)
    with pytest.raises(ConfigurationError):
        json_schema(dict[int, str])


def test_strict_openai_closes_objects_and_makes_optionals_nullable() -> None:
    strict = strict_openai(json_schema(Author))
    assert strict is not None
    _valid(strict)
    assert strict["additionalProperties"] is False
    assert strict["required"] == ["name", "born"]
    assert "default" not in strict["properties"]["born"]
    nested = strict_openai(json_schema(Movie))
    assert nested is not None
    assert nested["properties"]["name"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}


def test_strict_openai_reaches_defs_and_drops_unique_items() -> None:
    strict = strict_openai(json_schema(Book))
    assert strict is not None
    assert strict["$defs"]["Author"]["additionalProperties"] is False
    assert "uniqueItems" not in strict["properties"]["tags"]["anyOf"][0]


@pytest.mark.parametrize("tp", [dict[str, int], Any, tuple[int, str], list[Any]])
def test_strict_openai_refuses_what_it_cannot_express(tp: Any) -> None:
    holder = make_dataclass("Holder", [("value", tp)])
    assert strict_openai(json_schema(holder)) is None


def test_strict_openai_refuses_a_non_object_root() -> None:
    assert strict_openai(json_schema(list[Author])) is None
    assert strict_openai(json_schema(int)) is None


def test_strict_nulls_dropped_removes_only_the_nulls_strict_mode_forced() -> None:
    schema = json_schema(list[Book])
    reply = [{"title": "Dune", "author": {"name": "Herbert", "born": None}, "genre": "scifi",
              "subtitle": None, "tags": None, "year": None}]
    # Book's optional non-nullable fields lose their nulls; Author.born may be null and keeps it.
    assert strict_nulls_dropped(schema, reply) == [
        {"title": "Dune", "author": {"name": "Herbert", "born": None}, "genre": "scifi"}]
    # A null for a required field stays, for validation to reject; unknown keys stay too.
    assert strict_nulls_dropped(json_schema(Author), {"name": None, "x": None}) == {"name": None, "x": None}
    assert strict_nulls_dropped(json_schema(Author), "not an object") == "not an object"


def test_gemini_schema_inlines_refs_and_uses_nullable() -> None:
    schema = gemini_schema(json_schema(Book))
    text = repr(schema)
    for banned in ("$ref", "$defs", "additionalProperties", "default", "uniqueItems", "anyOf"):
        assert banned not in text
    assert schema["properties"]["author"]["properties"]["born"] == {"type": "integer",
                                                                   "nullable": True}
    assert schema["properties"]["genre"]["enum"] == ["fantasy", "scifi"]


def test_gemini_schema_handles_tuples_maps_and_number_enums() -> None:
    assert gemini_schema(json_schema(tuple[int, int])) == {
        "type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}
    assert gemini_schema(json_schema(dict[str, int])) == {"type": "object"}
    assert gemini_schema(json_schema(Literal[1, 2])) == {"type": "integer"}
    assert gemini_schema(json_schema(int | str)) == {
        "anyOf": [{"type": "integer"}, {"type": "string"}]}


def test_gemini_schema_refuses_recursive_types() -> None:
    with pytest.raises(ConfigurationError, match="recursive"):
        gemini_schema(json_schema(Node))


def test_pydantic_models_use_their_own_schema() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Pet(pydantic.BaseModel):
        """A pet."""

        name: str = pydantic.Field(description="Its name")

    class Owner(pydantic.BaseModel):
        pets: list[Pet]

    schema = _valid(json_schema(Owner))
    assert schema["properties"]["pets"]["items"] == {"$ref": "#/$defs/Pet"}
    assert schema["$defs"]["Pet"]["properties"]["name"]["description"] == "Its name"
    assert gemini_schema(schema)["properties"]["pets"]["items"]["properties"]["name"][
        "type"] == "string"
