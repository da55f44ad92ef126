"""Mirascope v1.23.3's documentation examples (examples/learn: Calls, Streams, Tools, Response
Models, JSON Mode, Output Parsers, Async, Prompts, Retries), written as minicall code with only
the imports changed, run over FakeServer. Their facts are restated here; no Mirascope file is
copied."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import minicall
from minicall import BaseDynamicConfig, BaseTool, Messages, llm, prompt_template
from minicall.providers import anthropic, openai
from minicall.testing import ErrorReply, Reply, ToolCallReply


@pytest.fixture()
def env(fake, monkeypatch):
    """As a Mirascope user has it: keys and base URLs in the environment, no client passed."""
    for provider, (key, url) in {"openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
                                 "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")}.items():
        monkeypatch.setenv(key, "test-key")
        monkeypatch.setenv(url, fake.base_url(provider))
    return fake


def test_calls_dynamic_configuration_with_metadata_and_params(env):
    @llm.call(provider="openai", model="gpt-4o-mini")
    def recommend_book(genre: str) -> BaseDynamicConfig:
        return {
            "messages": [Messages.User(f"Recommend a {genre} book")],
            "call_params": {"max_tokens": 512},
            "metadata": {"tags": {"version:0001"}},
        }

    response: llm.CallResponse = recommend_book("fantasy")
    assert response.content == "echo: Recommend a fantasy book"
    assert response.metadata == {"tags": {"version:0001"}}
    assert env.last.json["max_tokens"] == 512
    assert response.model_dump()["metadata"] == {"tags": ["version:0001"]}


def test_calls_provider_specific_with_a_template_and_error_handling(env):
    @openai.call("gpt-4o-mini")
    @prompt_template("Recommend a {genre} book")
    def recommend_book(genre: str): ...

    assert recommend_book("fantasy").content == "echo: Recommend a fantasy book"
    env.script(ErrorReply(401, "bad key"), provider="openai")
    with pytest.raises(openai.AuthenticationError) as info:  # minicall's error, re-exported
        recommend_book("fantasy")
    assert info.value.status_code == 401 and isinstance(info.value, minicall.APIError)


def test_streams_basic_usage(env):
    @llm.call(provider="openai", model="gpt-4o-mini", stream=True)
    def recommend_book(genre: str) -> str:
        return f"Recommend a {genre} book"

    stream = recommend_book("fantasy")
    printed = "".join(chunk.content for chunk, _ in stream)
    assert printed == stream.content == "echo: Recommend a fantasy book"
    assert stream.construct_call_response().usage is not None


class GetBookAuthor(BaseTool):
    """Returns the author of the book with the given title."""

    title: str

    def call(self) -> str:
        return {"The Name of the Wind": "Patrick Rothfuss"}.get(self.title, "Unknown")


def test_tools_basic_usage_with_the_original_tool_call(env):
    @llm.call(provider="openai", model="gpt-4o-mini", tools=[GetBookAuthor])
    def identify_author(book: str) -> str:
        return f"Who wrote {book}?"

    env.script(Reply(tool_calls=[ToolCallReply("GetBookAuthor", {"title": "The Name of the Wind"}, id="c1")]))
    response = identify_author("The Name of the Wind")
    tool = response.tool
    assert tool is not None and tool.call() == "Patrick Rothfuss"
    assert f"Original tool call: {tool.tool_call}".startswith("Original tool call: {'id': 'c1'")
    assert tool.tool_call.function.name == "GetBookAuthor"


def test_tools_message_params_round_trip_on_anthropic(env):
    @anthropic.call("claude-3-5-sonnet-latest", tools=[GetBookAuthor])
    @prompt_template("MESSAGES: {history}")
    def identify_author(history: list[Any]): ...

    env.script(Reply(tool_calls=[ToolCallReply("GetBookAuthor", {"title": "Dune"}, id="t1")]), Reply(text="Unknown."),
               provider="anthropic")
    history: list[Any] = [{"role": "user", "content": "Who wrote Dune?"}]
    response = identify_author(history)
    tool = response.tool
    assert tool is not None and tool.tool_call.input == {"title": "Dune"}
    history += [response.message_param, *response.tool_message_params([(tool, tool.call())])]
    assert identify_author(history).content == "Unknown."
    assert env.last.json["messages"][2]["content"][0]["type"] == "tool_result"


def test_output_parser_and_json_mode(env):
    def parse_recommendation(response: llm.CallResponse) -> tuple[str, str]:
        title, author = response.content.split(" by ")
        return (title, author)

    @llm.call(provider="openai", model="gpt-4o-mini", output_parser=parse_recommendation)
    def recommend_book(genre: str) -> str:
        return f"Recommend a {genre} book. Output only Title by Author"

    @llm.call(provider="openai", model="gpt-4o-mini", json_mode=True)
    def get_book_info(book_title: str) -> str:
        return f"Provide the author and genre of {book_title}"

    env.script(Reply(text='"The Name of the Wind" by Patrick Rothfuss'),
               Reply(text='{"author": "Patrick Rothfuss", "genre": "Fantasy"}'))
    assert recommend_book("fantasy") == ('"The Name of the Wind"', "Patrick Rothfuss")
    assert json.loads(get_book_info("The Name of the Wind").content) == {"author": "Patrick Rothfuss", "genre": "Fantasy"}
    assert env.last.json["response_format"] == {"type": "json_object"}


def test_response_model_keeps_the_response(env):
    pydantic = pytest.importorskip("pydantic")

    class Book(pydantic.BaseModel):
        """An extracted book."""

        title: str
        author: str

    @llm.call(provider="openai", model="gpt-4o-mini", response_model=Book)
    def extract_book(text: str) -> str:
        return f"Extract {text}"

    env.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "The Name of the Wind", "author": "Patrick Rothfuss"})]))
    book = extract_book("The Name of the Wind by Patrick Rothfuss")
    assert str(book) == "title='The Name of the Wind' author='Patrick Rothfuss'"
    dumped = book._response.model_dump()  # Mirascope's docs print this
    assert dumped["metadata"] == {} and dumped["response"]["object"] == "chat.completion"
    assert dumped["tool_types"] == [{"type": "function", "name": "Book"}]


def test_async_parallel_and_streams(env):
    @llm.call(provider="openai", model="gpt-4o-mini")
    async def recommend_book(genre: str) -> str:
        return f"Recommend a {genre} book"

    @llm.call(provider="openai", model="gpt-4o-mini", stream=True)
    async def stream_book(genre: str) -> str:
        return f"Recommend a {genre} book"

    async def main() -> tuple[list[str], str]:
        genres = ["fantasy", "scifi", "mystery"]
        results = await asyncio.gather(*[recommend_book(g) for g in genres])
        stream = await stream_book("horror")
        streamed = "".join([chunk.content async for chunk, _ in stream])
        return [r.content for r in results], streamed

    contents, streamed = asyncio.run(main())
    assert contents == [f"echo: Recommend a {g} book" for g in ["fantasy", "scifi", "mystery"]]
    assert streamed == "echo: Recommend a horror book"


def test_calls_custom_messages_cohere_v1_chat_message(fake):
    chat_message = pytest.importorskip("cohere.types.chat_message")
    from minicall.providers import cohere

    @cohere.call("command-r-plus", client=fake.client("cohere"))
    def recommend_book(genre: str) -> cohere.CohereDynamicConfig:
        return {"messages": [chat_message.ChatMessage(role="user", message=f"Recommend a {genre} book")]}

    @cohere.call("command-r-plus", client=fake.client("cohere"))
    async def recommend_async(genre: str) -> cohere.AsyncCohereDynamicConfig:
        return {"messages": [{"role": "SYSTEM", "message": "Be brief."}, {"role": "USER", "message": genre}]}

    assert recommend_book("fantasy").content == "echo: Recommend a fantasy book"
    assert fake.last.json["messages"] == [{"role": "user", "content": "Recommend a fantasy book"}]
    asyncio.run(recommend_async("horror"))
    assert fake.last.json["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "horror"}]


def test_an_sdk_message_object_is_sent_as_its_dict_and_other_objects_are_refused(fake):
    pydantic = pytest.importorskip("pydantic")

    class UserMessage(pydantic.BaseModel):  # the shape of mistral's / openai's message models
        role: str = "user"
        content: str
        name: str | None = None

    @llm.call(provider="mistral", model="mistral-large-latest", client=fake.client("mistral"))
    def ask(text: str) -> list[Any]:
        return [UserMessage(content=text)]

    ask("hi")
    assert fake.last.json["messages"] == [{"role": "user", "content": "hi"}]

    @llm.call(provider="mistral", model="mistral-large-latest", client=fake.client("mistral"))
    def bad() -> list[Any]:
        return [object()]

    with pytest.raises(minicall.PromptError, match=r"messages\[0\] is a object"):
        bad()


def test_prompts_messages_history_and_computed_fields():
    @prompt_template("""
        SYSTEM: You are a librarian
        MESSAGES: {history}
        USER: {query}
        """)
    def chat(query: str, history: list[Any]): ...

    history = [Messages.User("Recommend a book"), Messages.Assistant("What genre do you like?")]
    assert [(m.role, m.content) for m in chat("fantasy", history)] == [
        ("system", "You are a librarian"), ("user", "Recommend a book"), ("assistant", "What genre do you like?"),
        ("user", "fantasy")]

    @prompt_template()
    def recommend_book_prompt(genre: str) -> BaseDynamicConfig:
        uppercase_genre = genre.upper()
        return {"messages": [Messages.User(f"Recommend a {uppercase_genre} book")],
                "computed_fields": {"uppercase_genre": uppercase_genre}}

    assert str(recommend_book_prompt("fantasy")) == (
        "{'messages': [BaseMessageParam(role='user', content='Recommend a FANTASY book')], "
        "'computed_fields': {'uppercase_genre': 'FANTASY'}}")

    @prompt_template("Recommend a {uppercase_genre} book")
    def templated(genre: str) -> BaseDynamicConfig:
        return {"computed_fields": {"uppercase_genre": genre.upper()}}

    assert str(templated("fantasy")) == "[BaseMessageParam(role='user', content='Recommend a FANTASY book')]"


def test_retries_error_reinsertion_with_tenacity(env):
    pydantic = pytest.importorskip("pydantic")
    tenacity = pytest.importorskip("tenacity")
    from typing import Annotated

    from minicall.retries.tenacity import collect_errors

    def is_upper(v: str) -> str:
        assert v.isupper(), "Must be uppercase"
        return v

    @tenacity.retry(stop=tenacity.stop_after_attempt(3), after=collect_errors(pydantic.ValidationError))
    @llm.call(provider="openai", model="gpt-4o-mini", response_model=Annotated[str, pydantic.AfterValidator(is_upper)])
    def identify_author(book: str, *, errors: list[Any] | None = None) -> str:
        if errors:
            return f"Previous Error: {errors}\n\nWho wrote {book}?"
        return f"Who wrote {book}?"

    def answer(value: str) -> Reply:  # the forced tool of a str response model
        return Reply(tool_calls=[ToolCallReply("str", {"value": value})])

    env.script(answer("Patrick Rothfuss"), answer("PATRICK ROTHFUSS"))
    assert identify_author("The Name of the Wind") == "PATRICK ROTHFUSS"
    retried = env.last.json["messages"][-1]["content"]
    assert retried.startswith("Previous Error: [") and "Must be uppercase" in retried


def test_retries_fallback_to_another_provider(env, sleeps):
    from minicall.retries import fallback

    @fallback(minicall.RateLimitError, [{"catch": minicall.RateLimitError, "provider": "anthropic",
                                         "model": "claude-3-5-sonnet-latest"}])
    @llm.call(provider="openai", model="gpt-4o-mini")
    def answer_question(question: str) -> str:
        return f"Answer this question: {question}"

    env.script(*[ErrorReply(429, "slow down")] * 3, provider="openai")  # the client's own 2 retries too
    response = answer_question("What is the meaning of life?")
    assert response.content == "echo: Answer this question: What is the meaning of life?"
    assert response.provider == "anthropic"
    caught = getattr(response, "_caught", [])
    assert [type(e).__name__ for e in caught] == ["RateLimitError"]
    assert len(sleeps) == 2  # openai's own retries ran first, as the SDK's do


def test_response_model_stream_is_a_structured_stream_with_the_whole_value_and_the_stream(env):
    pydantic = pytest.importorskip("pydantic")

    class Book(pydantic.BaseModel):
        title: str
        author: str

    @llm.call(provider="openai", model="gpt-4o-mini", response_model=Book, stream=True)
    def extract_book(text: str) -> str:
        return f"Extract {text}"

    @llm.call(provider="openai", model="gpt-4o-mini", response_model=Book, stream=True)
    async def extract_async(text: str) -> str:
        return f"Extract {text}"

    args = {"title": "The Name of the Wind", "author": "Patrick Rothfuss"}
    env.script(Reply(tool_calls=[ToolCallReply("Book", args)]), Reply(tool_calls=[ToolCallReply("Book", args)]))
    book_stream = extract_book("The Name of the Wind by Patrick Rothfuss")
    with pytest.raises(AttributeError, match="iterated to its end"):
        book_stream.constructed_response_model  # noqa: B018  (as in Mirascope: set at the end)
    partials = list(book_stream)
    assert len(partials) > 1 and partials[-1] == book_stream.constructed_response_model == Book(**args)
    assert book_stream.response_model is Book
    assert book_stream.stream.cost is not None and book_stream.stream.input_tokens is not None
    assert book_stream.constructed_response_model._response.model_dump()["tool_types"] == [
        {"type": "function", "name": "Book"}]

    async def main() -> Any:
        stream = await extract_async("The Name of the Wind by Patrick Rothfuss")
        seen = [partial async for partial in stream]
        return seen, stream

    seen, stream = asyncio.run(main())
    assert seen[-1] == stream.constructed_response_model == Book(**args)
    assert stream.stream.construct_call_response().content == ""


def test_a_structured_stream_closed_early_stops(env):
    pydantic = pytest.importorskip("pydantic")

    class Book(pydantic.BaseModel):
        title: str

    @llm.call(provider="openai", model="gpt-4o-mini", response_model=Book, stream=True)
    def extract_book(text: str) -> str:
        return text

    env.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "The Name of the Wind"})]))
    stream = extract_book("x")
    first = next(iter(stream))
    assert first.title is not None
    stream.close()
    assert list(stream) == []
    with pytest.raises(AttributeError):
        stream.constructed_response_model  # noqa: B018
