"""Official SDK client objects as ``client=``: built for real (conformance extra) with a
base URL at FakeServer, a key and default headers; minicall's request must carry them,
sync and async, from the decorator and from dynamic config."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

import minicall
from minicall import llm
from minicall._call.sdk_readers import from_sdk
from minicall.testing import FakeServer

pytestmark = [pytest.mark.conformance, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def _sdk(name: str) -> Any:
    return pytest.importorskip(name)


@dataclass(frozen=True)
class Case:
    id: str
    provider: str
    model: str
    make: Callable[[FakeServer, bool], Any]  # (fake, async?) -> SDK client
    headers: dict[str, str]  # what minicall's request must carry (lower-case names)
    path: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # attributes of the converted client


def _openai(fake: FakeServer, aio: bool, provider: str = "openai") -> Any:
    openai = _sdk("openai")
    cls = openai.AsyncOpenAI if aio else openai.OpenAI
    return cls(
        api_key="sk-sdk",
        base_url=fake.base_url(provider),
        organization="org-sdk",
        project="proj-sdk",
        default_headers={"X-Custom": "from-sdk"},
        timeout=7.0,
        max_retries=1,
    )


def _azure_openai(fake: FakeServer, aio: bool) -> Any:
    openai = _sdk("openai")
    cls = openai.AsyncAzureOpenAI if aio else openai.AzureOpenAI
    return cls(
        api_key="az-sdk",
        azure_endpoint=fake.base_url("azure"),
        api_version="2024-10-21",
        default_headers={"X-Custom": "from-sdk"},
        max_retries=3,
    )


def _anthropic(fake: FakeServer, aio: bool) -> Any:
    anthropic = _sdk("anthropic")
    cls = anthropic.AsyncAnthropic if aio else anthropic.Anthropic
    return cls(
        api_key="ak-sdk",
        base_url=fake.base_url("anthropic"),
        default_headers={"X-Custom": "from-sdk", "anthropic-beta": "b1"},
        timeout=9.0,
        max_retries=0,
    )


def _anthropic_token(fake: FakeServer, aio: bool) -> Any:
    anthropic = _sdk("anthropic")
    cls = anthropic.AsyncAnthropic if aio else anthropic.Anthropic
    return cls(auth_token="tok-sdk", base_url=fake.base_url("anthropic"))


def _groq(fake: FakeServer, aio: bool) -> Any:
    groq = _sdk("groq")
    cls = groq.AsyncGroq if aio else groq.Groq
    return cls(api_key="gsk-sdk", base_url=fake.base_url("groq"), default_headers={"X-Custom": "from-sdk"})


def _cohere(fake: FakeServer, aio: bool) -> Any:
    cohere = _sdk("cohere")
    cls = cohere.AsyncClientV2 if aio else cohere.ClientV2
    return cls(
        "co-sdk",
        base_url=fake.base_url("cohere"),
        client_name="my-app",
        timeout=11.0,
        max_retries=4,
        log_warning_experimental_features=False,
    )


def _cohere_v1(fake: FakeServer, aio: bool) -> Any:
    cohere = _sdk("cohere")
    cls = cohere.AsyncClient if aio else cohere.Client
    return cls("co-v1", base_url=fake.base_url("cohere"), log_warning_experimental_features=False)


def _mistral(fake: FakeServer, aio: bool) -> Any:
    mistralai = _sdk("mistralai.client")
    return mistralai.Mistral(api_key="mk-sdk", server_url=fake.base_url("mistral"), timeout_ms=13000)


def _genai(fake: FakeServer, aio: bool) -> Any:
    genai = _sdk("google.genai")
    client = genai.Client(
        api_key="gk-sdk",
        http_options={"base_url": fake.base_url("google"), "headers": {"X-Custom": "from-sdk"}, "timeout": 15000},
    )
    return client.aio if aio else client


def _bedrock(fake: FakeServer, aio: bool, token: str | None = None) -> Any:
    session = _sdk("botocore.session").get_session()
    config = _sdk("botocore.config").Config(read_timeout=17, retries={"total_max_attempts": 2})
    return session.create_client(
        "bedrock-runtime",
        region_name="eu-west-3",
        endpoint_url=fake.base_url("bedrock"),
        aws_access_key_id="AKIDSDK",
        aws_secret_access_key="sdk-secret",
        aws_session_token=token,
        config=config,
    )


def _azure_inference(fake: FakeServer, aio: bool) -> Any:
    _sdk("azure.ai.inference")
    module = importlib.import_module("azure.ai.inference.aio" if aio else "azure.ai.inference")
    credential = importlib.import_module("azure.core.credentials").AzureKeyCredential("az-inf")
    # Without aiohttp installed the aio client needs a transport named (never used here).
    transport = importlib.import_module("azure.core.pipeline.transport")
    extra = {"transport": transport.AsyncioRequestsTransport()} if aio else {}
    return module.ChatCompletionsClient(
        **extra,
        endpoint=fake.base_url("azure"),
        credential=credential,
        headers={"X-Custom": "from-sdk"},
        api_version="2024-05-01-preview",
    )


CASES = [
    Case(
        "openai",
        "openai",
        "gpt-4o-mini",
        _openai,
        {
            "authorization": "Bearer sk-sdk",
            "x-custom": "from-sdk",
            "openai-organization": "org-sdk",
            "openai-project": "proj-sdk",
        },
        path="/v1/chat/completions",
        settings={"timeout": 7.0, "max_retries": 1},
    ),
    Case(
        "xai-through-openai",
        "xai",
        "grok-3-mini",
        lambda fake, aio: _openai(fake, aio, "xai"),
        {"authorization": "Bearer sk-sdk", "x-custom": "from-sdk", "openai-organization": "org-sdk"},
        path="/v1/chat/completions",
    ),
    Case(
        "litellm-through-openai",
        "litellm",
        "gpt-4o-mini",
        lambda fake, aio: _openai(fake, aio, "litellm"),
        {"authorization": "Bearer sk-sdk", "x-custom": "from-sdk"},
    ),
    Case(
        "azure-openai",
        "azure",
        "my-deployment",
        _azure_openai,
        {"api-key": "az-sdk", "x-custom": "from-sdk"},
        path="/openai/deployments/my-deployment/chat/completions",
        query={"api-version": "2024-10-21"},
        settings={"max_retries": 3},
    ),
    Case(
        "azure-openai-behind-openai-call",
        "openai",
        "my-deployment",
        _azure_openai,
        {"api-key": "az-sdk"},
        path="/openai/deployments/my-deployment/chat/completions",
        query={"api-version": "2024-10-21"},
    ),
    Case(
        "anthropic",
        "anthropic",
        "claude-3-5-haiku-latest",
        _anthropic,
        {"x-api-key": "ak-sdk", "x-custom": "from-sdk", "anthropic-beta": "b1"},
        path="/v1/messages",
        settings={"timeout": 9.0, "max_retries": 0},
    ),
    Case(
        "anthropic-auth-token",
        "anthropic",
        "claude-3-5-haiku-latest",
        _anthropic_token,
        {"authorization": "Bearer tok-sdk"},
    ),
    Case(
        "groq",
        "groq",
        "llama-3.1-8b-instant",
        _groq,
        {"authorization": "Bearer gsk-sdk", "x-custom": "from-sdk"},
        path="/openai/v1/chat/completions",
    ),
    Case(
        "cohere-v2",
        "cohere",
        "command-r",
        _cohere,
        {"authorization": "Bearer co-sdk", "x-client-name": "my-app"},
        path="/v2/chat",
        settings={"timeout": 11.0, "max_retries": 4},
    ),
    Case("cohere-v1", "cohere", "command-r", _cohere_v1, {"authorization": "Bearer co-v1"}),
    Case(
        "mistral",
        "mistral",
        "mistral-small-latest",
        _mistral,
        {"authorization": "Bearer mk-sdk"},
        path="/v1/chat/completions",
        settings={"timeout": 13.0},
    ),
    Case(
        "genai",
        "google",
        "gemini-2.0-flash",
        _genai,
        {"x-goog-api-key": "gk-sdk", "x-custom": "from-sdk"},
        settings={"timeout": 15.0},
    ),
    Case(
        "bedrock-botocore",
        "bedrock",
        "anthropic.claude-3-haiku-20240307-v1:0",
        _bedrock,
        {},
        settings={"region": "eu-west-3", "timeout": 17.0, "max_retries": 1},
    ),
    Case(
        "azure-inference",
        "azure",
        "mistral-large",
        _azure_inference,
        {"api-key": "az-inf", "authorization": "Bearer az-inf", "x-custom": "from-sdk"},
        path="/chat/completions",
        query={"api-version": "2024-05-01-preview"},
    ),
]


def _module(provider: str) -> Any:
    return importlib.import_module(f"minicall.providers.{provider}")


def _check(fake: FakeServer, case: Case) -> None:
    request = fake.last
    assert request.provider == case.provider or case.id == "azure-openai-behind-openai-call"
    for name, value in case.headers.items():
        assert request.headers.get(name) == value, name
    if case.path is not None:
        assert request.path.partition("?")[0] == case.path
    for name, value in case.query.items():
        assert request.query.get(name) == value
    if case.provider == "bedrock":
        assert request.headers["authorization"].startswith(
            "AWS4-HMAC-SHA256 Credential=AKIDSDK/"
        )
        assert "/eu-west-3/bedrock/aws4_request" in request.headers["authorization"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_decorator_takes_the_sync_sdk_client(case: Case):
    with FakeServer() as fake:
        sdk = case.make(fake, False)

        @_module(case.provider).call(case.model, client=sdk)
        def ask(q: str) -> str:
            return q

        assert ask("hi").content == "echo: hi"
        _check(fake, case)
        converted = from_sdk(sdk, case.provider)
        for name, value in case.settings.items():
            assert getattr(converted, name) == value, name
        assert from_sdk(sdk, case.provider) is converted  # nothing changed: reused


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_dynamic_config_takes_the_async_sdk_client(case: Case):
    with FakeServer() as fake:
        sdk = case.make(fake, True)

        @llm.call(case.provider, case.model)  # type: ignore[call-overload]
        @minicall.prompt_template("{q}")
        async def ask(q: str) -> Any:
            return {"client": sdk}

        assert asyncio.run(ask("hi")).content == "echo: hi"
        _check(fake, case)


@pytest.mark.parametrize("case", [c for c in CASES if c.id in ("openai", "anthropic", "genai")], ids=lambda c: c.id)
def test_sdk_clients_stream_too(case: Case):
    with FakeServer() as fake:
        sdk = case.make(fake, False)

        @llm.call(case.provider, case.model, stream=True, client=sdk)  # type: ignore[call-overload]
        def ask(q: str) -> str:
            return q

        assert "".join(chunk.content for chunk, _ in ask("hi")) == "echo: hi"
        _check(fake, case)


def test_a_rotated_key_on_the_sdk_object_is_followed(fake):
    openai = _sdk("openai")
    sdk = openai.OpenAI(api_key="sk-one", base_url=fake.base_url("openai"))

    @llm.call("openai", "gpt-4o-mini", client=sdk)
    def ask(q: str) -> str:
        return q

    ask("a")
    sdk.api_key = "sk-two"
    ask("b")
    assert [r.headers["authorization"] for r in fake.requests] == ["Bearer sk-one", "Bearer sk-two"]


def test_an_api_key_function_is_asked_per_call(fake):
    openai = _sdk("openai")
    keys = iter(["sk-1", "sk-2"])
    sdk = openai.OpenAI(api_key=lambda: next(keys), base_url=fake.base_url("openai"))

    @llm.call("openai", "gpt-4o-mini", client=sdk)
    def ask(q: str) -> str:
        return q

    ask("a")
    ask("b")
    assert [r.headers["authorization"] for r in fake.requests] == ["Bearer sk-1", "Bearer sk-2"]


def test_the_bedrock_session_token_is_sent(fake):
    sdk = _bedrock(fake, False, token="sess-tok")

    @llm.call("bedrock", "anthropic.claude-3-haiku-20240307-v1:0", client=sdk)
    def ask(q: str) -> str:
        return q

    ask("hi")
    assert fake.last.headers["x-amz-security-token"] == "sess-tok"


class _AioStaticCredentials:
    """aiobotocore's AioCredentials: plain attributes, a coroutine get_frozen_credentials."""

    def __init__(self) -> None:
        self.access_key, self.secret_key, self.token = "AKIDAIO", "aio-secret", "aio-tok"

    async def get_frozen_credentials(self) -> Any:
        raise AssertionError("never awaited")


