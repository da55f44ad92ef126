"""Dynamic configuration and the merge of configuration layers.

Precedence, later wins: decorator < ``llm.override`` < dynamic config. ``call_params``
merge key by key; every other key is replaced whole. Merging never mutates inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypedDict

from .._model.messages import Message

__all__ = ["BaseDynamicConfig", "merge_layers", "merge_params"]


class BaseDynamicConfig(TypedDict, total=False):
    """What a prompt function may return instead of a prompt.

    ``messages`` replace the template; ``call_params`` merge over the decorator's;
    ``tools`` replace the decorator's for this call; ``client`` serves this call only;
    ``computed_fields`` add template variables; ``metadata`` is carried to the response.
    """

    messages: Sequence[Message | Mapping[str, Any]]
    call_params: Mapping[str, Any]
    metadata: Mapping[str, Any]
    client: Any
    tools: Sequence[Callable[..., Any] | type]
    computed_fields: Mapping[str, Any]


def merge_params(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge call-param layers key by key, later layers winning; inputs are untouched."""
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer:
            merged.update(layer)
    return merged


def merge_layers(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge whole configuration layers: ``call_params`` key by key, other keys replaced."""
    merged: dict[str, Any] = {}
    for layer in layers:
        if not layer:
            continue
        for key, value in layer.items():
            if key == "call_params":
                merged[key] = merge_params(merged.get(key), value)
            else:
                merged[key] = value
    return merged
