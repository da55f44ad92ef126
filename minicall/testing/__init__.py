"""Testing helpers: a loopback server that speaks every provider's wire format.

::

    from minicall.testing import FakeServer, Reply, ToolCallReply, ErrorReply

    with FakeServer() as fake:
        fake.script(Reply(text="Hello"), ErrorReply(429), provider="openai")
        client = fake.client("openai", max_retries=0)
        ...
        assert fake.last.json["model"] == "gpt-4o-mini"
"""

from __future__ import annotations

from ._reply import (
    ErrorReply,
    Fault,
    RawReply,
    RecordedRequest,
    Reply,
    ThinkingReply,
    ToolCallReply,
)
from ._server import FakeServer

__all__ = [
    "ErrorReply",
    "FakeServer",
    "Fault",
    "RawReply",
    "RecordedRequest",
    "Reply",
    "ThinkingReply",
    "ToolCallReply",
]
