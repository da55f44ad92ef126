"""Gemini on Vertex AI under Mirascope's ``mirascope.core.vertex`` names.

The same provider as :mod:`minicall.providers.google` (responses report ``"google"``),
whose default client is Vertex AI: ``VertexClient(...)`` is ``GoogleClient(vertex=True, ...)``,
reading ``GOOGLE_CLOUD_PROJECT``, ``GOOGLE_CLOUD_LOCATION`` and Application Default
Credentials as that client documents. ``llm.call(provider="vertex", ...)`` uses it too.
"""

from __future__ import annotations

import functools

from .._call.sdk_clients import GenAISDKClient
from .._call.decorate import ProviderCall
from .._call.settings import Flavor
from .._model.errors import *
from .._model import errors as _errors
from .google import (
    GoogleAsyncStream,
    GoogleCallParams,
    GoogleCallResponse,
    GoogleCallResponseChunk,
    GoogleClient,
    GoogleDynamicConfig,
    GoogleMessageParam,
    GoogleStream,
    GoogleTool,
)

__all__ = [
    "call",
    "vertex_call",
    "VertexClient",
    "VertexCallParams",
    "VertexCallResponse",
    "VertexCallResponseChunk",
    "VertexDynamicConfig",
    "AsyncVertexDynamicConfig",
    "VertexMessageParam",
    "VertexStream",
    "VertexAsyncStream",
    "VertexTool",
]
__all__ += _errors.__all__  # the error classes, as Mirascope's provider modules have them

CLIENT_CLASS = "VertexClient"

VertexCallParams = GoogleCallParams
VertexCallResponse = GoogleCallResponse
VertexCallResponseChunk = GoogleCallResponseChunk
VertexDynamicConfig = GoogleDynamicConfig
AsyncVertexDynamicConfig = GoogleDynamicConfig
VertexMessageParam = GoogleMessageParam
VertexStream = GoogleStream
VertexAsyncStream = GoogleAsyncStream
VertexTool = GoogleTool


VertexClient = functools.partial(GoogleClient, vertex=True)
"""``GoogleClient`` with ``vertex=True`` unless told otherwise (the same keyword arguments)."""


call = ProviderCall[
    GoogleCallResponse,
    GoogleStream,
    GoogleAsyncStream,
    GoogleCallParams,
    GoogleClient | GenAISDKClient,
]("vertex", Flavor(GoogleCallResponse, GoogleStream, GoogleAsyncStream, GoogleCallResponseChunk))
"""``@vertex.call("gemini-2.0-flash")``: Gemini on Vertex AI; see :func:`minicall.llm.call`."""

vertex_call = call
"""Mirascope's other name for :data:`call`."""
