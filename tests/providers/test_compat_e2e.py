"""The OpenAI-compatible family end to end over loopback through FakeServer.

Every test runs for OpenAI and each compatible dialect (Azure in each of its URL shapes), via
``minicall.llm.call`` and via the provider module, and checks what the fake received
in the provider's own terms: path, credentials, parameter names, tool choice.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from shared import ERROR_STATUSES, Book, get_weather

import minicall
from minicall import Messages, llm
from minicall.providers import azure, groq, litellm, mistral, xai
from minicall.testing import ErrorReply, FakeServer, Reply, ToolCallReply


@dataclass(frozen=True)
class Case:
    """One provider (or URL shape) and what its wire must show."""

    name: str
    provider: str
    path: str
    auth: dict[str, str]
    client_kwargs: dict[str, Any] = field(default_factory=dict)
    seed_name: str = "seed"
    max_tokens_name: str = "max_completion_tokens"
    forced_choice: str = "required"
    stream_options: bool = True
    key_env: str = ""
    model: str = "model-x"


BEARER = {"authorization": "Bearer test-key"}
CASES = [
    Case("openai", "openai", "/v1/chat/completions", BEARER, key_env="OPENAI_API_KEY"),
    Case(
        "groq",
        "groq",
        "/openai/v1/chat/completions",
        BEARER,
        stream_options=False,
        key_env="GROQ_API_KEY",
    ),
    Case("xai", "xai", "/v1/chat/completions", BEARER, key_env="XAI_API_KEY"),
    Case(
        "mistral",
        "mistral",
        "/v1/chat/completions",
        BEARER,
        seed_name="random_seed",
        max_tokens_name="max_tokens",
        forced_choice="any",
        stream_options=False,
        key_env="MISTRAL_API_KEY",
    ),
    Case("litellm", "litellm", "/chat/completions", BEARER, key_env="LITELLM_PROXY_API_KEY"),
    Case(
        "azure-inference",
        "azure",
        "/chat/completions?api-version=2024-05-01-preview",
        {"authorization": "Bearer test-key", "api-key": "test-key"},
        {"deployment_style": "inference"},
        stream_options=False,
        key_env="AZURE_AI_API_KEY",
    ),
    Case(
        "azure-openai",
        "azure",
        "/openai/deployments/model-x/chat/completions?api-version=2024-10-21",
        {"api-key": "test-key"},
        {"deployment_style": "openai"},
        key_env="AZURE_OPENAI_API_KEY",
    ),
    Case(
        "azure-v1",
        "azure",
        "/openai/v1/chat/completions",
        BEARER,
        {"deployment_style": "v1"},
        key_env="AZURE_OPENAI_API_KEY",
    ),
]

_ENV = (
    "GROQ_BASE_URL",
    "XAI_BASE_URL",
    "MISTRAL_BASE_URL",
    "LITELLM_PROXY_API_KEY",
    "LITELLM_API_KEY",
    "LITELLM_PROXY_API_BASE",
    "AZURE_AI_ENDPOINT",
    "AZURE_AI_API_VERSION",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_AD_TOKEN",
    "OPENAI_API_VERSION",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


def client_for(fake: FakeServer, case: Case, **kwargs: Any) -> Any:
    return fake.client(case.provider, **{**case.client_kwargs, **kwargs})


def module_for(case: Case) -> Any:
    return importlib.import_module(f"minicall.providers.{case.provider}")


# -- simple calls -------------------------------------------------------------------


def test_simple_call_through_llm_hits_the_providers_path_with_its_credentials(fake, case):
    @llm.call(provider=case.provider, model=case.model, client=client_for(fake, case))
    def recommend(genre: str) -> str:
        return f"Recommend a {genre} book"

    fake.script(Reply(text="Try Dune.", input_tokens=6, output_tokens=2))
    response = recommend("sci-fi")
    assert response.content == "Try Dune."
    assert response.provider == case.provider
    assert response.finish_reasons == ["stop"]
    assert response.usage == minicall.Usage(6, 2, 0, 8)
    sent = fake.last
    assert sent.method == "POST" and sent.path == case.path
    assert {k: v for k, v in sent.headers.items() if k in ("authorization", "api-key")} == case.auth
    assert sent.json == {
        "model": case.model,
        "messages": [{"role": "user", "content": "Recommend a sci-fi book"}],
    }


def test_provider_module_call_returns_its_own_response_type(fake, case):
    module = module_for(case)

    @module.call(case.model, client=client_for(fake, case))
    def recommend(genre: str) -> Any:
        return {"messages": [{"role": "user", "content": f"Recommend a {genre} book"}]}

    response = recommend("fantasy")
    prefix = {"openai": "OpenAI", "xai": "XAI", "litellm": "LiteLLM"}.get(
        case.provider, case.provider.capitalize()
    )
    assert type(response).__name__ == f"{prefix}CallResponse"
    assert response.content == "echo: Recommend a fantasy book"
    assert response.message_param == {
        "role": "assistant",
        "content": "echo: Recommend a fantasy book",
    }
    assert response.response["choices"][0]["message"]["content"] == response.content


def test_system_and_multi_turn_history_are_sent_in_order(fake, case):
    history = [Messages.User("Hi"), Messages.Assistant("Hello! How can I help?")]

    @llm.call(provider=case.provider, model=case.model, client=client_for(fake, case))
    def chat(question: str) -> list[Any]:
        return [Messages.System("Be brief."), *history, Messages.User(question)]

    chat("Any book?")
    assert fake.last.json["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Any book?"},
    ]


def test_common_and_native_call_params_reach_the_body_under_the_providers_names(fake, case):
    @llm.call(
        provider=case.provider,
        model=case.model,
        client=client_for(fake, case),
        call_params={"temperature": 0.3, "seed": 11, "top_p": 0.9, "stop": ["END"]},
    )
    def ask() -> minicall.BaseDynamicConfig:
        return {"messages": [Messages.User("hi")], "call_params": {"max_completion_tokens": 50}}

    ask()
    body = fake.last.json
    assert body["temperature"] == 0.3 and body["top_p"] == 0.9 and body["stop"] == ["END"]
    assert body[case.seed_name] == 11
    assert body[case.max_tokens_name] == 50
    if case.seed_name != "seed":
        assert "seed" not in body
    if case.max_tokens_name != "max_completion_tokens":
        assert "max_completion_tokens" not in body


def test_image_input_becomes_an_image_url_part(fake, case):
    png = b"\x89PNG\r\n\x1a\nfake"

    @llm.call(provider=case.provider, model=case.model, client=client_for(fake, case))
    def describe() -> list[Any]:
        return [
            Messages.User(
                [minicall.TextPart("What is this?"), minicall.ImagePart("image/png", png)]
            )
        ]

    describe()
    content = fake.last.json["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "What is this?"}
    assert content[1]["type"] == "image_url"
    assert (
        content[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(png).decode()
    )


def test_custom_client_via_decorator_and_via_dynamic_config(fake, case):
    decorator_client = client_for(fake, case, headers={"x-origin": "decorator"})
    dynamic_client = client_for(fake, case, headers={"x-origin": "dynamic"})

    @llm.call(provider=case.provider, model=case.model, client=decorator_client)
    def ask(use_dynamic: bool) -> minicall.BaseDynamicConfig:
        config: minicall.BaseDynamicConfig = {"messages": [Messages.User("hi")]}
        if use_dynamic:
            config["client"] = dynamic_client
        return config

    ask(True)
    assert fake.last.headers["x-origin"] == "dynamic"
    ask(False)
    assert fake.last.headers["x-origin"] == "decorator"


# -- errors and retries -------------------------------------------------------------

STATUSES = ERROR_STATUSES


@pytest.mark.parametrize(("status", "error_type"), STATUSES)
def test_error_statuses_map_to_typed_errors_with_the_providers_message(
    fake, case, sleeps, status, error_type
):
    @llm.call(
        provider=case.provider, model=case.model, client=client_for(fake, case, max_retries=0)
    )
    def ask() -> str:
        return "hi"

    fake.script(ErrorReply(status, message=f"scripted failure {status}"))
    with pytest.raises(error_type) as info:
        ask()
    err = info.value
    assert err.status_code == status
    assert err.message == f"scripted failure {status}"
    assert err.provider == case.provider
    assert "test-key" not in str(err) and "test-key" not in repr(err)
    assert sleeps == []


def test_provider_module_reexports_the_error_tree(case):
    module = module_for(case)
    assert module.RateLimitError is minicall.RateLimitError
    assert module.APIError is minicall.APIError


def test_429_is_retried_honouring_retry_after(fake, case, sleeps):
    @llm.call(provider=case.provider, model=case.model, client=client_for(fake, case))
    def ask() -> str:
        return "hi"

    fake.script(
        ErrorReply(429, message="slow down", headers={"retry-after": "2"}), Reply(text="ok")
    )
    assert ask().content == "ok"
    assert sleeps == [2.0]
    assert len(fake.requests) == 2


def test_missing_credential_is_a_configuration_error_naming_the_variable(fake, case):
    kwargs = {k: v for k, v in case.client_kwargs.items()}
    with pytest.raises(minicall.ConfigurationError, match=case.key_env):
        module_for(case).__dict__[module_for(case).CLIENT_CLASS](
            base_url=fake.base_url(case.provider), **kwargs
        )
    assert fake.requests == []


# -- streams --------------------------------------------------------------------------


def test_stream_concatenates_to_the_non_stream_content_with_usage_at_the_end(fake, case):
    @llm.call(provider=case.provider, model=case.model, client=client_for(fake, case), stream=True)
    def tell() -> str:
        return "story"

    reply = Reply(text="Once upon a time there was a fox.", input_tokens=3, output_tokens=8)
    fake.script(reply)
    stream = tell()
    pieces = [chunk.content for chunk, tool in stream if tool is None]
    assert len([p for p in pieces if p]) > 1
    assert "".join(pieces) == "Once upon a time there was a fox."
    assert stream.usage == minicall.Usage(3, 8, 0, 11)
    assert stream.finish_reasons == ["stop"]
    assert fake.last.json["stream"] is True
    assert ("stream_options" in fake.last.json) is case.stream_options
    final = stream.construct_call_response()
    assert final.content == stream.content and final.usage == stream.usage

    @llm.call(provider=case.provider, model=case.model, client=client_for(fake, case))
    def tell_whole() -> str:
        return "story"

    fake.script(reply)
    assert tell_whole().content == stream.content


def test_stream_tool_call_is_assembled_from_pieces(fake, case):
    @llm.call(
        provider=case.provider,
        model=case.model,
        client=client_for(fake, case),
        stream=True,
        tools=[Book],
    )
    def ask() -> str:
        return "x"

    fake.script(
        Reply(
            tool_calls=[
                ToolCallReply("Book", {"title": "Dune", "year": 1965}),
                ToolCallReply("Book", {"title": "Emma", "year": 1815}),
            ]
        )
    )
    tools = [tool for _, tool in ask() if tool is not None]
    assert [t.args for t in tools] == [
        {"title": "Dune", "year": 1965},
        {"title": "Emma", "year": 1815},
    ]


def test_stream_error_event_raises_with_the_partial_text(fake, case):
    @llm.call(provider=case.provider, model=case.model, client=client_for(fake, case), stream=True)
    def tell() -> str:
        return "x"

    fake.script(
        Reply(
            text="alpha beta gamma delta", stream_error_after=3, stream_error_message="overloaded"
        )
    )
    stream = tell()
    with pytest.raises(minicall.APIError, match="overloaded") as info:
        for _ in stream:
            pass
    assert info.value.partial and "alpha beta gamma delta".startswith(info.value.partial)
    assert stream.content == info.value.partial


def test_dropped_stream_raises_a_typed_error_keeping_the_partial_text(fake, case):
    @llm.call(provider=case.provider, model=case.model, client=client_for(fake, case), stream=True)
    def tell() -> str:
        return "x"

    fake.script(Reply(text="one two three four five six", drop_after_events=4))
    seen: list[str] = []
    with pytest.raises(minicall.MinicallError) as info:
        for chunk, _ in tell():
            seen.append(chunk.content)
    assert info.value.partial == "".join(seen)
    assert info.value.partial.startswith("one")


# -- tools and structured output --------------------------------------------------------


def test_tool_call_round_trip_makes_a_valid_next_request(fake, case):
    module = module_for(case)

    @module.call(case.model, client=client_for(fake, case), tools=[get_weather])
    def chat(history: list[Any]) -> Any:
        return {"messages": [{"role": "user", "content": "weather in Paris?"}, *history]}

    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="abcDEF123")]))
    response = chat([])
    tool = response.tool
    assert tool is not None and tool.args == {"city": "Paris"} and tool.id == "abcDEF123"
    assert tool.call() == "sunny in Paris"
    assert fake.last.json["tools"][0]["function"]["name"] == "get_weather"
    chat([response.message_param, *response.tool_message_params([(tool, tool.call())])])
    assert fake.last.json["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "abcDEF123",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "abcDEF123", "content": "sunny in Paris"},
    ]


def test_parallel_tool_calls_all_become_tools(fake, case):
    @llm.call(
        provider=case.provider, model=case.model, client=client_for(fake, case), tools=[get_weather]
    )
    def ask() -> str:
        return "weather in Paris and Oslo?"

    fake.script(
        Reply(
            tool_calls=[
                ToolCallReply("get_weather", {"city": "Paris"}),
                ToolCallReply("get_weather", {"city": "Oslo"}),
            ]
        )
    )
    response = ask()
    assert [t.args["city"] for t in response.tools] == ["Paris", "Oslo"]
    assert [t.call() for t in response.tools] == ["sunny in Paris", "sunny in Oslo"]


def test_response_model_via_forced_tool_uses_the_providers_tool_choice(fake, case):
    @llm.call(
        provider=case.provider, model=case.model, client=client_for(fake, case), response_model=Book
    )
    def extract(text: str) -> str:
        return f"Extract: {text}"

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]))
    assert extract("Dune, 1965") == Book("Dune", 1965)
    assert fake.last.json["tool_choice"] == case.forced_choice
    assert fake.last.json["tools"][0]["function"]["name"] == "Book"


def test_response_model_via_json_mode_uses_the_native_schema_mode(fake, case):
    @llm.call(
        provider=case.provider,
        model=case.model,
        client=client_for(fake, case),
        response_model=Book,
        json_mode=True,
    )
    def extract(text: str) -> str:
        return f"Extract: {text}"

    fake.script(Reply(text=json.dumps({"title": "Dune", "year": 1965})))
    assert extract("Dune") == Book("Dune", 1965)
    fmt = fake.last.json["response_format"]
    assert fmt["type"] == "json_schema"
    assert set(fmt["json_schema"]["schema"]["properties"]) == {"title", "year"}
    assert "tool_choice" not in fake.last.json


def test_output_parser_result_is_returned(fake, case):
    @llm.call(
        provider=case.provider,
        model=case.model,
        client=client_for(fake, case),
        output_parser=lambda r: r.content.upper(),
    )
    def ask() -> str:
        return "hi"

    assert ask() == "ECHO: HI"


# -- async ------------------------------------------------------------------------------


def test_async_call_stream_and_tool_call(fake, case):
    client = client_for(fake, case)

    @llm.call(provider=case.provider, model=case.model, client=client)
    async def ask(q: str) -> str:
        return q

    @llm.call(provider=case.provider, model=case.model, client=client, stream=True)
    async def tell(q: str) -> str:
        return q

    @llm.call(provider=case.provider, model=case.model, client=client, tools=[get_weather])
    async def use_tool(q: str) -> str:
        return q

    async def main() -> tuple[str, str, Any]:
        response = await ask("hello")
        stream = await tell("a b c")
        text = "".join([chunk.content async for chunk, _ in stream])
        fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Rome"})]))
        tooled = await use_tool("weather?")
        return response.content, text, tooled.tool

    content, text, tool = asyncio.run(main())
    assert (content, text) == ("echo: hello", "echo: a b c")
    assert tool is not None and tool.call() == "sunny in Rome"


# -- provider specifics -------------------------------------------------------------------


def test_xai_cost_comes_from_usage_ticks(fake):
    @xai.call("grok-3-mini", client=fake.client("xai"))
    def ask() -> xai.XAIDynamicConfig:
        return {"messages": [{"role": "user", "content": "hi"}]}

    fake.script(Reply(text="ok", reported_cost=0.0123))
    response = ask()
    assert response.response["usage"]["cost_in_usd_ticks"] == 123_000_000
    assert response.cost == pytest.approx(0.0123)


def test_litellm_cost_comes_from_the_response_header(fake):
    @litellm.call("my-group", client=fake.client("litellm"))
    def ask() -> litellm.LiteLLMDynamicConfig:
        return {"messages": [{"role": "user", "content": "hi"}]}

    fake.script(Reply(text="ok", reported_cost=0.5))
    assert ask().cost == pytest.approx(0.5)


def test_litellm_env_names_the_proxy_root_and_key(fake, monkeypatch):
    monkeypatch.setenv("LITELLM_PROXY_API_KEY", "sk-proxy")
    monkeypatch.setenv("LITELLM_PROXY_API_BASE", fake.base_url("litellm"))
    client = litellm.LiteLLMClient()
    assert client.base_url == fake.base_url("litellm")

    @litellm.call("my-group", client=client)
    def ask() -> litellm.LiteLLMDynamicConfig:
        return {"messages": [{"role": "user", "content": "hi"}]}

    ask()
    assert fake.last.path == "/chat/completions"
    assert fake.last.headers["authorization"] == "Bearer sk-proxy"
    assert "sk-proxy" not in repr(client)


def test_litellm_open_proxy_takes_an_empty_key_and_sends_no_credential(fake):
    @litellm.call("my-group", client=fake.client("litellm", api_key=""))
    def ask() -> litellm.LiteLLMDynamicConfig:
        return {"messages": [{"role": "user", "content": "hi"}]}

    ask()
    assert "authorization" not in fake.last.headers


def test_groq_defaults_to_the_host_root_and_reads_groq_base_url(monkeypatch, fake):
    assert groq.GroqClient(api_key="k").base_url == "https://api.groq.com"
    monkeypatch.setenv("GROQ_API_KEY", "gsk-env")
    monkeypatch.setenv("GROQ_BASE_URL", fake.base_url("groq"))

    @groq.call("llama", client=groq.GroqClient())
    def ask() -> groq.GroqDynamicConfig:
        return {
            "messages": [{"role": "user", "content": "hi"}],
            "call_params": {"logprobs": True, "reasoning_format": "hidden"},
        }

    ask()
    assert fake.last.path == "/openai/v1/chat/completions"
    assert fake.last.headers["authorization"] == "Bearer gsk-env"
    assert "logprobs" not in fake.last.json  # Groq's models do not support it
    assert fake.last.json["reasoning_format"] == "hidden"


def test_mistral_finish_reason_model_length_normalizes_to_length(fake):
    @llm.call(provider="mistral", model="mistral-small", client=fake.client("mistral"))
    def ask() -> str:
        return "hi"

    @mistral.call("mistral-small", client=fake.client("mistral"))
    def ask_native() -> mistral.MistralDynamicConfig:
        return {
            "messages": [{"role": "user", "content": "hi"}],
            "call_params": {"safe_prompt": True},
        }

    fake.script(
        Reply(text="cut", finish_reason="model_length"),
        Reply(text="cut", finish_reason="model_length"),
    )
    assert ask().finish_reasons == ["length"]
    assert ask_native().finish_reasons == ["model_length"]
    assert fake.last.json["safe_prompt"] is True


def test_mistral_audio_input_is_the_bare_base64_string(fake):
    @llm.call(provider="mistral", model="voxtral-mini", client=fake.client("mistral"))
    def listen() -> list[Any]:
        return [
            Messages.User(
                [minicall.TextPart("Transcribe"), minicall.AudioPart("audio/wav", b"RIFFdata")]
            )
        ]

    listen()
    part = fake.last.json["messages"][0]["content"][1]
    assert part == {"type": "input_audio", "input_audio": base64.b64encode(b"RIFFdata").decode()}


def test_azure_style_follows_the_endpoint_and_its_environment(monkeypatch, fake):
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "aoai-key")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake.base_url("azure"))
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-01-01-preview")
    client = azure.AzureClient()
    assert client.deployment_style == "openai"

    @azure.call("my-deployment", client=client)
    def ask() -> azure.AzureDynamicConfig:
        return {"messages": [{"role": "user", "content": "hi"}]}

    ask()
    assert (
        fake.last.path
        == "/openai/deployments/my-deployment/chat/completions?api-version=2025-01-01-preview"
    )
    assert fake.last.headers["api-key"] == "aoai-key"
    assert "authorization" not in fake.last.headers
    assert (
        azure.AzureClient(api_key="k", base_url="https://res.openai.azure.com").deployment_style
        == "openai"
    )
    assert (
        azure.AzureClient(
            api_key="k", base_url="https://res.services.ai.azure.com/models"
        ).deployment_style
        == "inference"
    )


def test_azure_inference_env_and_entra_token_provider(monkeypatch, fake):
    monkeypatch.setenv("AZURE_AI_ENDPOINT", fake.base_url("azure"))
    monkeypatch.setenv("AZURE_AI_API_VERSION", "2024-05-01-preview")
    tokens = iter(["tok-1", "tok-2"])
    client = azure.AzureClient(azure_ad_token_provider=lambda: next(tokens))
    assert client.deployment_style == "inference"

    @azure.call("phi-4", client=client)
    def ask() -> azure.AzureDynamicConfig:
        return {"messages": [{"role": "user", "content": "hi"}]}

    ask()
    assert fake.last.headers["authorization"] == "Bearer tok-1"
    ask()
    assert fake.last.headers["authorization"] == "Bearer tok-2"
    assert "api-key" not in fake.last.headers
    assert fake.last.json["model"] == "phi-4"


def test_azure_without_an_endpoint_names_both_variables():
    with pytest.raises(
        minicall.ConfigurationError, match="AZURE_AI_ENDPOINT or AZURE_INFERENCE_ENDPOINT or AZURE_OPENAI_ENDPOINT"
    ):
        azure.AzureClient(api_key="k")
    with pytest.raises(minicall.ConfigurationError, match="deployment_style"):
        azure.AzureClient(api_key="k", base_url="https://x.example", deployment_style="bogus")  # type: ignore[arg-type]


def test_azure_content_filter_is_a_finish_reason(fake):
    @llm.call(provider="azure", model="gpt-4o", client=fake.client("azure"))
    def ask() -> str:
        return "hi"

    fake.script(Reply(text="", finish_reason="content_filter"))
    response = ask()
    assert response.finish_reasons == ["content_filter"]
    assert response.response["prompt_filter_results"][0]["prompt_index"] == 0
