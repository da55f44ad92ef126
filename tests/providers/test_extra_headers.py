"""The official SDKs' request options in ``call_params`` (``extra_headers``,
``extra_query``, ``extra_body``, ``timeout``) configure the request, never travel as body
keys, for every provider, sync and async, plain and streamed."""

from __future__ import annotations

import json

import pytest
from shared import MODES, ask, run

import minicall
from minicall import llm
from minicall._call.registry import PROVIDERS
from minicall._cli.demo import MODELS
from minicall.providers import anthropic
from minicall.testing import FakeServer, Reply

BETA = {"anthropic-beta": "prompt-caching-2024-07-31", "X-Trace": "t-1"}


@pytest.fixture(scope="module")
def fake():
    with FakeServer() as server:
        yield server


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_extra_headers_are_headers_not_body_keys(fake, provider, mode, stream):
    fn = ask(fake.client(provider), mode, provider=provider, model=MODELS[provider],
             stream=stream, call_params={"extra_headers": BETA, "temperature": 0.5})
    response = run(fn, "hello")
    sent = fake.last
    assert sent.headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert sent.headers["x-trace"] == "t-1"
    assert b"extra_headers" not in sent.body and b"prompt-caching" not in sent.body
    assert "0.5" in json.dumps(sent.json)  # the other params still go in the body
    if not stream:
        assert response.call_params["extra_headers"] == BETA  # the params as given
        assert "extra_headers" not in json.dumps(response.call_kwargs)


def test_extra_headers_replace_the_clients_own_header_of_that_name(fake):
    client = fake.client("anthropic", betas=["files-api-2025-04-14"])

    @anthropic.call("claude-3-5-haiku-latest", client=client)
    def plain() -> str:
        return "hi"

    plain()
    assert fake.last.headers["anthropic-beta"] == "files-api-2025-04-14"

    @anthropic.call("claude-3-5-haiku-latest", client=client,
                    call_params={"extra_headers": {"Anthropic-Beta": "token-efficient-tools-2025-02-19"}})
    def beta() -> str:
        return "hi"

    beta()
    # One header, the call's value (names compare without case, as HTTP's do).
    assert fake.last.headers["anthropic-beta"] == "token-efficient-tools-2025-02-19"


def test_extra_headers_from_dynamic_config_and_override(fake):
    @anthropic.call("claude-3-5-haiku-latest", client=fake.client("anthropic"),
                    call_params={"extra_headers": {"x-a": "decorator"}})
    def chat(value: str) -> anthropic.AnthropicDynamicConfig:
        return {"messages": [{"role": "user", "content": "hi"}],
                "call_params": {"extra_headers": {"x-b": value}}}

    chat("dynamic")
    # call_params merge key by key: the dynamic dict replaces the decorator's whole.
    assert fake.last.headers.get("x-a") is None and fake.last.headers["x-b"] == "dynamic"
    llm.override(chat, call_params={"extra_headers": {"x-c": "override"}})("dynamic")
    assert fake.last.headers["x-b"] == "dynamic" and "x-c" not in fake.last.headers


def test_none_extra_headers_send_nothing(fake):
    fn = ask(fake.client("openai"), "sync", call_params={"extra_headers": None})
    run(fn, "hello")
    assert b"extra_headers" not in fake.last.body


def test_credentials_still_win_over_extra_headers(fake):
    fn = ask(fake.client("openai", api_key="sk-real"), "sync",
             call_params={"extra_headers": {"Authorization": "Bearer other"}})
    run(fn, "hello")
    assert fake.last.headers["authorization"] == "Bearer sk-real"