class _AioRefreshableCredentials(_AioStaticCredentials):
    """aiobotocore's AioRefreshableCredentials: reading a value without awaiting raises."""

    @property
    def access_key(self) -> str:
        raise NotImplementedError("missing call to self._refresh")

    @access_key.setter
    def access_key(self, value: str) -> None:
        pass


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_aiobotocore_clients_static_credentials_are_read_and_refreshable_ones_refused(fake):
    # Mirascope's async Bedrock examples pass an aiobotocore client; its credentials freeze
    # through a coroutine (its client is a botocore BaseClient otherwise).
    sdk = _bedrock(fake, False)
    sdk._request_signer._credentials = _AioStaticCredentials()

    @llm.call("bedrock", "anthropic.claude-3-haiku-20240307-v1:0", client=sdk)
    async def ask(q: str) -> str:
        return q

    assert asyncio.run(ask("hi")).content == "echo: hi"
    assert fake.last.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDAIO/")
    assert fake.last.headers["x-amz-security-token"] == "aio-tok"
    sdk._request_signer._credentials = _AioRefreshableCredentials()
    with pytest.raises(minicall.ConfigurationError, match=r"refresh asynchronously \(aiobotocore\).*botocore or boto3"):
        asyncio.run(ask("hi"))

    class DeferredToken:  # aiobotocore's AioDeferredRefreshableToken: a value only when awaited
        async def get_frozen_token(self) -> Any:
            raise AssertionError("never awaited")

    sdk._request_signer._credentials = None
    sdk._request_signer._auth_token = DeferredToken()
    with pytest.raises(minicall.ConfigurationError, match=r"refresh asynchronously \(aiobotocore\)"):
        asyncio.run(ask("hi"))
    assert len(fake.requests) == 1


