"""A sans-IO HTTP/1.1 response reader (RFC 9112) and body content decoders.

Bytes go in through :meth:`ResponseParser.feed`, events come out: one :class:`Head`,
any number of :class:`Data`, then one :class:`End`. The caller owns the socket and
tells the parser about end of file with :meth:`ResponseParser.close`. Any split of
the input gives the same events (modulo how :class:`Data` is cut).

Errors: bytes that are not an HTTP/1.1 response (bad status line, bad header, bad
chunk size, a body cut short by end of file) raise :class:`~minicall.APIConnectionError`,
not ``ResponseFormatError``: the *transport* broke, the provider's format was never
reached, and the retry layer treats it like any other broken connection. The same
holds for :class:`BodyDecoder` on a corrupt gzip/deflate stream. Only an oversized
body raises ``ResponseFormatError`` (see :class:`BodyDecoder`).

The parser reads exactly one response. Bytes after its end are kept in
:attr:`ResponseParser.unused` and never parsed: a server has no business sending them
(we never pipeline), so a connection with such bytes must not be reused.

How it works: the parser is a small state machine whose state is the method that reads
next (head, fixed-length body, chunk size, chunk data, chunk end, trailers, or
read-to-close). Each state consumes what it can from one ``bytearray`` and says whether
it made progress; ``feed`` runs states until one needs more bytes. Between calls the
buffer holds only bytes no state could use yet, and ``_remaining`` the bytes still owed
by the current Content-Length body or chunk. Once ``done`` is set nothing more is
parsed: the framing decided where this response ends, and anything beyond belongs to
no response we asked for.
"""
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from .._model.errors import APIConnectionError, ResponseFormatError

__all__ = ["BodyDecoder", "Data", "End", "Event", "Head", "ResponseParser"]

# Generous bounds: a real head is a few hundred bytes; these stop a hostile peer from
# growing our buffer without limit while we wait for a line end.
MAX_HEAD_BYTES = 64 * 1024
MAX_LINE_BYTES = 8 * 1024
# Interim replies (100 Continue, 103 Early Hints) before the real head: a server has
# reason to send one or two, never an endless run.
MAX_INTERIM = 16

# RFC 9112 §4: status-line = HTTP-version SP status-code SP [reason-phrase]. The reason
# is optional and may be empty, and a missing SP after the code is tolerated: some
# servers send 'HTTP/1.1 200' and the reason means nothing anyway (RFC 9112 §4: a client
# SHOULD ignore it).
_STATUS_LINE = re.compile(rb"HTTP/(1\.[01]) ([0-9]{3})(?: ([^\r\n]*))?")
# RFC 9112 §7.1: chunk-size [BWS ; chunk-ext]. Extensions are skipped (a recipient MUST
# ignore the ones it does not know). At most 16 hex digits, a 64-bit size: a longer
# one is garbage, not a big chunk.
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")
_LINE_END = re.compile(rb"\r?\n")
# The blank line ending the head, found by its LFs (a literal first byte is a fast scan);
# a CR before the first LF belongs to it too.
_HEAD_END = re.compile(rb"\n\r?\n")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TEXT_LINE_END = re.compile(r"\r?\n")
# The fields that decide where the body ends and whether the connection lives on (RFC
# 9112 §6.3, §9.3). Only these are split into list items: a comma in any other value (a
# date, say) is just text.
_FRAMING_FIELDS = frozenset({"connection", "transfer-encoding", "content-length"})


