"""The process-wide default transport (one object serving sync and async calls).

The sync half (``http.client``) and the async half (asyncio) are imported only when
first used, so ``import minicall`` pays for neither; ``ssl`` waits for the first https
request.
"""

from __future__ import annotations

import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from .._model.http import AsyncHttpResponse, HttpRequest, HttpResponse

if TYPE_CHECKING:
    from ._async import AsyncioTransport
    from ._sync import SyncTransport

__all__ = ["DefaultTransport", "default_transport"]


class DefaultTransport:
    """Pairs a pooled ``http.client`` transport with a pooled asyncio transport.

    ``verify`` and ``ca_file`` reach both halves (a client's private CA, or no checks).
    """

    def __init__(self, *, verify: bool = True, ca_file: str | None = None) -> None:
        self._verify = verify
        self._ca_file = ca_file
        self._sync: SyncTransport | None = None
        self._async: AsyncioTransport | None = None
        self._lock = threading.Lock()

    def sync(self) -> SyncTransport:
        """The sync half, created on first use."""
        if self._sync is None:
            with self._lock:
                if self._sync is None:
                    from ._sync import SyncTransport

                    self._sync = SyncTransport(verify=self._verify, ca_file=self._ca_file)
        return self._sync

    def asyncio(self) -> AsyncioTransport:
        """The async half, created on first use."""
        if self._async is None:
            with self._lock:
                if self._async is None:
                    from ._async import AsyncioTransport

                    self._async = AsyncioTransport(verify=self._verify, ca_file=self._ca_file)
        return self._async

    def send(self, request: HttpRequest, *, stream: bool = False) -> HttpResponse:
        """Send over ``http.client``."""
        return self.sync().send(request, stream=stream)

    def send_async(
        self, request: HttpRequest, *, stream: bool = False
    ) -> Coroutine[Any, Any, AsyncHttpResponse]:
        """Send over asyncio (the asyncio transport's coroutine itself: no wrapper to await)."""
        return self.asyncio().send_async(request, stream=stream)


_shared: DefaultTransport | None = None
_DEFAULT_LOCK = threading.Lock()


def default_transport() -> DefaultTransport:
    """The shared default transport (created on first use)."""
    global _shared
    if _shared is None:
        with _DEFAULT_LOCK:
            if _shared is None:
                _shared = DefaultTransport()
    return _shared