def test_a_real_aiobotocore_client_is_taken(fake):
    session = _sdk("aiobotocore.session").get_session()

    async def make() -> Any:
        async with session.create_client(
            "bedrock-runtime", region_name="eu-west-3", endpoint_url=fake.base_url("bedrock"),
            aws_access_key_id="AKIDAIO", aws_secret_access_key="s",
        ) as client:
            return client

    @llm.call("bedrock", "anthropic.claude-3-haiku-20240307-v1:0")
    async def ask(q: str) -> Any:
        return {"messages": [minicall.Messages.User(q)], "client": await make()}

    assert asyncio.run(ask("hi")).content == "echo: hi"
    assert "Credential=AKIDAIO/" in fake.last.headers["authorization"]


def test_an_entra_token_credential_is_asked_for_a_token(fake):
    inference = _sdk("azure.ai.inference")
    core = importlib.import_module("azure.core.credentials")
    asked: list[tuple[str, ...]] = []

    class Credential:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            asked.append(scopes)
            return core.AccessToken("entra-token", 2**31)

    sdk = inference.ChatCompletionsClient(endpoint=fake.base_url("azure"), credential=Credential())

    @llm.call("azure", "mistral-large", client=sdk)
    def ask(q: str) -> str:
        return q

    ask("a")
    ask("b")
    assert fake.last.headers["authorization"] == "Bearer entra-token"
    assert asked == [("https://ml.azure.com/.default",)] * 2
    assert from_sdk(sdk, "azure") is from_sdk(sdk, "azure")


