"""A batch on a provider's batch engine: submit, poll, wait, cancel, read results.

``submit`` prepares every item as the plain call would (:mod:`.items`), uploads the
payload and creates the batch; the :class:`BatchJob` it returns polls the batch, and
once the batch is done decodes each result through the plain call's codec into the
plain call's result (response, response model or parser output), in input order,
with an error in the slot of each item that failed. Results are priced at the batch
price. Decoding re-runs the prompt function of each item, so responses carry their
``fn_args`` and ``messages`` without the job keeping every request in memory. A job
resumed without its items decodes from the decorator's settings, with each item's
messages and request body read back where the provider keeps them (OpenAI, Azure
OpenAI, Groq and Mistral keep the input file; Anthropic and Gemini nothing to read);
``fn_args`` then stay empty, as no request holds the function's arguments.
"""
# Arguments are checked at run time too (callers may be untyped):
# pyright: reportUnnecessaryIsInstance=false
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

import inspect
import logging
import secrets
import time
from collections.abc import Callable, Sequence, Sized
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from ..._model.wire import dumps
from ..._model.http import HttpRequest
from ..._model.batch import BatchResults, BatchStatus, ItemResult
from ..._model.errors import (
    APIError,
    APITimeoutError,
    ConfigurationError,
    MinicallError,
    ResponseFormatError,
    error_for_status,
)
from ..client import BaseClient
from ..pipeline import CallPlan, finish
from ..request_options import encode_request
from ..response import CallContext
from ..send import sleep_async
from .drive import Link, run_async, run_sync
from .items import PayloadBuilder, batch_client, plan_of, prepare_async, prepare_sync, split_item

if TYPE_CHECKING:
    from ..._codecs.batch import BatchCodec, Step

__all__ = ["BatchJob", "resume", "submit", "submit_async"]

log = logging.getLogger("minicall")

ProgressHook = Callable[[BatchStatus], Any]