# Plain slotted classes: one of each is made per response, and frozen dataclasses
# cost several times as much to construct.
@dataclass(slots=True)
class Head:
    """The status line and header fields (names lower-cased, in arrival order)."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    http_version: str = "1.1"


@dataclass(slots=True)
class Data:
    """A piece of the (still content-encoded) body."""

    data: bytes


@dataclass(slots=True)
class End:
    """The body is complete."""


Event = Head | Data | End


def _is_length(value: str) -> bool:
    # ASCII digits only: str.isdigit() accepts "²" (Latin-1 0xB2), which int() refuses.
    return value.isascii() and value.isdigit() and len(value) < 19


def _broken(problem: str) -> APIConnectionError:
    return APIConnectionError(f"malformed HTTP response: {problem}")


class ResponseParser:
    """Reads one HTTP/1.x response, fed in arbitrary pieces.

    ``method`` is the request's method: a reply to ``HEAD`` has no body and a ``2xx``
    reply to ``CONNECT`` opens a tunnel, so neither has a body. Interim ``1xx``
    replies (``100 Continue``, ``103 Early Hints``) are skipped, at most
    ``MAX_INTERIM`` of them.
    """

    def __init__(self, method: str = "GET") -> None:
        self._method = method.upper()
        self._buf = bytearray()
        # The state is the method that consumes the buffer next; each returns False
        # when it needs more bytes.
        self._state: Callable[[list[Event]], bool] = self._read_head
        self._remaining = 0  # bytes left in the Content-Length body or the current chunk
        self._interim = 0
        self.head: Head | None = None
        # received_any tells the transports whether the server sent a single byte: a
        # reused connection that closes before any byte was closed while idle and may be
        # retried; once a byte arrived the request was seen and must not be resent.
        self.received_any = False
        self.keep_alive = False
        self.done = False
        self.unused = b""

    # -- public -----------------------------------------------------------------

    def feed(self, data: bytes) -> list[Event]:
        """Consume ``data``; return the events it completes."""
        # Never parsed: bytes after the end of our response are no reply to anything we
        # sent. They are kept so that the transports see them and do not pool the
        # connection.
        if self.done:
            self.unused += data
            return []
        if data:
            self.received_any = True
        self._buf += data
        events: list[Event] = []
        while not self.done and self._state(events):
            pass
        if self.done and self._buf:
            self.unused, self._buf = bytes(self._buf), bytearray()
        return events

    def close(self) -> list[Event]:
        """The peer closed: end a read-until-close body, or raise if one was cut short."""
        if self.done:
            return []
        # RFC 9112 §6.3 (rule 8): a response without Content-Length or chunked framing
        # ends when the server closes. Any other state at end of file is a truncated
        # message, which RFC 9112 §8 says must be recorded as incomplete: it is an
        # error, never a short success.
        if self._state == self._read_to_close:
            events: list[Event] = []
            self._finish(events)
            return events
        if self.head is None:
            raise APIConnectionError("connection closed in the middle of the response head")
        # The sync transport's words for the same cut (http.client's IncompleteRead).
        raise APIConnectionError("connection closed before the body was complete")

    # -- head -------------------------------------------------------------------

    def _read_head(self, events: list[Event]) -> bool:
        buf = self._buf
        # The search restarts from the beginning on each feed; that is bounded by
        # MAX_HEAD_BYTES, and real heads arrive in one or two reads.
        end = _HEAD_END.search(buf)
        if end is None:
            # A header flood: a peer that sends header lines forever (or one endless
            # line) is cut off at the cap, not buffered until memory runs out.
            if len(buf) > MAX_HEAD_BYTES:
                raise _broken("header section too large")
            # A status line can be judged before the head completes: fail early on junk.
            first = _LINE_END.search(buf)
            if first is not None:
                self._parse_status(bytes(buf[: first.start()]))
            elif len(buf) >= 5 and not buf.startswith(b"HTTP/"):
                raise _broken("no status line")
            return False
        start = end.start()
        if start and buf[start - 1] == 13:  # the blank line's CR before its LF
            start -= 1
        if start > MAX_HEAD_BYTES:
            raise _broken("header section too large")
        # One decode for the whole head: latin-1 maps every byte, so nothing is lost.
        text = buf[:start].decode("latin-1")
        del buf[: end.end()]
        # Most servers end every line with CRLF, which str.split handles alone.
        crlf = text.count("\r\n")
        lines = text.split("\r\n") if text.count("\n") == crlf else _TEXT_LINE_END.split(text)
        if text.count("\r") != crlf or "\x00" in text:
            # RFC 9110 §5.5: a CR or NUL inside a line must be rejected or replaced with
            # SP. Replaced, as the obs-fold is: a value passed on (into a log line, say)
            # can then never end a line early.
            lines = [line.replace("\r", " ").replace("\x00", " ") for line in lines]
        status_line = lines[0]
        if status_line == "HTTP/1.1 200 OK":
            version, status, reason = "1.1", 200, "OK"
        else:
            version, status, reason = self._parse_status(status_line.encode("latin-1"))
        headers = _parse_fields(lines, 1)
        # RFC 9110 §15.2: a client must parse any number of 1xx replies before the final
        # one, even unasked; they have no body (RFC 9112 §6.3 rule 1), so the next head
        # follows at once. 101 is different: we never send Upgrade, and after a 101 the
        # bytes are no longer HTTP/1.1, so reading on would parse another protocol as a
        # response.
        if 100 <= status < 200:
            if status == 101:
                raise _broken("unexpected 101 Switching Protocols")
            self._interim += 1
            if self._interim > MAX_INTERIM:
                raise _broken(f"more than {MAX_INTERIM} interim 1xx replies")
            return True  # interim reply: the real head follows
        self.head = Head(status, reason, headers, version)
        events.append(self.head)
        self._choose_framing(version, status, headers, events)
        return True

    @staticmethod
    def _parse_status(line: bytes) -> tuple[str, int, str]:
        match = _STATUS_LINE.fullmatch(line)
        if match is None:
            raise _broken(f"bad status line {line[:80]!r}")
        reason = (match.group(3) or b"").decode("latin-1")
        return match.group(1).decode(), int(match.group(2)), reason

    def _choose_framing(
        self, version: str, status: int, headers: tuple[tuple[str, str], ...], events: list[Event]
    ) -> None:
        # The order of the rules is RFC 9112 §6.3: no body for HEAD, 1xx, 204, 304 and a
        # 2xx to CONNECT, whatever Content-Length says (a HEAD reply's Content-Length
        # describes the GET body it did not send); then Transfer-Encoding; then
        # Content-Length; else read until close.
        framing = [(name, value) for name, value in headers if name in _FRAMING_FIELDS]
        no_body = (
            self._method == "HEAD"
            or status in (204, 304)
            or (self._method == "CONNECT" and 200 <= status < 300)
        )
        if not no_body and self._fixed_length(version, framing):
            return
        # Only the framing fields are split into their comma-separated items.
        fields: dict[str, list[str]] = {}
        for name, value in framing:
            items = [v.strip().lower() for v in value.split(",")]
            if name in fields:
                fields[name] += items
            else:
                fields[name] = items
        # RFC 9112 §9.3: 'close' ends the connection; otherwise HTTP/1.1 persists by
        # default and HTTP/1.0 only with 'keep-alive'.
        connection = fields.get("connection", [])
        self.keep_alive = "close" not in connection and (
            version == "1.1" or "keep-alive" in connection
        )
        if no_body:
            self._finish(events)
        elif "transfer-encoding" in fields:
            # RFC 9112 6.3: chunked must be last, else the body runs to end of file;
            # Transfer-Encoding overrides any Content-Length. A reply with both "ought to
            # be handled as an error" (the request-smuggling shape), and one from HTTP/1.0
            # has faulty framing (§6.1): read as chunked, but the connection is never
            # reused, so whatever a confused server sends next reaches no other request.
            if "content-length" in fields or version != "1.1":
                self.keep_alive = False
            if fields["transfer-encoding"][-1] == "chunked":
                self._state = self._read_chunk_size
            else:
                self._to_close()
        elif "content-length" in fields:
            # RFC 9110 §8.6 allows 'Content-Length: 42, 42' (or the field repeated) when
            # every value is the same; two different lengths are the classic
            # response-splitting shape, and RFC 9112 §6.3 rule 5 makes an invalid length
            # an unrecoverable error, not a guess.
            lengths = set(fields["content-length"])
            if len(lengths) != 1 or not all(_is_length(v) for v in lengths):
                raise _broken(f"bad Content-Length {sorted(lengths)!r}")
            self._remaining = int(lengths.pop())
            self._state = self._read_fixed
        else:
            self._to_close()

    def _fixed_length(self, version: str, framing: list[tuple[str, str]]) -> bool:
        """The common reply, one Content-Length and at most ``Connection: keep-alive``,
        framed directly; ``False`` leaves anything else to the general rules."""
        # A fast path, not a second set of rules: it accepts only what the general rules
        # would frame the same way, and hands everything else (a repeated
        # Content-Length, Transfer-Encoding, Connection: close) to them.
        length = None
        keep_alive = version == "1.1"
        for name, value in framing:
            if name == "content-length" and length is None:
                length = value
            elif name == "connection" and value.lower() == "keep-alive":
                keep_alive = True
            else:
                return False
        if length is None or not _is_length(length):
            return False
        self.keep_alive = keep_alive
        self._remaining = int(length)
        self._state = self._read_fixed
        return True

    def _to_close(self) -> None:
        self.keep_alive = False
        self._state = self._read_to_close

    # -- bodies -----------------------------------------------------------------

    def _take(self, limit: int, events: list[Event]) -> int:
        buf = self._buf
        if limit >= len(buf):
            piece = bytes(buf)
            buf.clear()
        else:
            piece = bytes(buf[:limit])
            del buf[:limit]
        if piece:
            events.append(Data(piece))
        return len(piece)

    def _read_fixed(self, events: list[Event]) -> bool:
        self._remaining -= self._take(self._remaining, events)
        if self._remaining == 0:
            self._finish(events)
            return True
        return False

    def _read_to_close(self, events: list[Event]) -> bool:
        self._take(len(self._buf), events)
        return False

    def _line(self) -> bytes | None:
        end = _LINE_END.search(self._buf)
        if end is None:
            # A chunk-size or trailer line that never ends (a drip server) would
            # otherwise grow the buffer without bound.
            if len(self._buf) > MAX_LINE_BYTES:
                raise _broken("chunk line too long")
            return None
        line = bytes(self._buf[: end.start()])
        del self._buf[: end.end()]
        return line

    def _read_chunk_size(self, events: list[Event]) -> bool:
        line = self._line()
        if line is None:
            return False
        match = _CHUNK_SIZE.fullmatch(line)
        if match is None:
            raise _broken(f"bad chunk size line {line[:40]!r}")
        self._remaining = int(match.group(1), 16)
        self._state = self._read_chunk_data if self._remaining else self._read_trailers
        return True

    def _read_chunk_data(self, events: list[Event]) -> bool:
        self._remaining -= self._take(self._remaining, events)
        if self._remaining:
            return False
        self._state = self._read_chunk_end
        return True

    def _read_chunk_end(self, events: list[Event]) -> bool:
        line = self._line()
        if line is None:
            return False
        # The CRLF after the chunk data must come right away. Anything else means the
        # size lied, and reading on would take body bytes for the next chunk-size line.
        if line:
            raise _broken("chunk data longer than its size")
        self._state = self._read_chunk_size
        return True

    def _read_trailers(self, events: list[Event]) -> bool:
        # Trailer fields are read and dropped: nothing we call puts meaning in them.
        line = self._line()
        if line is None:
            return False
        if not line:
            self._finish(events)
        elif b":" not in line:
            raise _broken(f"bad trailer line {line[:40]!r}")
        return True

    def _finish(self, events: list[Event]) -> None:
        self.done = True
        events.append(End())


def _parse_fields(lines: list[str], first: int) -> tuple[tuple[str, str], ...]:
    fields: list[tuple[str, str]] = []
    names = _FIELD_NAMES
    for i in range(first, len(lines)):
        line = lines[i]
        name, colon, value = line.partition(":")
        # RFC 9112 §5.1: a field name is a token and no whitespace may sit between it
        # and the colon. 'Content-Length : 5' is refused rather than trimmed, because
        # parsers that disagree about such a name are how request smuggling and response
        # splitting work.
        key = names.get(name) if colon else None
        if key is None and colon and _TOKEN.fullmatch(name) is not None:
            key = name.lower()
            if len(names) < 1024:  # names seen repeat; a hostile server cannot grow this far
                names[name] = key
        if key is not None:
            fields.append((key, value.strip(" \t")))
        elif line[:1] in (" ", "\t"):
            # obs-fold (RFC 9112 §5.2): a continuation of the previous value, which a
            # user agent must replace with SP before reading the value.
            if not fields:
                raise _broken("header continuation before any header")
            prev_name, prev_value = fields[-1]
            fields[-1] = (prev_name, f"{prev_value} {line.strip()}")
        else:
            raise _broken(f"bad header line {line[:40].encode('latin-1')!r}")
    return tuple(fields)


# Field names already checked, and their lower-case form.
_FIELD_NAMES: dict[str, str] = {}


# Content-Encoding -> zlib wbits: 16 + MAX_WBITS expects the gzip header and trailer
# (RFC 1952), MAX_WBITS alone the zlib wrapper (RFC 1950), which is what RFC 9110
# §8.4.1.2 means by 'deflate'. Some servers send raw deflate for 'deflate', so that case
# is sniffed from the first byte (see BodyDecoder).
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class BodyDecoder:
    """Undoes ``Content-Encoding`` (gzip, deflate, identity) piece by piece.

    At most ``limit`` decoded bytes are ever produced; one more raises
    ``ResponseFormatError("http", "", "response body larger than ...")``, which also
    stops a small compressed body from inflating into gigabytes.
    """

    def __init__(self, content_encoding: str, limit: int) -> None:
        self._codings: list[str] = []
        if content_encoding:  # most replies have none
            codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
            codings = [c for c in codings if c != "identity"]
            # Unknown or stacked codings pass through untouched: the caller sees what
            # the server sent.
            if len(codings) == 1 and codings[0] in _WBITS:
                self._codings = codings
        self._zlib: zlib._Decompress | None = None
        self._wbits = 0
        # gzip members that ended whole, and the bytes the current one has given: after
        # a whole member, bytes that do not start another (padding, garbage) are dropped,
        # as gzip(1) and urllib3 drop trailing garbage (``_swallow``).
        self._members = 0
        self._member_out = 0
        self._swallow = False
        self._limit = limit
        self._total = 0

    def decode(self, data: bytes) -> bytes:
        """Decode the next piece of the body."""
        if not self._codings:
            return self._count(data)
        if self._swallow:
            return b""
        if self._zlib is None:
            if not data:
                return b""
            wbits = _WBITS[self._codings[0]]
            # A zlib stream's first byte has compression method 8 in its low four bits
            # (RFC 1950 §2.2). Raw deflate (RFC 1951) from a server that got 'deflate'
            # wrong almost never does: a block starting with those bits would be a
            # non-final stored block with non-zero padding.
            if wbits == zlib.MAX_WBITS and data[0] & 0x0F != 8:
                wbits = -zlib.MAX_WBITS  # raw deflate: no zlib header
            self._wbits = wbits
            self._zlib = zlib.decompressobj(wbits)
        out = bytearray()
        try:
            while data:
                # Decompression bomb defence: ask zlib for at most one byte more than
                # the cap allows, so a tiny body that inflates to gigabytes is caught
                # after limit + 1 bytes, never expanded whole. The + 1 also keeps
                # max_length above 0, which zlib reads as 'no limit'. What zlib did not
                # consume for lack of room comes back as unconsumed_tail and is fed
                # again.
                before = len(out)
                out += self._zlib.decompress(data, self._limit - self._total - len(out) + 1)
                self._member_out += len(out) - before
                data = self._zlib.unconsumed_tail
                self._check(len(out))
                if self._zlib.eof and self._zlib.unused_data and self._wbits == _WBITS["gzip"]:
                    # RFC 1952 §2.2: a gzip file is a series of members, and a server
                    # may send several (concatenated output); each is decoded in turn.
                    data = self._zlib.unused_data
                    self._zlib = zlib.decompressobj(self._wbits)
                    self._members += 1
                    self._member_out = 0
        except zlib.error as exc:
            if self._members and not self._member_out:
                self._swallow = True  # not another member: trailing bytes, dropped
                return self._count(bytes(out))
            raise APIConnectionError(f"corrupt compressed response body: {exc}") from None
        return self._count(bytes(out))

    def flush(self) -> bytes:
        """The body has ended: return what the decompressor still holds."""
        if self._zlib is None or self._swallow:
            return b""
        try:
            tail = self._zlib.flush()
        except zlib.error as exc:
            raise APIConnectionError(f"corrupt compressed response body: {exc}") from None
        # A compressed body cut short would otherwise decode to a silently truncated
        # text; the end-of-stream marker (and, for gzip, the CRC trailer) proves it is
        # whole. A few bytes after a whole gzip member that never began another are
        # trailing bytes, dropped as above.
        if not self._zlib.eof and not (self._members and not self._member_out and not tail):
            raise APIConnectionError("compressed response body ends early")
        return self._count(tail)

    def _check(self, pending: int) -> None:
        if self._total + pending > self._limit:
            raise ResponseFormatError("http", "", f"response body larger than {self._limit} bytes")

    def _count(self, data: bytes) -> bytes:
        self._check(len(data))
        self._total += len(data)
        return data
