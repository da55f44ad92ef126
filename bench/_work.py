"""One measurement in a fresh process: ``python bench/_work.py CASE JSON_ARGS``.

Prints one JSON object on stdout. Runs under the repo's Python (minicall and the
hand-written floors) and under the peers' virtualenv (Mirascope), so this module
imports only the standard library at the top; each case imports what it measures.

Every case does the same user-visible work: build a request for the prompt
"Recommend a fantasy book", send it, and read the reply's text.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

PROMPT = "Recommend a {} book"
OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-3-5-sonnet-latest"
KEY = "sk-bench-not-a-secret"

CASES: dict[str, Callable[..., dict[str, Any]]] = {}


def case(name: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    def register(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        CASES[name] = fn
        return fn

    return register


def _timed_calls(call: Callable[[], str], n: int, warmup: int) -> dict[str, Any]:
    for _ in range(warmup):
        call()
    start = time.perf_counter()
    for _ in range(n):
        text = call()
    elapsed = time.perf_counter() - start
    assert text, "empty reply"
    return {"us_per_call": elapsed / n * 1e6}


# -- sequential non-streaming calls ---------------------------------------------------


def _floor_http(port: int, path: str, headers: dict[str, str], body: Callable[[], bytes],
                text: Callable[[Any], str]) -> Callable[[], str]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port)

    def call() -> str:
        conn.request("POST", path, body(), headers)
        return text(json.loads(conn.getresponse().read()))

    return call


def _openai_body(stream: bool = False) -> bytes:
    payload: dict[str, Any] = {"model": OPENAI_MODEL, "messages": [{"role": "user", "content": PROMPT.format("fantasy")}]}
    if stream:
        payload["stream"] = True
    return json.dumps(payload).encode()


def _anthropic_body(stream: bool = False) -> bytes:
    payload: dict[str, Any] = {"model": ANTHROPIC_MODEL, "max_tokens": 1024,
                               "messages": [{"role": "user", "content": PROMPT.format("fantasy")}]}
    if stream:
        payload["stream"] = True
    return json.dumps(payload).encode()


_OPENAI_HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}
_ANTHROPIC_HEADERS = {"Content-Type": "application/json", "x-api-key": KEY, "anthropic-version": "2023-06-01"}


@case("calls.floor-openai")
def _(port: int, n: int, warmup: int = 50) -> dict[str, Any]:
    call = _floor_http(port, "/v1/chat/completions", _OPENAI_HEADERS, _openai_body,
                       lambda d: d["choices"][0]["message"]["content"])
    return _timed_calls(call, n, warmup)


@case("calls.floor-anthropic")
def _(port: int, n: int, warmup: int = 50) -> dict[str, Any]:
    call = _floor_http(port, "/v1/messages", _ANTHROPIC_HEADERS, _anthropic_body,
                       lambda d: d["content"][0]["text"])
    return _timed_calls(call, n, warmup)


def _decorated(decorator: Callable[[Any], Any], is_async: bool) -> Any:
    if is_async:

        async def recommend_async(genre: str) -> str:
            return PROMPT.format(genre)

        return decorator(recommend_async)

    def recommend(genre: str) -> str:
        return PROMPT.format(genre)

    return decorator(recommend)


def _minicall_fn(provider: str, port: int, *, stream: bool = False, is_async: bool = False,
                 transport: Any = None) -> Any:
    if provider == "openai":
        from minicall.providers import openai as mod

        client: Any = mod.OpenAIClient(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, transport=transport)
        decorator = mod.call(OPENAI_MODEL, client=client, stream=stream)
    else:
        from minicall.providers import anthropic as mod2

        client = mod2.AnthropicClient(base_url=f"http://127.0.0.1:{port}", api_key=KEY, transport=transport)
        decorator = mod2.call(ANTHROPIC_MODEL, client=client, stream=stream)
    return _decorated(decorator, is_async)


def _mirascope_fn(provider: str, port: int, *, stream: bool = False, is_async: bool = False,
                  http_client: Any = None) -> Any:
    if provider == "openai":
        from mirascope.core import openai as mod
        from openai import AsyncOpenAI, OpenAI

        cls: Any = AsyncOpenAI if is_async else OpenAI
        extra = {"http_client": http_client} if http_client is not None else {}
        client = cls(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, **extra)
        decorator = mod.call(OPENAI_MODEL, client=client, stream=stream)
    else:
        from anthropic import Anthropic, AsyncAnthropic
        from mirascope.core import anthropic as mod2

        cls = AsyncAnthropic if is_async else Anthropic
        extra = {"http_client": http_client} if http_client is not None else {}
        client = cls(base_url=f"http://127.0.0.1:{port}", api_key=KEY, **extra)
        decorator = mod2.call(ANTHROPIC_MODEL, client=client, stream=stream)
    return _decorated(decorator, is_async)


for _provider in ("openai", "anthropic"):

    @case(f"calls.minicall-{_provider}")
    def _(port: int, n: int, warmup: int = 50, _p: str = _provider) -> dict[str, Any]:
        fn = _minicall_fn(_p, port)
        return _timed_calls(lambda: fn("fantasy").content, n, warmup)

    @case(f"calls.mirascope-{_provider}")
    def _(port: int, n: int, warmup: int = 50, _p: str = _provider) -> dict[str, Any]:
        fn = _mirascope_fn(_p, port)
        return _timed_calls(lambda: fn("fantasy").content, n, warmup)


# -- streaming -------------------------------------------------------------------------


def _timed_streams(run_one: Callable[[], int], streams: int, chunks: int) -> dict[str, Any]:
    run_one()  # warm-up: imports, connection
    times = []
    for _ in range(streams):
        start = time.perf_counter()
        got = run_one()
        times.append(time.perf_counter() - start)
        assert got >= chunks, f"only {got} text chunks"
    return {"chunks_per_s": chunks / statistics.median(times)}


def _floor_sse(port: int, path: str, headers: dict[str, str], body: bytes,
               text_of: Callable[[Any], str | None]) -> Callable[[], int]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port)

    def run_one() -> int:
        conn.request("POST", path, body, headers)
        resp = conn.getresponse()
        parts = []
        for line in resp:
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                break
            text = text_of(json.loads(data))
            if text:
                parts.append(text)
        resp.read()  # drain what follows [DONE] so the connection is reusable
        return len(parts)

    return run_one


def _openai_delta(event: Any) -> str | None:
    choices = event.get("choices")
    return choices[0]["delta"].get("content") if choices else None


def _anthropic_delta(event: Any) -> str | None:
    return event["delta"].get("text") if event.get("type") == "content_block_delta" else None


@case("stream.floor-openai")
def _(port: int, chunks: int, streams: int = 5) -> dict[str, Any]:
    run_one = _floor_sse(port, "/v1/chat/completions", _OPENAI_HEADERS, _openai_body(True), _openai_delta)
    return _timed_streams(run_one, streams, chunks)


@case("stream.floor-anthropic")
def _(port: int, chunks: int, streams: int = 5) -> dict[str, Any]:
    run_one = _floor_sse(port, "/v1/messages", _ANTHROPIC_HEADERS, _anthropic_body(True), _anthropic_delta)
    return _timed_streams(run_one, streams, chunks)


def _count_stream(stream: Any) -> int:
    count = 0
    for chunk, _ in stream:
        if chunk.content:
            count += 1
    return count


for _provider in ("openai", "anthropic"):

    @case(f"stream.minicall-{_provider}")
    def _(port: int, chunks: int, streams: int = 5, _p: str = _provider) -> dict[str, Any]:
        fn = _minicall_fn(_p, port, stream=True)
        return _timed_streams(lambda: _count_stream(fn("fantasy")), streams, chunks)

    @case(f"stream.mirascope-{_provider}")
    def _(port: int, chunks: int, streams: int = 5, _p: str = _provider) -> dict[str, Any]:
        fn = _mirascope_fn(_p, port, stream=True)
        return _timed_streams(lambda: _count_stream(fn("fantasy")), streams, chunks)


# -- concurrency -----------------------------------------------------------------------


def _timed_batches(run_batch: Callable[[], Any], batches: int) -> dict[str, Any]:
    run_batch()  # warm-up: imports, connections
    times = []
    for _ in range(batches):
        start = time.perf_counter()
        run_batch()
        times.append(time.perf_counter() - start)
    return {"ms_per_batch": statistics.median(times) * 1e3}


POOL_LIMIT = 100
"""Connections per host for the hand-written baseline and the thread pool: the
default cap of minicall's asyncio transport, so all three open as many sockets."""


