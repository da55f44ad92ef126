"""Connection pools never cross ``os.fork()``.

After a fork, parent and child hold the same pooled sockets: two calls at once would
read each other's replies. Each transport registers here, and in the child every live
one drops its pools (``reset_after_fork``) before any code of the child runs.

Why in the child, and why nothing in the parent: the parent's connections stay good as
long as only the parent uses them. The child cannot tell which of its inherited
sockets the parent will use next, so it gives up all of them: the sync transport
closes its copies of the file descriptors, the async one forgets pools whose event
loop is the parent's. Neither calls ``shutdown()`` or sends a TLS close_notify: both
act on the connection the two processes share and would break the parent's next
request. A lost keep-alive
connection costs the child one handshake; a shared one costs a wrong answer.
"""
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

import os
import weakref
from typing import Protocol

__all__ = ["forget_pools_after_fork"]


class _Pooling(Protocol):
    def reset_after_fork(self) -> None: ...


# Weak, so that registering for fork safety never keeps a transport (and its sockets)
# alive.
_LIVE: weakref.WeakSet[_Pooling] = weakref.WeakSet()


def forget_pools_after_fork(transport: _Pooling) -> None:
    """Have ``transport.reset_after_fork()`` run in every child forked from now on."""
    _LIVE.add(transport)


def _in_child() -> None:
    for transport in list(_LIVE):
        transport.reset_after_fork()


if hasattr(os, "register_at_fork"):  # POSIX only; Windows has no fork
    os.register_at_fork(after_in_child=_in_child)
