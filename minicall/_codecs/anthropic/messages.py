"""Neutral messages as Anthropic Messages API content blocks, and back for a history.

API reference: https://docs.anthropic.com/en/api/messages (the ``messages`` and
``system`` members of ``POST {base}/v1/messages``). Every part is a typed block
(``text``, ``image``, ``document``, ``tool_use``, ``tool_result``); images and
documents travel as ``base64`` or ``url`` sources; audio has no block at all. A
reply's blocks carry more keys than a request accepts, so :func:`echo_block` trims
them before they go back in a history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from ..._model.errors import PromptError
from ..._model.messages import (
    AudioPart,
    CacheControlPart,
    ContentPart,
    DocumentPart,
    ImagePart,
    MessagePart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from ..._model.wire import JSONObject
from .._common import b64encode, split_data_url

__all__ = ["block", "blocks", "echo_block", "system_blocks", "system_value"]


def _image(part: ImagePart) -> dict[str, Any]:
    inline = split_data_url(part.url)
    if part.image is not None:
        source: dict[str, Any] = {
            "type": "base64",
            "media_type": part.media_type,
            "data": b64encode(part.image),
        }
    elif inline is not None:
        source = {"type": "base64", "media_type": inline[0] or part.media_type, "data": inline[1]}
    else:
        source = {"type": "url", "url": part.url or ""}
    return {"type": "image", "source": source}


def _document(part: DocumentPart) -> dict[str, Any]:
    if part.media_type == "text/plain":
        text = part.document.decode("utf-8", "replace")
        return {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": text},
        }
    source = {"type": "base64", "media_type": part.media_type, "data": b64encode(part.document)}
    return {"type": "document", "source": source}


def _audio(part: AudioPart) -> dict[str, Any]:
    raise PromptError("Anthropic's Messages API does not accept audio input")


def _tool_use(part: ToolCallPart) -> dict[str, Any]:
    return {"type": "tool_use", "id": part.id, "name": part.name, "input": dict(part.args)}


def _tool_result(part: ToolResultPart) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": part.id, "content": part.content}
    if part.is_error:
        block["is_error"] = True
    return block


def _text_block(part: TextPart) -> dict[str, Any]:
    return {"type": "text", "text": part.text}


_BLOCKS: Mapping[type, Callable[[Any], dict[str, Any]]] = {
    TextPart: _text_block,
    ImagePart: _image,
    DocumentPart: _document,
    AudioPart: _audio,
    ToolCallPart: _tool_use,
    ToolResultPart: _tool_result,
}


def block(part: ContentPart) -> dict[str, Any]:
    """One neutral part as its content block (audio raises :class:`PromptError`)."""
    return _BLOCKS[type(part)](part)


def blocks(parts: Sequence[MessagePart]) -> list[dict[str, Any]]:
    """Parts as content blocks, a :class:`CacheControlPart` putting ``cache_control`` on
    the block before it (one with no block before it marks nothing, as in Mirascope)."""
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, CacheControlPart):
            if out:
                out[-1]["cache_control"] = part.cache_control()
            continue
        out.append(block(part))
    return out


# Response block -> what may be sent back in a history: the request shapes accept
# fewer keys than the response carries (``citations: null`` on every text block).
_ECHO_KEYS: Mapping[str, tuple[str, ...]] = {
    "text": ("type", "text"),
    "tool_use": ("type", "id", "name", "input"),
    "thinking": ("type", "thinking", "signature"),
    "redacted_thinking": ("type", "data"),
}


def echo_block(block: JSONObject) -> dict[str, Any]:
    """A reply's content block as a request may carry it back."""
    keys = _ECHO_KEYS.get(str(block.get("type")))
    if keys is None:
        return dict(block)
    echoed = {k: block[k] for k in keys if k in block}
    if block.get("type") == "text" and block.get("citations"):
        echoed["citations"] = block["citations"]
    return echoed


def system_blocks(value: Any) -> list[Any]:
    """A system value (string or text blocks) as a list of blocks."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [{"type": "text", "text": value}]
    if isinstance(value, (list, tuple)):
        return list(cast("Sequence[Any]", value))
    raise PromptError(
        f"anthropic system content must be a string or text blocks, got {type(value).__name__}"
    )


def _plain_text_block(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    block = cast("dict[str, Any]", value)
    return set(block) == {"type", "text"} and block["type"] == "text"


def system_value(blocks: list[Any]) -> str | list[Any]:
    """Plain text blocks joined as one string (the common form); else the blocks."""
    plain = all(_plain_text_block(b) for b in blocks)
    if plain:
        return "\n\n".join(str(b["text"]) for b in blocks)
    return blocks
