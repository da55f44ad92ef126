"""The provider-neutral message model: ``Message`` and its content parts.

Codecs translate these to and from each provider's native message dicts at the
edge; nothing else in minicall knows a wire format.
"""
# Arguments are checked at run time too (callers may be untyped):
# pyright: reportUnnecessaryIsInstance=false

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, Union, cast

from .errors import PromptError

__all__ = [
    "AudioPart",
    "CacheControlPart",
    "ContentPart",
    "DocumentPart",
    "ImagePart",
    "Message",
    "MessagePart",
    "Messages",
    "Role",
    "TextPart",
    "ToolCallPart",
    "ToolResultPart",
    "assistant_text",
    "text_of",
]

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class TextPart:
    """Plain text."""

    text: str
    type: Literal["text"] = "text"

    def __repr__(self) -> str:
        return f"TextPart(type='text', text={self.text!r})"


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image, given as bytes (``image``) or as a URL (``url``), with its media type."""

    media_type: str
    image: bytes | None = None
    url: str | None = None
    detail: str | None = None
    type: Literal["image"] = "image"

    def data_url(self) -> str:
        """The image as a ``data:`` URL, or its ``url`` when it has no bytes."""
        if self.image is None:
            return self.url or ""
        return f"data:{self.media_type};base64,{base64.b64encode(self.image).decode('ascii')}"

    def __repr__(self) -> str:
        # Mirascope's field order; bytes by their size, never dumped whole.
        source = f"image=<{len(self.image)} bytes>" if self.image is not None else f"url={self.url!r}"
        return f"ImagePart(type='image', media_type={self.media_type!r}, {source}, detail={self.detail!r})"


@dataclass(frozen=True, slots=True)
class AudioPart:
    """Audio bytes with their media type (``audio/wav``, ``audio/mp3`` ...)."""

    media_type: str
    audio: bytes
    type: Literal["audio"] = "audio"

    def __repr__(self) -> str:
        return f"AudioPart(type='audio', media_type={self.media_type!r}, audio=<{len(self.audio)} bytes>)"


@dataclass(frozen=True, slots=True)
class DocumentPart:
    """A document (PDF) as bytes with its media type."""

    media_type: str
    document: bytes
    type: Literal["document"] = "document"

    def __repr__(self) -> str:
        return f"DocumentPart(type='document', media_type={self.media_type!r}, document=<{len(self.document)} bytes>)"


@dataclass(frozen=True, slots=True)
class ToolCallPart:
    """A tool call the assistant made: ``args`` is the decoded argument object."""

    id: str
    name: str
    args: Mapping[str, Any] = field(default_factory=dict[str, Any])
    signature: str | None = None
    """An opaque token the provider wants echoed with the call (Gemini's ``thoughtSignature``)."""
    unparsed: str | None = None
    """The arguments text when it was not a JSON object (a reply cut short by its token
    limit): the reply still decodes, and building a tool from this call raises."""
    type: Literal["tool_call"] = "tool_call"


@dataclass(frozen=True, slots=True)
class ToolResultPart:
    """The result of a tool call, sent back to the model."""

    id: str
    name: str
    content: str
    is_error: bool = False
    type: Literal["tool_result"] = "tool_result"


@dataclass(frozen=True, slots=True)
class CacheControlPart:
    """A prompt-cache breakpoint after the part before it, Mirascope's ``CacheControlPart``:
    Anthropic puts ``cache_control`` on that part (``cache_type``, and ``ttl`` such as
    ``"1h"`` when given); providers without such a marker leave it out."""

    type: Literal["cache_control"] = "cache_control"
    cache_type: str = "ephemeral"
    ttl: str | None = None

    def cache_control(self) -> dict[str, str]:
        """The ``cache_control`` object Anthropic takes: ``{"type": "ephemeral"}``."""
        control = {"type": self.cache_type}
        if self.ttl:
            control["ttl"] = self.ttl
        return control

    def __repr__(self) -> str:
        shown = f", ttl={self.ttl!r}" if self.ttl else ""
        return f"CacheControlPart(type='cache_control', cache_type={self.cache_type!r}{shown})"


ContentPart = Union[TextPart, ImagePart, AudioPart, DocumentPart, ToolCallPart, ToolResultPart]
MessagePart = Union[ContentPart, CacheControlPart]
"""What a message's content list may hold: content parts and cache breakpoints."""
_PART_TYPES = (TextPart, ImagePart, AudioPart, DocumentPart, ToolCallPart, ToolResultPart, CacheControlPart)
_ROLES = frozenset({"system", "user", "assistant", "tool"})


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of a conversation in minicall's own terms, Mirascope's ``BaseMessageParam``.

    ``content`` is a string or a list of parts (plain strings in it become
    :class:`TextPart` s). It reads as Mirascope's: ``BaseMessageParam(role='user',
    content=[TextPart(type='text', text='hi')])``. The message is frozen; treat the
    list as read-only too (the hash is taken over it).
    """

    role: Role
    content: str | Sequence[MessagePart | str]

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise PromptError(f"message role must be one of {sorted(_ROLES)}, got {self.role!r}")
        if isinstance(self.content, str):
            return
        if not isinstance(self.content, (list, tuple)):
            raise PromptError(f"message content must be a str or a list of parts, got {type(self.content).__name__}")
        parts: list[Any] = []
        for i, part in enumerate(self.content):
            if isinstance(part, str):
                part = TextPart(part)  # as Mirascope: plain strings in a list are text parts
            elif not isinstance(part, _PART_TYPES):
                raise PromptError(f"message content[{i}] is a {type(part).__name__}, not a content part")
            parts.append(part)
        object.__setattr__(self, "content", parts)

    @property
    def parts(self) -> tuple[ContentPart, ...]:
        """The content as a tuple of parts (a string becomes one :class:`TextPart`),
        without cache breakpoints (see :attr:`marked_parts`)."""
        if isinstance(self.content, str):
            return (TextPart(self.content),) if self.content else ()
        # __post_init__ made every item a part
        return tuple(p for p in cast("list[MessagePart]", self.content) if not isinstance(p, CacheControlPart))

    @property
    def marked_parts(self) -> tuple[MessagePart, ...]:
        """The content as parts with its :class:`CacheControlPart` breakpoints in place."""
        if isinstance(self.content, str):
            return self.parts
        return tuple(cast("list[MessagePart]", self.content))

    @property
    def cache_marked(self) -> bool:
        """Whether the content holds a :class:`CacheControlPart`."""
        return not isinstance(self.content, str) and any(isinstance(p, CacheControlPart) for p in self.content)

    def __hash__(self) -> int:
        return hash((self.role, self.content if isinstance(self.content, str) else tuple(self.content)))

    def __repr__(self) -> str:
        return f"BaseMessageParam(role={self.role!r}, content={self.content!r})"


def assistant_text(text: str) -> Message:
    """``Message("assistant", [TextPart(text)])``: an assistant turn of text alone."""
    return Message("assistant", [TextPart(text)])


def text_of(message: Message) -> str:
    """The concatenated text of a message's text parts."""
    if isinstance(message.content, str):
        return message.content
    return "".join(p.text for p in message.content if isinstance(p, TextPart))


class Messages:
    """Builders for messages, as in Mirascope: ``Messages.User("hi")``."""

    Type: TypeAlias = Union[str, Message, Sequence[Union[str, MessagePart, Message, Mapping[str, Any]]]]
    """What a prompt function may return as its messages (Mirascope's ``Messages.Type``)."""

    @staticmethod
    def System(content: str | Sequence[MessagePart | str]) -> Message:
        """A system message."""
        return Message("system", content)

    @staticmethod
    def User(content: str | Sequence[MessagePart | str]) -> Message:
        """A user message."""
        return Message("user", content)

    @staticmethod
    def Assistant(content: str | Sequence[MessagePart | str]) -> Message:
        """An assistant message."""
        return Message("assistant", content)

    @staticmethod
    def Tool(results: Sequence[ToolResultPart]) -> Message:
        """A message carrying tool results back to the model."""
        return Message("tool", results)