class BatchJob:
    """One batch on its provider's engine (``batch.submit`` or ``batch.resume`` makes it).

    ``id`` is the provider's batch id: persist it to :func:`resume` the job elsewhere.
    ``last_status`` is the status last read (``None`` for a resumed job not yet polled).
    ``plan``, ``link`` and ``sample`` are the machinery's: the decorated function's call
    plan, the client link, and the request that stands for every item.
    """

    def __init__(
        self,
        plan: CallPlan,
        codec: BatchCodec,
        link: Link,
        sample: HttpRequest,
        batch_id: str,
        items: Sequence[Any] | None,
        status: BatchStatus | None = None,
    ) -> None:
        self.plan = plan
        self._codec = codec
        self.link = link
        self.sample = sample
        self.id = batch_id
        self.items = items
        """The items it was submitted (or resumed) with, when known."""
        self.last_status = status

    @property
    def provider(self) -> str:
        """The provider running the batch."""
        return self.link.client.provider

    def __repr__(self) -> str:
        state = self.last_status.state if self.last_status is not None else "unknown"
        return f"BatchJob({self.provider}, id={self.id!r}, state={state!r})"

    # -- status and cancel -----------------------------------------------------------

    def status(self) -> BatchStatus:
        """The batch's status, read from the provider now."""
        return self._seen(run_sync(self.link, self._codec.status(self.sample, self.id)))

    async def status_async(self) -> BatchStatus:
        """The asynchronous twin of :meth:`status`."""
        return self._seen(await run_async(self.link, self._codec.status(self.sample, self.id)))

    def cancel(self) -> BatchStatus:
        """Ask the provider to cancel the batch; requests already run keep their results."""
        return self._seen(run_sync(self.link, self._codec.cancel(self.sample, self.id)))

    async def cancel_async(self) -> BatchStatus:
        """The asynchronous twin of :meth:`cancel`."""
        return self._seen(await run_async(self.link, self._codec.cancel(self.sample, self.id)))

    def _seen(self, status: BatchStatus) -> BatchStatus:
        self.last_status = status
        return status

    # -- waiting ----------------------------------------------------------------------

    def wait(
        self,
        poll_interval: float = 30.0,
        timeout: float | None = None,
        on_progress: ProgressHook | None = None,
    ) -> list[Any]:
        """Poll until the batch is done and return its results, in input order.

        Each result is what the plain call returns (a response, a response model
        instance or the parser's output), or the :class:`~minicall.MinicallError` of
        an item that failed. ``on_progress(status)`` runs after each poll, and each
        poll is logged at INFO on the ``minicall`` logger. Past ``timeout`` seconds,
        ``APITimeoutError`` is raised and the batch keeps running on the provider.
        """
        deadline = _deadline(poll_interval, timeout)
        while True:
            status = self._polled(self.status(), on_progress)
            if status.done:
                return self.results()
            time.sleep(self._pause(poll_interval, deadline))

    async def wait_async(
        self,
        poll_interval: float = 30.0,
        timeout: float | None = None,
        on_progress: ProgressHook | None = None,
    ) -> list[Any]:
        """The asynchronous twin of :meth:`wait` (an ``async def`` ``on_progress`` is awaited)."""
        deadline = _deadline(poll_interval, timeout)
        while True:
            status = self._polled(await self.status_async(), None)
            if on_progress is not None:
                outcome = on_progress(status)
                if inspect.isawaitable(outcome):
                    await outcome
            if status.done:
                return await self.results_async()
            await sleep_async(self._pause(poll_interval, deadline))

    def _polled(self, status: BatchStatus, on_progress: ProgressHook | None) -> BatchStatus:
        total = "?" if status.total is None else str(status.total)
        log.info(
            "minicall batch %s (%s): %s, %d of %s finished, %d failed",
            status.id, self.provider, status.state, status.finished, total, status.failed,
        )
        if on_progress is not None:
            on_progress(status)
        return status

    def _pause(self, poll_interval: float, deadline: float | None) -> float:
        if deadline is None:
            return poll_interval
        left = deadline - time.monotonic()
        if left <= 0:
            raise APITimeoutError(
                f"batch {self.id} ({self.provider}) is still {self._state()} after the wait's timeout; "
                "it keeps running: resume it later with batch.resume(fn, job.id)"
            )
        return min(poll_interval, left)

    def _state(self) -> str:
        return self.last_status.state if self.last_status is not None else "unknown"

    # -- results ------------------------------------------------------------------------

    def results(self) -> list[Any]:
        """The results of a batch that is done (see :meth:`wait`), fetched now."""
        status = self._done_status()
        found = run_sync(self.link, self._codec.results(self.sample, status))
        inputs: BatchResults | None = None
        step = self._inputs(status, found)
        if step is not None:
            try:
                inputs = run_sync(self.link, step)
            except MinicallError as exc:
                _unrecovered(self.id, exc)
        decoder = _Decoder(self, status, found, inputs)
        out: list[Any] = []
        for index in range(decoder.count):
            context = decoder.context_sync(index)
            out.append(decoder.result(index, context))
        return out

    async def results_async(self) -> list[Any]:
        """The asynchronous twin of :meth:`results`."""
        status = self._done_status()
        found = await run_async(self.link, self._codec.results(self.sample, status))
        inputs: BatchResults | None = None
        step = self._inputs(status, found)
        if step is not None:
            try:
                inputs = await run_async(self.link, step)
            except MinicallError as exc:
                _unrecovered(self.id, exc)
        decoder = _Decoder(self, status, found, inputs)
        out: list[Any] = []
        for index in range(decoder.count):
            context = await decoder.context_async(index)
            result = decoder.result(index, context)
            if inspect.isawaitable(result):
                result = await result  # an ``async def`` output parser
            out.append(result)
        return out

    def _inputs(self, status: BatchStatus, found: BatchResults) -> Step[BatchResults] | None:
        """Without its items, a job reads its requests back where the provider keeps
        them (an input file), for the messages and body each response reports."""
        if self.items is not None or not any(r.status == 200 for r in found.items):
            return None
        return self._codec.inputs(self.sample, status)

    def _done_status(self) -> BatchStatus:
        status = self.last_status
        if status is None or not status.done:
            raise ConfigurationError(
                f"batch {self.id} is {self._state()}, not done: wait for it (job.wait()) before reading results"
            )
        if status.state == "failed":
            raise APIError(
                f"batch {self.id} failed: {status.error or 'the provider gave no reason'}",
                provider=self.provider,
                body=dict(status.raw),
            )
        return status


