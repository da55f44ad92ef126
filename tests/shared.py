"""Fixtures-as-data the provider end-to-end tests share: one model type, one tool, a
scripted tool round, the status table. Imported as ``from shared import ...`` (pytest puts tests/ on the path)."""

from __future__ import annotations

from dataclasses import dataclass

import minicall
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
