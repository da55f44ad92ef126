"""Neutral messages as Chat Completions message dicts (and the pieces Cohere v2 shares).

API reference: https://platform.openai.com/docs/api-reference/chat/create (the
``messages`` and ``tools`` members of ``POST {base}/chat/completions``). Cohere's v2
Chat (https://docs.cohere.com/v2/reference/chat) took the same turn layout, the same
``tool_calls`` list, the same ``image_url`` part and the same ``function`` tool
definition, so :mod:`minicall._codecs.cohere` builds on the functions here and keeps
only its differences (its tool-result content and the parts it refuses).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..._model.errors import PromptError
from ..._model.messages import (
    AudioPart,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from ..._model.spec import ToolSpec
from .._common import b64encode, media_format, text_of

__all__ = [
    "chat_messages",
    "content_part",
    "document_url_chunk",
    "function_tools",
    "image_url_part",
    "tool_call_text",
    "tool_calls",
]

# Roles whose plain-text turns map one to one, with no parts to look into.
_TEXT_ROLES = frozenset({"system", "user", "developer"})

# Audio formats by media type, for ``input_audio`` parts.
_AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mpeg": "mp3", "audio/mp3": "mp3"}


def chat_messages(
    messages: Sequence[Message | Mapping[str, Any]],
    assistant: Callable[[Message], dict[str, Any]],
    part: Callable[[ContentPart], dict[str, Any]],
    tool_result: Callable[[ToolResultPart], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Neutral messages as chat turns; native dicts pass through.

    Each tool result becomes its own ``tool`` turn (``tool_result`` builds it), ahead
    of whatever else its message held; a system message made of parts is sent as its
    joined text, and other parts go through ``part``.
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, Message):
            out.append(dict(message))
            continue
        if type(message.content) is str and message.role in _TEXT_ROLES:
            out.append({"role": message.role, "content": message.content})  # the common turn
            continue
        if message.role == "assistant":
            out.append(assistant(message))
            continue
        results = [p for p in message.parts if isinstance(p, ToolResultPart)]
        out.extend(tool_result(r) for r in results)
        others = [p for p in message.parts if not isinstance(p, ToolResultPart)]
        if message.role == "tool" or (results and not others):
            continue
        if isinstance(message.content, str):
            out.append({"role": message.role, "content": message.content})
        elif message.role == "system":
            out.append({"role": "system", "content": text_of(others)})
        else:
            out.append({"role": message.role, "content": [part(p) for p in others]})
    return out


def tool_calls(calls: Sequence[ToolCallPart]) -> list[dict[str, Any]]:
    """An assistant turn's ``tool_calls`` list (arguments as JSON text)."""
    return [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": json.dumps(dict(c.args))},
        }
        for c in calls
    ]


def function_tools(tools: Sequence[ToolSpec], strict: bool = True) -> list[dict[str, Any]]:
    """``tools`` as ``function`` tool definitions; ``strict`` passes each tool's flag on
    (``"strict": true`` with the strict form of its schema, as the openai SDK's
    ``pydantic_function_tool`` sends it)."""
    out: list[dict[str, Any]] = []
    for t in tools:
        function: dict[str, Any] = {"name": t.name, "description": t.description}
        if strict and t.strict and t.strict_parameters is not None:
            function["parameters"] = dict(t.strict_parameters)
            function["strict"] = True
        else:
            function["parameters"] = dict(t.parameters)
        out.append({"type": "function", "function": function})
    return out


def image_url_part(part: ImagePart) -> dict[str, Any]:
    """An ``image_url`` part: the image's URL, or its bytes as a ``data:`` URL."""
    image: dict[str, Any] = {"url": part.data_url()}
    if part.detail:
        image["detail"] = part.detail
    return {"type": "image_url", "image_url": image}


def tool_call_text(part: ToolCallPart) -> dict[str, Any]:
    """A tool call in a user turn, which cannot be sent as one: a text part saying what it was."""
    return {"type": "text", "text": f"[tool call {part.name}({json.dumps(dict(part.args))})]"}


def document_url_chunk(part: DocumentPart) -> dict[str, Any]:
    """A PDF as Mistral's ``document_url`` chunk, its bytes inlined as a ``data:`` URL.

    The SDK types ``document_url`` as a plain string; Mistral documents it for PDFs, by
    URL or as ``data:application/pdf;base64,...``. Any other media type raises
    :class:`PromptError` here, before anything is sent, rather than as a 4xx after the
    upload. No ``document_name`` is sent: the SDK leaves it out unless asked, and a
    ``DocumentPart`` has none.
    """
    if part.media_type.lower() != "application/pdf":
        raise PromptError(
            f"Mistral's chat takes documents as PDF (application/pdf) only, got "
            f"{part.media_type!r}; send text as a TextPart"
        )
    return {
        "type": "document_url",
        "document_url": f"data:application/pdf;base64,{b64encode(part.document)}",
    }


def content_part(
    part: ContentPart, audio_inline: bool = False, document_url: bool = False
) -> dict[str, Any]:
    """One user-turn part as a Chat Completions content part.

    ``audio_inline`` sends ``input_audio`` as the bare base64 string (Mistral)
    instead of ``{data, format}``; ``document_url`` sends a document as Mistral's
    ``document_url`` chunk (:func:`document_url_chunk`) instead of a ``file`` part.
    """
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        return image_url_part(part)
    if isinstance(part, AudioPart):
        data = b64encode(part.audio)
        if audio_inline:
            return {"type": "input_audio", "input_audio": data}
        fmt = media_format(_AUDIO_FORMATS, part.media_type)
        return {"type": "input_audio", "input_audio": {"data": data, "format": fmt}}
    if isinstance(part, DocumentPart):
        if document_url:
            return document_url_chunk(part)
        data_url = f"data:{part.media_type};base64,{b64encode(part.document)}"
        return {"type": "file", "file": {"filename": "document.pdf", "file_data": data_url}}
    if isinstance(part, ToolCallPart):
        return tool_call_text(part)
    return {"type": "text", "text": part.content}
