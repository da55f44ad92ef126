"""Prompt caching as Mirascope v1 spells it: ``{:cache_control}`` in a template,
``CacheControlPart`` in messages, ``AnthropicToolConfig(cache_control=...)`` on tools; and
the cache reads and writes every provider reports, in usage and in cost."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest
from shared import MODES, run

import minicall
from minicall import BaseTool, CacheControlPart, ImagePart, Messages, TextPart, ToolResultPart, llm, prompt_template
from minicall._call.registry import PROVIDERS
from minicall._cli.demo import MODELS
from minicall.providers import anthropic, bedrock, litellm
from minicall.providers.anthropic import AnthropicToolConfig
from minicall.testing import FakeServer, RawReply, Reply

CLAUDE = "claude-3-5-sonnet-latest"
EPHEMERAL = {"type": "ephemeral"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture(scope="module")
def fake():
    with FakeServer() as server:
        yield server


def _analyze(client: anthropic.AnthropicClient, mode: str, stream: bool = False):
    template = """
        SYSTEM:
        You are an AI assistant tasked with analyzing literary works.

        Here is the book in its entirety: {book}

        {:cache_control}

        USER: {query}
        """
    if mode == "sync":
        @anthropic.call(CLAUDE, client=client, stream=stream)
        @prompt_template(template)
        def analyze(query: str, book: str) -> None: ...

        return analyze

    @anthropic.call(CLAUDE, client=client, stream=stream)
    @prompt_template(template)
    async def analyze_async(query: str, book: str) -> None: ...

    return analyze_async


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_the_cache_control_template_spec_marks_the_part_before_it(fake, mode, stream):
    run(_analyze(fake.client("anthropic"), mode, stream), "What are the themes?", "BOOK TEXT")
    body = fake.last.json
    assert body["system"] == [{
        "type": "text",
        "text": "You are an AI assistant tasked with analyzing literary works.\n\n"
                "Here is the book in its entirety: BOOK TEXT",
        "cache_control": EPHEMERAL,
    }]
    assert body["messages"] == [{"role": "user", "content": "What are the themes?"}]


def test_the_spec_takes_type_and_ttl_options_and_the_formatted_prompt_shows_the_part(fake):
    @prompt_template("USER: {doc} {:cache_control(type=ephemeral, ttl=1h)} Question: {q}")
    def ask(doc: str, q: str) -> None: ...

    assert ask("D", "Q?") == [Messages.User([
        TextPart("D"), CacheControlPart(type="cache_control", cache_type="ephemeral", ttl="1h"), TextPart("Question: Q?")])]

    @anthropic.call(CLAUDE, client=fake.client("anthropic"))
    @prompt_template("USER: {doc} {:cache_control(type=ephemeral, ttl=1h)} Question: {q}")
    def sent(doc: str, q: str) -> None: ...

    sent("D", "Q?")
    assert fake.last.json["messages"][0]["content"] == [
        {"type": "text", "text": "D", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        {"type": "text", "text": "Question: Q?"},
    ]


@pytest.mark.parametrize("template, role", [
    ("{:cache_control}", "user"),
    ("{:cache_control(type=ephemeral)}", "user"),
    ("{not_used:cache_control}", "user"),  # the name before the colon is never looked up
    ("SYSTEM: {:cache_control}", "system"),
])
def test_the_spec_alone_makes_a_message_of_one_breakpoint_as_mirascope(template, role):
    fn = prompt_template(template)(lambda: None)
    assert fn() == [minicall.Message(role, [CacheControlPart(type="cache_control", cache_type="ephemeral")])]


@pytest.mark.parametrize("spec", ["{:cache_control(size=big)}", "{:cache_control(nonsense)}"])
def test_bad_cache_control_options_are_a_prompt_error(spec):
    @prompt_template("USER: hi " + spec)
    def ask() -> None: ...

    with pytest.raises(minicall.PromptError, match="cache_control"):
        ask()


def test_cache_control_parts_in_messages_mark_any_block_before_them(fake):
    @anthropic.call(CLAUDE, client=fake.client("anthropic"))
    def ask() -> list[minicall.Message]:
        return [
            Messages.System([TextPart("Long instructions"), CacheControlPart(type="cache_control", cache_type="ephemeral")]),
            Messages.User([CacheControlPart(), TextPart("Look:"), ImagePart("image/png", PNG), CacheControlPart()]),
            Messages.Assistant([TextPart("Noted."), CacheControlPart()]),
            Messages.User([TextPart("And now?")]),
        ]

    ask()
    body = fake.last.json
    assert body["system"] == [{"type": "text", "text": "Long instructions", "cache_control": EPHEMERAL}]
    first = body["messages"][0]["content"]
    # A breakpoint with nothing before it marks nothing (as in Mirascope).
    assert first[0] == {"type": "text", "text": "Look:"}
    assert first[1]["type"] == "image" and first[1]["cache_control"] == EPHEMERAL
    assert body["messages"][1] == {"role": "assistant", "content": [
        {"type": "text", "text": "Noted.", "cache_control": EPHEMERAL}]}


def test_a_breakpoint_after_a_tool_result_stays_on_it_when_results_move_first(fake):
    @anthropic.call(CLAUDE, client=fake.client("anthropic"))
    def ask() -> list[minicall.Message]:
        return [Messages.User([TextPart("Here:"), ToolResultPart("toolu_1", "lookup", "42"), CacheControlPart()])]

    ask()
    assert fake.last.json["messages"][0]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "42", "cache_control": EPHEMERAL},
        {"type": "text", "text": "Here:"},
    ]


class Lookup(BaseTool):
    """Look a term up."""

    tool_config: ClassVar[AnthropicToolConfig] = AnthropicToolConfig(cache_control={"type": "ephemeral"})
    term: str


def test_an_anthropic_tool_config_cache_control_marks_the_tool(fake):
    @anthropic.call(CLAUDE, client=fake.client("anthropic"), tools=[Lookup])
    def ask() -> str:
        return "hi"

    ask()
    [tool] = fake.last.json["tools"]
    assert tool["cache_control"] == EPHEMERAL and tool["name"] == "Lookup"


@pytest.mark.parametrize("provider", [p for p in PROVIDERS if p != "anthropic"])
def test_other_providers_leave_breakpoints_and_tool_cache_control_out(fake, provider):
    @llm.call(provider, MODELS[provider], client=fake.client(provider), tools=[Lookup])
    def ask() -> list[minicall.Message]:
        return [Messages.System([TextPart("Be brief."), CacheControlPart()]),
                Messages.User([TextPart("hi"), CacheControlPart()])]

    response = ask()
    assert response.content
    sent = json.dumps(fake.last.json)
    assert "cache_control" not in sent and "ephemeral" not in sent
    assert "Be brief." in sent and "hi" in sent


def test_a_bad_tool_cache_control_is_a_configuration_error(fake):
    bad = type("Bad", (BaseTool,), {"__doc__": "Bad.", "__annotations__": {"x": "int"},
                                    "tool_config": {"cache_control": "ephemeral"}})
    fake.reset()

    @anthropic.call(CLAUDE, client=fake.client("anthropic"), tools=[bad])
    def ask() -> str:
        return "hi"

    with pytest.raises(minicall.ConfigurationError, match="cache_control must be a dict"):
        ask()
    assert fake.requests == []


# -- cache reads and writes in usage and cost -------------------------------------------

CACHED = Reply(text="ok", input_tokens=1000, cached_tokens=600, cache_write_tokens=300, output_tokens=10)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_anthropic_cache_reads_and_writes_are_in_usage_and_cost(fake, mode, stream):
    fake.script(CACHED, provider="anthropic")
    result = run(_analyze(fake.client("anthropic"), mode, stream), "q", "book")
    usage = result.usage
    # input_tokens counts every input token: fresh, read from and written to the cache.
    assert (usage.input_tokens, usage.cached_tokens, usage.cache_write_tokens, usage.output_tokens) == (1000, 600, 300, 10)
    # claude-3-5-sonnet: 3.00 input, 0.30 cache read, 3.75 cache write, 15.00 output per million
    assert result.cost == pytest.approx((100 * 3.00 + 600 * 0.30 + 300 * 3.75 + 10 * 15.00) / 1e6)


def test_bedrock_cache_reads_and_writes_are_in_usage_and_cost(fake):
    @bedrock.call("anthropic.claude-3-5-sonnet-20241022-v2:0", client=fake.client("bedrock"))
    def ask() -> str:
        return "hi"

    fake.script(CACHED, provider="bedrock")
    response = ask()
    assert (response.usage.input_tokens, response.cached_tokens, response.usage.cache_write_tokens) == (1000, 600, 300)
    assert response.cost == pytest.approx((100 * 3.00 + 600 * 0.30 + 300 * 3.75 + 10 * 15.00) / 1e6)


@pytest.mark.parametrize("provider", ["openai", "google", "cohere", "xai", "azure"])
def test_cached_input_is_read_wherever_the_provider_reports_it(fake, provider):
    @llm.call(provider, MODELS[provider], client=fake.client(provider))
    def ask() -> str:
        return "hi"

    fake.script(Reply(text="ok", input_tokens=1000, cached_tokens=600, output_tokens=10), provider=provider)
    response = ask()
    assert (response.input_tokens, response.cached_tokens) == (1000, 600)


def test_a_litellm_proxy_reports_anthropic_cache_writes_too(fake):
    body = {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "claude-3-5-sonnet-20241022",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 10, "total_tokens": 1010,
                  "prompt_tokens_details": {"cached_tokens": 600},
                  "cache_creation_input_tokens": 300, "cache_read_input_tokens": 600},
    }

    @litellm.call("claude-3-5-sonnet-20241022", client=fake.client("litellm"))
    def ask() -> str:
        return "hi"

    fake.script(RawReply(headers={"content-type": "application/json"}, body=json.dumps(body).encode()), provider="litellm")
    response = ask()
    assert (response.usage.input_tokens, response.cached_tokens, response.usage.cache_write_tokens) == (1000, 600, 300)
    assert response.cost == pytest.approx((100 * 3.00 + 600 * 0.30 + 300 * 3.75 + 10 * 15.00) / 1e6)
