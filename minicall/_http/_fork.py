"""Connection pools never cross ``os.fork()``.

After a fork, parent and child hold the same pooled sockets: two calls at once would
read each other's replies. Each transport registers here, and in the child every live
one drops its pools (``reset_after_fork``) before any code of the child runs.
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


_LIVE: weakref.WeakSet[_Pooling] = weakref.WeakSet()


def forget_pools_after_fork(transport: _Pooling) -> None:
    """Have ``transport.reset_after_fork()`` run in every child forked from now on."""
    _LIVE.add(transport)


def _in_child() -> None:
    for transport in list(_LIVE):
        transport.reset_after_fork()


if hasattr(os, "register_at_fork"):  # POSIX only; Windows has no fork
    os.register_at_fork(after_in_child=_in_child)
