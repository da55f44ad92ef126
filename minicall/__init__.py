"""minicall: typed Python functions become LLM API calls, on the standard library alone.

Example::

    from minicall import llm

    @llm.call(provider="openai", model="gpt-4o-mini")
    def recommend_book(genre: str) -> str:
        return f"Recommend a {genre} book"

    print(recommend_book("fantasy").content)

Providers, codecs and transports load when first used, not on import.

Version 0.1.0, under the MIT license (the LICENSE file beside this one travels with any
copy of this package). Python 3.10 or newer.
"""

import sys as _sys

if _sys.version_info < (3, 10):  # checked before anything that 3.9 cannot even import
    raise ImportError(f"minicall needs Python 3.10 or newer; this is Python {_sys.version.split()[0]}")

from typing import TYPE_CHECKING

from . import llm

if TYPE_CHECKING:  # for type checkers; at run time __getattr__ below loads them on first use
    from . import batch
    from ._model.errors import ValidationError as PydanticValidationError
from ._call.config import BaseDynamicConfig
from ._call.decorate import Partial
from ._call.pricing import set_price
from ._call.prompt import prompt_template
from ._call.toolkit import BaseToolKit, toolkit_tool
from ._call.tools import BaseTool, ResponseModelConfigDict, ToolConfig
from ._model.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    MinicallError,
    NotFoundError,
    PermissionDeniedError,
    PromptError,
    RateLimitError,
    ResponseFormatError,
    UnprocessableEntityError,
    ValidationError,
)
from ._model.http import HttpRequest, HttpResponse, MockTransport
from ._model.messages import (
    AudioPart,
    CacheControlPart,
    DocumentPart,
    ImagePart,
    Message,
    Messages,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from ._model.spec import Usage
from ._schema.call_args import FromCallArgs

BaseMessageParam = Message
"""Mirascope's name for a neutral message."""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # ``minicall.batch`` loads on first use: import minicall stays as light as before.
    if name == "batch":
        import importlib

        return importlib.import_module(f"{__name__}.batch")
    # Made on first use, so that pydantic is imported only by those who ask for it: a
    # subclass of pydantic's ValidationError and ours (minicall's own without pydantic >= 2.10).
    if name == "PydanticValidationError":
        from ._schema.through_pydantic import error_class

        return error_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AudioPart",
    "AuthenticationError",
    "BadRequestError",
    "BaseDynamicConfig",
    "BaseMessageParam",
    "BaseTool",
    "BaseToolKit",
    "CacheControlPart",
    "ConfigurationError",
    "ConflictError",
    "DocumentPart",
    "FromCallArgs",
    "HttpRequest",
    "HttpResponse",
    "ImagePart",
    "InternalServerError",
    "Message",
    "Messages",
    "MinicallError",
    "MockTransport",
    "NotFoundError",
    "Partial",
    "PermissionDeniedError",
    "PromptError",
    "PydanticValidationError",
    "RateLimitError",
    "ResponseFormatError",
    "ResponseModelConfigDict",
    "TextPart",
    "ToolCallPart",
    "ToolConfig",
    "ToolResultPart",
    "UnprocessableEntityError",
    "Usage",
    "ValidationError",
    "__version__",
    "batch",
    "llm",
    "prompt_template",
    "set_price",
    "toolkit_tool",
]
