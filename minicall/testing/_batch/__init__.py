"""The providers' batch endpoints, simulated by FakeServer.

A batch engine keeps state (uploaded files, batches), so it lives beside the pure
wire formats rather than in them, and answers each request through them: every item
of a batch is answered, when the batch is created, by the next scripted reply for
its provider (or the echo), rendered by the provider's own format as the plain call
would have been answered. An :class:`~minicall.testing.ErrorReply` makes that item
fail in its slot. A batch reports itself running for ``polls`` polls (see
:meth:`FakeServer.script_batch <minicall.testing.FakeServer.script_batch>`), then
ends as scripted: ``"ended"`` (every item answered), ``"expired"`` (none ran) or
``"failed"`` (the batch is rejected as a whole). A cancelled batch ends cancelled on
the next poll, with no item run. Scripted ``garbage`` lines open the results file,
ahead of the answers (a line naming an item there is the first line for it).

Each provider's engine (``openai.py`` for the OpenAI batch API that Azure OpenAI and
Groq serve too, ``anthropic.py``, ``google.py``, ``mistral.py``) checks what it
receives as the provider documents it, so a malformed batch fails here as it would
there.
"""

from __future__ import annotations

import importlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .._formats import Rendered, WireFormat, json_bytes
from .._reply import ErrorReply, RecordedRequest, Reply

__all__ = [
    "BatchEngine",
    "BatchItem",
    "BatchPlan",
    "BatchRecord",
    "Batches",
    "OUTCOMES",
    "Outcome",
    "error_reply",
    "iso_time",
    "json_reply",
]

Outcome = Literal["ended", "expired", "failed"]
OUTCOMES: Mapping[str, Outcome] = {"ended": "ended", "expired": "expired", "failed": "failed"}


@dataclass(frozen=True)
class BatchPlan:
    """How the next batch behaves: running for ``polls`` polls, then ``outcome``."""

    polls: int = 1
    outcome: Outcome = "ended"
    error: str = "Scripted batch failure from FakeServer."
    garbage: tuple[str, ...] = ()
    """Lines written at the start of the results file (a broken results file)."""


@dataclass
class BatchItem:
    """One request of a batch and the answer it got: ``status`` and the JSON ``body``."""

    custom_id: str
    request: Any
    status: int = 0
    body: Any = None


@dataclass
class BatchRecord:
    """A batch as the fake keeps it."""

    id: str
    provider: str
    items: list[BatchItem]
    plan: BatchPlan
    created: float
    extra: dict[str, Any] = field(default_factory=dict[str, Any])
    polls_left: int = 0
    state: Literal["running", "cancelling", "ended", "expired", "failed", "cancelled"] = "running"
    invalid: str | None = None

    def poll(self) -> None:
        """Advance the batch by one poll."""
        if self.state == "cancelling":
            self.state = "cancelled"
        elif self.state == "running":
            if self.polls_left > 0:
                self.polls_left -= 1
            elif self.invalid is not None:
                self.state = "failed"
            else:
                self.state = self.plan.outcome

    @property
    def ran(self) -> bool:
        """Whether the items were answered (an ended batch)."""
        return self.state == "ended"


class BatchEngine(Protocol):
    """One provider's batch endpoints."""

    def answer(self, batches: Batches, fmt: WireFormat, request: RecordedRequest) -> Rendered | None: ...


# provider -> engine module (in this package) and attribute.
_ENGINES: Mapping[str, tuple[str, str]] = {
    "openai": ("openai", "ENGINE"),
    "azure": ("openai", "ENGINE"),
    "groq": ("openai", "ENGINE"),
    "anthropic": ("anthropic", "ENGINE"),
    "google": ("google", "ENGINE"),
    "mistral": ("mistral", "ENGINE"),
}


class Batches:
    """Every batch and file one FakeServer holds; engines read and write it under its lock."""

    def __init__(self, next_reply: Callable[[str], Any], base_url: Callable[[str], str]) -> None:
        self.lock = threading.RLock()
        self.files: dict[str, tuple[str, bytes]] = {}
        self.batches: dict[str, BatchRecord] = {}
        self.plans: deque[BatchPlan] = deque()
        self._ids = itertools.count(1)
        self._next_reply = next_reply
        self.base_url = base_url

    def new_id(self, prefix: str) -> str:
        """A fresh id: ``prefix`` plus a counter."""
        return f"{prefix}{next(self._ids):06d}"

    def answer(self, fmt: WireFormat, request: RecordedRequest) -> Rendered | None:
        """The batch endpoint's answer, or ``None`` when ``request`` is not for one."""
        found = _ENGINES.get(request.provider)
        if found is None:
            return None
        engine: BatchEngine = getattr(importlib.import_module(f"{__name__}.{found[0]}"), found[1])
        with self.lock:
            return engine.answer(self, fmt, request)

    def create(self, provider: str, batch_id: str, items: list[BatchItem], fmt: WireFormat, **extra: Any) -> BatchRecord:
        """Record a new batch, answering each item with the next scripted reply."""
        plan = self.plans.popleft() if self.plans else BatchPlan()
        for n, item in enumerate(items):
            self._answer_item(provider, fmt, item, n)
        record = BatchRecord(batch_id, provider, items, plan, time.time(), dict(extra), plan.polls)
        if plan.outcome == "failed":
            record.invalid = plan.error
        self.batches[batch_id] = record
        return record

    def _answer_item(self, provider: str, fmt: WireFormat, item: BatchItem, n: int) -> None:
        synthetic: RecordedRequest = item.request
        reply = self._next_reply(provider)
        if reply is None:
            reply = Reply(text="echo: " + fmt.last_user_text(synthetic))
        if isinstance(reply, Reply):
            rendered = fmt.render(reply, synthetic)
        elif isinstance(reply, ErrorReply):
            rendered = fmt.render_error(reply, synthetic)
        else:
            raise TypeError(f"a batch item can be answered by Reply or ErrorReply, not {type(reply).__name__}")
        item.status = rendered.status
        item.body = json.loads(rendered.body)


def item_request(path: str, body: Any, provider: str, index: int) -> RecordedRequest:
    """The request a batch item stands for, as the plain call would have sent it."""
    raw = json_bytes(body)
    return RecordedRequest(
        method="POST", path=path, raw_path=f"/{provider}{path}", query={}, headers={"content-type": "application/json"},
        body=raw, json=body, provider=provider, index=index,
    )


def iso_time(seconds: float) -> str:
    """RFC 3339 UTC time, as the providers write timestamps."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def error_reply(fmt: WireFormat, request: RecordedRequest, status: int, message: str) -> Rendered:
    """The provider's error response, in its own error shape."""
    return fmt.render_error(ErrorReply(status, message), request)


def json_reply(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Rendered:
    """A JSON response."""
    return Rendered(status, {"content-type": "application/json", **(headers or {})}, json_bytes(body))
