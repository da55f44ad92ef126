"""The OpenAI-compatible family beside its official SDKs, against the same FakeServer.

Each oracle is an SDK the provider documents: the openai SDK (OpenAI, xAI, a LiteLLM
proxy, Azure OpenAI via ``AzureOpenAI``, Azure OpenAI's v1 API via the plain ``OpenAI``
client at ``{endpoint}/openai/v1/``), groq, mistralai and azure-ai-inference. For
the same call both must send the same method, path and query, credentials and JSON
body (parsed), and parse the same scripted reply, whole and streamed, to the same
content, usage, finish reason and tool arguments.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from shared import get_weather

from minicall.providers import azure
from minicall.testing import FakeServer, Reply, ToolCallReply

pytestmark = pytest.mark.conformance

openai_sdk = pytest.importorskip("openai")
groq_sdk = pytest.importorskip("groq")
mistral_sdk = pytest.importorskip("mistralai.client")
inference_sdk = pytest.importorskip("azure.ai.inference")
azure_credentials = pytest.importorskip("azure.core.credentials")

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Oslo?"},
]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
AUTH_HEADERS = ("authorization", "api-key")


@dataclass(frozen=True)
class Parsed:
    """What both sides made of a reply, in provider-neutral terms."""

    content: str
    usage: tuple[int, int, int] | None
    finish: str | None
    tools: list[tuple[str, dict[str, Any]]]


# -- SDK adapters: one call, parsed to Parsed ----------------------------------------


def _stainless(client: Any, model: str, stream: bool, params: dict[str, Any]) -> Parsed:
    """openai and groq: ``client.chat.completions.create``."""
    if not stream:
        r = client.chat.completions.create(model=model, messages=MESSAGES, **params)
        msg = r.choices[0].message
        calls = [(c.function.name, json.loads(c.function.arguments)) for c in msg.tool_calls or []]
        u = r.usage
        return Parsed(
            msg.content or "",
            (u.prompt_tokens, u.completion_tokens, u.total_tokens),
            r.choices[0].finish_reason,
            calls,
        )
    text, finish, usage, pieces = "", None, None, {}
    for chunk in client.chat.completions.create(
        model=model, messages=MESSAGES, stream=True, **params
    ):
        u = chunk.usage or getattr(getattr(chunk, "x_groq", None), "usage", None)
        if u is not None:
            usage = (u.prompt_tokens, u.completion_tokens, u.total_tokens)
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
            for tc in choice.delta.tool_calls or []:
                name, args = pieces.get(tc.index, ("", ""))
                pieces[tc.index] = (
                    name + (tc.function.name or ""),
                    args + (tc.function.arguments or ""),
                )
    return Parsed(text, usage, finish, [(n, json.loads(a)) for n, a in pieces.values()])


def _mistral(client: Any, model: str, stream: bool, params: dict[str, Any]) -> Parsed:
    if not stream:
        r = client.chat.complete(model=model, messages=MESSAGES, **params)
        msg = r.choices[0].message
        calls = [(c.function.name, _args(c.function.arguments)) for c in msg.tool_calls or []]
        u = r.usage
        return Parsed(
            msg.content or "",
            (u.prompt_tokens, u.completion_tokens, u.total_tokens),
            r.choices[0].finish_reason,
            calls,
        )
    text, finish, usage, calls = "", None, None, []
    for event in client.chat.stream(model=model, messages=MESSAGES, **params):
        chunk = event.data
        if chunk.usage is not None:
            usage = (
                chunk.usage.prompt_tokens,
                chunk.usage.completion_tokens,
                chunk.usage.total_tokens,
            )
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
            calls += [
                (c.function.name, _args(c.function.arguments))
                for c in choice.delta.tool_calls or []
            ]
    return Parsed(text, usage, finish, calls)


def _inference(client: Any, model: str, stream: bool, params: dict[str, Any]) -> Parsed:
    def reason(value: Any) -> str | None:
        return None if value is None else str(getattr(value, "value", value))

    if not stream:
        r = client.complete(model=model, messages=MESSAGES, **params)
        msg = r.choices[0].message
        calls = [(c.function.name, json.loads(c.function.arguments)) for c in msg.tool_calls or []]
        u = r.usage
        return Parsed(
            msg.content or "",
            (u.prompt_tokens, u.completion_tokens, u.total_tokens),
            reason(r.choices[0].finish_reason),
            calls,
        )
    text, finish, usage, pieces = "", None, None, {}
    for update in client.complete(model=model, messages=MESSAGES, stream=True, **params):
        if update.usage is not None:
            usage = (
                update.usage.prompt_tokens,
                update.usage.completion_tokens,
                update.usage.total_tokens,
            )
        for choice in update.choices:
            text += choice.delta.content or ""
            finish = reason(choice.finish_reason) or finish
            for i, tc in enumerate(choice.delta.tool_calls or []):
                index = getattr(tc, "index", None)
                key = i if index is None else index
                name, args = pieces.get(key, ("", ""))
                pieces[key] = (
                    name + (tc.function.name or ""),
                    args + (tc.function.arguments or ""),
                )
    return Parsed(text, usage, finish, [(n, json.loads(a)) for n, a in pieces.values()])


def _args(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else json.loads(value)


@dataclass(frozen=True)
class Oracle:
    """One provider's SDK, how to point it at the fake, and minicall's counterpart."""

    provider: str
    sdk: Callable[[FakeServer], Any]
    call: Callable[[Any, str, bool, dict[str, Any]], Parsed]
    client_kwargs: dict[str, Any]
    forced_choice: str = "required"
    seed_name: str = "seed"
    stream_options: bool = True


ORACLES = {
    "openai": Oracle(
        "openai",
        lambda f: openai_sdk.OpenAI(
            api_key="test-key", base_url=f.base_url("openai"), max_retries=0
        ),
        _stainless,
        {},
    ),
    "xai": Oracle(
        "xai",
        lambda f: openai_sdk.OpenAI(api_key="test-key", base_url=f.base_url("xai"), max_retries=0),
        _stainless,
        {},
    ),
    "litellm": Oracle(
        "litellm",
        lambda f: openai_sdk.OpenAI(
            api_key="test-key", base_url=f.base_url("litellm"), max_retries=0
        ),
        _stainless,
        {},
    ),
    "groq": Oracle(
        "groq",
        lambda f: groq_sdk.Groq(api_key="test-key", base_url=f.base_url("groq"), max_retries=0),
        _stainless,
        {},
        stream_options=False,
    ),
    "mistral": Oracle(
        "mistral",
        lambda f: mistral_sdk.Mistral(api_key="test-key", server_url=f.base_url("mistral")),
        _mistral,
        {},
        forced_choice="any",
        seed_name="random_seed",
        stream_options=False,
    ),
    "azure-openai": Oracle(
        "azure",
        lambda f: openai_sdk.AzureOpenAI(
            api_key="test-key",
            azure_endpoint=f.base_url("azure"),
            api_version="2024-10-21",
            max_retries=0,
        ),
        _stainless,
        {"deployment_style": "openai"},
    ),
    # Azure OpenAI's v1 API: Microsoft documents the plain client, base URL ending in
    # /openai/v1/, no api_version; minicall gets the endpoint and deployment_style="v1".
    "azure-v1": Oracle(
        "azure",
        lambda f: openai_sdk.OpenAI(
            api_key="test-key", base_url=f.base_url("azure") + "/openai/v1/", max_retries=0
        ),
        _stainless,
        {"deployment_style": "v1"},
    ),
    "azure-inference": Oracle(
        "azure",
        lambda f: inference_sdk.ChatCompletionsClient(
            endpoint=f.base_url("azure"),
            credential=azure_credentials.AzureKeyCredential("test-key"),
            retry_total=0,
        ),
        _inference,
        {"deployment_style": "inference"},
        stream_options=False,
    ),
}


def _minicall(
    oracle: Oracle,
    fake: FakeServer,
    stream: bool,
    params: dict[str, Any],
    tools: list[Any] | None = None,
    **kw: Any,
) -> Any:
    module = importlib.import_module(f"minicall.providers.{oracle.provider}")
    client = fake.client(oracle.provider, max_retries=0, **oracle.client_kwargs)

    @module.call("dep", client=client, stream=stream, tools=tools, call_params=params, **kw)
    def prompt() -> Any:
        return {"messages": MESSAGES}

    return prompt()


def _parsed(response: Any) -> Parsed:
    u = response.usage
    finish = response.finish_reasons[0] if response.finish_reasons else None
    return Parsed(
        response.content,
        None if u is None else (u.input_tokens, u.output_tokens, u.total_tokens),
        finish,
        [(t._name(), dict(t.args)) for t in response.tools or []],
    )


def _stream_parsed(stream: Any) -> Parsed:
    for _chunk, _tool in stream:
        pass
    return _parsed(stream.construct_call_response())


def _essential(request: Any) -> tuple[str, str, dict[str, str], dict[str, Any]]:
    body = dict(request.json)
    if body.get("stream") is False:  # the mistralai SDK always says so; False is the default
        del body["stream"]
    headers = {k: v for k, v in request.headers.items() if k in AUTH_HEADERS}
    return request.method, request.path, headers, body



@pytest.mark.parametrize("name", list(ORACLES))
def test_text_call_sends_the_same_request_and_parses_the_same(fake: FakeServer, name: str) -> None:
    oracle = ORACLES[name]
    reply = Reply(text="Sunny, 21 degrees.", input_tokens=9, output_tokens=5)
    fake.script(reply, reply)
    theirs = oracle.call(
        oracle.sdk(fake), "dep", False, {"temperature": 0.5, "max_tokens": 64, oracle.seed_name: 7}
    )
    sdk_request = fake.last
    ours = _parsed(
        _minicall(oracle, fake, False, {"temperature": 0.5, "max_tokens": 64, "seed": 7})
    )
    assert _essential(fake.last) == _essential(sdk_request)
    assert ours == theirs == Parsed("Sunny, 21 degrees.", (9, 5, 14), "stop", [])


@pytest.mark.parametrize("name", list(ORACLES))
def test_streamed_text_parses_the_same(fake: FakeServer, name: str) -> None:
    oracle = ORACLES[name]
    reply = Reply(text="Sunny and warm in Oslo today.", input_tokens=9, output_tokens=6)
    fake.script(reply, reply)
    theirs = oracle.call(oracle.sdk(fake), "dep", True, {})
    sdk_body = fake.last.json
    ours = _stream_parsed(_minicall(oracle, fake, True, {}))
    ours_body = dict(fake.last.json)
    # The SDKs send no stream_options unasked; minicall asks for usage where the
    # provider needs asking, and never where the SDK has no such option.
    expected_options = {"include_usage": True} if oracle.stream_options else None
    assert ours_body.pop("stream_options", None) == expected_options
    assert ours_body == sdk_body
    assert ours.content == theirs.content == "Sunny and warm in Oslo today."
    assert ours.finish == theirs.finish == "stop"
    assert ours.usage == (9, 6, 15)
    if theirs.usage is not None:  # the openai SDK sees usage only when it asked for it
        assert theirs.usage == ours.usage


@pytest.mark.parametrize("name", list(ORACLES))
def test_tool_call_request_and_arguments_match(fake: FakeServer, name: str) -> None:
    oracle = ORACLES[name]
    reply = Reply(
        tool_calls=[ToolCallReply("get_weather", {"city": "Oslo"}, id="abcDEF123")],
        input_tokens=3,
        output_tokens=4,
    )
    fake.script(reply, reply)
    ours = _parsed(_minicall(oracle, fake, False, {}, tools=[get_weather]))
    ours_request = fake.last
    sent_tools = ours_request.json["tools"]
    assert [t["function"]["name"] for t in sent_tools] == ["get_weather"]
    assert sent_tools[0]["function"]["parameters"]["properties"]["city"]["type"] == "string"
    theirs = oracle.call(oracle.sdk(fake), "dep", False, {"tools": sent_tools})
    assert _essential(ours_request) == _essential(fake.last)
    assert ours == theirs
    assert ours.tools == [("get_weather", {"city": "Oslo"})]
    assert ours.finish == "tool_calls"


@pytest.mark.parametrize("name", list(ORACLES))
def test_streamed_tool_call_arguments_match(fake: FakeServer, name: str) -> None:
    oracle = ORACLES[name]
    reply = Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Oslo"}, id="abcDEF123")])
    fake.script(reply, reply)
    ours = _stream_parsed(_minicall(oracle, fake, True, {}, tools=[get_weather]))
    theirs = oracle.call(oracle.sdk(fake), "dep", True, {"tools": [WEATHER_TOOL]})
    assert ours.tools == theirs.tools == [("get_weather", {"city": "Oslo"})]
    assert ours.finish == theirs.finish == "tool_calls"


@pytest.mark.parametrize("name", list(ORACLES))
def test_forced_tool_for_a_response_model_uses_the_sdks_tool_choice(
    fake: FakeServer, name: str
) -> None:
    oracle = ORACLES[name]

    @dataclass
    class Weather:
        city: str
        celsius: int

    reply = Reply(
        tool_calls=[ToolCallReply("Weather", {"city": "Oslo", "celsius": 21}, id="abcDEF123")]
    )
    fake.script(reply, reply)
    value = _minicall(oracle, fake, False, {}, response_model=Weather)
    assert value == Weather("Oslo", 21)
    ours_request = fake.last
    assert ours_request.json["tool_choice"] == oracle.forced_choice
    oracle.call(
        oracle.sdk(fake),
        "dep",
        False,
        {"tools": ours_request.json["tools"], "tool_choice": oracle.forced_choice},
    )
    assert _essential(ours_request) == _essential(fake.last)


@pytest.mark.parametrize("name", [n for n in ORACLES if n != "azure-inference"])
def test_json_mode_schema_is_accepted_by_the_sdk_as_sent(fake: FakeServer, name: str) -> None:
    oracle = ORACLES[name]

    @dataclass
    class Weather:
        city: str
        celsius: int

    reply = Reply(text='{"city": "Oslo", "celsius": 21}')
    fake.script(reply, reply)
    assert _minicall(oracle, fake, False, {}, response_model=Weather, json_mode=True) == Weather(
        "Oslo", 21
    )
    ours_request = fake.last
    fmt = ours_request.json["response_format"]
    assert fmt["type"] in {"json_schema", "json_object"}
    theirs = oracle.call(oracle.sdk(fake), "dep", False, {"response_format": fmt})
    assert _essential(ours_request) == _essential(fake.last)
    assert json.loads(theirs.content) == {"city": "Oslo", "celsius": 21}


def test_azure_entra_token_is_sent_as_the_openai_sdk_sends_it(fake: FakeServer) -> None:
    fake.script(Reply(text="ok"), Reply(text="ok"))
    sdk = openai_sdk.AzureOpenAI(
        azure_ad_token="entra-token",
        azure_endpoint=fake.base_url("azure"),
        api_version="2024-10-21",
        max_retries=0,
    )
    sdk.chat.completions.create(model="dep", messages=MESSAGES)
    theirs = _essential(fake.last)
    client = azure.AzureClient(
        azure_ad_token="entra-token",
        base_url=fake.base_url("azure"),
        deployment_style="openai",
        max_retries=0,
    )

    @azure.call("dep", client=client)
    def prompt() -> azure.AzureDynamicConfig:
        return {"messages": MESSAGES}

    prompt()
    assert _essential(fake.last) == theirs
    assert theirs[2] == {"authorization": "Bearer entra-token"}


def test_azure_v1_base_url_and_entra_token_provider_send_what_the_openai_sdk_sends(
    fake: FakeServer,
) -> None:
    # The v1 API's keyless setup: OpenAI(base_url=".../openai/v1/", api_key=token_provider),
    # the provider called per request; minicall's counterpart is azure_ad_token_provider
    # with the same base URL, its shape read from the URL.
    fake.script(*[Reply(text="ok")] * 4)
    base_url = fake.base_url("azure") + "/openai/v1/"
    sdk_tokens = iter(["entra-1", "entra-2"])
    sdk = openai_sdk.OpenAI(api_key=lambda: next(sdk_tokens), base_url=base_url, max_retries=0)
    theirs = []
    for _ in range(2):
        sdk.chat.completions.create(model="dep", messages=MESSAGES)
        theirs.append(_essential(fake.last))
    tokens = iter(["entra-1", "entra-2"])
    client = azure.AzureClient(
        azure_ad_token_provider=lambda: next(tokens), base_url=base_url, max_retries=0
    )
    assert client.deployment_style == "v1"

    @azure.call("dep", client=client)
    def prompt() -> azure.AzureDynamicConfig:
        return {"messages": MESSAGES}

    ours = []
    for _ in range(2):
        prompt()
        ours.append(_essential(fake.last))
    assert ours == theirs
    assert [t[1] for t in theirs] == ["/openai/v1/chat/completions"] * 2
    assert [t[2] for t in theirs] == [
        {"authorization": "Bearer entra-1"},
        {"authorization": "Bearer entra-2"},
    ]
    assert theirs[0][3]["model"] == "dep"
