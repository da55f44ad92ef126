"""Incremental server-sent events decoder (sans-IO).

Implements the WHATWG HTML Standard, section 9.2.6 "Interpreting an event stream":
bytes are decoded as UTF-8, split into lines ending in CRLF, LF or CR, and each line
is a comment (``:``), a field (``name: value``) or blank (dispatch the event).

Deliberate choices where a streaming client and the browser algorithm differ:

* At :meth:`SSEDecoder.close` an unterminated final line is treated as if it were
  terminated, and an event that has data but no trailing blank line is still
  dispatched. (A browser drops it; an LLM stream cut right after its last ``data:``
  line should not lose that data.)
* Invalid UTF-8 raises :class:`~minicall.ResponseFormatError` rather than being
  replaced with U+FFFD: a provider that sends it is broken, and silently mangled JSON
  would fail later with a worse message.
* A line longer than ``max_line`` characters raises, so a peer that never sends a
  line end cannot grow the buffer without bound; an event whose data is longer than
  ``max_event`` characters raises too, however short its lines. The lines of a long
  event are joined a thousand at a time as they arrive, so holding an event costs
  about its own size, not a Python string per line (eight times that for short lines).
* ``retry`` belongs to the event whose block carried it (the browser keeps it as a
  reconnection setting); ``id`` follows the spec's "last event ID" and persists from
  one event to the next.
* With ``keep_stray``, the lines the spec ignores as unknown fields are kept for
  :meth:`SSEDecoder.take_stray`: Google's stream ends with a bare JSON error object,
  one line at a time outside any ``data:`` line, when it fails after it began (the
  google-genai SDK reads it the same way).

How it works: bytes go through an incremental UTF-8 decoder first (it holds back a
multi-byte character split across two feeds), then the text is cut into lines. The
decoder's state between calls is small and always the same shape: ``_partial`` is the
unterminated end of the last feed, ``_skip_lf`` says the last feed ended in CR, and
``_event``/``_data``/``_retry`` are the spec's event-type and data buffers for the
block being read. Nothing is ever re-scanned, so feeding one byte at a time gives the
same events in linear time.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from .._model.errors import ResponseFormatError

__all__ = ["SSEDecoder", "ServerSentEvent"]

_PROVIDER = "sse"
_LINE_END = re.compile(r"\r\n|\r|\n")
# Generous caps (a whole completion fits in one event many times over) that still stop
# a broken or hostile server from making the client buffer without end.
_DEFAULT_MAX_LINE = 16 * 1024 * 1024
_DEFAULT_MAX_EVENT = 16 * 1024 * 1024
# Data lines held one string each before they are joined into one (see _data_line).
_JOIN_EVERY = 1024


@dataclass(slots=True)
class ServerSentEvent:
    """One dispatched event; ``data`` lines are joined with ``"\\n"``.

    A plain slotted dataclass (treat it as immutable): one is built per event on the
    streaming hot path, and a frozen one costs three times as much to construct.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Bytes in, :class:`ServerSentEvent` out; any split of the input gives the same events.

    ``feed`` returns the events completed by the new bytes; ``close`` returns what the
    end of the stream completes (see the module notes).
    """

    __slots__ = (
        "_data",
        "_data_len",
        "_event",
        "_joined",
        "_last_id",
        "_max_event",
        "_max_line",
        "_partial",
        "_partial_len",
        "_retry",
        "_skip_lf",
        "_started",
        "_stray",
        "_utf8",
    )

    def __init__(
        self, max_line: int = _DEFAULT_MAX_LINE, max_event: int = _DEFAULT_MAX_EVENT, *, keep_stray: bool = False
    ) -> None:
        self._max_line = max_line
        self._max_event = max_event
        self._stray: list[str] | None = [] if keep_stray else None
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._started = False
        # A CR ends a line at once; an LF right after it (maybe in the next feed) is
        # the second half of a CRLF and must not end an empty line too.
        self._skip_lf = False
        # Pieces of an unterminated line, joined only once its end arrives, so that a
        # long line fed in small pieces costs linear time.
        self._partial: list[str] = []
        self._partial_len = 0
        self._event = ""
        self._data: list[str] = []
        # Earlier data lines of the current event, joined in groups, and the length of
        # the event's data so far (one more per line, for the newline joining them).
        self._joined: list[str] = []
        self._data_len = 0
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Decode ``data`` and return the events it completes."""
        return self._text(self._decode(data, final=False))

    def close(self) -> list[ServerSentEvent]:
        """End of stream: finish the last line and dispatch a pending event with data."""
        events = self._text(self._decode(b"", final=True))
        if self._partial:
            line = "".join(self._partial)
            self._partial = []
            self._partial_len = 0
            self._line(line, events)
        if self._data:
            self._dispatch(events)
        return events

    def take_stray(self) -> list[str]:
        """The unknown-field lines seen since the last call (always ``[]`` without ``keep_stray``)."""
        stray = self._stray
        if not stray:
            return []
        self._stray = []
        return stray

    def _decode(self, data: bytes, *, final: bool) -> str:
        try:
            text = self._utf8.decode(data, final)
        except UnicodeDecodeError as exc:
            raise ResponseFormatError(
                _PROVIDER, "", f"invalid UTF-8 ({exc.reason})", repr(data[:60])
            ) from None
        # The spec ignores one U+FEFF at the very start of the stream only; a BOM later
        # on is content. "Start" is the first non-empty decoded text, since the BOM's
        # three bytes may arrive in separate feeds.
        if not self._started and text:
            self._started = True
            if text[0] == "\ufeff":
                text = text[1:]
        return text

    def _text(self, text: str) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        if not text:
            return events
        # The previous feed ended in CR and that line is already done: an LF first
        # here completes the CRLF and is dropped, or it would end an empty line and
        # dispatch the event early.
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return events
        # Servers end lines with "\n" nearly always: str.split finds those several
        # times faster than the regex that also knows "\r\n" and a lone "\r".
        pieces = _LINE_END.split(text) if "\r" in text else text.split("\n")
        if len(pieces) == 1:
            self._grow(text)
            return events
        # The first line started in an earlier feed.
        if self._partial:
            pieces[0] = "".join(self._partial) + pieces[0]
            self._partial = []
            self._partial_len = 0
        self._skip_lf = text[-1] == "\r"
        # The last piece has no line end yet (it is "" when the text ended in one).
        tail = pieces.pop()
        # The common lines (data, event, blank) are handled inline: a stream of many
        # small events spends most of its decoding time in per-line calls otherwise.
        line_limit = self._max_line
        data = self._data
        for line in pieces:
            # An over-long line (possibly one just joined with ``_partial``) goes the
            # slow way so that _line raises the "too long" error.
            if line.startswith("data:") and len(line) <= line_limit:
                self._data_line(line[6:] if line[5:6] == " " else line[5:])
            elif not line and data:
                self._dispatch(events)
                data = self._data
            else:
                self._line(line, events)
                data = self._data  # a dispatch there starts a new list
        if tail:
            self._grow(tail)
        return events

    def _grow(self, piece: str) -> None:
        # Checked per piece, not at the line end: a drip server that never sends a
        # line end must hit the cap while the line is still arriving.
        self._partial.append(piece)
        self._partial_len += len(piece)
        if self._partial_len > self._max_line:
            raise self._too_long(self._partial[0])

    def _too_long(self, line: str) -> ResponseFormatError:
        problem = f"line longer than {self._max_line} characters"
        return ResponseFormatError(_PROVIDER, "", problem, line[:60])

    def _line(self, line: str, events: list[ServerSentEvent]) -> None:
        if not line:
            # A blank line ends the block. With no data line in it there is nothing to
            # dispatch (the spec: "If the data buffer is an empty string ... return"),
            # but the block's event name and retry are still dropped with it.
            if self._data:
                self._dispatch(events)
            else:
                self._event = ""
                self._retry = None
            return
        if len(line) > self._max_line:
            raise self._too_long(line)
        if line[0] == ":":
            return
        # A line without a colon is a field with an empty value; exactly one space
        # after the colon is dropped, further spaces are part of the value.
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        # The spec's own field order; anything else is ignored (kept with keep_stray).
        if name == "data":
            self._data_line(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            # The spec ignores an id containing NUL, keeping the previous one.
            if "\x00" not in value:
                self._last_id = value
        # ASCII digits only: str.isdigit alone accepts "²" or Arabic-Indic digits,
        # which the spec's "only ASCII digits" rejects (and int() may not parse).
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self._retry = int(value)
        elif self._stray is not None:
            self._stray.append(line)

    def _data_line(self, value: str) -> None:
        # Counted before it is stored, so that the cap holds for an event made of
        # many short lines, which the line cap alone would never catch.
        size = self._data_len = self._data_len + len(value) + 1
        if size > self._max_event:
            raise ResponseFormatError(
                _PROVIDER, "", f"event data longer than {self._max_event} characters", value[:60]
            )
        data = self._data
        data.append(value)
        if len(data) > _JOIN_EVERY:
            # Keep the newest line in the list: a non-empty list means "has data".
            self._joined.append("\n".join(data[:-1]))
            del data[:-1]

    def _dispatch(self, events: list[ServerSentEvent]) -> None:
        data = self._data
        if self._joined:
            data = [*self._joined, *data]
            self._joined = []
        # The spec's data buffer ends every line with LF and drops the last one at
        # dispatch; joining with "\n" gives the same string. The last event ID is not
        # reset: it belongs to the stream, not to one event.
        events.append(
            ServerSentEvent(
                self._event or "message",
                data[0] if len(data) == 1 else "\n".join(data),
                self._last_id,
                self._retry,
            )
        )
        self._event = ""
        self._data = []
        self._data_len = 0
        self._retry = None
