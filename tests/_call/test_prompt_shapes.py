"""Prompt shapes Mirascope accepts, structured output of non-object types, and clear errors."""

from __future__ import annotations

import json
from enum import Enum

import pytest

import minicall
from minicall import ImagePart, Message, Messages, TextPart, llm
from minicall.testing import FakeServer, Reply


def _ask(fake: FakeServer, **kwargs):
    return llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), **kwargs)


def test_a_single_message_is_a_prompt(fake):
    _ask(fake)(lambda: Messages.System("Be brief."))()
    assert fake.last.json["messages"] == [{"role": "system", "content": "Be brief."}]


def test_strings_and_parts_in_a_list_make_one_user_message(fake):
    image = ImagePart("image/png", url="https://example.com/a.png")
    _ask(fake)(lambda: ["Describe", image])()
    assert fake.last.json["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Describe"},
                                     {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}
    ]
    assert Messages.User(["Describe", image]).content == [TextPart("Describe"), image]


@pytest.mark.parametrize(
    "make",
    [lambda: Message("wizard", "x"), lambda: Message("user", 5), lambda: Messages.User([1])],  # type: ignore[arg-type, list-item]
    ids=["unknown role", "int content", "int part"],
)
def test_malformed_messages_are_prompt_errors(make):
    with pytest.raises(minicall.PromptError):
        make()


def test_tools_that_are_not_a_list_are_refused_at_decoration(fake):
    def get_weather(city: str) -> str:
        """Weather."""
        return city

    with pytest.raises(minicall.ConfigurationError, match="tools must be a list"):
        _ask(fake, tools=get_weather)  # type: ignore[call-overload]


@pytest.mark.parametrize("config", [{"tools": "nope"}, {"metadata": [1]}])
def test_dynamic_config_of_the_wrong_shape_is_a_prompt_error_before_io(fake, config):
    with pytest.raises(minicall.PromptError):
        _ask(fake)(lambda: {"messages": [Messages.User("hi")], **config})()
    assert fake.requests == []


def test_json_mode_without_a_model_tells_the_model_to_answer_in_json(fake):
    fake.script(Reply(text='{"a": 1}'))
    _ask(fake, json_mode=True)(lambda: "Extract: Dune 1965")()
    messages = fake.last.json["messages"]
    assert fake.last.json["response_format"] == {"type": "json_object"}
    assert messages[-1]["role"] == "user" and "JSON" in messages[-1]["content"]


class Color(Enum):
    RED = "red"
    BLUE = "blue"


@pytest.mark.parametrize(
    ("model", "reply", "expected"),
    [(int, '{"value": 3}', 3), (int, "3", 3), (list[str], '{"value": ["a", "b"]}', ["a", "b"]), (Color, '{"value": "blue"}', Color.BLUE)],
)
def test_json_mode_response_model_of_a_non_object_type_is_wrapped_in_value(fake, model, reply, expected):
    fake.script(Reply(text=reply))
    assert _ask(fake, response_model=model, json_mode=True)(lambda: "x")() == expected
    fmt = fake.last.json["response_format"]["json_schema"]
    assert fmt["schema"]["type"] == "object" and "value" in fmt["schema"]["properties"]
    assert fmt["strict"] is True


def test_streamed_json_mode_partials_of_a_wrapped_type_end_with_the_value(fake):
    fake.script(Reply(text=json.dumps({"value": [1, 2, 3]}), stream_chunks=6))
    values = list(_ask(fake, response_model=list[int], json_mode=True, stream=True)(lambda: "x")())
    assert values[-1] == [1, 2, 3]


def test_a_stream_knows_what_was_sent_like_a_response(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), stream=True,
              call_params={"temperature": 0.2})
    def tell(topic: str) -> minicall.BaseDynamicConfig:
        return {"messages": [Messages.User(f"Tell me about {topic}")], "metadata": {"tag": "t"}}

    stream = tell("owls")
    list(stream)
    final = stream.construct_call_response()
    assert stream.provider == "openai"
    assert stream.fn_args == final.fn_args == {"topic": "owls"}
    assert stream.metadata == {"tag": "t"}
    assert stream.call_params == {"temperature": 0.2}
    assert stream.messages == [Messages.User("Tell me about owls")]
    assert stream.user_message_param == Messages.User("Tell me about owls")
    assert stream.call_kwargs["temperature"] == 0.2
    assert stream.start_time <= stream.end_time
    assert stream.cached_tokens == 0 and stream.tool_types == [] and stream.prompt_template is None


def test_an_enum_answer_does_not_carry_a_shared_response(fake):
    ask = _ask(fake, response_model=Color, json_mode=True)(lambda: "x")
    fake.script(Reply(text='{"value": "red"}'), Reply(text='{"value": "red"}'))
    assert ask() is ask() is Color.RED
    assert not hasattr(Color.RED, "_response")


def test_a_prompt_template_function_called_directly_returns_its_messages():
    from minicall import prompt_template

    @prompt_template(
        """
        SYSTEM: You are {who}.
        USER: Recommend a {genre} book {notes:texts}
        """
    )
    def recommend(genre: str, who: str = "a librarian", notes: tuple[str, ...] = ("short",)) -> None: ...

    assert recommend("fantasy") == [
        Messages.System("You are a librarian."),
        Messages.User([TextPart("Recommend a fantasy book"), TextPart("short")]),
    ]

    @prompt_template()
    def plain(name: str) -> str:
        return f"Hi {name}"

    assert plain("Ada") == [Messages.User("Hi Ada")]


def test_a_prompt_template_function_still_calls_under_a_call_decorator(fake):
    from minicall import prompt_template

    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
    @prompt_template("USER: Recommend a {genre} book")
    def recommend(genre: str) -> None: ...

    assert recommend("mystery").content == "echo: Recommend a mystery book"
    assert recommend("mystery").prompt_template == "USER: Recommend a {genre} book"
