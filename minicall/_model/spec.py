"""What flows between the call machinery and the codecs.

The machinery builds a :class:`CallSpec`; a codec turns it into an ``HttpRequest``
and turns the reply into a :class:`Completion` (or, streamed, :class:`Chunk` s).
These are the only shapes a codec sees or returns; they hold no wire format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .http import HttpRequest
from .messages import Message

__all__ = [
    "NORMAL_FINISH",
    "CallSpec",
    "Chunk",
    "Codec",
    "Completion",
    "Endpoint",
    "ResponseFormat",
    "StreamDecoder",
    "ToolDelta",
    "ToolSpec",
    "Usage",
]

# CallSpec, Completion, Chunk and ToolDelta are built once per call or per streamed
# event, on the hot path: they are plain slotted dataclasses, treated as immutable by
# convention, because a frozen dataclass costs three times as much to construct.

# The normalized finish reasons of ``llm.CallResponse.finish_reasons``.
NORMAL_FINISH = ("stop", "length", "tool_calls", "content_filter")


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool offered to the model: name, description and JSON Schema of its arguments.

    ``strict`` asks for OpenAI-style strict function calling, with ``strict_parameters``
    the schema rewritten for it (providers without strict tools send ``parameters``);
    providers without prompt-cache breakpoints ignore ``cache_control``.
    """

    name: str
    description: str
    parameters: Mapping[str, Any]
    strict: bool = False
    strict_parameters: Mapping[str, Any] | None = None
    cache_control: Mapping[str, Any] | None = None
    """A prompt-cache breakpoint after this tool's definition (Anthropic's ``cache_control``)."""


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    """Native JSON output: ``json_object`` (any JSON) or ``json_schema`` (this schema)."""

    kind: Literal["json_object", "json_schema"]
    name: str = ""
    schema: Mapping[str, Any] | None = None
    strict_schema: Mapping[str, Any] | None = None
    """The schema rewritten for OpenAI-style strict mode, when it can be (else ``None``)."""
    description: str = ""


@dataclass(slots=True)
class CallSpec:
    """Everything a codec needs to encode one request.

    ``messages`` holds neutral :class:`Message` s and, verbatim, any provider-native
    dicts the prompt returned. ``forced_tool`` names a tool the model must call
    (structured output through a tool); ``tool_choice`` passes through otherwise.
    """

    model: str
    messages: tuple[Message | Mapping[str, Any], ...]
    call_params: Mapping[str, Any] = field(default_factory=dict[str, Any])
    tools: tuple[ToolSpec, ...] = ()
    forced_tool: str | None = None
    response_format: ResponseFormat | None = None
    json_instruction: str | None = None
    stream: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how a client reaches its provider, as the codec needs to know it.

    ``base_url`` has no trailing slash. ``options`` carries provider extras
    (``api_version``, ``vertex``, ``project``, ``location``, ``deployment_style`` ...).
    Credentials are not here: the client adds them after encoding.
    """

    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict[str, str])
    options: Mapping[str, str] = field(default_factory=dict[str, str])
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts. ``input_tokens`` includes cached ones: ``cached_tokens`` is the share
    read from the provider's prompt cache, ``cache_write_tokens`` the share written to it
    (Anthropic's ``cache_creation_input_tokens``, Bedrock's ``cacheWriteInputTokens``).

    A count the provider sent that is not a non-negative integer of at most ``2**53``
    (negative, huge, NaN, a string...) is ``None``, with a warning logged; the reply
    itself is kept.
    """

    input_tokens: int | None = 0
    output_tokens: int | None = 0
    cached_tokens: int | None = 0
    total_tokens: int | None = 0
    cache_write_tokens: int | None = 0


