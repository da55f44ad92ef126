"""Validation through pydantic (issue #14, item 5), end to end over FakeServer.

Where a pydantic model or validator is involved, pydantic validates, so every validator
runs (on response models, in JSON mode, on a stream's final model, on tools' arguments,
streamed tools too), and the failure is one error that ``except pydantic.ValidationError``
and ``except minicall.ValidationError`` both catch. Types without pydantic keep minicall's
own checker and its plain ``minicall.ValidationError``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
from collections.abc import Callable
from typing import Annotated, Any

import pytest

import minicall
from minicall import BaseTool, llm
from minicall._call.registry import PROVIDERS
from minicall._cli.demo import MODELS
from minicall._schema import through_pydantic
from minicall._schema.through_pydantic import involves_pydantic
from minicall._schema.validate import validate
from minicall.retries import collect_errors, retry
from minicall.testing import FakeServer, Reply, ToolCallReply

pydantic = pytest.importorskip("pydantic")
import annotated_types  # noqa: E402  (pydantic's dependency)
from pydantic import AfterValidator, Field, field_validator, model_validator  # noqa: E402
from pydantic_core import PydanticCustomError  # noqa: E402

ALL = sorted(PROVIDERS)
MODES = ("sync", "async")


class Book(pydantic.BaseModel):
    """A book."""

    title: str
    year: int

    @field_validator("year")
    @classmethod
    def not_in_the_future(cls, year: int) -> int:
        if year > 2026:
            raise ValueError("year is in the future")
        return year


def _upper(text: str) -> str:
    if text != text.upper():
        raise ValueError("must be upper case")
    return text


class GetWeather(BaseTool):
    """Get the weather in a city for some days."""

    city: Annotated[str, AfterValidator(_upper)]
    days: int = Field(1, ge=1, le=7, description="How many days")

    @field_validator("city")
    @classmethod
    def not_atlantis(cls, city: str) -> str:
        if city == "ATLANTIS":
            raise ValueError("no such city")
        return city

    @model_validator(mode="after")
    def short_stays_in_rome(self) -> Any:
        if self.city == "ROME" and self.days > 3:
            raise ValueError("three days at most in Rome")
        return self

    def call(self) -> str:
        return f"sunny in {self.city} for {self.days} days"


def lookup(city: Annotated[str, AfterValidator(str.strip), AfterValidator(_upper)],
           stars: Annotated[int, Field(ge=1, le=5)] = 3) -> str:
    """Look up hotels.

    Args:
        city: The city, in capitals.
        stars: Hotel stars.
    """
    return f"{stars}-star hotels in {city}"


@pytest.fixture(scope="module")
def fake():
    with FakeServer() as server:
        yield server


def _decorated(provider: str, fake: FakeServer, mode: str, **settings: Any) -> Callable[..., Any]:
    if mode == "sync":
        def ask(text: str) -> str:
            return text
    else:
        async def ask(text: str) -> str:  # type: ignore[misc]
            return text
    return llm.call(provider=provider, model=MODELS[provider], client=fake.client(provider), **settings)(ask)  # type: ignore[call-overload]


def _run(fn: Callable[..., Any], *args: Any) -> Any:
    result = fn(*args)
    return asyncio.run(result) if inspect.iscoroutine(result) else result


def _drain(stream: Any) -> tuple[list[Any], BaseException | None]:
    """Everything a stream (sync or async) yields, and the error that ended it, if any."""
    items: list[Any] = []

    async def drain_async() -> None:
        async for item in stream:
            items.append(item)

    try:
        if hasattr(stream, "__aiter__"):
            asyncio.run(drain_async())
        else:
            for item in stream:
                items.append(item)
    except Exception as exc:
        return items, exc
    return items, None


def _script_book(fake: FakeServer, provider: str, args: dict[str, Any], json_mode: bool = False) -> None:
    if json_mode:
        fake.script(Reply(text=json.dumps(args)), provider=provider)
    else:
        fake.script(Reply(tool_calls=[ToolCallReply("Book", args)]), provider=provider)


def _assert_both(error: BaseException, lines: list[str], pydantic_type: str) -> None:
    """``error`` is pydantic's and minicall's, answering each one's questions."""
    assert isinstance(error, pydantic.ValidationError)
    assert isinstance(error, minicall.ValidationError) and isinstance(error, minicall.MinicallError)
    assert isinstance(error, minicall.PydanticValidationError)
    assert list(error.errors) == lines  # minicall's lines
    assert [e["type"] for e in error.errors()] == [pydantic_type]  # pydantic's errors()
    assert error.error_count() == len(lines)
    assert isinstance(error.__cause__, pydantic.ValidationError)  # pydantic's own, untouched
    assert error.errors() == error.__cause__.errors()


