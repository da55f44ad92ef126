"""Partial tool streams: ``stream={"partial_tools": True}``, for every provider over FakeServer.

As in Mirascope v1, each streamed piece of a tool call's arguments yields that tool so
far: ``tool.delta`` is the piece, its fields are what the arguments hold so far (``None``
where not streamed yet); the finished tool follows with ``delta`` ``None`` and can be
called, before the next call's pieces begin. Google sends whole calls, so it has no
partials. Without ``partial_tools`` nothing changes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from shared import MODES

from minicall import APIError, BaseTool, ConfigurationError, llm
from minicall._call.registry import PROVIDERS
from minicall._cli.demo import MODELS
from minicall.providers import anthropic, openai
from minicall.testing import ErrorReply, FakeServer, Reply, ToolCallReply

# Providers whose streams carry a call's arguments as pieces of JSON text.
PIECEWISE = sorted(set(PROVIDERS) - {"google"})
TWO_BOOKS = Reply(
    text="Looking.",
    tool_calls=[
        ToolCallReply("GetBookAuthor", {"title": "The Name of the Wind"}, id="call_a"),
        ToolCallReply("GetBookAuthor", {"title": "Mistborn"}, id="call_b"),
    ],
)


class GetBookAuthor(BaseTool):
    """Returns the author of the book with the given title."""

    title: str

    def call(self) -> str:
        return {"The Name of the Wind": "Patrick Rothfuss", "Mistborn": "Brandon Sanderson"}.get(self.title, "?")


class FindBooks(BaseTool):
    """Finds books."""

    genre: str
    authors: list[str]
    limit: int = 5

    def call(self) -> str:
        return f"{self.limit} {self.genre} books by {', '.join(self.authors)}"


@pytest.fixture(scope="module")
def fake():
    with FakeServer() as server:
        yield server


def _stream(
    provider: str, fake: FakeServer, mode: str, tools: list[Any], stream: Any = None, into: list[Any] | None = None
) -> list[tuple[Any, Any]]:
    """Every ``(chunk, tool)`` pair of one streamed call, sync or async, appended to
    ``into`` as they come (so that a test keeps those before an error)."""
    options: dict[str, Any] = {"tools": tools, "stream": {"partial_tools": True} if stream is None else stream}
    decorate = llm.call(provider, MODELS[provider], client=fake.client(provider), **options)
    pairs: list[tuple[Any, Any]] = [] if into is None else into
    if mode == "sync":

        def ask() -> str:
            return "Who wrote these?"

        pairs.extend(decorate(ask)())
        return pairs

    async def ask_async() -> str:
        return "Who wrote these?"

    async def drain() -> None:
        async for pair in await decorate(ask_async)():
            pairs.append(pair)

    asyncio.run(drain())
    return pairs


def _tools(pairs: list[tuple[Any, Any]]) -> list[Any]:
    return [tool for _, tool in pairs if tool is not None]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", PIECEWISE)
def test_each_piece_yields_the_tool_so_far_then_the_finished_tool(fake, provider, mode):
    fake.script(TWO_BOOKS, provider=provider)
    tools = _tools(_stream(provider, fake, mode, [GetBookAuthor]))
    finished = [i for i, t in enumerate(tools) if t.delta is None]
    assert len(finished) == 2
    first, second = tools[: finished[0] + 1], tools[finished[0] + 1 :]
    for group, title, call_id in ((first, "The Name of the Wind", "call_a"), (second, "Mistborn", "call_b")):
        *partials, done = group
        assert partials, "no partial tool before the finished one"
        assert all(isinstance(t, GetBookAuthor) for t in group)
        # The deltas are the pieces of the arguments' JSON, in order, and nothing else.
        assert json.loads("".join(t.delta for t in partials)) == {"title": title}
        assert all(t.delta for t in partials)
        # Fields grow as the text does: each a prefix of the final value, or not there yet.
        seen = [t.title for t in partials]
        assert all(s is None or title.startswith(s) for s in seen)
        assert seen[-1] == title
        assert {t.id for t in group} == {call_id}
        assert done.args == {"title": title} and done.call() == GetBookAuthor(title=title).call()


@pytest.mark.parametrize("mode", MODES)
def test_google_sends_whole_calls_so_only_finished_tools(fake, mode):
    fake.script(TWO_BOOKS, provider="google")
    tools = _tools(_stream("google", fake, mode, [GetBookAuthor]))
    assert [(t.delta, t.title) for t in tools] == [(None, "The Name of the Wind"), (None, "Mistborn")]


@pytest.mark.parametrize("provider", PIECEWISE)
def test_partials_leave_text_usage_and_the_final_response_unchanged(fake, provider):
    fake.script(TWO_BOOKS, provider=provider)
    stream = llm.call(provider, MODELS[provider], client=fake.client(provider), tools=[GetBookAuthor],
                      stream={"partial_tools": True})(lambda: "Who wrote these?")()
    pairs = list(stream)
    text = "".join(chunk.content for chunk, _ in pairs)
    assert text == stream.content == "Looking."
    response = stream.construct_call_response()
    # Only finished calls reach the response and the assistant turn for the history.
    assert [t.args for t in response.tools or []] == [{"title": "The Name of the Wind"}, {"title": "Mistborn"}]
    assert response.finish_reasons == ["tool_calls"]
    assert stream.usage is not None


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_without_partial_tools_every_tool_is_finished(fake, provider):
    for stream in (True, {"partial_tools": False}):
        fake.script(TWO_BOOKS, provider=provider)
        tools = _tools(_stream(provider, fake, "sync", [GetBookAuthor], stream=stream))
        assert [(t.delta, t.title) for t in tools] == [(None, "The Name of the Wind"), (None, "Mistborn")]


@pytest.mark.parametrize("provider", [p for p in PIECEWISE if p != "mistral"])  # Mistral's calls: one delta each
def test_a_call_is_yielded_when_the_next_one_starts_not_at_the_end(fake, provider):
    # The Chat Completions family never says a call ended: the next call's start does.
    fake.script(TWO_BOOKS, provider=provider)
    pairs = _stream(provider, fake, "sync", [GetBookAuthor], stream=True)
    at = [i for i, (_, tool) in enumerate(pairs) if tool is not None]
    assert len(at) == 2
    assert at[1] - at[0] > 1  # the second call's pieces came between the two


@pytest.mark.parametrize("mode", MODES)
def test_fields_not_streamed_yet_are_none_even_with_a_default(fake, mode):
    args = {"genre": "fantasy", "authors": ["Rothfuss", "Sanderson"], "limit": 2}
    fake.script(Reply(tool_calls=[ToolCallReply("FindBooks", args)]), provider="anthropic")
    tools = _tools(_stream("anthropic", fake, mode, [FindBooks]))
    # The pieces: '{"genre":"fantasy","au', 'thors":["Rothfuss","Sa', 'nderson"],"limit":2}'.
    assert [t.args for t in tools] == [
        {"genre": "fantasy", "authors": None, "limit": None},  # ``limit`` has a default, yet None
        {"genre": "fantasy", "authors": ["Rothfuss", "Sa"], "limit": None},
        args,
        args,
    ]
    done = tools[-1]
    assert done.delta is None and done.args == args
    assert done.call() == "2 fantasy books by Rothfuss, Sanderson"


def test_a_call_in_one_piece_gives_one_partial_with_every_field(fake):
    # Mistral sends each call's arguments whole in its first delta.
    fake.script(Reply(tool_calls=[ToolCallReply("GetBookAuthor", {"title": "Dune"}, id="c1")]), provider="mistral")
    tools = _tools(_stream("mistral", fake, "sync", [GetBookAuthor]))
    assert [(t.delta, t.title) for t in tools] == [('{"title":"Dune"}', "Dune"), (None, "Dune")]


def test_a_partial_tool_has_the_raw_call_so_far(fake):
    fake.script(Reply(tool_calls=[ToolCallReply("GetBookAuthor", {"title": "Dune"}, id="c1")]), provider="openai")
    partial, done = _tools(_stream("openai", fake, "sync", [GetBookAuthor]))[-2:]
    assert partial.delta is not None and done.delta is None
    assert partial.tool_call.function.name == done.tool_call.function.name == "GetBookAuthor"
    assert partial.tool_call.id == "c1"
    assert json.loads(done.tool_call.function.arguments) == {"title": "Dune"}


def test_calls_of_tools_not_offered_yield_nothing(fake):
    fake.script(Reply(tool_calls=[ToolCallReply("Unknown", {"x": 1})]), provider="openai")
    pairs = _stream("openai", fake, "sync", [GetBookAuthor])
    assert pairs and _tools(pairs) == []


def test_provider_modules_take_the_stream_config(fake):
    fake.script(TWO_BOOKS, provider="anthropic")

    @anthropic.call("claude-3-5-sonnet-latest", client=fake.client("anthropic"), tools=[GetBookAuthor],
                    stream={"partial_tools": True})
    def ask() -> str:
        return "Who wrote these?"

    stream = ask()
    tools = [tool for _, tool in stream if tool is not None]
    assert any(t.delta for t in tools) and [t.title for t in tools if t.delta is None] == ["The Name of the Wind", "Mistborn"]
    assert isinstance(stream, anthropic.AnthropicStream)


def test_the_request_says_stream_true_not_the_config(fake):
    # Cohere and OpenAI put the flag in the body: a bool, never the dict given.
    for provider in ("cohere", "openai"):
        fake.script(Reply(text="hi"), provider=provider)
        _stream(provider, fake, "sync", [GetBookAuthor])
        assert fake.last.json["stream"] is True


def test_a_response_model_stream_ignores_partial_tools(fake):
    from shared import Book

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]), provider="openai")

    @openai.call("gpt-4o-mini", client=fake.client("openai"), response_model=Book, stream={"partial_tools": True})
    def extract() -> str:
        return "Dune, 1965"

    values = list(extract())
    assert values[-1] == Book("Dune", 1965)
    assert all(not isinstance(v, BaseTool) for v in values)


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_broken_mid_call_raises_after_the_partials(fake, mode):
    # Events: text, text, the call's start, argument pieces; then the in-stream error.
    fake.script(Reply(text="Looking here.", tool_calls=[TWO_BOOKS.tool_calls[0]], stream_error_after=5,
                      stream_error_message="overloaded"), provider="openai")
    seen: list[tuple[Any, Any]] = []
    with pytest.raises(APIError, match="overloaded") as info:
        _stream("openai", fake, mode, [GetBookAuthor], into=seen)
    partials = _tools(seen)
    assert partials and all(t.delta for t in partials)  # pieces came; the call never finished
    assert info.value.partial == "Looking here."


@pytest.mark.parametrize(
    ("stream", "words"),
    [
        ({"partial_tool": True}, "unknown key 'partial_tool'"),
        ({"partial_tools": "yes"}, "partial_tools must be True or False"),
        ("yes", "not str"),
        (None, "not NoneType"),
    ],
)
def test_a_bad_stream_argument_is_a_configuration_error_at_decoration(stream, words):
    with pytest.raises(ConfigurationError, match=words):
        llm.call("openai", "gpt-4o-mini", stream=stream)
    with pytest.raises(ConfigurationError, match=words):
        openai.call("gpt-4o-mini", stream=stream)


def test_a_tool_cannot_have_a_field_named_delta():
    with pytest.raises(ConfigurationError, match="delta"):

        class Bad(BaseTool):
            """Bad."""

            delta: str


def test_a_tool_built_by_hand_has_no_delta():
    assert GetBookAuthor(title="Dune").delta is None
