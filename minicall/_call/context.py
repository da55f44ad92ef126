"""``llm.context``: settings that apply to every decorated call made inside a ``with`` block.

What ``llm.override`` does to one function, a context does to whatever is called within
it, however deep: a function wrapped by a retry decorator, or calling other decorated
functions. Mirascope's fallbacks work this way. The settings live in a ``ContextVar``, so
threads and asyncio tasks each see their own, and a call made under them does not see
them again (the redirected call runs with the context cleared).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .._model.errors import ConfigurationError
from .registry import check_provider

__all__ = ["ACTIVE", "context"]

ACTIVE: ContextVar[Mapping[str, Any] | None] = ContextVar("minicall_llm_context", default=None)
"""The settings of the innermost active context (``llm.override`` keyword arguments)."""


@contextmanager
def context(
    *,
    provider: str | None = None,
    model: str | None = None,
    call_params: Mapping[str, Any] | None = None,
    client: Any = None,
    neutral: Any = None,
) -> Generator[None, None, None]:
    """Within the block, decorated calls use these settings, as ``llm.override`` would.

    An inner context adds to the outer one. A provider needs a model too.
    """
    if provider is not None:
        check_provider(provider)
        if model is None:
            raise ConfigurationError("llm.context: a provider needs a model too (pass model=...)")
    given = {"provider": provider, "model": model, "call_params": call_params, "client": client, "neutral": neutral}
    changes = {**(ACTIVE.get() or {}), **{k: v for k, v in given.items() if v is not None}}
    token = ACTIVE.set(changes)
    try:
        yield
    finally:
        ACTIVE.reset(token)
