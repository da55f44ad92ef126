"""Fixtures-as-data the provider end-to-end tests share: one model type, one tool, the
status table. Imported as ``from shared import ...`` (pytest puts tests/ on the path)."""

from __future__ import annotations

from dataclasses import dataclass

import minicall


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