# -- what is refused, and how ------------------------------------------------------------


def test_an_sdk_client_for_another_provider_is_refused_at_decoration(fake):
    anthropic = _sdk("anthropic")
    sdk = anthropic.Anthropic(api_key="ak", base_url=fake.base_url("anthropic"))
    with pytest.raises(minicall.ConfigurationError, match="Anthropic cannot serve provider 'openai'"):
        llm.call("openai", "gpt-4o-mini", client=sdk)


def test_an_unknown_object_names_what_is_accepted(fake):
    with pytest.raises(minicall.ConfigurationError, match="official SDK client.*got dict"):
        llm.call("openai", "gpt-4o-mini", client={"api_key": "x"})  # type: ignore[arg-type]

    @llm.call("openai", "gpt-4o-mini")
    @minicall.prompt_template("hi")
    def ask() -> Any:
        return {"client": object()}

    with pytest.raises(minicall.ConfigurationError, match="got object"):
        ask()
    assert fake.requests == []


def _s3(fake: FakeServer) -> Any:
    session = _sdk("botocore.session").get_session()
    return session.create_client(
        "s3", region_name="us-east-1", aws_access_key_id="AKID", aws_secret_access_key="sk-secret-123"
    )


def _with_query(fake: FakeServer) -> Any:
    return _sdk("openai").OpenAI(
        api_key="sk-secret-123", base_url=fake.base_url("openai"), default_query={"x": "1"}
    )


