"""Incremental splitter of a JSONL body into its lines (sans-IO).

A batch's results file can be far larger than any reply, so it is read as it
arrives and never held whole: :class:`LineSplitter` takes the body piece by piece
and hands back each complete line (without its ``\\n``, or ``\\r\\n``). A line longer
than ``max_line`` bytes is not held either: it is skipped to its end and stands as
one :data:`TOO_LONG` in its place, so that the reader can say which line it was and
go on with the next one.
"""

from __future__ import annotations

from typing import Final, final

__all__ = ["TOO_LONG", "LineSplitter", "TooLong"]


@final
class TooLong:
    """Stands for a line longer than the splitter's ``max_line`` (its bytes dropped)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "TOO_LONG"


TOO_LONG: Final = TooLong()


class LineSplitter:
    """Splits bytes into lines as they arrive, each at most ``max_line`` bytes held."""

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._buffer = bytearray()
        self._skipping = False  # inside a line already too long: drop until its end

    def feed(self, data: bytes) -> list[bytes | TooLong]:
        """The lines that ``data`` completes."""
        out: list[bytes | TooLong] = []
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            self._take(data, start, end, out)
            start = end + 1
        rest = len(data) - start
        # + 1: room for the CR of a CRLF whose LF has not arrived yet
        if not self._skipping and len(self._buffer) + rest > self.max_line + 1:
            self._buffer.clear()
            self._skipping = True
        if not self._skipping:
            self._buffer += data[start:]
        return out

    def close(self) -> list[bytes | TooLong]:
        """The body has ended: its last line, when it had no line end."""
        out: list[bytes | TooLong] = []
        if self._skipping:
            out.append(TOO_LONG)
        elif self._buffer:
            line = bytes(self._buffer).removesuffix(b"\r")
            out.append(TOO_LONG if len(line) > self.max_line else line)
        self._buffer.clear()
        self._skipping = False
        return out

    def _take(self, data: bytes, start: int, end: int, out: list[bytes | TooLong]) -> None:
        if self._skipping:
            self._skipping = False
            out.append(TOO_LONG)
            return
        if len(self._buffer) + end - start > self.max_line + 1:  # + 1: a CRLF's CR
            self._buffer.clear()
            out.append(TOO_LONG)
            return
        if self._buffer:
            self._buffer += data[start:end]
            line = bytes(self._buffer)
            self._buffer.clear()
        else:
            line = data[start:end]
        line = line.removesuffix(b"\r")
        out.append(TOO_LONG if len(line) > self.max_line else line)