def _asyncio_batches(make_coro: Callable[[], Any], concurrency: int, batches: int) -> dict[str, Any]:
    import asyncio

    async def batch() -> None:
        replies = await asyncio.gather(*(make_coro() for _ in range(concurrency)))
        assert all(replies)

    loop = asyncio.new_event_loop()
    try:
        return _timed_batches(lambda: loop.run_until_complete(batch()), batches)
    finally:
        loop.close()


@case("concurrency.floor-asyncio")
def _(port: int, concurrency: int, batches: int = 3) -> dict[str, Any]:
    import asyncio

    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    slots: list[asyncio.Semaphore] = []
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\nAuthorization: Bearer {key}\r\nContent-Length: {length}\r\n\r\n"
    )

    async def call() -> str:
        if not slots:
            slots.append(asyncio.Semaphore(POOL_LIMIT))
        async with slots[0]:
            body = _openai_body()
            conn = idle.pop() if idle else await asyncio.open_connection("127.0.0.1", port)
            reader, writer = conn
            writer.write(head.format(port=port, key=KEY, length=len(body)).encode() + body)
            status = await reader.readline()
            assert b" 200 " in status, status
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            data = json.loads(await reader.readexactly(length))
            idle.append(conn)
            return str(data["choices"][0]["message"]["content"])

    return _asyncio_batches(call, concurrency, batches)


