"""OpenAI strict structured outputs, as Mirascope v1 spells them: a tool with
``tool_config = OpenAIToolConfig(strict=True)`` and a response model with
``model_config = ResponseModelConfigDict(strict=True)`` (or pydantic's ``ConfigDict``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from shared import MODES, ask, run

import minicall
from minicall import BaseTool, ResponseModelConfigDict, llm
from minicall.providers import azure, openai
from minicall.providers.openai import OpenAIToolConfig
from minicall.testing import FakeServer, Reply, ToolCallReply

COMPAT = ["openai", "groq", "xai", "mistral", "litellm"]
OTHERS = ["anthropic", "google", "bedrock", "cohere"]
MODELS = {"openai": "gpt-4o-mini", "groq": "llama-3.1-8b-instant", "xai": "grok-3", "mistral": "mistral-small-latest",
          "litellm": "gpt-4o-mini", "azure": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-latest",
          "google": "gemini-2.0-flash", "bedrock": "anthropic.claude-3-haiku-20240307-v1:0",
          "cohere": "command-r-plus"}


class GetWeather(BaseTool):
    """Get the weather.

    Args:
        city: The city.
        days: How many days.
    """

    tool_config: ClassVar[OpenAIToolConfig] = OpenAIToolConfig(strict=True)
    city: str
    days: int = 3

    def call(self) -> str:
        return f"{self.city} for {self.days} days"


STRICT_PARAMETERS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "The city."},
        "days": {"description": "How many days.", "anyOf": [{"type": "integer"}, {"type": "null"}]},
    },
    "required": ["city", "days"],
    "additionalProperties": False,
}


@dataclass
class Book:
    """A book."""

    model_config = ResponseModelConfigDict(strict=True)
    title: str
    year: int = 2000


@pytest.fixture(scope="module")
def fake():
    with FakeServer() as server:
        yield server


def _function(fake: FakeServer) -> dict[str, Any]:
    [tool] = fake.last.json["tools"]
    return tool["function"]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", COMPAT)
def test_a_strict_tool_goes_as_a_strict_function_and_its_nulls_mean_defaults(fake, provider, mode, stream):
    fn = ask(fake.client(provider), mode, provider=provider, model=MODELS[provider], tools=[GetWeather], stream=stream)
    fake.script(Reply(tool_calls=[ToolCallReply("GetWeather", {"city": "Oslo", "days": None})]), provider=provider)
    result = run(fn, "Weather in Oslo?")
    function = _function(fake)
    assert function["strict"] is True
    assert function["parameters"] == STRICT_PARAMETERS
    tool = result.construct_call_response().tool if stream else result.tool
    # strict mode made the model send null for the optional argument: the default applies
    assert tool.args == {"city": "Oslo", "days": 3} and tool.call() == "Oslo for 3 days"


@pytest.mark.parametrize("provider", OTHERS)
def test_providers_without_strict_tools_get_the_plain_schema(fake, provider):
    fn = ask(fake.client(provider), "sync", provider=provider, model=MODELS[provider], tools=[GetWeather])
    fake.script(Reply(tool_calls=[ToolCallReply("GetWeather", {"city": "Oslo"})]), provider=provider)
    response = run(fn, "Weather in Oslo?")
    sent = json.dumps(fake.last.json)
    assert '"strict"' not in sent and "additionalProperties" not in sent
    assert response.tool.args == {"city": "Oslo", "days": 3}


def test_a_tool_without_strict_config_is_not_strict(fake):
    class Plain(BaseTool):
        """Plain."""

        city: str

    fn = ask(fake.client("openai"), "sync", tools=[Plain])
    run(fn, "x")
    function = _function(fake)
    assert "strict" not in function and "additionalProperties" not in function["parameters"]


def test_tool_config_is_never_an_argument(fake):
    class Annotated(BaseTool):
        """Annotated without ClassVar."""

        tool_config: OpenAIToolConfig = OpenAIToolConfig(strict=True)
        term: str

    fn = ask(fake.client("openai"), "sync", tools=[Annotated])
    run(fn, "x")
    assert list(_function(fake)["parameters"]["properties"]) == ["term"] and _function(fake)["strict"] is True


def test_a_strict_tool_still_rejects_a_null_for_a_required_argument(fake):
    fn = ask(fake.client("openai"), "sync", tools=[GetWeather])
    fake.script(Reply(tool_calls=[ToolCallReply("GetWeather", {"city": None, "days": 2})]))
    response = run(fn, "x")
    with pytest.raises(minicall.ValidationError, match="city"):
        response.tool


def test_azure_tool_config_is_the_same_switch(fake):
    class Lookup(BaseTool):
        """Look up."""

        tool_config: ClassVar[azure.AzureToolConfig] = azure.AzureToolConfig(strict=True)
        term: str

    for style in ("openai", "v1"):
        fn = ask(fake.client("azure", deployment_style=style), "sync", provider="azure", tools=[Lookup])
        run(fn, "x")
        assert _function(fake)["strict"] is True, style
    # Azure AI Model Inference's function definitions have no strict: the plain schema goes.
    fn = ask(fake.client("azure", deployment_style="inference"), "sync", provider="azure", tools=[Lookup])
    run(fn, "x")
    assert "strict" not in _function(fake) and "additionalProperties" not in _function(fake)["parameters"]


@pytest.mark.parametrize("config, problem", [
    ("strict", "tool_config must be a dict"),
    ({"strict": "yes"}, "strict must be True or False"),
])
def test_a_bad_tool_config_is_a_configuration_error_before_any_io(fake, config, problem):
    fake.reset()
    tool = type("Bad", (BaseTool,), {"__doc__": "Bad.", "__annotations__": {"x": "int"}, "tool_config": config})
    fn = ask(fake.client("openai"), "sync", tools=[tool])
    with pytest.raises(minicall.ConfigurationError, match=problem):
        run(fn, "x")
    assert fake.requests == []


def test_a_strict_tool_whose_schema_cannot_be_strict_is_a_configuration_error(fake):
    class Free(BaseTool):
        """Free-form."""

        tool_config: ClassVar[OpenAIToolConfig] = OpenAIToolConfig(strict=True)
        scores: dict[str, int]

    fake.reset()
    fn = ask(fake.client("openai"), "sync", tools=[Free])
    with pytest.raises(minicall.ConfigurationError, match="Free asks for strict mode"):
        run(fn, "x")
    assert fake.requests == []


# -- response models ------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("json_mode", [True, False])
def test_a_strict_response_model_asks_for_strict_outputs(fake, mode, json_mode):
    fn = ask(fake.client("openai"), mode, response_model=Book, json_mode=json_mode)
    reply = {"title": "Dune", "year": None}
    fake.script(Reply(text=json.dumps(reply)) if json_mode else Reply(tool_calls=[ToolCallReply("Book", reply)]))
    book = run(fn, "Dune?")
    assert book == Book("Dune", 2000)
    strict = {"type": "object", "properties": {"title": {"type": "string"},
              "year": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
              "required": ["title", "year"], "additionalProperties": False}
    if json_mode:
        schema = fake.last.json["response_format"]["json_schema"]
        assert schema["strict"] is True and schema["schema"] == {**strict, "description": "A book."}
    else:
        # Through the forced tool the function is strict (Mirascope ignores strict here).
        assert _function(fake)["strict"] is True and _function(fake)["parameters"] == strict


def test_a_plain_response_model_through_a_tool_is_not_strict(fake):
    @dataclass
    class Plain:
        title: str

    fn = ask(fake.client("openai"), "sync", response_model=Plain)
    fake.script(Reply(tool_calls=[ToolCallReply("Plain", {"title": "x"})]))
    run(fn, "x")
    assert "strict" not in _function(fake)


def test_a_strict_response_model_that_cannot_be_strict_is_a_configuration_error():
    @dataclass
    class Scores:
        model_config = ResponseModelConfigDict(strict=True)
        scores: dict[str, int]

    with FakeServer() as fake:
        with pytest.raises(minicall.ConfigurationError, match="Scores asks for strict mode"):
            run(ask(fake.client("openai"), "sync", response_model=Scores, json_mode=True), "x")
        with pytest.raises(minicall.ConfigurationError, match="Scores asks for strict mode"):
            run(ask(fake.client("openai"), "sync", response_model=Scores), "x")
        assert fake.requests == []


def test_a_pydantic_model_config_dict_strict_works_too(fake):
    pydantic = pytest.importorskip("pydantic")

    class Author(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(strict=True)
        name: str

    @openai.call("gpt-4o-mini", client=fake.client("openai"), response_model=Author, json_mode=True)
    def extract(text: str) -> str:
        return text

    fake.script(Reply(text='{"name": "Le Guin"}'))
    assert extract("x").name == "Le Guin"
    assert fake.last.json["response_format"]["json_schema"]["strict"] is True