# -- response models ---------------------------------------------------------------------


@pytest.mark.parametrize("json_mode", [False, True])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ALL)
def test_a_rejected_response_model_is_caught_as_pydantics_and_minicalls_error(fake, provider, mode, json_mode):
    extract = _decorated(provider, fake, mode, response_model=Book, json_mode=json_mode)
    _script_book(fake, provider, {"title": "Dune", "year": 3000}, json_mode)
    with pytest.raises(pydantic.ValidationError) as info:
        _run(extract, "Dune")
    error = info.value
    _assert_both(error, ["year: Value error, year is in the future, got 3000"], "value_error")
    assert error.title == "Book" and error.errors()[0]["loc"] == ("year",)
    assert error.response is not None and error.response.provider == provider
    assert error._response is error.response  # Mirascope's name for it


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ALL)
def test_a_valid_reply_passes_the_validators_and_keeps_what_they_return(fake, provider, mode):
    class Tagged(pydantic.BaseModel):
        name: Annotated[str, AfterValidator(str.title)]

    extract = _decorated(provider, fake, mode, response_model=Tagged)
    fake.script(Reply(tool_calls=[ToolCallReply("Tagged", {"name": "frank herbert"})]), provider=provider)
    value = _run(extract, "who?")
    assert value == Tagged(name="Frank Herbert")
    assert value._response.provider == provider


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ALL)
def test_the_final_model_of_a_stream_is_validated_by_pydantic(fake, provider, mode):
    extract = _decorated(provider, fake, mode, response_model=Book, stream=True)
    _script_book(fake, provider, {"title": "Dune", "year": 3000})
    partials, error = _drain(_run(extract, "Dune"))
    assert partials and partials[-1].title == "Dune"  # the partial values came first, unvalidated
    assert error is not None
    _assert_both(error, ["year: Value error, year is in the future, got 3000"], "value_error")
    assert error.response.provider == provider


def test_a_wrapped_response_model_fails_with_pydantic_paths(fake):
    extract = _decorated("openai", fake, "sync", response_model=list[Book])
    books = [{"title": "Dune", "year": 1965}, {"title": "Emma", "year": 2999}]
    fake.script(Reply(tool_calls=[ToolCallReply("list", {"value": books})]), provider="openai")
    with pytest.raises(minicall.ValidationError) as info:
        extract("two books")
    _assert_both(info.value, ["[1].year: Value error, year is in the future, got 2999"], "value_error")
    assert info.value.errors()[0]["loc"] == (1, "year")


def test_a_dataclass_with_pydantic_annotations_is_validated_by_pydantic(fake):
    @dataclasses.dataclass
    class Author:
        name: Annotated[str, AfterValidator(_upper)]
        born: Annotated[int, Field(gt=0)]

    extract = _decorated("anthropic", fake, "sync", response_model=Author, json_mode=True)
    fake.script(Reply(text='{"name": "HERBERT", "born": 1920}'), provider="anthropic")
    assert extract("who?") == Author("HERBERT", 1920)
    fake.script(Reply(text='{"name": "herbert", "born": 0}'), provider="anthropic")
    with pytest.raises(pydantic.ValidationError) as info:
        extract("who?")
    assert list(info.value.errors) == [
        'name: Value error, must be upper case, got "herbert"',
        "born: Input should be greater than 0, got 0",
    ]