class _Decoder:
    """Turns one batch's item results into the plain call's results, in input order."""

    def __init__(self, job: BatchJob, status: BatchStatus, found: BatchResults, inputs: BatchResults | None) -> None:
        self.job = job
        self.status = status
        self.found = found
        # custom_id -> the request body the item was sent with (a job without items)
        self.bodies: dict[str, dict[str, Any]] = {}
        for request in inputs.items if inputs is not None else ():
            body: object = request.body
            if request.status == 200 and isinstance(body, dict):
                self.bodies.setdefault(request.custom_id, cast("dict[str, Any]", body))
        by_id: dict[str, ItemResult] = {}
        for item in found.items:
            by_id.setdefault(item.custom_id, item)  # a custom_id twice: the first line counts
        self.by_id = by_id
        items = job.items
        if items is not None:
            self.count = len(items)
        else:
            ids = [int(k) for k in self.by_id if k.isdigit()]
            self.count = max(max(ids, default=-1) + 1, status.total or 0)
        plan = job.plan
        self.static: CallContext | None = None
        if items is None:
            tool_types, spec = plan.static_shape()
            self.static = CallContext(
                provider=job.provider,
                model=plan.settings.model,
                spec=spec,
                codec=job.link.client.codec,
                request=job.sample,
                tool_types=tool_types,
                batch=True,
            )

    def _args(self, index: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
        assert self.job.items is not None
        return split_item(index, self.job.items[index], inspect.signature(self.job.plan.fn))

    def _prompt(self, index: int) -> tuple[tuple[Any, ...], dict[str, Any], Any] | None:
        """The item's arguments and what its prompt function returned (``None``: no
        prompt to run, the item has no successful result or the job has no items)."""
        if self.static is not None or not self._ran(index):
            return None
        args, kwargs = self._args(index)
        return args, kwargs, self.job.plan.fn(*args, **kwargs)

    def _context(self, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> CallContext:
        prepared = self.job.plan.prepare(args, kwargs, result, time.time() * 1000)
        return replace(prepared.context, batch=True)

    def _recovered(self, index: int) -> CallContext | None:
        """The static context, with the item's messages and body where they were read
        back (``fn_args`` stay empty: a request does not hold the function's arguments)."""
        static = self.static
        body = self.bodies.get(str(index))
        if static is None or body is None:
            return static
        messages = body.get("messages")
        spec = static.spec
        if isinstance(messages, list):
            listed = cast("list[object]", messages)
            spec = replace(spec, messages=tuple(cast("dict[str, Any]", m) for m in listed if isinstance(m, dict)))
        return replace(static, spec=spec, request=replace(static.request, body=dumps(body)))

    def context_sync(self, index: int) -> CallContext | None:
        run = self._prompt(index)
        if run is None:
            return self._recovered(index)
        args, kwargs, result = run
        if inspect.isawaitable(result):
            getattr(result, "close", lambda: None)()  # never awaited: no "never awaited" warning
            raise ConfigurationError(
                f"{self.job.plan.fn.__name__} is an async def function: read its batch with await job.wait_async()"
            )
        return self._context(args, kwargs, result)

    async def context_async(self, index: int) -> CallContext | None:
        run = self._prompt(index)
        if run is None:
            return self._recovered(index)
        args, kwargs, result = run
        if inspect.isawaitable(result):
            result = await result
        return self._context(args, kwargs, result)

    def _ran(self, index: int) -> bool:
        found = self.by_id.get(str(index))
        return found is not None and found.status == 200

    def result(self, index: int, context: CallContext | None) -> Any:
        provider = self.job.provider
        found = self.by_id.get(str(index))
        if found is None:
            return self._missing(index)
        if found.error is not None:
            return found.error
        if found.status != 200:
            message = found.message or f"the request failed (status {found.status})"
            if found.status is None:
                return APIError(message, provider=provider, body=found.body, request_id=found.request_id)
            return error_for_status(found.status)(
                message, status_code=found.status, provider=provider, body=found.body, request_id=found.request_id
            )
        assert context is not None
        try:
            return finish(self.job.plan.settings, context, dumps(found.body), {})
        except MinicallError as exc:
            return exc


    def _missing(self, index: int) -> MinicallError:
        provider = self.job.provider
        lost = self.found
        if lost.unreadable:
            shown = "; ".join(lost.problems)
            more = f" (and {lost.unreadable - len(lost.problems)} more)" if lost.unreadable > len(lost.problems) else ""
            return ResponseFormatError(
                provider,
                "batch results",
                f"no readable result for item {index}: {lost.unreadable} line(s) of batch {self.job.id}'s "
                f"results could not be read, perhaps its own among them: {shown}{more}",
            )
        return APIError(
            f"batch {self.job.id} has no result for item {index} (the batch {self.status.state} before it ran)",
            provider=provider,
        )


def _unrecovered(batch_id: str, exc: MinicallError) -> None:
    # The results are what was asked for; the requests only add messages to them.
    log.warning("minicall batch %s: its requests could not be read back (%s); results without messages", batch_id, exc)


def _deadline(poll_interval: float, timeout: float | None) -> float | None:
    if not poll_interval >= 0:
        raise ConfigurationError(f"poll_interval must be seconds >= 0, got {poll_interval!r}")
    if timeout is not None and not timeout >= 0:
        raise ConfigurationError(f"timeout must be seconds >= 0, got {timeout!r}")
    return None if timeout is None else time.monotonic() + timeout


# -- submit and resume ----------------------------------------------------------------


def _codec_for(client: BaseClient) -> BatchCodec:
    from ..._codecs.batch import batch_codec  # codecs load on first use

    # The client's provider: an AzureOpenAI SDK client behind openai.call batches on Azure.
    return batch_codec(client.provider)


def _setup(fn: Any, items: object, asynchronous: bool) -> tuple[CallPlan, BatchCodec, Link, PayloadBuilder]:
    plan = plan_of(fn, asynchronous=asynchronous)
    client = batch_client(plan)
    codec = _codec_for(client)
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise ConfigurationError(
            f"batch items must be a list (of kwargs dicts or args tuples), got {type(items).__name__}"
        )
    builder = PayloadBuilder(plan, codec, client, len(cast("Sized", items)), secrets.token_hex(16))
    return plan, codec, Link(plan.settings, client), builder


def submit(fn: Callable[..., Any], items: Sequence[Any]) -> BatchJob:
    """Run ``fn`` once per item on its provider's batch engine; returns the job.

    ``items`` holds a dict of keyword arguments or a tuple of positional arguments per
    call. Every item is checked and prepared (exactly the request the plain call
    would send) before anything is uploaded.
    """
    plan, codec, link, builder = _setup(fn, items, asynchronous=False)
    payload = prepare_sync(builder, items)
    status = run_sync(link, codec.submit(payload.sample, payload.body, payload.content_type))
    return BatchJob(plan, codec, link, payload.sample, status.id, items, status)


async def submit_async(fn: Callable[..., Any], items: Sequence[Any]) -> BatchJob:
    """The asynchronous twin of :func:`submit` (for ``async def`` functions too)."""
    plan, codec, link, builder = _setup(fn, items, asynchronous=True)
    payload = await prepare_async(builder, items)
    status = await run_async(link, codec.submit(payload.sample, payload.body, payload.content_type))
    return BatchJob(plan, codec, link, payload.sample, status.id, items, status)


def resume(fn: Callable[..., Any], batch_id: str, items: Sequence[Any] | None = None) -> BatchJob:
    """The job of a batch submitted earlier (perhaps by another process).

    With the ``items`` it was submitted with, results carry their ``fn_args`` and
    messages as from :func:`submit`. Without them, results decode from the
    decorator's settings: ``fn_args`` empty, and ``messages`` (the provider's message
    dicts) and ``call_kwargs`` read back from the batch's input file where the
    provider keeps it (OpenAI, Azure OpenAI, Groq, Mistral), empty elsewhere
    (Anthropic, Google). No request is sent until the job is polled.
    """
    if not batch_id or type(batch_id) is not str:  # untyped callers pass anything
        raise ConfigurationError(f"batch.resume needs the batch id job.id gave, got {batch_id!r}")
    plan = plan_of(fn, asynchronous=True)
    client = batch_client(plan)
    codec = _codec_for(client)
    _, spec = plan.static_shape()
    sample = encode_request(client.codec, spec, client.endpoint())
    codec.check(sample, client.endpoint())
    return BatchJob(plan, codec, Link(plan.settings, client), sample, batch_id, items)
