"""What one decorator (or override) says about its calls, and the classes its results are."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .response import BaseCallResponse, BaseCallResponseChunk
    from .stream import BaseAsyncStream, BaseStream

__all__ = ["Flavor", "Settings"]


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
    tools: Sequence[Any] | None = None
    response_model: Any = None
    output_parser: Callable[[Any], Any] | None = None
    json_mode: bool = False
    client: Any = None
    call_params: Mapping[str, Any] | None = None
