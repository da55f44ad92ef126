"""Running a batch codec's steps over the client's transport, sync or async.

A step yields requests and receives bodies (see :mod:`minicall._codecs.batch`); the
two drivers here are the only difference between the sync and the async batch API.
Each request goes through the plain call's send loop: credentials from the client,
retries with backoff, typed errors with the provider's own words, secrets scrubbed.
A results file (a :class:`~minicall._codecs.batch.Download`) is streamed into its
line reader as it arrives, never held whole.
"""

from __future__ import annotations

from typing import TypeVar

from ..._codecs.batch import Download, Step
from ..._model.http import HttpRequest
from ..._model.spec import CallSpec
from ..client import BaseClient
from ..settings import Settings
from ..response import CallContext
from ..send import Prepared, send_async, send_sync

__all__ = ["Link", "run_async", "run_sync"]

T = TypeVar("T")


class Link:
    """What the drivers need to send a batch request: settings and client."""

    __slots__ = ("client", "settings")

    def __init__(self, settings: Settings, client: BaseClient) -> None:
        self.settings = settings
        self.client = client

    def prepared(self, request: HttpRequest) -> Prepared:
        """A send-ready call around a batch request (never a stream)."""
        settings = self.settings
        context = CallContext(
            provider=self.client.provider,
            model=settings.model,
            spec=CallSpec(model=settings.model, messages=()),
            codec=self.client.codec,
            request=request,
        )
        return Prepared(settings, self.client, context)


def run_sync(link: Link, step: Step[T]) -> T:
    """Drive ``step`` to its result over the client's sync transport."""
    try:
        sent = next(step)
        while True:
            if isinstance(sent, Download):
                _download_sync(link, sent)
                sent = step.send(b"")
            else:
                response = send_sync(link.prepared(sent), sent)
                sent = step.send(response.read())
    except StopIteration as done:
        result: T = done.value
        return result


def _download_sync(link: Link, download: Download) -> None:
    request = download.request
    response = send_sync(link.prepared(request), request, download=True)
    try:
        for piece in response.iter_bytes():
            download.feed(piece)
    finally:
        response.close()
    download.close()


async def run_async(link: Link, step: Step[T]) -> T:
    """Drive ``step`` to its result over the client's async transport."""
    try:
        sent = next(step)
        while True:
            if isinstance(sent, Download):
                await _download_async(link, sent)
                sent = step.send(b"")
            else:
                response = await send_async(link.prepared(sent), sent)
                sent = step.send(await response.read())
    except StopIteration as done:
        result: T = done.value
        return result


async def _download_async(link: Link, download: Download) -> None:
    request = download.request
    response = await send_async(link.prepared(request), request, download=True)
    try:
        async for piece in response.aiter_bytes():
            download.feed(piece)
    finally:
        await response.aclose()
    download.close()
