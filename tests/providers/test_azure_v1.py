"""Azure OpenAI's v1 API end to end over FakeServer.

The v1 shape is ``POST {endpoint}/openai/v1/chat/completions``: the deployment is the
body's ``model``, there is no ``api-version``, and the key (or an Entra token) goes as
``Authorization: Bearer``, as the openai SDK's plain ``OpenAI`` client sends it when
pointed at ``base_url="{endpoint}/openai/v1/"`` (tests/_codecs/openai/test_compat_conformance.py holds
the side-by-side capture). Here: the configurations that select it, a call, a stream
and an error in that shape, and the older shapes left as they were.
"""

from __future__ import annotations

import asyncio

import pytest

import minicall
from minicall import llm
from minicall.providers import azure
from minicall.testing import ErrorReply, FakeServer, Reply
from minicall.testing._reply import RecordedRequest

V1_PATH = "/openai/v1/chat/completions"


def _auth(request: RecordedRequest) -> dict[str, str]:
    return {k: v for k, v in request.headers.items() if k in ("authorization", "api-key")}


def test_a_v1_base_url_call_stream_and_error_go_to_the_v1_path(fake: FakeServer) -> None:
    client = azure.AzureClient(
        api_key="test-key", base_url=fake.base_url("azure") + "/openai/v1/", max_retries=0
    )
    assert client.deployment_style == "v1"
    assert client.base_url == fake.base_url("azure")  # the endpoint, as for the other shapes

    @azure.call("my-gpt-4o", client=client)
    def ask(city: str) -> str:
        return f"Weather in {city}?"

    fake.script(Reply(text="Sunny.", input_tokens=4, output_tokens=2))
    response = ask("Oslo")
    assert isinstance(response, azure.AzureCallResponse)
    assert response.content == "Sunny."
    assert response.usage == minicall.Usage(4, 2, 0, 6)
    assert response.response["prompt_filter_results"][0]["prompt_index"] == 0
    sent = fake.last
    assert (sent.method, sent.path) == ("POST", V1_PATH)
    assert _auth(sent) == {"authorization": "Bearer test-key"}
    assert sent.json == {
        "model": "my-gpt-4o",
        "messages": [{"role": "user", "content": "Weather in Oslo?"}],
    }

    @azure.call("my-gpt-4o", client=client, stream=True)
    def tell() -> str:
        return "story"

    fake.script(Reply(text="Once upon a time there was a fox.", input_tokens=3, output_tokens=8))
    stream = tell()
    pieces = [chunk.content for chunk, _ in stream]
    assert len([p for p in pieces if p]) > 1
    assert stream.content == "Once upon a time there was a fox."
    assert stream.usage == minicall.Usage(3, 8, 0, 11)
    assert stream.finish_reasons == ["stop"]
    assert fake.last.path == V1_PATH
    assert fake.last.json["stream"] is True
    assert fake.last.json["stream_options"] == {"include_usage": True}
    assert fake.last.json["model"] == "my-gpt-4o"

    fake.script(ErrorReply(404, message="The API deployment for this resource does not exist."))
    with pytest.raises(minicall.NotFoundError) as info:
        ask("Oslo")
    error = info.value
    assert error.status_code == 404
    assert error.provider == "azure"
    assert error.message == "The API deployment for this resource does not exist."
    assert fake.last.path == V1_PATH
    assert "test-key" not in repr(error) and "test-key" not in str(error)


def test_v1_through_llm_call_and_async(fake: FakeServer) -> None:
    client = azure.AzureClient(
        api_key="test-key", base_url=fake.base_url("azure"), deployment_style="v1"
    )

    @llm.call(provider="azure", model="dep", client=client)
    async def ask() -> str:
        return "hi"

    @llm.call(provider="azure", model="dep", client=client, stream=True)
    async def tell() -> str:
        return "hi"

    async def both() -> tuple[str, str]:
        whole = await ask()
        stream = await tell()
        text = "".join([chunk.content async for chunk, _ in stream])
        return whole.content, text

    fake.script(Reply(text="hello there"), Reply(text="hello there"))
    assert asyncio.run(both()) == ("hello there", "hello there")
    assert [r.path for r in fake.requests] == [V1_PATH, V1_PATH]
    assert fake.requests[0].json["model"] == "dep"


