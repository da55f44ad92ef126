"""What the tests share as plain values and helpers: one model type, one tool, a scripted
tool round, the status table, and ``ask``/``run`` to drive one prompt function sync or async.
Imported as ``from shared import ...`` from any subfolder (``pythonpath`` puts tests/ on the path)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import minicall
from minicall import llm
from minicall._call.stream import BaseAsyncStream, BaseStream
from minicall.testing import Reply, ToolCallReply


@dataclass
class Book:
    """A book."""

    title: str
    year: int


def get_weather(city: str) -> str:
    """Get the weather.

    Args:
        city: The city name.
    """
    return f"sunny in {city}"


PARALLEL_WEATHER = (
    Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="call_p1"),
                      ToolCallReply("get_weather", {"city": "Rome"}, id="call_p2")]),
    Reply(text="Both sunny."),
)
"""Two ``get_weather`` calls at once, then the answer once their results come back."""


ERROR_STATUSES = [
    (400, minicall.BadRequestError),
    (401, minicall.AuthenticationError),
    (403, minicall.PermissionDeniedError),
    (404, minicall.NotFoundError),
    (422, minicall.UnprocessableEntityError),
    (429, minicall.RateLimitError),
    (500, minicall.InternalServerError),
]
"""Each error status a provider may answer with, and the minicall error it becomes."""


# -- driving a prompt function sync or async --------------------------------------------

MODES = ("sync", "async")

OK_BODY = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
    }
).encode()


def ask(client: Any, mode: str, *, provider: str = "openai", model: str = "gpt-4o-mini", **settings: Any) -> Callable[..., Any]:
    """A decorated prompt function (``def`` or ``async def``) sending ``question``."""
    if mode == "sync":

        def question(text: str) -> str:
            return text

        return llm.call(provider, model, client=client, **settings)(question)

    async def async_question(text: str) -> str:
        return text

    return llm.call(provider, model, client=client, **settings)(async_question)


def run(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn``; await it when it is async; drain a stream to its end."""
    result = fn(*args)
    if not asyncio.iscoroutine(result):
        if isinstance(result, BaseStream):
            for _ in result:
                pass
        return result

    async def finish() -> Any:
        value = await result
        if isinstance(value, BaseAsyncStream):
            async for _ in value:
                pass
        return value

    return asyncio.run(finish())
