"""Retries and fallbacks, as Mirascope's ``mirascope.retries``.

- :func:`fallback` tries other providers when a call fails with given errors,
  raising :class:`FallbackError` when every one fails; a response that came from a
  fallback carries the errors caught on the way as ``response._caught``.
- :func:`collect_errors` passes the errors of failed attempts into the next attempt as
  its ``errors=[...]`` keyword argument: a tenacity ``after=`` hook (tenacity is never
  imported; it is duck typed) and just as well the ``after=`` of :func:`retry`.
- :func:`retry` is a small retry decorator of minicall's own, for those without tenacity.

Every piece works for sync and ``async def`` functions, ``llm.call`` and provider calls.
"""

from ._collect import RetryState, collect_errors
from ._fallback import Fallback, FallbackError, fallback
from ._retry import retry

__all__ = ["Fallback", "FallbackError", "RetryState", "collect_errors", "fallback", "retry"]