def test_v1_from_the_environment_ignores_a_classic_api_version(
    monkeypatch: pytest.MonkeyPatch, fake: FakeServer
) -> None:
    # The openai SDK's AzureOpenAI reads these; OPENAI_API_VERSION is left over from a
    # classic setup and would be refused by the dateless v1 API, so it is not sent.
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake.base_url("azure") + "/openai/v1")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "aoai-key")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    client = azure.AzureClient()
    assert client.deployment_style == "v1"
    assert client.api_version is None

    @azure.call("dep", client=client)
    def ask() -> str:
        return "hi"

    ask()
    assert fake.last.path == V1_PATH
    assert _auth(fake.last) == {"authorization": "Bearer aoai-key"}

    # An Entra token from the environment wins over the key, as in the openai SDK.
    monkeypatch.setenv("AZURE_OPENAI_AD_TOKEN", "entra-token")
    azure.call("dep", client=azure.AzureClient())(lambda: "hi")()
    assert _auth(fake.last) == {"authorization": "Bearer entra-token"}

    monkeypatch.delenv("AZURE_OPENAI_AD_TOKEN")
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    with pytest.raises(
        minicall.ConfigurationError, match="AZURE_OPENAI_API_KEY or AZURE_OPENAI_AD_TOKEN"
    ):
        azure.AzureClient()


@pytest.mark.parametrize("style", ["v1", "openai", "inference"])
def test_a_key_passed_in_wins_over_an_entra_token_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, fake: FakeServer, style: str
) -> None:
    # openai's AzureOpenAI: explicit credentials select the principal; the environment
    # is read only when none is passed.
    monkeypatch.setenv("AZURE_OPENAI_AD_TOKEN", "entra-token")
    client = azure.AzureClient(
        api_key="passed-key", base_url=fake.base_url("azure"), deployment_style=style
    )
    azure.call("dep", client=client)(lambda: "hi")()
    sent = _auth(fake.last)
    assert "entra-token" not in str(sent) and "passed-key" in str(sent)


def test_an_explicit_api_version_is_still_sent_in_the_v1_shape(fake: FakeServer) -> None:
    # Azure's v1 preview surface was addressed with api-version=preview.
    client = azure.AzureClient(
        api_key="k", base_url=fake.base_url("azure") + "/openai/v1", api_version="preview"
    )
    azure.call("dep", client=client)(lambda: "hi")()
    assert fake.last.path == V1_PATH + "?api-version=preview"


@pytest.mark.parametrize(
    ("kwargs", "style", "base_url"),
    [
        (
            {"base_url": "https://res.openai.azure.com/openai/v1/"},
            "v1",
            "https://res.openai.azure.com",
        ),
        (
            {"base_url": "https://res.openai.azure.com/openai/v1"},
            "v1",
            "https://res.openai.azure.com",
        ),
        (
            {"base_url": "https://res.services.ai.azure.com/openai/v1/"},
            "v1",
            "https://res.services.ai.azure.com",
        ),
        (
            {"base_url": "https://res.openai.azure.com", "deployment_style": "v1"},
            "v1",
            "https://res.openai.azure.com",
        ),
        # The shapes that were there before keep their meaning.
        ({"base_url": "https://res.openai.azure.com"}, "openai", "https://res.openai.azure.com"),
        ({"base_url": "https://res.openai.azure.com/"}, "openai", "https://res.openai.azure.com"),
        (
            {"base_url": "https://res.services.ai.azure.com/models"},
            "inference",
            "https://res.services.ai.azure.com/models",
        ),
        (
            {"base_url": "https://res.openai.azure.com", "deployment_style": "inference"},
            "inference",
            "https://res.openai.azure.com",
        ),
    ],
)
def test_the_url_shape_follows_the_base_url_or_the_explicit_style(
    kwargs: dict[str, str], style: str, base_url: str
) -> None:
    client = azure.AzureClient(api_key="k", **kwargs)  # type: ignore[arg-type]
    assert (client.deployment_style, client.base_url) == (style, base_url)


def test_classic_environment_keeps_the_deployment_shape(
    monkeypatch: pytest.MonkeyPatch, fake: FakeServer
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake.base_url("azure"))
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "aoai-key")
    client = azure.AzureClient()
    assert (client.deployment_style, client.api_version) == ("openai", "2024-10-21")
    azure.call("dep", client=client)(lambda: "hi")()
    assert fake.last.path == "/openai/deployments/dep/chat/completions?api-version=2024-10-21"
    assert _auth(fake.last) == {"api-key": "aoai-key"}
