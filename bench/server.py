"""A minimal loopback server for the benchmarks: instant, fixed answers, keep-alive.

Not a test tool (``minicall.testing.FakeServer`` is that): it exists only to answer as
fast as a Python process can, so the clients' costs dominate what is measured. It
speaks just enough of two wire formats:

- ``POST /v1/chat/completions`` (OpenAI Chat Completions)
- ``POST /v1/messages`` (Anthropic Messages)

A request whose JSON body holds ``"stream": true`` gets an SSE stream of ``--chunks``
text deltas; any other gets a small JSON completion. Every body is built once at start
and sent with ``Content-Length``, so the server does no per-request work but parsing
the request head. Run: ``python bench/server.py --port 0 --chunks 5000``; the first
line on stdout is the port it listens on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

TEXT = "Bench reply: the quick brown fox jumps over the lazy dog."
MODEL_OPENAI = "gpt-4o-mini"
MODEL_ANTHROPIC = "claude-3-5-sonnet-latest"


def _openai_json() -> bytes:
    return json.dumps({
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": MODEL_OPENAI,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": TEXT, "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }],
        "usage": {"prompt_tokens": 12, "completion_tokens": 12, "total_tokens": 24},
    }).encode()


def _anthropic_json() -> bytes:
    return json.dumps({
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": MODEL_ANTHROPIC,
        "content": [{"type": "text", "text": TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 12},
    }).encode()


def _sse(data: object, event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n"


def _openai_stream(chunks: int) -> bytes:
    def chunk(delta: dict[str, object], finish: str | None = None) -> str:
        return _sse({
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": MODEL_OPENAI,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        })

    parts = [chunk({"role": "assistant", "content": ""})]
    parts.extend(chunk({"content": f"tok{i} "}) for i in range(chunks))
    parts.append(chunk({}, "stop"))
    parts.append("data: [DONE]\n\n")
    return "".join(parts).encode()


def _anthropic_stream(chunks: int) -> bytes:
    parts = [
        _sse({"type": "message_start", "message": {
            "id": "msg_bench", "type": "message", "role": "assistant", "model": MODEL_ANTHROPIC,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 1},
        }}, "message_start"),
        _sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
             "content_block_start"),
    ]
    parts.extend(
        _sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"tok{i} "}},
             "content_block_delta")
        for i in range(chunks)
    )
    parts.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    parts.append(_sse({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                       "usage": {"output_tokens": chunks}}, "message_delta"))
    parts.append(_sse({"type": "message_stop"}, "message_stop"))
    return "".join(parts).encode()


def _response(body: bytes, content_type: str) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n"
        "x-request-id: req_bench\r\n"
        "\r\n"
    )
    return head.encode() + body


def build_table(chunks: int) -> dict[tuple[bytes, bool], bytes]:
    """Whole responses by (path, streamed)."""
    sse = "text/event-stream; charset=utf-8"
    return {
        (b"/v1/chat/completions", False): _response(_openai_json(), "application/json"),
        (b"/v1/chat/completions", True): _response(_openai_stream(chunks), sse),
        (b"/v1/messages", False): _response(_anthropic_json(), "application/json"),
        (b"/v1/messages", True): _response(_anthropic_stream(chunks), sse),
    }


NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class _Http(asyncio.Protocol):
    """Parses request heads, waits for each body, answers from the table."""

    table: dict[tuple[bytes, bool], bytes] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end]
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17: stop if stop >= 0 else None])
            if len(buf) < end + 4 + length:
                break
            body = buf[end + 4: end + 4 + length]
            buf = buf[end + 4 + length:]
            path = head[head.find(b" ") + 1: head.find(b" HTTP/")]
            path = path.split(b"?", 1)[0]
            streamed = b'"stream":true' in body or b'"stream": true' in body
            self.transport.write(self.table.get((path, streamed), NOT_FOUND))
        self.buf = buf


async def _serve(port: int, chunks: int) -> None:
    _Http.table = build_table(chunks)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Http, "127.0.0.1", port, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    # Stop when the parent closes our stdin (or dies), so no server outlives a run.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.chunks))


if __name__ == "__main__":
    main()
