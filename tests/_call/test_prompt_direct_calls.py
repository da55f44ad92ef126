"""A ``@prompt_template`` function called directly gives what Mirascope's gives: its
``BaseMessageParam(role=..., content=...)`` s (list content for parts), or, with no
template, a dynamic config as the function returned it. Facts from Mirascope v1.23.3's
Prompts page examples (examples/learn/prompts), sync and async."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from minicall import BaseDynamicConfig, BaseMessageParam, Message, Messages, TextPart, llm, prompt_template

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def test_single_message_has_mirascopes_repr():
    @prompt_template("Recommend a {genre} book")
    def recommend_book_prompt(genre: str): ...

    assert repr(recommend_book_prompt("fantasy")) == "[BaseMessageParam(role='user', content='Recommend a fantasy book')]"


def test_multiple_messages_and_history():
    @prompt_template(
        """
        SYSTEM: You are a librarian
        MESSAGES: {history}
        USER: {query}
        """
    )
    def chatbot(query: str, history: list[BaseMessageParam]): ...

    history = [Messages.User("Recommend a book"), Messages.Assistant("What genre do you like?")]
    assert chatbot("fantasy", history) == [
        BaseMessageParam(role="system", content="You are a librarian"),
        BaseMessageParam(role="user", content="Recommend a book"),
        BaseMessageParam(role="assistant", content="What genre do you like?"),
        BaseMessageParam(role="user", content="fantasy"),
    ]


def test_attribute_access_and_float_format():
    @dataclass
    class Book:
        title: str
        author: str

    @prompt_template("I read {book.title} by {book.author}. What should I read next?")
    def recommend_book_prompt(book: Book): ...

    @prompt_template("Recommend a {genre} book under ${price:.2f}")
    def recommend_book(genre: str, price: float): ...

    [message] = recommend_book_prompt(Book("The Name of the Wind", "Patrick Rothfuss"))
    assert message.content == "I read The Name of the Wind by Patrick Rothfuss. What should I read next?"
    assert recommend_book("fantasy", 12.3456)[0].content == "Recommend a fantasy book under $12.35"


def test_texts_spec_gives_a_list_of_text_parts_with_mirascopes_repr():
    @prompt_template(
        """
        Book themes:
        {themes:text}

        Character analysis:
        {characters:texts}
        """
    )
    def analyze_book(themes: str, characters: list[str]): ...

    prompt = analyze_book(themes="redemption, power, friendship",
                          characters=["Name: Frodo, Role: Protagonist", "Name: Gandalf, Role: Mentor"])
    assert isinstance(prompt[0].content, list)
    assert repr(prompt[0].content) == (
        "[TextPart(type='text', text='Book themes:'), TextPart(type='text', text='redemption, power, friendship'), "
        "TextPart(type='text', text='Character analysis:'), TextPart(type='text', text='Name: Frodo, Role: Protagonist'), "
        "TextPart(type='text', text='Name: Gandalf, Role: Mentor')]"
    )


def test_lists_spec_gives_text():
    @prompt_template(
        """
        Book themes:
        {themes:list}

        Character analysis:
        {characters:lists}
        """
    )
    def analyze_book(themes: list[str], characters: list[list[str]]): ...

    prompt = analyze_book(themes=["redemption", "power"], characters=[["Name: Frodo"], ["Name: Gandalf"]])
    assert prompt[0].content == "Book themes:\nredemption\npower\n\nCharacter analysis:\nName: Frodo\n\nName: Gandalf"


def test_media_parts_read_like_mirascopes_without_dumping_bytes():
    @prompt_template("I just read this book: {previous_book:image} What should I read next?")
    def recommend_book_prompt(previous_book: bytes): ...

    [message] = recommend_book_prompt(PNG)
    assert repr(message) == (
        "BaseMessageParam(role='user', content=[TextPart(type='text', text='I just read this book:'), "
        "ImagePart(type='image', media_type='image/png', image=<24 bytes>, detail=None), "
        "TextPart(type='text', text='What should I read next?')])"
    )
    assert hash(message) == hash(Message("user", list(message.content)))


def test_computed_fields_fill_the_template():
    @prompt_template("Recommend a {uppercase_genre} book")
    def recommend_book_prompt(genre: str) -> BaseDynamicConfig:
        return {"computed_fields": {"uppercase_genre": genre.upper()}}

    assert recommend_book_prompt("fantasy") == [BaseMessageParam(role="user", content="Recommend a FANTASY book")]


def test_without_a_template_a_dynamic_config_comes_back_whole():
    @prompt_template()
    def recommend_book_prompt(genre: str) -> BaseDynamicConfig:
        uppercase_genre = genre.upper()
        messages = [Messages.User(f"Recommend a {uppercase_genre} book")]
        return {"messages": messages, "computed_fields": {"uppercase_genre": uppercase_genre}}

    config = recommend_book_prompt("fantasy")
    assert config == {
        "messages": [BaseMessageParam(role="user", content="Recommend a FANTASY book")],
        "computed_fields": {"uppercase_genre": "FANTASY"},
    }


def test_without_a_template_other_prompts_become_messages():
    @prompt_template()
    def shorthand(genre: str) -> str:
        return f"Recommend a {genre} book"

    @prompt_template()
    def several(genre: str) -> list[Message]:
        return [Messages.System("You are a librarian"), Messages.User(f"Recommend a {genre} book")]

    assert shorthand("fantasy") == [BaseMessageParam(role="user", content="Recommend a fantasy book")]
    assert [m.role for m in several("fantasy")] == ["system", "user"]


def test_async_direct_calls():
    @prompt_template("Recommend a {genre} book")
    async def templated(genre: str) -> None: ...

    @prompt_template()
    async def configured(genre: str) -> BaseDynamicConfig:
        return {"messages": [Messages.User(genre)], "metadata": {"v": 1}}

    assert asyncio.run(templated("fantasy")) == [Message("user", "Recommend a fantasy book")]
    assert asyncio.run(configured("horror")) == {"messages": [Message("user", "horror")], "metadata": {"v": 1}}


def test_the_same_functions_still_drive_calls(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
    @prompt_template()
    def recommend(genre: str) -> BaseDynamicConfig:
        return {"messages": [Messages.User(f"Recommend a {genre} book")], "metadata": {"tag": "x"}}

    response = recommend("fantasy")
    assert response.content == "echo: Recommend a fantasy book" and response.metadata == {"tag": "x"}


def test_list_content_is_a_list_and_messages_stay_hashable_and_equal():
    message = Messages.User(["Describe", TextPart("this")])
    assert message.content == [TextPart("Describe"), TextPart("this")]
    assert {message: 1}[Messages.User(["Describe", "this"])] == 1
    with pytest.raises(AttributeError):
        message.role = "assistant"  # type: ignore[misc]
