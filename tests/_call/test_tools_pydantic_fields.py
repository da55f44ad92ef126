"""Mirascope-style tool fields declared with pydantic ``Field(...)`` (pydantic optional)."""

from __future__ import annotations

import pytest

from minicall import BaseTool
from minicall._call.tools import tool_spec

pydantic = pytest.importorskip("pydantic")


class GetTime(BaseTool):
    """Get the local time."""

    city: str = pydantic.Field(..., description="The city")
    hours: int = pydantic.Field(default=24, description="Clock format")

    def call(self) -> str:
        return f"{self.city}/{self.hours}"


def test_field_descriptions_and_required_reach_the_schema():
    schema = tool_spec(GetTime).parameters
    assert schema["required"] == ["city"]
    assert schema["properties"]["city"]["description"] == "The city"
    assert schema["properties"]["hours"] == {"type": "integer", "description": "Clock format", "default": 24}


def test_defaults_fill_missing_arguments_and_required_ones_are_enforced():
    assert GetTime.from_call("1", {"city": "Oslo"}).call() == "Oslo/24"
    from minicall import ValidationError

    with pytest.raises(ValidationError):
        GetTime.from_call("2", {})


class TagBook(BaseTool):
    """Tag a book."""

    title: str = pydantic.Field(description="The title")  # no default at all: required
    tags: list[str] = pydantic.Field(default_factory=list, description="Tags so far")
    shelf: str | None = pydantic.Field(None, description="Where it goes")

    def call(self) -> list[str]:
        self.tags.append(self.title)
        return self.tags


def test_a_field_with_only_a_description_is_required():
    schema = tool_spec(TagBook).parameters
    assert schema["required"] == ["title"]
    assert schema["properties"]["title"] == {"type": "string", "description": "The title"}
    with pytest.raises(TypeError, match="title"):
        TagBook()


def test_a_default_factory_makes_the_field_optional_and_is_not_called_to_build_the_schema():
    calls: list[int] = []

    def counted() -> list[str]:
        calls.append(1)
        return []

    class Counted(BaseTool):
        tags: list[str] = pydantic.Field(default_factory=counted, description="Tags")

    props = tool_spec(Counted).parameters["properties"]
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "description": "Tags"}
    assert "required" not in tool_spec(Counted).parameters
    assert calls == []
    Counted.from_call("1", {})
    Counted()
    assert calls == [1, 1]  # once per instance, and only for instances


def test_a_default_factory_gives_every_instance_its_own_value():
    first = TagBook.from_call("1", {"title": "Dune"})
    second = TagBook.from_call("2", {"title": "Emma"})
    third, fourth = TagBook(title="Ulysses"), TagBook(title="Beloved")
    assert first.call() == ["Dune"]
    assert second.call() == ["Emma"]
    assert third.call() == ["Ulysses"]
    assert fourth.args == {"title": "Beloved", "tags": [], "shelf": None}
    assert TagBook.from_call("5", {"title": "x", "tags": ["given"]}).tags == ["given"]


def test_field_defaults_and_descriptions_reach_the_wire_and_the_parsed_tool(fake):
    from minicall import llm
    from minicall.testing import Reply, ToolCallReply

    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), tools=[TagBook])
    def tag(text: str) -> str:
        return text

    fake.script(Reply(tool_calls=[ToolCallReply("TagBook", {"title": "Dune"}),
                                  ToolCallReply("TagBook", {"title": "Emma"})]))
    first, second = tag("tag Dune and Emma").tools
    sent = fake.last.json["tools"][0]["function"]["parameters"]
    assert sent["required"] == ["title"]
    assert sent["properties"]["tags"] == {"type": "array", "items": {"type": "string"}, "description": "Tags so far"}
    assert sent["properties"]["shelf"]["default"] is None
    assert isinstance(first, TagBook) and isinstance(second, TagBook)
    assert first.call() == ["Dune"]
    assert second.args == {"title": "Emma", "tags": [], "shelf": None}
