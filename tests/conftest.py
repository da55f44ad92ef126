"""Shared test set-up: one hypothesis profile, no test sees real credentials, and the
fixtures every folder uses (a FakeServer, recorded sleeps, a certificate, CONNECT proxies)."""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from loopback import ConnectProxy, Handler, Server, make_certificate, server_context

from minicall.testing import FakeServer

settings.register_profile(
    "minicall",
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("minicall")

_CREDENTIAL_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GROQ_API_KEY",
    "GROQ_BASE_URL",
    "XAI_BASE_URL",
    "MISTRAL_BASE_URL",
    "LITELLM_PROXY_API_KEY",
    "LITELLM_API_KEY",
    "LITELLM_PROXY_API_BASE",
    "AZURE_AI_ENDPOINT",
    "AZURE_AI_API_VERSION",
    "AZURE_INFERENCE_CREDENTIAL",
    "AZURE_INFERENCE_ENDPOINT",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_AD_TOKEN",
    "OPENAI_API_VERSION",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_VERTEX_BASE_URL",
    "GOOGLE_GENAI_API_VERSION",
    "GCE_METADATA_HOST",
    "GCE_METADATA_ROOT",
    "GCE_METADATA_IP",
    "GCE_METADATA_TIMEOUT",
    "GCE_METADATA_DETECT_RETRIES",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "MINICALL_PRICES",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "XAI_API_KEY",
    "MISTRAL_API_KEY",
    "CO_API_KEY",
    "COHERE_API_KEY",
    "CO_API_URL",
    "AZURE_AI_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "https_proxy",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up the developer's keys or proxies from the environment."""
    for name in _CREDENTIAL_ENV:
        monkeypatch.delenv(name, raising=False)
    # Credential files in the home directory must not be found either.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/minicall-tests/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/minicall-tests/config")
    monkeypatch.setenv("CLOUDSDK_CONFIG", "/nonexistent/minicall-tests/gcloud")
    # Nor the metadata server of a Google Cloud machine (tests that want one point the
    # GCE_METADATA_* variables at a loopback stand-in and clear this).
    monkeypatch.setenv("NO_GCE_CHECK", "true")


@pytest.fixture()
def fake():
    """A FakeServer on loopback for one test (it fails the test if a wire format crashed)."""
    with FakeServer() as server:
        yield server


@pytest.fixture()
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry delays the sync pipeline asked for, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)
    return recorded


@pytest.fixture()
def async_sleeps(monkeypatch):
    """Retries wait through ``asyncio.sleep``; record the delays and only yield once."""
    recorded: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(delay: float, result: Any = None) -> Any:
        recorded.append(delay)
        await real_sleep(0)
        return result

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    return recorded


@pytest.fixture(scope="session")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """One self-signed certificate for 127.0.0.1 for the whole run: ``(cert_file, key_file)``."""
    made = make_certificate(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("openssl CLI not available")
    return made


@pytest.fixture()
def tls_context(cert: tuple[str, str]) -> ssl.SSLContext:
    """A server-side TLS context presenting ``cert``."""
    return server_context(cert)


@pytest.fixture()
def connect_proxy() -> Iterator[Callable[..., ConnectProxy]]:
    """Makes loopback CONNECT proxies (``connect_proxy(require_auth=...)``), closed after the test."""
    made: list[ConnectProxy] = []

    def make(require_auth: str | None = None) -> ConnectProxy:
        made.append(ConnectProxy(require_auth))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


@pytest.fixture()
def proxy(connect_proxy: Callable[..., ConnectProxy]) -> ConnectProxy:
    """A loopback CONNECT proxy for one test."""
    return connect_proxy()


@pytest.fixture()
def serve() -> Iterator[Callable[..., Server]]:
    """Makes raw loopback servers (``serve(handler, tls=None)``, see ``loopback.Server``),
    closed after the test."""
    made: list[Server] = []

    def make(handler: Handler, tls: ssl.SSLContext | None = None) -> Server:
        made.append(Server(handler, tls))
        return made[-1]

    yield make
    for server in made:
        server.close()
