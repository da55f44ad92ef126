"""Mirascope-style tool fields declared with pydantic ``Field(...)`` (pydantic optional)."""

from __future__ import annotations

import pytest

from minicall import BaseTool
from minicall._tools import tool_spec

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
