"""What one decorator (or override) says about its calls, and the classes its results are."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict, cast

from .._model.errors import ConfigurationError

if TYPE_CHECKING:
    from .response import BaseCallResponse, BaseCallResponseChunk
    from .stream import BaseAsyncStream, BaseStream

__all__ = ["Flavor", "Settings", "StreamConfig", "read_stream"]


class StreamConfig(TypedDict, total=False):
    """``stream={"partial_tools": True}``: a stream whose tools also come partial.

    With ``partial_tools``, each streamed piece of a tool call's arguments yields that
    tool so far: its ``delta`` is the piece, its fields what the arguments hold so far
    (``None`` where not yet streamed). The finished tool follows with ``delta`` ``None``.
    """

    partial_tools: bool


def read_stream(stream: object) -> tuple[bool, bool]:
    """``(streams, partial_tools)`` from a decorator's ``stream`` argument: a bool or a
    :class:`StreamConfig`; anything else raises ``ConfigurationError``."""
    if isinstance(stream, bool):
        return stream, False
    if isinstance(stream, Mapping):
        config = cast("Mapping[str, object]", stream)
        unknown = sorted(str(k) for k in config if k != "partial_tools")
        partial = config.get("partial_tools", False)
        if not unknown and isinstance(partial, bool):
            return True, partial
        problem = f"unknown key {unknown[0]!r}" if unknown else "partial_tools must be True or False"
        raise ConfigurationError(f'stream takes True, False or {{"partial_tools": True}}: {problem}')
    raise ConfigurationError(f'stream takes True, False or {{"partial_tools": True}}, not {type(stream).__name__}')


@dataclass(frozen=True, slots=True)
class Flavor:
    """The classes a decorator's results are made of (neutral ``llm`` or a provider's own)."""

    response: type[BaseCallResponse[Any]]
    stream: type[BaseStream[Any, Any]]
    async_stream: type[BaseAsyncStream[Any, Any]]
    chunk: type[BaseCallResponseChunk]


@dataclass(frozen=True, slots=True)
class Settings:
    """One decorator's (or override's) configuration."""

    provider: str
    model: str
    flavor: Flavor
    stream: bool = False
    """Whether the call streams (a :class:`StreamConfig` given says yes, once checked)."""
    partial_tools: bool = False
    tools: Sequence[Any] | None = None
    response_model: Any = None
    output_parser: Callable[[Any], Any] | None = None
    json_mode: bool = False
    client: Any = None
    call_params: Mapping[str, Any] | None = None
