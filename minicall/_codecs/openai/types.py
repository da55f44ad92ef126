"""Chat Completions message dicts as ``TypedDict`` s (the shapes the API accepts).

Shared by OpenAI and the compatible providers, which re-export them under their own
names.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, Union

__all__ = [
    "AssistantMessageParam",
    "AudioContentPart",
    "DeveloperMessageParam",
    "FunctionCall",
    "ImageContentPart",
    "ImageURL",
    "InputAudio",
    "MessageParam",
    "SystemMessageParam",
    "TextContentPart",
    "ToolCallParam",
    "ToolMessageParam",
    "UserMessageParam",
]


class TextContentPart(TypedDict):
    """``{"type": "text", "text": ...}``"""

    type: Literal["text"]
    text: str


class _ImageURLBase(TypedDict):
    url: str


class ImageURL(_ImageURLBase, total=False):
    """An image URL (``https:`` or ``data:``) with optional ``detail``."""

    detail: Literal["auto", "low", "high"]


class ImageContentPart(TypedDict):
    """``{"type": "image_url", "image_url": {...}}``"""

    type: Literal["image_url"]
    image_url: ImageURL


class InputAudio(TypedDict):
    """Base64 audio with its format."""

    data: str
    format: Literal["wav", "mp3"]


class AudioContentPart(TypedDict):
    """``{"type": "input_audio", "input_audio": {...}}``"""

    type: Literal["input_audio"]
    input_audio: InputAudio


ContentPart = Union[TextContentPart, ImageContentPart, AudioContentPart]


class FunctionCall(TypedDict):
    """A function name and its arguments as JSON text."""

    name: str
    arguments: str


class ToolCallParam(TypedDict):
    """A tool call in an assistant message."""

    id: str
    type: Literal["function"]
    function: FunctionCall


class _SystemBase(TypedDict):
    role: Literal["system"]
    content: str | list[TextContentPart]


class SystemMessageParam(_SystemBase, total=False):
    """A system message."""

    name: str


class _DeveloperBase(TypedDict):
    role: Literal["developer"]
    content: str | list[TextContentPart]


class DeveloperMessageParam(_DeveloperBase, total=False):
    """A developer message (the system role of reasoning models)."""

    name: str


class _UserBase(TypedDict):
    role: Literal["user"]
    content: str | list[ContentPart]


class UserMessageParam(_UserBase, total=False):
    """A user message."""

    name: str


class _AssistantBase(TypedDict):
    role: Literal["assistant"]


class AssistantMessageParam(_AssistantBase, total=False):
    """An assistant message, possibly with tool calls or an audio reference."""

    content: str | list[TextContentPart] | None
    tool_calls: list[ToolCallParam]
    audio: dict[str, Any]
    refusal: str | None
    name: str


class ToolMessageParam(TypedDict):
    """A tool result."""

    role: Literal["tool"]
    tool_call_id: str
    content: str | list[TextContentPart]


MessageParam = Union[
    SystemMessageParam,
    DeveloperMessageParam,
    UserMessageParam,
    AssistantMessageParam,
    ToolMessageParam,
]