def test_a_custom_pydantic_error_type_survives(fake):
    class Code(pydantic.BaseModel):
        code: str

        @field_validator("code")
        @classmethod
        def three_letters(cls, code: str) -> str:
            if len(code) != 3:
                raise PydanticCustomError("bad_code", "{code} is not three letters", {"code": code})
            return code

    extract = _decorated("openai", fake, "sync", response_model=Code)
    fake.script(Reply(tool_calls=[ToolCallReply("Code", {"code": "ABCD"})]), provider="openai")
    with pytest.raises(minicall.ValidationError) as info:
        extract("code?")
    _assert_both(info.value, ['code: ABCD is not three letters, got "ABCD"'], "bad_code")
    assert "bad_code" in str(info.value) and "ABCD is not three letters" in info.value.json()


def test_a_validator_that_crashes_raises_its_own_error(fake):
    class Fragile(pydantic.BaseModel):
        x: int

        @field_validator("x")
        @classmethod
        def crash(cls, x: int) -> int:
            raise RuntimeError("validator bug")

    extract = _decorated("openai", fake, "sync", response_model=Fragile)
    fake.script(Reply(tool_calls=[ToolCallReply("Fragile", {"x": 1})]), provider="openai")
    with pytest.raises(RuntimeError, match="validator bug"):
        extract("x?")


def test_a_reply_that_is_not_json_stays_minicalls_error(fake):
    # Mirascope fails there before pydantic sees anything (a JSON decoding error), so no
    # pydantic error is promised either.
    extract = _decorated("openai", fake, "sync", response_model=Book, json_mode=True)
    fake.script(Reply(text="no JSON here"), provider="openai")
    with pytest.raises(minicall.ValidationError) as info:
        extract("Dune")
    assert not isinstance(info.value, pydantic.ValidationError)
    assert "expected JSON" in info.value.errors[0]


def test_a_retry_collecting_pydantic_errors_hands_them_to_the_next_attempt(fake):
    seen: list[Any] = []

    @retry(pydantic.ValidationError, attempts=2, after=collect_errors(pydantic.ValidationError))
    @llm.call("openai", "gpt-4o-mini", client=fake.client("openai"), response_model=Book)
    def extract(text: str, *, errors: list[pydantic.ValidationError] | None = None) -> str:
        seen.append(errors)
        return f"Previous errors: {errors}. Extract: {text}" if errors else f"Extract: {text}"

    _script_book(fake, "openai", {"title": "Dune", "year": 3000})
    _script_book(fake, "openai", {"title": "Dune", "year": 1965})
    assert extract("Dune") == Book(title="Dune", year=1965)
    assert seen[0] is None and len(seen[1]) == 1
    assert seen[1][0].errors()[0]["msg"] == "Value error, year is in the future"
    assert "year is in the future" in json.dumps(fake.last.json)


# -- tools -------------------------------------------------------------------------------


def _tool_reply(name: str, *calls: dict[str, Any]) -> Reply:
    return Reply(tool_calls=[ToolCallReply(name, args, id=f"call_{i}") for i, args in enumerate(calls)])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ALL)
def test_response_tool_raises_where_a_tool_field_validator_rejects_the_arguments(fake, provider, mode):
    chat = _decorated(provider, fake, mode, tools=[GetWeather])
    fake.script(_tool_reply("GetWeather", {"city": "ATLANTIS"}), provider=provider)
    response = _run(chat, "weather?")
    assert response.content == "" or isinstance(response.content, str)  # the response stays readable
    with pytest.raises(pydantic.ValidationError) as info:
        response.tool
    _assert_both(info.value, ['city: Value error, no such city, got "ATLANTIS"'], "value_error")
    with pytest.raises(minicall.ValidationError):
        response.tools


