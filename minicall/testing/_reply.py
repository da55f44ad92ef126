"""What a test scripts into a FakeServer, and what the server records.

Scripted items are provider-neutral: a :class:`Reply` says *what* the model answered
(text, tool calls, audio, usage, how to stream it) and the wire format module of the
provider that was asked says *how* that looks on the wire. :class:`ErrorReply` is an
error status in the provider's own error body; :class:`RawReply` and :class:`Fault` are
for tests of garbage and broken connections, where no format applies.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

__all__ = [
    "ErrorReply",
    "Fault",
    "FaultKind",
    "RawReply",
    "RecordedRequest",
    "Reply",
    "Scripted",
    "ThinkingReply",
    "TokenCounts",
    "ToolCallReply",
    "count_words",
    "split_fragments",
    "split_text",
]

# Zero-width split points: after whitespace, before the next word. Joining the pieces
# gives the text back exactly, so a client that concatenates deltas sees the whole text.
_WORD_BOUNDARY = re.compile(r"(?<=\s)(?=\S)")


def count_words(text: str) -> int:
    """Whitespace-separated words: the fake's deterministic stand-in for tokens."""
    return len(text.split())


@dataclass(frozen=True)
class ToolCallReply:
    """One tool call the model makes; ``id=None`` lets the format invent one."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict[str, Any])
    id: str | None = None

    def arguments_json(self) -> str:
        """The arguments as the compact JSON string most wire formats carry."""
        return json.dumps(dict(self.args), separators=(",", ":"))


@dataclass(frozen=True)
class ThinkingReply:
    """A reasoning block the model emits before its answer (Anthropic's extended thinking).

    ``thinking`` is the reasoning text and ``signature`` the opaque value a client must
    send back unchanged (``""`` lets the format invent one). With ``redacted`` set, the
    block is a ``redacted_thinking`` block carrying that encrypted data instead. Formats
    without reasoning blocks leave it out.
    """

    thinking: str = ""
    signature: str = ""
    redacted: str | None = None


class TokenCounts(NamedTuple):
    """Token counts a format reports: scripted ones, or derived from word counts."""

    input: int
    output: int
    cached: int
    written: int = 0
    """Of ``input``, the tokens written to the prompt cache (Anthropic, Bedrock report them)."""


@dataclass(frozen=True)
class Reply:
    """A successful model answer, rendered in whichever format the request used.

    ``finish_reason`` is neutral (``stop``, ``length``, ``tool_calls``,
    ``content_filter``); ``None`` means ``tool_calls`` when there are tool calls, else
    ``stop``. ``thinking`` holds reasoning blocks that come before the text. Token
    counts left ``None`` are word counts (input: the last user text; output: the
    thinking, text, transcript and tool-call JSON). ``model=None`` echoes the
    requested model. Stream controls: ``stream_chunks`` splits the text into that many
    pieces (``None``: one per word); ``chunk_delay`` waits between events; ``gate``
    holds every event after the first until it is set; ``drop_after_events`` closes
    the socket after that many events; ``stream_error_after`` sends the format's
    in-stream error after that many events and ends the stream. ``delay`` waits before
    the status line. ``reported_cost`` is the USD cost for formats that report one.
    ``cached_tokens`` and ``cache_write_tokens`` are the shares of the input read from
    and written to the prompt cache, reported where the format has room for them.
    """

    text: str = ""
    tool_calls: Sequence[ToolCallReply] = ()
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    model: str | None = None
    audio: bytes | None = None
    audio_transcript: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict[str, str])
    delay: float = 0.0
    chunk_delay: float = 0.0
    stream_chunks: int | None = None
    gate: threading.Event | None = None
    drop_after_events: int | None = None
    stream_error_after: int | None = None
    stream_error_message: str = "The server had an error while processing your request."
    reported_cost: float | None = None
    thinking: Sequence[ThinkingReply] = ()

    def resolved_finish_reason(self) -> str:
        """The neutral finish reason, derived when not scripted."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"

    def text_pieces(self) -> list[str]:
        """The text split for streaming; the pieces join back to ``text``."""
        return split_text(self.text, self.stream_chunks)

    def token_counts(self, prompt_text: str) -> TokenCounts:
        """Scripted token counts, or word counts of the prompt and the answer."""
        produced = [self.text, self.audio_transcript or "", *(t.thinking for t in self.thinking)]
        produced += [call.name + " " + call.arguments_json() for call in self.tool_calls]
        derived_output = sum(count_words(part) for part in produced)
        return TokenCounts(
            input=self.input_tokens if self.input_tokens is not None else count_words(prompt_text),
            output=self.output_tokens if self.output_tokens is not None else derived_output,
            cached=self.cached_tokens,
            written=self.cache_write_tokens,
        )


def split_text(text: str, pieces: int | None) -> list[str]:
    """``text`` in ``pieces`` parts (``None``: one per word); ``[]`` when empty."""
    if pieces is None:
        return _WORD_BOUNDARY.split(text) if text else []
    return split_fragments(text, pieces)


def split_fragments(text: str, pieces: int) -> list[str]:
    """``text`` cut into at most ``pieces`` non-empty parts that join back to it."""
    if not text:
        return []
    count = max(1, min(pieces, len(text)))
    step = -(-len(text) // count)
    return [text[i : i + step] for i in range(0, len(text), step)]


@dataclass(frozen=True)
class ErrorReply:
    """An error status with a body in the provider's own error format.

    ``code`` overrides the format's default error code for the status (OpenAI's
    ``error.code``, e.g. ``"insufficient_quota"``).
    """

    status: int
    message: str = "Scripted error from FakeServer."
    headers: Mapping[str, str] = field(default_factory=dict[str, str])
    delay: float = 0.0
    code: str | None = None


@dataclass(frozen=True)
class RawReply:
    """Bytes sent verbatim after a status line and ``headers``.

    With ``chunks`` the body goes out in chunked transfer-encoding, one chunk per
    element, ``chunk_delay`` apart; otherwise ``body`` with a ``Content-Length`` (unless
    ``headers`` already has one, which is then sent as given, right or wrong).
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict[str, str])
    body: bytes = b""
    chunks: Sequence[bytes] | None = None
    chunk_delay: float = 0.0
    delay: float = 0.0
    echo_headers: bool = False
    """Replace ``{headers}`` in ``body`` with the received request headers as a JSON
    object, and ``{headers_text}`` with the same as a JSON string (a server that echoes
    the request into its error, credentials and all)."""


FaultKind = Literal["drop", "hang", "reset_mid_body", "drip", "raw"]


@dataclass(frozen=True)
class Fault:
    """A broken exchange; the request is always read and recorded first.

    - ``drop``: close the connection without answering.
    - ``hang``: never answer; released (closed) when the server stops.
    - ``reset_mid_body``: a 200 status, headers announcing ``len(body)`` bytes, then
      half of ``body`` and a close.
    - ``drip``: a 200 with ``body`` sent one byte every ``interval`` seconds.
    - ``raw``: ``body`` written to the socket as is (no status line), then a close.

    Without a ``body``, ``reset_mid_body`` and ``drip`` use a small JSON object, so
    that a bare ``Fault("reset_mid_body")`` really breaks off mid-body.
    """

    kind: FaultKind
    body: bytes = b""
    interval: float = 0.0
    headers: Mapping[str, str] = field(default_factory=lambda: {"content-type": "application/json"})


    def __post_init__(self) -> None:
        if not self.body and self.kind in ("reset_mid_body", "drip"):
            object.__setattr__(self, "body", _FAULT_BODY)


_FAULT_BODY = b'{"choices": [{"index": 0, "message": {"role": "assistant", "content": "cut"}}]}'

Scripted = Reply | ErrorReply | RawReply | Fault


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it.

    ``path`` has the ``/<provider>`` prefix stripped and keeps the query string;
    ``raw_path`` is the request target as sent. ``headers`` has lower-case names.
    ``json`` is the parsed body, or ``None`` when the body is not JSON. ``index``
    counts requests from 1 in arrival order.
    """

    method: str
    path: str
    raw_path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    json: Any
    provider: str
    index: int

    @property
    def route(self) -> str:
        """``path`` without the query string."""
        return self.path.split("?", 1)[0]
