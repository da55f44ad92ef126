"""The server side of each provider's wire format, one module per provider.

How the FakeServer uses a format
--------------------------------
Every request path starts with ``/<provider>``; the server strips that prefix, finds
the format named ``<provider>`` and asks it, in order:

1. ``matches(request)``: is this the provider's endpoint? If not, the server answers
   ``render_error(ErrorReply(404, ...), request)``.
2. ``is_stream(request)``: did the client ask for a stream (OpenAI: ``"stream": true``
   in the body; Gemini: ``:streamGenerateContent`` in the path; ...)?
3. With nothing scripted, ``last_user_text(request)`` for the default echo reply
   ``Reply(text="echo: " + last_user_text)``. It must never raise: return ``""`` for a
   body it cannot read.
4. ``render(reply, request)`` -> :class:`Rendered` (one whole body), or
   ``render_stream(reply, request)`` -> :class:`RenderedStream` whose ``events`` are
   complete, framed events (SSE frames, AWS event-stream messages, ...). The server
   sends each as one chunk of a chunked body and flushes it, so it owns the timing
   (``chunk_delay``, ``gate``, ``drop_after_events``, ``stream_error_after``); a
   format only produces bytes. Events must not be empty.
5. ``render_error(error, request)`` for an :class:`ErrorReply`, and
   ``render_stream_error(message, request)`` for the one framed event that reports an
   error in the middle of a stream.

Formats are pure: no sockets, no clocks beyond ``created`` timestamps, no shared
state. ``request.index`` (1, 2, ...) is there to make ids such as ``req_<n>`` unique.

Adding a provider
-----------------
Create ``minicall/testing/_formats/<provider>.py`` defining ``FORMAT``, an object
satisfying :class:`WireFormat`. Nothing else needs registering: :func:`get_format`
imports the module on first use. ``base_suffix`` is what the provider's official SDK
expects after the host in its base URL (``"/v1"`` for OpenAI and xAI, ``""`` for
providers whose SDK adds the whole path itself). ``client_kwargs`` are the credentials
``FakeServer.client()`` passes to the client (``{"api_key": "test-key"}``, or Bedrock's
access keys and region). OpenAI-compatible providers reuse
:class:`minicall.testing._formats.openai.OpenAIFormat` with their own ``OpenAIDialect``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import threading
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol, cast

from ..._model.wire import is_list
from .._reply import ErrorReply, RecordedRequest, Reply, split_fragments

__all__ = [
    "Rendered",
    "RenderedStream",
    "WireFormat",
    "available_formats",
    "get_format",
    "json_array",
    "json_bytes",
    "json_object",
    "split_fragments",
    "sse_event",
]


class Rendered(NamedTuple):
    """A whole response: status, headers (lower-case names), body."""

    status: int
    headers: dict[str, str]
    body: bytes


class RenderedStream(NamedTuple):
    """A streamed response: status, headers, and the framed events in order."""

    status: int
    headers: dict[str, str]
    events: list[bytes]


class WireFormat(Protocol):
    """What the FakeServer needs from one provider's wire format (see module doc)."""

    @property
    def name(self) -> str: ...

    @property
    def base_suffix(self) -> str: ...

    @property
    def client_kwargs(self) -> Mapping[str, Any]: ...

    def matches(self, request: RecordedRequest) -> bool: ...

    def is_stream(self, request: RecordedRequest) -> bool: ...

    def last_user_text(self, request: RecordedRequest) -> str: ...

    def render(self, reply: Reply, request: RecordedRequest) -> Rendered: ...

    def render_stream(self, reply: Reply, request: RecordedRequest) -> RenderedStream: ...

    def render_error(self, error: ErrorReply, request: RecordedRequest) -> Rendered: ...

    def render_stream_error(self, message: str, request: RecordedRequest) -> bytes: ...


_loaded: dict[str, WireFormat] = {}
_lock = threading.Lock()


def get_format(provider: str) -> WireFormat | None:
    """The format for ``provider``, importing its module on first use; ``None`` if none."""
    if not provider.isidentifier():
        return None
    with _lock:
        if provider not in _loaded:
            try:
                module = importlib.import_module(f"{__name__}.{provider}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{__name__}.{provider}":
                    raise
                return None
            fmt: WireFormat = module.FORMAT
            _loaded[provider] = fmt
        return _loaded[provider]


def json_object(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: a request's optional fields read
    as absent when the shape is wrong."""
    return cast("dict[str, Any]", value) if isinstance(value, dict) else {}


def json_array(value: object) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return value if is_list(value) else []


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON, as providers send it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sse_event(data: Any, event: str | None = None) -> bytes:
    """One server-sent event: an optional ``event:`` line and one ``data:`` line.

    ``data`` is JSON-encoded unless it is already a ``str`` (e.g. ``"[DONE]"``).
    """
    payload = data if isinstance(data, str) else json_bytes(data).decode("utf-8")
    head = f"event: {event}\n" if event is not None else ""
    return f"{head}data: {payload}\n\n".encode()


def available_formats() -> list[str]:
    """The providers that have a format module, whether loaded yet or not."""
    return sorted(
        info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")
    )