def _with_deployment(fake: FakeServer) -> Any:
    return _sdk("openai").AzureOpenAI(
        api_key="sk-secret-123",
        azure_endpoint=fake.base_url("azure"),
        azure_deployment="dep",
        api_version="2024-10-21",
    )


def _renamed_private(fake: FakeServer) -> Any:
    sdk = _sdk("openai").OpenAI(api_key="sk-secret-123", base_url=fake.base_url("openai"))
    del sdk._custom_headers  # what a future SDK renaming it would look like
    return sdk


def _placeholder_endpoint(fake: FakeServer) -> Any:
    # Mirascope's Azure example passes endpoint="your-endpoint"; the SDK takes it as is.
    inference = _sdk("azure.ai.inference")
    credential = importlib.import_module("azure.core.credentials").AzureKeyCredential("sk-secret-123")
    return inference.ChatCompletionsClient(endpoint="your-endpoint", credential=credential)


REFUSED = [
    ("bedrock", _s3, "'s3' client"),
    ("azure", _placeholder_endpoint, r"base URL \(endpoint\) is not an http:// or https:// URL"),
    ("openai", _with_query, "default_query"),
    ("azure", _with_deployment, "deployment name as the model"),
    ("openai", _renamed_private, "'_custom_headers'"),
]


@pytest.mark.parametrize(("provider", "make", "message"), REFUSED, ids=[m.__name__ for _, m, _ in REFUSED])
def test_what_cannot_be_carried_over_is_named_before_any_io(fake, provider, make, message):
    @llm.call(provider, "some-model", client=make(fake))  # type: ignore[call-overload]
    def ask() -> str:
        return "hi"

    with pytest.raises(minicall.ConfigurationError, match=message) as info:
        ask()
    assert "sk-secret-123" not in str(info.value)
    assert fake.requests == []


def test_anthropic_bedrock_is_refused_clearly():
    anthropic = _sdk("anthropic")
    sdk = anthropic.AnthropicBedrock(aws_region="us-east-1", aws_access_key="a", aws_secret_key="b")
    with pytest.raises(minicall.ConfigurationError, match="not supported"):
        llm.call("anthropic", "claude", client=sdk)


def test_no_secret_in_the_converted_clients_repr(fake):
    sdk = _sdk("openai").OpenAI(api_key="sk-secret-123", base_url=fake.base_url("openai"))
    assert "sk-secret-123" not in repr(from_sdk(sdk, "openai"))


def test_the_conversion_does_not_outlive_the_sdk_object(fake):
    import gc
    import weakref

    openai = _sdk("openai")
    sdk = openai.OpenAI(api_key="sk-short-lived", base_url=fake.base_url("openai"))
    converted = weakref.ref(from_sdk(sdk, "openai"))
    assert converted() is from_sdk(sdk, "openai")  # kept while the SDK object lives
    del sdk
    gc.collect()
    assert converted() is None


def test_override_and_context_take_sdk_clients_too(fake):
    openai = _sdk("openai")
    anthropic = _sdk("anthropic")

    @llm.call("openai", "gpt-4o-mini")
    def ask(q: str) -> str:
        return q

    sdk = anthropic.Anthropic(api_key="ak-over", base_url=fake.base_url("anthropic"))
    llm.override(ask, provider="anthropic", model="claude-3-5-haiku-latest", client=sdk)("a")
    assert fake.last.headers["x-api-key"] == "ak-over"
    with llm.context(client=openai.OpenAI(api_key="sk-ctx", base_url=fake.base_url("openai"))):
        ask("b")
    assert fake.last.headers["authorization"] == "Bearer sk-ctx"


def test_genai_vertex_express_mode_goes_to_vertex_with_the_key(fake):
    genai = _sdk("google.genai")
    sdk = genai.Client(vertexai=True, api_key="vx-key", http_options={"base_url": fake.base_url("google")})

    @llm.call("vertex", "gemini-2.0-flash", client=sdk)
    def ask(q: str) -> str:
        return q

    assert ask("hi").content == "echo: hi"
    assert fake.last.headers["x-goog-api-key"] == "vx-key"
    assert "/publishers/google/models/gemini-2.0-flash:generateContent" in fake.last.path
    assert from_sdk(sdk, "google").vertex
