"""Pointing the environment at a FakeServer for a block (``FakeServer.environ``).

For each provider: every environment variable its client reads is cleared, then its
base-URL variable names the server and its key variables hold the format's test
credentials. The official SDKs read most of the same variables (``OPENAI_BASE_URL``,
``ANTHROPIC_BASE_URL``, ``GROQ_BASE_URL``, ``CO_API_URL``, ...), so their clients made
inside the block point at the server too. The previous values come back on exit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Mapping
from contextlib import contextmanager
from typing import Any

from .._call.registry import PROVIDERS, provider_module

__all__ = ["pointed_at"]

# Client keyword -> the variable holding it, where it is not the API key.
_KWARG_ENV = {
    "region": "AWS_REGION",
    "access_key_id": "AWS_ACCESS_KEY_ID",
    "secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "session_token": "AWS_SESSION_TOKEN",
}


def _variables(provider: str, base_url: str, credentials: Mapping[str, Any]) -> dict[str, str | None]:
    module = provider_module(provider)
    cls = getattr(module, PROVIDERS[provider])
    values: dict[str, str | None] = dict.fromkeys(cls.environment_names())
    values[cls.base_url_env[0]] = base_url
    for name, value in credentials.items():
        env = cls.api_key_env[0] if name == "api_key" else _KWARG_ENV.get(name)
        if env is not None:
            values[env] = str(value)
    return values


@contextmanager
def pointed_at(
    base_url: Callable[[str], str],
    credentials: Callable[[str], Mapping[str, Any]],
    providers: tuple[str, ...],
) -> Generator[dict[str, str], None, None]:
    """Set the variables for ``providers``; yield what was set; restore on exit."""
    wanted: dict[str, str | None] = {}
    for provider in providers or tuple(PROVIDERS):
        wanted.update(_variables(provider, base_url(provider), credentials(provider)))
    saved = {name: os.environ.get(name) for name in wanted}
    try:
        _apply(wanted)
        yield {name: value for name, value in wanted.items() if value is not None}
    finally:
        _apply(saved)


def _apply(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