@pytest.mark.parametrize("provider", ALL)
def test_tool_constraints_and_model_validators_run(fake, provider):
    chat = _decorated(provider, fake, "sync", tools=[GetWeather])
    cases = [
        ({"city": "oslo"}, ['city: Value error, must be upper case, got "oslo"'], "value_error"),
        ({"city": "OSLO", "days": 9}, ["days: Input should be less than or equal to 7, got 9"], "less_than_equal"),
        ({"city": "ROME", "days": 5},
         ['(root): Value error, three days at most in Rome, got {"city": "ROME", "days": 5}'], "value_error"),
    ]
    for args, lines, kind in cases:
        fake.script(_tool_reply("GetWeather", args), provider=provider)
        with pytest.raises(pydantic.ValidationError) as info:
            chat("weather?").tool
        _assert_both(info.value, lines, kind)
    fake.script(_tool_reply("GetWeather", {"city": "ROME", "days": 2}), provider=provider)
    tool = chat("weather?").tool
    assert isinstance(tool, GetWeather) and tool.id == "call_0"
    assert tool.call() == "sunny in ROME for 2 days"
    assert tool.args == {"city": "ROME", "days": 2}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ALL)
def test_function_tool_parameters_with_annotated_validators(fake, provider, mode):
    chat = _decorated(provider, fake, mode, tools=[lookup])
    fake.script(_tool_reply("lookup", {"city": "  PARIS "}, {"city": "LIMA", "stars": 5}), provider=provider)
    tools = _run(chat, "hotels?").tools
    assert [t.call() for t in tools] == ["3-star hotels in PARIS", "5-star hotels in LIMA"]  # stripped, defaulted
    fake.script(_tool_reply("lookup", {"city": "paris"}), provider=provider)
    with pytest.raises(pydantic.ValidationError) as info:
        _run(chat, "hotels?").tool
    _assert_both(info.value, ['city: Value error, must be upper case, got "paris"'], "value_error")
    fake.script(_tool_reply("lookup", {"city": "PARIS", "stars": 0}), provider=provider)
    with pytest.raises(minicall.ValidationError) as info:
        _run(chat, "hotels?").tool
    _assert_both(info.value, ["stars: Input should be greater than or equal to 1, got 0"], "greater_than_equal")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ALL)
def test_a_streamed_tool_is_validated_by_pydantic(fake, provider, mode):
    chat = _decorated(provider, fake, mode, tools=[GetWeather], stream=True)
    fake.script(_tool_reply("GetWeather", {"city": "OSLO", "days": 2}), provider=provider)
    items, error = _drain(_run(chat, "weather?"))
    assert error is None
    assert [tool.call() for _, tool in items if tool is not None] == ["sunny in OSLO for 2 days"]
    fake.script(_tool_reply("GetWeather", {"city": "oslo"}), provider=provider)
    _, error = _drain(_run(chat, "weather?"))
    assert error is not None
    _assert_both(error, ['city: Value error, must be upper case, got "oslo"'], "value_error")


def test_a_default_factory_on_a_validated_tool_is_called_once_per_tool():
    calls: list[int] = []

    def fresh() -> list[str]:
        calls.append(1)
        return []

    class Tag(BaseTool):
        name: Annotated[str, AfterValidator(_upper)]
        seen: list[str] = Field(default_factory=fresh)

    first, second = Tag.from_call("1", {"name": "A"}), Tag.from_call("2", {"name": "B"})
    assert calls == [1, 1] and first.seen is not second.seen
    assert (first.id, second.args) == ("1", {"name": "B", "seen": []})


# -- the error class, and what stays as it was --------------------------------------------


def test_the_error_class_is_public_and_both_pydantics_and_minicalls():
    from minicall import PydanticValidationError

    assert PydanticValidationError is minicall.PydanticValidationError
    assert issubclass(PydanticValidationError, pydantic.ValidationError)
    assert issubclass(PydanticValidationError, minicall.ValidationError)
    with pytest.raises(PydanticValidationError) as info:
        validate(Book, {"title": "Dune", "year": 3000})
    assert info.value.response is None
    assert info.value.errors(include_url=False) == [{
        "type": "value_error", "loc": ("year",), "msg": "Value error, year is in the future", "input": 3000,
        "ctx": {"error": info.value.errors()[0]["ctx"]["error"]},
    }]


