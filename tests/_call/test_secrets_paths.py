"""Secrets outside the scrubber: base-URL userinfo and queries, echoed response headers
in DEBUG logs, and module-level state, each with a test.

The final test makes calls with known secrets for every provider, sync and async,
then walks the globals of every minicall module (lru caches included, through the
objects they keep) and finds none of them.
"""

from __future__ import annotations

import functools
import gc
import importlib
import logging
import pkgutil
import sys
from typing import Any

import pytest
from shared import MODES, ask, run
from test_hardening_secrets import MODELS, make_client

import minicall
from minicall import ConfigurationError, MinicallError
from minicall._call.registry import PROVIDERS
from minicall.providers.openai import OpenAIClient
from minicall.testing import ErrorReply, Reply

PASSWORD = "SECRET-userinfo-pw-0123"
QUERY_KEY = "SECRET-query-key-0123"


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_base_url_userinfo_and_query_never_show_in_repr(fake, provider):
    url = fake.base_url(provider).replace("http://", f"http://user:{PASSWORD}@") + f"?key={QUERY_KEY}"
    client, _ = make_client(fake, provider, base_url=url)
    shown = repr(client) + str(client)
    assert PASSWORD not in shown and QUERY_KEY not in shown
    assert "127.0.0.1" in shown


@pytest.mark.parametrize(
    "url",
    [
        f"htps://user:{PASSWORD}@api.example.com/v1?key={QUERY_KEY}",
        f"user:{PASSWORD}@api.example.com/v1",
        f"api.example.com/v1?key={QUERY_KEY}",
        f"ftp://{PASSWORD}@api.example.com",
    ],
)
def test_a_mistyped_scheme_error_quotes_no_credential(url):
    with pytest.raises(ConfigurationError) as info:
        OpenAIClient(api_key="sk-test-0123456789", base_url=url)
    assert "http:// or https://" in str(info.value)
    assert PASSWORD not in str(info.value) and QUERY_KEY not in str(info.value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("provider", ["openai", "google", "anthropic"])
def test_a_query_in_base_url_goes_after_the_path(fake, provider, mode, stream):
    client, _ = make_client(fake, provider, base_url=fake.base_url(provider) + f"?key={QUERY_KEY}&tenant=a")
    fake.script(Reply(text="ok"))
    run(ask(client, mode, provider=provider, model=MODELS.get(provider, "m"), stream=stream), "hi")
    path, _, query = fake.last.raw_path.partition("?")
    assert "?" not in path and path.endswith(("/chat/completions", "/messages", "Content"))
    assert query.startswith(f"key={QUERY_KEY}&tenant=a")
    if provider == "google" and stream:
        assert query.endswith("&alt=sse")  # the codec's own query follows


@pytest.mark.parametrize("mode", MODES)
def test_an_api_error_names_the_url_without_userinfo_or_query_key(fake, mode):
    url = fake.base_url("openai").replace("http://", f"http://user:{PASSWORD}@") + f"?key={QUERY_KEY}"
    client, secrets = make_client(fake, "openai", base_url=url)
    fake.script(ErrorReply(400))
    with pytest.raises(MinicallError) as info:
        run(ask(client, mode), "hi")
    text = str(info.value) + repr(info.value)
    assert "/v1/chat/completions?key=[redacted]" in text and "[redacted]@127.0.0.1" in text
    for secret in (PASSWORD, QUERY_KEY, *secrets):
        assert secret not in text


@pytest.mark.parametrize("mode", MODES)
def test_debug_logs_mask_response_headers_that_echo_the_key(fake, mode, caplog):
    client, secrets = make_client(fake, "openai")
    (key,) = secrets
    fake.script(Reply(text="ok", headers={"x-echo-authorization": f"Bearer {key}", "x-request-id": "req_1"}))
    with caplog.at_level(logging.DEBUG, logger="minicall"):
        run(ask(client, mode), "hi")
    assert "req_1" in caplog.text  # harmless values are still logged
    assert key not in caplog.text
    assert "minicall minicall" not in caplog.text


def _minicall_modules() -> list[Any]:
    for info in pkgutil.walk_packages(minicall.__path__, "minicall."):
        if not info.name.startswith("minicall.testing"):
            importlib.import_module(info.name)
    # urllib.parse too: it caches the URLs it parses (a dict on 3.10, an lru_cache after).
    return [m for name, m in sys.modules.items() if name in ("minicall", "urllib.parse") or name.startswith("minicall.")]


def _strings_in(value: Any, seen: set[int], depth: int = 0) -> Any:
    """Every str reachable from ``value`` through containers, minicall objects and caches."""
    if id(value) in seen or depth > 12:
        return
    seen.add(id(value))
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("latin-1")
    elif isinstance(value, dict):
        for k, v in list(value.items()):
            yield from _strings_in(k, seen, depth + 1)
            yield from _strings_in(v, seen, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in list(value):
            yield from _strings_in(v, seen, depth + 1)
    elif isinstance(value, functools._lru_cache_wrapper):
        # The C lru cache keeps its dict among the objects it references.
        for ref in gc.get_referents(value):
            if isinstance(ref, dict):
                yield from _strings_in(ref, seen, depth + 1)
    elif type(value).__module__.startswith("minicall") and not isinstance(value, type):
        if isinstance(value, minicall._call.client.BaseClient):
            return  # a client holds its own key, as it must; module state may not
        slots = [getattr(value, s, None) for c in type(value).__mro__ for s in getattr(c, "__slots__", ())]
        yield from _strings_in([getattr(value, "__dict__", {}), slots], seen, depth + 1)


def test_no_module_level_state_holds_a_credential_after_calls_for_every_provider(fake):
    secrets: list[str] = []
    for provider in PROVIDERS:
        for mode in MODES:
            for stream in (False, True):
                client, found = make_client(fake, provider)
                secrets += found
                fake.script(Reply(text="ok"))
                run(ask(client, mode, provider=provider, model=MODELS.get(provider, "m"), stream=stream), "hi")
    # Base URLs with userinfo and a ?key= query (the standard library caches what it parses).
    for provider in ("openai", "google", "anthropic"):
        url = fake.base_url(provider).replace("http://", f"http://user:{PASSWORD}@") + f"?key={QUERY_KEY}"
        for mode in MODES:
            client, found = make_client(fake, provider, base_url=url)
            secrets += [*found, PASSWORD, QUERY_KEY]
            fake.script(Reply(text="ok"))
            run(ask(client, mode, provider=provider, model=MODELS.get(provider, "m")), "hi")
    assert secrets
    seen: set[int] = set()
    for module in _minicall_modules():
        for name, value in list(vars(module).items()):
            for text in _strings_in(value, seen):
                for secret in secrets:
                    assert secret not in text, f"{module.__name__}.{name} keeps a credential"


def test_no_module_level_state_holds_proxy_credentials_after_calls_through_a_proxy(monkeypatch):
    # A proxy URL in the environment may carry a user and password: the call goes
    # through the proxy with them, its failure names neither, and afterwards no module
    # keeps them (nor their base64 Proxy-Authorization form).
    import base64

    from loopback import ConnectProxy

    proxy_password = "SECRET-proxy-pw-0123"
    proxy = ConnectProxy()
    try:
        proxy_url = proxy.url.replace("http://", f"http://user:{proxy_password}@")
        for name in ("HTTP_PROXY", "http_proxy"):
            monkeypatch.setenv(name, proxy_url)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        client = OpenAIClient(base_url="http://api.example.invalid/v1", api_key="k", max_retries=0)
        for mode in MODES:
            with pytest.raises(MinicallError) as caught:
                run(ask(client, mode, provider="openai", model="gpt-4o-mini"), "hi")
            assert proxy_password not in str(caught.value) and proxy_password not in repr(caught.value)
        # The proxy answered "proxied <url>" to each plain request it was sent.
        assert [req.target for req in proxy.plain][:1] == ["http://api.example.invalid/v1/chat/completions"]
    finally:
        proxy.close()
    basic = base64.b64encode(f"user:{proxy_password}".encode()).decode()
    assert proxy.auth and all(a == f"Basic {basic}" for a in proxy.auth)
    seen: set[int] = set()
    for module in _minicall_modules():
        for name, value in list(vars(module).items()):
            for text in _strings_in(value, seen):
                assert proxy_password not in text and basic not in text, f"{module.__name__}.{name} keeps proxy credentials"
