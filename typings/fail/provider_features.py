"""Provider features misspelt: both checkers must flag each marked line."""

from __future__ import annotations

from typing import ClassVar

from minicall import BaseTool
from minicall.providers import anthropic, openai


@anthropic.call("claude-3-5-sonnet-latest", call_params={"extra_headers": {"anthropic-beta": 1}})  # E: call-overload, untyped-decorator
def bad_header(text: str) -> str:
    return text


class NotStrict(BaseTool):
    """Strict spelt as a string."""

    tool_config: ClassVar[openai.OpenAIToolConfig] = openai.OpenAIToolConfig(strict="yes")  # E: typeddict-item
    city: str


class NoCacheType(BaseTool):
    """A cache_control without its type."""

    tool_config: ClassVar[anthropic.AnthropicToolConfig] = anthropic.AnthropicToolConfig(cache_control={"ttl": "1h"})  # E: typeddict-item
    term: str
