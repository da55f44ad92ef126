"""The one environment lookup the credential sources share."""

from __future__ import annotations

import os

__all__ = ["env_first"]


def env_first(*names: str) -> str | None:
    """The value of the first of ``names`` set (non-empty) in the environment."""
    return next((value for name in names if (value := os.environ.get(name))), None)
