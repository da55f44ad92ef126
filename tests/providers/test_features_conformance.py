"""Provider-specific features beside the official SDKs, on the same FakeServer: what
minicall sends for a Mirascope-style call must be what the SDK sends for the same
request (headers that matter, and the parsed JSON body)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

from minicall.providers import anthropic as mc_anthropic
from minicall.providers import openai as mc_openai
from minicall import BaseTool, ResponseModelConfigDict
from minicall.testing import FakeServer, Reply
from minicall.testing._reply import RecordedRequest

anthropic_sdk = pytest.importorskip("anthropic")
openai_sdk = pytest.importorskip("openai")

pytestmark = [pytest.mark.conformance, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

CLAUDE = "claude-3-5-sonnet-latest"
GPT = "gpt-4o-mini"
TOKEN = "tok-test"
BETA = {"anthropic-beta": "prompt-caching-2024-07-31", "x-extra": "1"}


def _anthropic_version() -> str:
    from anthropic import _constants

    return str(getattr(_constants, "ANTHROPIC_API_VERSION", "2023-06-01"))


@pytest.fixture()
def claude_sdk(fake: FakeServer) -> Any:
    return anthropic_sdk.Anthropic(auth_token=TOKEN, base_url=fake.base_url("anthropic"), max_retries=0)


@pytest.fixture()
def claude(fake: FakeServer) -> mc_anthropic.AnthropicClient:
    return fake.client("anthropic", api_key=None, auth_token=TOKEN, version=_anthropic_version(), max_retries=0)


@pytest.fixture()
def gpt_sdk(fake: FakeServer) -> Any:
    return openai_sdk.OpenAI(api_key="sk-test", base_url=fake.base_url("openai"), max_retries=0)


@pytest.fixture()
def gpt(fake: FakeServer) -> mc_openai.OpenAIClient:
    return fake.client("openai", api_key="sk-test", max_retries=0)


def same(ours: RecordedRequest, theirs: RecordedRequest, *headers: str) -> None:
    assert ours.path == theirs.path
    assert ours.json == theirs.json
    for name in headers:
        assert ours.headers.get(name) == theirs.headers.get(name), name


# -- extra_headers ---------------------------------------------------------------------


def test_anthropic_extra_headers_as_the_sdk_sends_them(fake, claude_sdk, claude):
    @mc_anthropic.call(CLAUDE, client=claude, call_params={"max_tokens": 50, "extra_headers": BETA})
    def ask() -> str:
        return "hi"

    ask()
    ours = fake.last
    claude_sdk.messages.create(model=CLAUDE, max_tokens=50, messages=[{"role": "user", "content": "hi"}],
                               extra_headers=BETA)
    same(ours, fake.last, "anthropic-beta", "x-extra", "authorization")


def test_openai_extra_headers_as_the_sdk_sends_them(fake, gpt_sdk, gpt):
    @mc_openai.call(GPT, client=gpt, call_params={"extra_headers": BETA})
    def ask() -> str:
        return "hi"

    ask()
    ours = fake.last
    gpt_sdk.chat.completions.create(model=GPT, messages=[{"role": "user", "content": "hi"}], extra_headers=BETA)
    same(ours, fake.last, "anthropic-beta", "x-extra", "authorization")


def test_openai_extra_query_extra_body_and_timeout_as_the_sdk_sends_them(fake, gpt_sdk, gpt):
    options: dict[str, Any] = {"extra_query": {"trace": "on", "n": 2, "flag": True},
                               "extra_body": {"x_custom": {"a": 1}, "seed": 3}, "timeout": 30.0}

    @mc_openai.call(GPT, client=gpt, call_params={"temperature": 0.5, **options})
    def ask() -> str:
        return "hi"

    ask()
    ours = fake.last
    gpt_sdk.chat.completions.create(model=GPT, messages=[{"role": "user", "content": "hi"}], temperature=0.5, **options)
    same(ours, fake.last)
    assert ours.query == fake.last.query == {"trace": "on", "n": "2", "flag": "true"}


def test_anthropic_timeout_as_mirascope_passes_it(fake, claude_sdk, claude):
    @mc_anthropic.call(CLAUDE, client=claude, call_params={"max_tokens": 50, "timeout": 20.0})
    def ask() -> str:
        return "hi"

    ask()
    ours = fake.last
    claude_sdk.messages.create(model=CLAUDE, max_tokens=50, messages=[{"role": "user", "content": "hi"}], timeout=20.0)
    same(ours, fake.last)


# -- strict structured outputs -------------------------------------------------------


def _untitled(value: Any) -> Any:
    """``value`` without pydantic's ``title`` keys (which minicall's schemas leave out)."""
    if isinstance(value, dict):
        return {k: _untitled(v) for k, v in value.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(value, list):
        return [_untitled(v) for v in value]
    return value


def test_a_strict_tool_is_the_sdks_pydantic_function_tool(fake, gpt_sdk, gpt):
    import pydantic

    class GetWeather(BaseTool):
        """Get the weather."""

        tool_config: ClassVar[mc_openai.OpenAIToolConfig] = mc_openai.OpenAIToolConfig(strict=True)
        city: str
        days: int | None = None

    class SDKGetWeather(pydantic.BaseModel):
        """Get the weather."""

        city: str
        days: int | None = None

    @mc_openai.call(GPT, client=gpt, tools=[GetWeather])
    def ask() -> str:
        return "hi"

    ask()
    ours = fake.last.json
    tool = openai_sdk.pydantic_function_tool(SDKGetWeather, name="GetWeather")
    gpt_sdk.chat.completions.create(model=GPT, messages=[{"role": "user", "content": "hi"}], tools=[tool])
    theirs = _untitled(fake.last.json)
    theirs["tools"][0]["function"]["parameters"].pop("description")  # the tool's description says it
    assert ours == theirs


def test_a_strict_response_model_is_the_sdks_response_format(fake, gpt_sdk, gpt):
    import pydantic
    from openai.lib._parsing._completions import type_to_response_format_param

    class Book(pydantic.BaseModel):
        """A book."""

        model_config = ResponseModelConfigDict(strict=True)
        title: str
        year: int | None = None

    @mc_openai.call(GPT, client=gpt, response_model=Book, json_mode=True)
    def ask() -> str:
        return "hi"

    fake.script(Reply(text='{"title": "Dune", "year": 1965}'))
    assert ask().title == "Dune"
    ours = fake.last.json
    assert ours["messages"][0] == {"role": "user", "content": "hi"}
    assert _untitled(type_to_response_format_param(Book)) == _untitled(ours["response_format"])


# -- prompt caching ---------------------------------------------------------------------


class Lookup(BaseTool):
    """Look a term up."""

    tool_config: ClassVar[mc_anthropic.AnthropicToolConfig] = mc_anthropic.AnthropicToolConfig(
        cache_control={"type": "ephemeral"})
    term: str


def test_cache_breakpoints_go_where_the_sdk_sends_them(fake, claude_sdk, claude):
    from minicall import CacheControlPart, Messages, TextPart, prompt_template

    @mc_anthropic.call(CLAUDE, client=claude, tools=[Lookup], call_params={"max_tokens": 50})
    @prompt_template("""
        SYSTEM: The book: {book}
        {:cache_control}
        MESSAGES: {history}
        """)
    def ask(book: str, history: list[Any]) -> None: ...

    ask("BOOK", [Messages.User([TextPart("Question?"), CacheControlPart(ttl="1h")])])
    ours = fake.last
    claude_sdk.messages.create(
        model=CLAUDE, max_tokens=50,
        system=[{"type": "text", "text": "The book: BOOK", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "Question?", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]}],
        tools=[{"name": "Lookup", "description": "Look a term up.", "cache_control": {"type": "ephemeral"},
                "input_schema": {"type": "object", "properties": {"term": {"type": "string"}}, "required": ["term"]}}],
    )
    same(ours, fake.last, "authorization")


def test_cache_usage_reads_as_the_sdk_reads_it(fake, claude_sdk, claude):
    reply = Reply(text="ok", input_tokens=1000, cached_tokens=600, cache_write_tokens=300, output_tokens=10)

    @mc_anthropic.call(CLAUDE, client=claude)
    def ask() -> str:
        return "hi"

    fake.script(reply, reply)
    ours = ask().usage
    theirs = claude_sdk.messages.create(model=CLAUDE, max_tokens=1024, messages=[{"role": "user", "content": "hi"}]).usage
    assert ours.cached_tokens == theirs.cache_read_input_tokens == 600
    assert ours.cache_write_tokens == theirs.cache_creation_input_tokens == 300
    assert ours.input_tokens == theirs.input_tokens + theirs.cache_read_input_tokens + theirs.cache_creation_input_tokens


# -- Google: config http_options (the genai SDK's per-request headers and extra body) ---


def test_google_http_options_headers_and_extra_body_as_the_sdk_sends_them(fake):
    genai = pytest.importorskip("google.genai")
    from google.genai import types

    from minicall.providers import google as mc_google

    options = {"headers": {"x-goog-user-project": "billing-proj", "X-Trace": "t1"},
               "extra_body": {"labels": {"team": "books"}, "generationConfig": {"topK": 5}}}
    sdk = genai.Client(api_key="test-key", http_options=types.HttpOptions(
        base_url=fake.base_url("google"), retry_options=types.HttpRetryOptions(attempts=1)))
    sdk.models.generate_content(model="gemini-2.0-flash", contents="hi",
                                config={"temperature": 0.5, "http_options": options})
    theirs = fake.last

    @mc_google.call("gemini-2.0-flash", client=fake.client("google", api_key="test-key"),
                    call_params={"config": {"temperature": 0.5, "http_options": options}})
    def ask() -> str:
        return "hi"

    ask()
    ours = fake.last
    assert ours.json == theirs.json
    assert ours.json["labels"] == {"team": "books"} and ours.json["generationConfig"]["topK"] == 5
    assert "httpOptions" not in ours.json and "http_options" not in json.dumps(ours.json)
    for name in ("x-goog-user-project", "x-trace", "x-goog-api-key"):
        assert ours.headers.get(name) == theirs.headers.get(name), name
