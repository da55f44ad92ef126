"""Clients built from the environment follow it, and FakeServer.environ points it at the
server for a block."""

from __future__ import annotations

import asyncio
import os

import pytest

import minicall
from minicall import llm
from minicall._call import pipeline
from minicall._call.client import env_digest, keyed_digest
from minicall._call.registry import PROVIDERS
from minicall.testing import FakeServer, Reply

MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-3-5-haiku-latest",
    "google": "gemini-2.0-flash",
    "groq": "llama-3.1-8b-instant",
    "xai": "grok-3-mini",
    "mistral": "mistral-small-latest",
    "cohere": "command-r",
    "litellm": "gpt-4o-mini",
    "azure": "gpt-4o-mini",
    "bedrock": "anthropic.claude-3-haiku-20240307-v1:0",
}


def _ask(provider: str):
    @llm.call(provider, MODELS[provider])  # type: ignore[call-overload]
    def ask(q: str) -> str:
        return q

    return ask


def test_a_changed_base_url_or_key_is_followed_on_the_next_call(monkeypatch):
    ask = _ask("openai")
    with FakeServer() as first, FakeServer() as second:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-one")
        monkeypatch.setenv("OPENAI_BASE_URL", first.base_url("openai"))
        assert ask("a").content == "echo: a"
        client = pipeline.default_client("openai")
        assert ask("b").content == "echo: b"
        assert pipeline.default_client("openai") is client  # unchanged: reused
        monkeypatch.setenv("OPENAI_BASE_URL", second.base_url("openai"))
        monkeypatch.setenv("OPENAI_API_KEY", "sk-two")  # key rotation
        assert ask("c").content == "echo: c"
        assert [r.json["messages"][0]["content"] for r in first.requests] == ["a", "b"]
        assert second.last.headers["authorization"] == "Bearer sk-two"
        assert pipeline.default_client("openai") is not client


def test_unsetting_the_key_is_noticed_before_any_io(monkeypatch, fake):
    ask = _ask("openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-one")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url("openai"))
    ask("a")
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(minicall.ConfigurationError, match="OPENAI_API_KEY"):
        ask("b")
    assert len(fake.requests) == 1


def test_a_variable_read_besides_key_and_url_counts_too(monkeypatch, fake):
    ask = _ask("openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-one")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url("openai"))
    ask("a")
    assert "openai-organization" not in fake.last.headers
    monkeypatch.setenv("OPENAI_ORG_ID", "org-9")
    ask("b")
    assert fake.last.headers["openai-organization"] == "org-9"


def test_module_state_holds_digests_not_the_secret(monkeypatch, fake):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-value")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url("openai"))
    _ask("openai")("a")
    digest, _ = pipeline._DEFAULT_CLIENTS["openai"]
    assert isinstance(digest, bytes) and len(digest) == 16
    assert b"sk-very" not in digest
    # Keyed: not the plain hash of the values, and equal only for equal inputs.
    import hashlib

    assert digest != hashlib.blake2b(b"sk-very-secret-value", digest_size=16).digest()
    names = pipeline._client_factory("openai")[1]
    assert env_digest(names) == digest
    assert keyed_digest("a", "bc") != keyed_digest("ab", "c")


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_environ_points_every_provider_at_the_server_and_restores(monkeypatch, provider):
    monkeypatch.setenv("AWS_PROFILE", "someone-elses")
    before = dict(os.environ)
    with FakeServer() as fake:
        with fake.environ() as env:
            assert "AWS_PROFILE" not in os.environ  # cleared: only the server's settings
            assert fake.url in " ".join(env.values())
            assert _ask(provider)("hi").content == "echo: hi"
            assert fake.last.provider == provider
        assert dict(os.environ) == before


def test_environ_for_some_providers_leaves_the_others(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://example.invalid")
    with FakeServer() as fake, fake.environ("openai") as env:
        assert set(env) == {"OPENAI_API_KEY", "OPENAI_BASE_URL"}
        assert os.environ["ANTHROPIC_BASE_URL"] == "https://example.invalid"


def test_environ_rejects_an_unknown_provider():
    with FakeServer() as fake, pytest.raises(ValueError, match="nope"):
        fake.environ("nope")


def test_environ_is_restored_when_the_block_raises():
    with FakeServer() as fake:
        with pytest.raises(RuntimeError), fake.environ("openai"):
            raise RuntimeError("boom")
    assert "OPENAI_BASE_URL" not in os.environ


def test_environ_serves_async_calls_and_scripts():
    @llm.call("anthropic", MODELS["anthropic"])
    async def ask(q: str) -> str:
        return q

    with FakeServer() as fake, fake.environ():
        fake.script(Reply(text="scripted"), provider="anthropic")
        assert asyncio.run(ask("x")).content == "scripted"
        assert fake.last.headers["x-api-key"] == "test-key"
