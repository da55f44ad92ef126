"""Turning a batch's items into the requests the plain calls would send.

Each item is a dict of keyword arguments or a tuple of positional ones. It is bound
against the decorated function's signature, the prompt function runs, and the call
pipeline's own preparation (:class:`~minicall._call.pipeline.CallPlan`) gives the
request, which the batch codec's writer splices into the payload. Nothing is kept
of an item once its request is written, so the batch is in memory once (the payload
buffer), and everything that can be refused is refused before anything is uploaded.
"""

from __future__ import annotations

import inspect
import io
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from ..._model.http import HttpRequest
from ..._model.errors import ConfigurationError
from ..client import BaseClient
from ..pipeline import CallPlan, call_plan, resolve_client
from ..send import Prepared

if TYPE_CHECKING:
    from ..._codecs.batch import BatchCodec

__all__ = ["Payload", "PayloadBuilder", "batch_client", "plan_of", "split_item"]

# Headers that differ between items without changing what the batch asks for.
_FREE_HEADERS = frozenset({"content-length"})


def plan_of(fn: Any, *, asynchronous: bool) -> CallPlan:
    """The call plan of a decorated function that can be batched."""
    plan = call_plan(fn)
    if plan is None:
        raise ConfigurationError(
            f"{getattr(fn, '__name__', fn)!r} is not a minicall-decorated function; "
            "batch.submit takes a function decorated with llm.call or a provider's call"
        )
    if plan.settings.stream:
        raise ConfigurationError(
            f"{plan.fn.__name__} is decorated with stream=True; a batch's results arrive whole, "
            "so batch a function without stream=True"
        )
    if not asynchronous and inspect.iscoroutinefunction(plan.fn):
        raise ConfigurationError(
            f"{plan.fn.__name__} is an async def function: use await batch.submit_async(...) "
            "and await job.wait_async(...)"
        )
    return plan


def batch_client(plan: CallPlan) -> BaseClient:
    """The client a batch runs on: the decorator's (or the environment's default; an
    official SDK client converted), resolved as a plain call resolves it."""
    return resolve_client(None, plan.settings)


def split_item(index: int, item: Any, signature: inspect.Signature) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """An item's positional and keyword arguments, checked against the signature."""
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}
    if isinstance(item, Mapping):
        named = cast("Mapping[object, Any]", item)
        for key, value in named.items():
            if not isinstance(key, str):
                raise ConfigurationError(f"batch item {index}: keyword argument names must be strings")
            kwargs[key] = value
    elif isinstance(item, tuple):
        args = tuple(cast("Iterable[Any]", item))  # the same tuple object back
    else:
        raise ConfigurationError(
            f"batch item {index} is {type(item).__name__}: give a dict of keyword arguments "
            "or a tuple of positional ones (a single argument too: (value,))"
        )
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise ConfigurationError(f"batch item {index} does not fit the function's parameters: {exc}") from None
    return args, kwargs


class Payload:
    """A written batch payload, and the request that stands for every item."""

    __slots__ = ("body", "content_type", "count", "sample")

    def __init__(self, body: bytes, content_type: str, count: int, sample: HttpRequest) -> None:
        self.body = body
        self.content_type = content_type
        self.count = count
        self.sample = sample


class PayloadBuilder:
    """Checks each prepared item and writes its request into the payload buffer."""

    def __init__(self, plan: CallPlan, codec: BatchCodec, client: BaseClient, count: int, token: str) -> None:
        if count == 0:
            raise ConfigurationError("a batch needs at least one item")
        if codec.max_requests is not None and count > codec.max_requests:
            raise ConfigurationError(
                f"{count} items is more than {codec.label} takes in one batch "
                f"({codec.max_requests:,} requests): split them into several batches"
            )
        self.plan = plan
        self.codec = codec
        self.client = client
        self.signature = inspect.signature(plan.fn)
        self._token = token
        self._buffer = io.BytesIO()
        self._bytes = 0
        self._count = 0
        self._sample: HttpRequest | None = None
        self._writer: Any = None

    def start(self) -> float:
        """The start time a call would record for an item about to be prepared."""
        return time.time() * 1000

    def add(self, index: int, prepared: Prepared) -> None:
        """Write one item's request; refuse what a batch cannot send."""
        if prepared.client is not self.client:
            raise ConfigurationError(
                f"batch item {index}: its dynamic config names another client; a batch runs on "
                "the decorator's client, so every item must use it"
            )
        request = prepared.context.request
        if self._sample is None:
            self.codec.check(request, self.client.endpoint())
            self._sample = request
            self._writer = self.codec.writer(request, self._token)
            self._write(self._writer.begin())
        else:
            self._same_as_sample(index, request, self._sample)
        piece: bytes = self._writer.item(str(index), request)
        self._bytes += len(piece)
        if self._bytes > self.codec.max_bytes:
            raise ConfigurationError(
                f"the batch's requests are larger than {codec_limit(self.codec)} (at item {index}), "
                f"the most {self.codec.label} takes: split the items into several batches"
            )
        self._write(piece)
        self._count += 1

    def _same_as_sample(self, index: int, request: HttpRequest, sample: HttpRequest) -> None:
        if request.url != sample.url:
            raise ConfigurationError(f"batch item {index} goes to another endpoint than item 0; a batch has one")
        ours = {k.lower(): v for k, v in request.headers.items() if k.lower() not in _FREE_HEADERS}
        first = {k.lower(): v for k, v in sample.headers.items() if k.lower() not in _FREE_HEADERS}
        if ours != first:
            names = sorted(k for k in ours.keys() | first.keys() if ours.get(k) != first.get(k))
            raise ConfigurationError(
                f"batch item {index} needs other request headers than item 0 ({', '.join(names)}); "
                "a batch sends one set"
            )

    def _write(self, data: bytes) -> None:
        self._buffer.write(data)

    def finish(self) -> Payload:
        """The whole payload (the buffer itself, not a copy of it)."""
        assert self._sample is not None and self._writer is not None
        self._write(self._writer.end())
        body = self._buffer.getvalue()
        self._buffer = io.BytesIO()
        return Payload(body, self._writer.content_type, self._count, self._sample)


def codec_limit(codec: BatchCodec) -> str:
    """A batch codec's size limit in words."""
    mb = codec.max_bytes / (1024 * 1024) if codec.max_bytes % (1024 * 1024) == 0 else codec.max_bytes / 1e6
    return f"{mb:g} MB"


def prepare_sync(builder: PayloadBuilder, items: Sequence[Any]) -> Payload:
    """Prepare and write every item, running sync prompt functions."""
    plan = builder.plan
    for index, item in enumerate(items):
        args, kwargs = split_item(index, item, builder.signature)
        start = builder.start()
        builder.add(index, plan.prepare(args, kwargs, plan.fn(*args, **kwargs), start))
    return builder.finish()


async def prepare_async(builder: PayloadBuilder, items: Sequence[Any]) -> Payload:
    """Prepare and write every item, awaiting ``async def`` prompt functions."""
    plan = builder.plan
    for index, item in enumerate(items):
        args, kwargs = split_item(index, item, builder.signature)
        start = builder.start()
        result = plan.fn(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        builder.add(index, plan.prepare(args, kwargs, result, start))
    return builder.finish()