@pytest.mark.parametrize("bad", [
    ["anthropic-beta"],
    {"x-n": 1},
    {1: "x"},
    {"x-evil": "a\r\nHost: elsewhere"},
    {"x-evil\n": "a"},
])
@pytest.mark.parametrize("mode", MODES)
def test_bad_extra_headers_are_a_configuration_error_before_any_io(fake, bad, mode):
    fake.reset()
    fn = ask(fake.client("openai"), mode, call_params={"extra_headers": bad})
    with pytest.raises(minicall.ConfigurationError, match="extra_headers|header"):
        run(fn, "hello")
    assert fake.requests == []


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_google_config_http_options_send_headers_and_merge_extra_body(fake, mode, stream):
    # Mirascope's GoogleCallParams is genai's GenerateContentConfig, whose http_options
    # carry per-request headers and an extra body, as the SDK applies them.
    config = {"temperature": 0.5, "http_options": {"headers": {"x-goog-user-project": "p"},
                                                   "extra_body": {"labels": {"team": "books"}}}}
    fn = ask(fake.client("google"), mode, provider="google", model=MODELS["google"], stream=stream,
             call_params={"config": config})
    run(fn, "hello")
    sent = fake.last
    assert sent.headers["x-goog-user-project"] == "p"
    assert sent.json["labels"] == {"team": "books"} and sent.json["generationConfig"] == {"temperature": 0.5}
    assert "httpOptions" not in sent.json


@pytest.mark.parametrize("options", [
    {"headers": ["x"]},
    {"headers": {"x-a": 1}},
    {"headers": {"x-a": "b\r\nc"}},
    {"extra_body": "labels"},
])
def test_bad_google_http_options_are_a_prompt_error_before_any_io(fake, options):
    fake.reset()
    fn = ask(fake.client("google"), "sync", provider="google", model=MODELS["google"],
             call_params={"config": {"http_options": options}})
    with pytest.raises(minicall.PromptError, match="http_options"):
        run(fn, "hello")
    assert fake.requests == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_extra_query_and_extra_body_reach_the_url_and_the_body(fake, provider, mode):
    fn = ask(fake.client(provider), mode, provider=provider, model=MODELS[provider],
             call_params={"extra_query": {"trace": "on", "n": 2, "flag": True},
                          "extra_body": {"x_custom": {"a": 1}}, "temperature": 0.5})
    response = run(fn, "hello")
    sent = fake.last
    assert (sent.query["trace"], sent.query["n"], sent.query["flag"]) == ("on", "2", "true")
    assert sent.json["x_custom"] == {"a": 1}
    assert b"extra_query" not in sent.body and b"extra_body" not in sent.body
    assert response.content


def test_extra_body_replaces_a_key_the_codec_wrote(fake):
    fn = ask(fake.client("openai"), "sync", call_params={"extra_body": {"model": "gpt-4o", "seed": 7}})
    run(fn, "hello")
    assert fake.last.json["model"] == "gpt-4o" and fake.last.json["seed"] == 7


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", ["openai", "anthropic", "google", "bedrock", "cohere"])
def test_a_call_params_timeout_bounds_the_call_and_is_no_body_key(fake, provider, mode):
    fn = ask(fake.client(provider, max_retries=0), mode, provider=provider, model=MODELS[provider],
             call_params={"timeout": 0.2})
    fake.script(Reply(text="late", delay=1.0), provider=provider)
    with pytest.raises(minicall.APITimeoutError):
        run(fn, "hello")
    assert b"timeout" not in fake.last.body
    fake.reset()


@pytest.mark.parametrize("params, problem", [
    ({"extra_query": ["a"]}, "extra_query must be a dict"),
    ({"extra_query": {"a": {"b": 1}}}, "extra_query must map names to plain values"),
    ({"extra_body": "x"}, "extra_body must be a dict"),
    ({"extra_body": {1: "x"}}, "extra_body must have string keys"),
    ({"timeout": 0}, "timeout must be a positive number"),
    ({"timeout": "5"}, "timeout must be a positive number"),
    ({"timeout": float("nan")}, "timeout must be a positive number"),
])
def test_bad_request_options_are_a_configuration_error_before_any_io(fake, params, problem):
    fake.reset()
    fn = ask(fake.client("openai"), "sync", call_params=params)
    with pytest.raises(minicall.ConfigurationError, match=problem):
        run(fn, "hello")
    assert fake.requests == []