def test_where_pydantic_cannot_be_subclassed_the_error_is_minicalls_with_pydantics_as_cause(fake, monkeypatch):
    # pydantic before 2.10 refuses subclasses of its ValidationError: error_class() is then
    # minicall's ValidationError (as without pydantic at all).
    monkeypatch.setattr(through_pydantic, "error_class", lambda: minicall.ValidationError)
    extract = _decorated("openai", fake, "sync", response_model=Book)
    _script_book(fake, "openai", {"title": "Dune", "year": 3000})
    with pytest.raises(minicall.ValidationError) as info:
        extract("Dune")
    error = info.value
    assert type(error) is minicall.ValidationError and not isinstance(error, pydantic.ValidationError)
    assert error.errors == ["year: Value error, year is in the future, got 3000"]
    assert str(error).startswith("Book did not validate: year: Value error")
    assert isinstance(error.__cause__, pydantic.ValidationError) and error.response is not None
    with pytest.raises(minicall.ValidationError) as tool_info:
        GetWeather.from_call("1", {"city": "oslo"})
    assert type(tool_info.value) is minicall.ValidationError
    assert str(tool_info.value).startswith("GetWeather did not validate: city: Value error")


def test_types_without_pydantic_keep_minicalls_checker_and_error(fake):
    @dataclasses.dataclass
    class Plain:
        title: str
        year: int

    extract = _decorated("openai", fake, "sync", response_model=Plain)
    fake.script(Reply(tool_calls=[ToolCallReply("Plain", {"title": "Dune", "year": "1965"})]), provider="openai")
    with pytest.raises(minicall.ValidationError) as info:
        extract("Dune")
    assert type(info.value) is minicall.ValidationError  # no string-to-int coercion either
    assert info.value.errors == ['year: expected int, got "1965"']

    class Simple(BaseTool):
        city: str

    with pytest.raises(minicall.ValidationError) as tool_info:
        Simple.from_call("1", {"city": 3})
    assert type(tool_info.value) is minicall.ValidationError


@dataclasses.dataclass
class Node:
    name: str
    children: list[Node]


@dataclasses.dataclass
class Leaf:
    size: Annotated[int, annotated_types.Gt(0)]


def test_what_counts_as_involving_pydantic():
    class FieldInfo:  # named like pydantic's, from elsewhere
        default = None
        description = "x"

    class Described(BaseTool):
        city: str = Field(description="The city")

    assert not involves_pydantic(int) and not involves_pydantic(list[dict[str, int | None]])
    assert not involves_pydantic(Annotated[str, "a description", FieldInfo()])
    assert not involves_pydantic(Node)  # recursive, and the walk ends
    assert involves_pydantic(Book) and involves_pydantic(dict[str, list[Book | None]])
    assert involves_pydantic(Annotated[int, annotated_types.Gt(0)]) and involves_pydantic(Leaf)
    assert involves_pydantic(GetWeather) and involves_pydantic(Described)
    with pytest.raises(pydantic.ValidationError):
        validate(Leaf, {"size": 0})


def test_a_toolkit_tools_annotated_validators_run():
    from minicall import BaseToolKit, toolkit_tool

    class Shelf(BaseToolKit):
        level: str

        @toolkit_tool
        def suggest(self, author: Annotated[str, AfterValidator(_upper)]) -> str:
            """Suggest an author for a {self.level} reader."""
            return f"{self.level}: {author}"

    (tool_type,) = Shelf(level="beginner").create_tools()
    assert tool_type.from_call("1", {"author": "HERBERT"}).call() == "beginner: HERBERT"
    with pytest.raises(pydantic.ValidationError) as info:
        tool_type.from_call("2", {"author": "herbert"})
    _assert_both(info.value, ['author: Value error, must be upper case, got "herbert"'], "value_error")
