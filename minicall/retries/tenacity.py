"""``from minicall.retries.tenacity import collect_errors``: Mirascope's import path.

Nothing here imports tenacity: :func:`collect_errors` reads tenacity's retry state by
duck typing (``outcome.exception()`` and ``kwargs``).
"""

from ._collect import collect_errors

__all__ = ["collect_errors"]