@dataclass(slots=True)
class Completion:
    """A decoded non-streamed reply, in neutral terms plus the provider's own.

    ``message`` is the assistant turn as a neutral :class:`Message`; ``native_message``
    the same turn as the provider's message dict, ready for a history.
    ``finish_reasons`` are the provider's own values. ``reported_cost`` is a USD cost
    the provider itself reported (xAI, LiteLLM), else ``None``.
    """

    content: str
    message: Message
    native_message: Mapping[str, Any]
    raw: Mapping[str, Any]
    finish_reasons: tuple[str, ...] | None = None
    model: str | None = None
    id: str | None = None
    usage: Usage | None = None
    audio: bytes | None = None
    audio_transcript: str | None = None
    reported_cost: float | None = None
    raw_tool_calls: tuple[Mapping[str, Any], ...] = ()
    """The provider's own tool-call objects, in the order of the message's tool calls."""


@dataclass(slots=True)
class ToolDelta:
    """A piece of a streamed tool call, keyed by ``index``.

    The first piece of a call carries ``id`` and ``name``; ``arguments`` pieces are
    JSON text to concatenate; ``done`` says the call is complete.
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    done: bool = False
    signature: str | None = None


@dataclass(slots=True)
class Chunk:
    """One decoded stream event in neutral terms.

    ``usage`` is cumulative: the newest non-``None`` value is the total so far.
    """

    content: str = ""
    tool_deltas: tuple[ToolDelta, ...] = ()
    finish_reasons: tuple[str, ...] | None = None
    usage: Usage | None = None
    model: str | None = None
    id: str | None = None
    audio: bytes = b""
    audio_transcript: str = ""
    audio_id: str | None = None
    reported_cost: float | None = None
    raw: Mapping[str, Any] = field(default_factory=dict[str, Any])
    block: Mapping[str, Any] | None = None
    """A content block of the turn that ends with this event, in the provider's own shape
    and ready for a history, from providers whose turns are ordered blocks (Anthropic's
    ``thinking`` must go back exactly as it came). A ``"text"`` block's ``text`` is left
    to :class:`~minicall._call.stream.StreamState`: it is the text delivered since the block
    before it ended (text deltas take a fast path that keeps no block state)."""


class StreamDecoder(Protocol):
    """Bytes of a streamed body in, neutral chunks out; any split gives the same chunks.

    ``close()`` is called at the end of the body and raises if it stopped mid-event.
    Provider error events raise the matching :class:`~minicall.APIError`.
    """

    def feed(self, data: bytes) -> list[Chunk]: ...

    def close(self) -> list[Chunk]: ...


class Codec(Protocol):
    """The pure translation between minicall and one provider's wire format."""

    provider: str
    finish_map: Mapping[str, str]
    """Provider finish reason -> one of :data:`NORMAL_FINISH`."""
    request_id_headers: tuple[str, ...]
    """The lower-case response headers that carry the provider's request id, as its
    official SDK reads them; the first one present names an error's ``request_id``."""

    def encode(self, spec: CallSpec, endpoint: Endpoint) -> HttpRequest:
        """The request for ``spec`` (without credentials)."""
        ...

    def decode(self, body: bytes, headers: Mapping[str, str], spec: CallSpec) -> Completion:
        """The completion in a 2xx body; raises ``ResponseFormatError`` on any other shape."""
        ...

    def stream_decoder(self, spec: CallSpec) -> StreamDecoder:
        """A fresh decoder for one streamed reply."""
        ...

    def error_message(self, body: bytes) -> str | None:
        """The provider's own error message in an error body, if it has one."""
        ...

    def never_retry(self, status: int, body: bytes) -> bool:
        """Whether an error reply is final whatever its status and the server's hints say.

        Asked only after an attempt failed; ``True`` where retrying cannot help (OpenAI's
        ``insufficient_quota`` 429: the quota will not refill in a few seconds).
        """
        ...

    def to_native(self, messages: Sequence[Message | Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Messages as the provider's native message dicts (native dicts pass through)."""
        ...

    def native_assistant(self, message: Message) -> dict[str, Any]:
        """A neutral assistant message (e.g. built from a stream) as a native dict."""
        ...