for _lib, _make in (("minicall", _minicall_fn), ("mirascope", _mirascope_fn)):

    @case(f"concurrency.{_lib}-async")
    def _(port: int, concurrency: int, batches: int = 3, _m: Callable[..., Any] = _make) -> dict[str, Any]:
        fn = _m("openai", port, is_async=True)

        async def call() -> str:
            return str((await fn("fantasy")).content)

        return _asyncio_batches(call, concurrency, batches)


@case("concurrency.minicall-threads")
def _(port: int, concurrency: int, batches: int = 3) -> dict[str, Any]:
    from concurrent.futures import ThreadPoolExecutor

    fn = _minicall_fn("openai", port)
    with ThreadPoolExecutor(max_workers=min(concurrency, POOL_LIMIT)) as pool:

        def batch() -> None:
            replies = list(pool.map(lambda _: fn("fantasy").content, range(concurrency)))
            assert all(replies)

        return _timed_batches(batch, batches)


# -- decoration and in-memory calls ------------------------------------------------------


def _prompt_functions(count: int) -> list[Callable[[str], str]]:
    def make(i: int) -> Callable[[str], str]:
        def recommend(genre: str) -> str:
            return f"{i}: " + PROMPT.format(genre)

        return recommend

    return [make(i) for i in range(count)]


def _time_decoration(decorator: Callable[[Any], Any], count: int) -> dict[str, Any]:
    fns = _prompt_functions(count)
    start = time.perf_counter()
    for fn in fns:
        decorator(fn)
    return {"us_per_decoration": (time.perf_counter() - start) / count * 1e6}


@case("decorate.minicall")
def _(count: int) -> dict[str, Any]:
    from minicall.providers import openai

    client = openai.OpenAIClient(base_url="http://127.0.0.1:9/v1", api_key=KEY)
    return _time_decoration(lambda fn: openai.call(OPENAI_MODEL, client=client)(fn), count)


@case("decorate.mirascope")
def _(count: int) -> dict[str, Any]:
    from mirascope.core import openai as mopenai
    from openai import OpenAI

    client = OpenAI(base_url="http://127.0.0.1:9/v1", api_key=KEY)
    return _time_decoration(lambda fn: mopenai.call(OPENAI_MODEL, client=client)(fn), count)


def _reply_body(provider: str) -> bytes:
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    import server

    return server._openai_json() if provider == "openai" else server._anthropic_json()


for _provider in ("openai", "anthropic"):

    @case(f"mock.minicall-{_provider}")
    def _(n: int, warmup: int = 50, _p: str = _provider) -> dict[str, Any]:
        from minicall import HttpResponse, MockTransport

        body = _reply_body(_p)
        headers = {"content-type": "application/json"}
        transport = MockTransport(lambda request: HttpResponse(200, headers, body))
        fn = _minicall_fn(_p, 9, transport=transport)
        return _timed_calls(lambda: fn("fantasy").content, n, warmup)

    @case(f"mock.mirascope-{_provider}")
    def _(n: int, warmup: int = 50, _p: str = _provider) -> dict[str, Any]:
        import httpx

        body = _reply_body(_p)
        headers = {"content-type": "application/json"}
        http_client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, headers=headers, content=body)))
        fn = _mirascope_fn(_p, 9, http_client=http_client)
        return _timed_calls(lambda: fn("fantasy").content, n, warmup)


def main() -> None:
    name, args = sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    print(json.dumps(CASES[name](**args)))


if __name__ == "__main__":
    main()
