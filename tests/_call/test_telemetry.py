"""Logs and traces: one DEBUG line per attempt and per stream end, INFO per retry, and
one OpenTelemetry span per call or stream by the GenAI semantic conventions.

Spans go to opentelemetry-sdk's InMemorySpanExporter (the dev extra). No log line and
no span holds a credential; prompt and reply text reach a span only with
OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT on, and never a log line.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

import pytest
from shared import MODES, ask, run

pytest.importorskip("opentelemetry.sdk")
from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

from minicall import APIError  # noqa: E402
from minicall.testing import ErrorReply, Reply  # noqa: E402

KEY = "sk-SECRET-telemetry-0123456789"
PROMPT = "PROMPT-TEXT-never-logged"
REPLY = "REPLY-TEXT-never-logged"


@pytest.fixture(scope="session")
def _exporter() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture()
def spans(_exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    _exporter.clear()
    return _exporter


def _client(fake: Any, provider: str = "openai", **kwargs: Any) -> Any:
    secret = {"bedrock": {"secret_access_key": KEY}, "google": {"api_key": KEY}}.get(provider, {"api_key": KEY})
    return fake.client(provider, max_retries=kwargs.pop("max_retries", 0), **secret, **kwargs)


def _everything(span: Any) -> str:
    return json.dumps(
        [dict(span.attributes), [(e.name, dict(e.attributes)) for e in span.events], span.name, str(span.status)],
        default=str,
    )


@pytest.mark.parametrize("mode", MODES)
def test_a_call_makes_one_client_span_with_the_genai_attributes(fake, spans, mode):
    fake.script(Reply(text=REPLY, input_tokens=11, output_tokens=7, model="gpt-4o-mini-2024"))
    fn = ask(_client(fake), mode, call_params={"temperature": 0.5, "max_tokens": 20, "stop": "END"})
    run(fn, PROMPT)
    (span,) = spans.get_finished_spans()
    attrs = dict(span.attributes)
    assert span.name == "chat gpt-4o-mini" and span.kind is SpanKind.CLIENT
    assert span.status.status_code is not StatusCode.ERROR
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.request.temperature"] == 0.5 and attrs["gen_ai.request.max_tokens"] == 20
    assert list(attrs["gen_ai.request.stop_sequences"]) == ["END"]
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024"
    assert attrs["gen_ai.response.id"]
    assert list(attrs["gen_ai.response.finish_reasons"]) == ["stop"]
    assert attrs["gen_ai.usage.input_tokens"] == 11 and attrs["gen_ai.usage.output_tokens"] == 7
    assert attrs["server.address"] == "127.0.0.1" and isinstance(attrs["server.port"], int)
    shown = _everything(span)
    assert KEY not in shown and PROMPT not in shown and REPLY not in shown


def test_prompt_cache_reads_and_writes_are_span_attributes(fake, spans):
    fake.script(Reply(text=REPLY, input_tokens=100, cached_tokens=60, cache_write_tokens=30, output_tokens=5),
                provider="anthropic")
    run(ask(_client(fake, "anthropic"), "sync", provider="anthropic", model="claude-3-5-haiku-latest"), "hi")
    (span,) = spans.get_finished_spans()
    assert span.attributes["gen_ai.usage.input_tokens"] == 100
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 60
    assert span.attributes["gen_ai.usage.cache_creation.input_tokens"] == 30


@pytest.mark.parametrize(
    ("provider", "name"),
    [("anthropic", "anthropic"), ("google", "gcp.gemini"), ("bedrock", "aws.bedrock"), ("mistral", "mistral_ai")],
)
def test_each_provider_names_itself_by_the_conventions(fake, spans, provider, name):
    model = {"bedrock": "anthropic.claude-3-haiku-20240307-v1:0", "google": "gemini-1.5-flash"}.get(provider, "m")
    run(ask(_client(fake, provider), "sync", provider=provider, model=model), "hi")
    (span,) = spans.get_finished_spans()
    assert span.attributes["gen_ai.provider.name"] == name
    assert span.attributes["gen_ai.operation.name"] == ("generate_content" if provider == "google" else "chat")
    assert KEY not in _everything(span)


@pytest.mark.parametrize("mode", MODES)
def test_content_is_captured_only_when_the_conventions_switch_is_on(fake, spans, mode, monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    fake.script(Reply(text=REPLY))
    run(ask(_client(fake), mode), PROMPT)
    (span,) = spans.get_finished_spans()
    inputs = json.loads(span.attributes["gen_ai.input.messages"])
    outputs = json.loads(span.attributes["gen_ai.output.messages"])
    assert inputs == [{"role": "user", "parts": [{"type": "text", "content": PROMPT}]}]
    assert outputs[0]["role"] == "assistant" and outputs[0]["parts"][0]["content"] == REPLY
    assert outputs[0]["finish_reason"] == "stop"
    assert KEY not in _everything(span)


@pytest.mark.parametrize("mode", MODES)
def test_an_error_is_recorded_on_the_span(fake, spans, mode):
    fake.script(ErrorReply(404))
    with pytest.raises(APIError):
        run(ask(_client(fake), mode), PROMPT)
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "404"
    assert KEY not in _everything(span) and PROMPT not in _everything(span)


def test_retries_are_span_events_and_info_logs_with_the_wait(fake, spans, sleeps, caplog):
    fake.script(ErrorReply(503), ErrorReply(429, headers={"retry-after": "2"}), Reply(text="ok"))
    with caplog.at_level(logging.INFO, logger="minicall"):
        run(ask(_client(fake, max_retries=2), "sync"), "hi")
    (span,) = spans.get_finished_spans()
    events = [e for e in span.events if e.name == "gen_ai.retry"]
    assert [e.attributes["minicall.retry.reason"] for e in events] == ["HTTP 503", "HTTP 429"]
    assert events[1].attributes["minicall.retry.delay_s"] == 2.0
    retries = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(retries) == 2 and "in 2.00 s" in retries[1]
    assert span.status.status_code is not StatusCode.ERROR


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_makes_one_span_ended_with_its_usage(fake, spans, mode):
    fake.script(Reply(text=REPLY, input_tokens=3, output_tokens=4))
    run(ask(_client(fake), mode, stream=True, call_params={"stream_options": {"include_usage": True}}), PROMPT)
    (span,) = spans.get_finished_spans()
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.usage.output_tokens"] == 4
    assert list(span.attributes["gen_ai.response.finish_reasons"]) == ["stop"]
    assert REPLY not in _everything(span)


def test_a_stream_closed_early_still_ends_its_span(fake, spans, caplog):
    fake.script(Reply(text="a b c d e f", stream_chunks=6))
    pairs = iter(ask(_client(fake), "sync", stream=True)("hi"))
    next(pairs)
    with caplog.at_level(logging.DEBUG, logger="minicall"):
        pairs.close()  # what a ``break`` out of a for loop does once the loop is collected
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is not StatusCode.ERROR
    assert "stream was closed early" in caplog.text


# -- logs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_one_debug_line_per_attempt_with_status_duration_request_id_and_usage(fake, mode, caplog, sleeps):
    fake.script(ErrorReply(500), Reply(text=REPLY, input_tokens=5, output_tokens=6))
    client = _client(fake, max_retries=1 if mode == "sync" else 0)
    if mode == "async":
        fake.reset()
        fake.script(Reply(text=REPLY, input_tokens=5, output_tokens=6))
    with caplog.at_level(logging.DEBUG, logger="minicall"):
        run(ask(client, mode), PROMPT)
    lines = [r.getMessage() for r in caplog.records if " attempt " in r.getMessage()]
    url = f"POST {fake.url}/openai/v1/chat/completions"
    if mode == "sync":
        assert len(lines) == 2
        assert lines[0].startswith("openai gpt-4o-mini attempt 1: " + url + " -> 500 in ")
    last = lines[-1]
    assert f"{url} -> 200 in " in last and " ms, request id req_" in last and "usage in=5 out=6" in last
    assert not any(r.getMessage().startswith("minicall ") for r in caplog.records)
    assert KEY not in caplog.text and PROMPT not in caplog.text and REPLY not in caplog.text


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_logs_its_end_with_events_duration_and_usage(fake, mode, caplog):
    fake.script(Reply(text=REPLY, input_tokens=2, output_tokens=3, stream_chunks=3))
    with caplog.at_level(logging.DEBUG, logger="minicall"):
        run(ask(_client(fake), mode, stream=True, call_params={"stream_options": {"include_usage": True}}), PROMPT)
    (end,) = [r.getMessage() for r in caplog.records if "stream ended" in r.getMessage()]
    assert end.startswith("openai gpt-4o-mini stream ended: ") and " events in " in end and "usage in=2 out=3" in end
    assert REPLY not in caplog.text and PROMPT not in caplog.text


def test_without_opentelemetry_nothing_is_imported_and_calls_work():
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "import minicall\n"
        "from minicall.testing import FakeServer\n"
        "from minicall import llm\n"
        "with FakeServer() as fake:\n"
        "    @llm.call('openai', 'gpt-4o-mini', client=fake.client('openai'))\n"
        "    def f(): return 'hi'\n"
        "    assert f().content == 'echo: hi'\n"
        "from minicall._call import telemetry\n"
        "assert telemetry._tracer is None\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr
    static = subprocess.run(
        [sys.executable, "-c", "import minicall, sys; print('opentelemetry' in sys.modules)"],
        capture_output=True, text=True, timeout=60,
    )
    assert static.stdout.strip() == "False"


def test_no_span_is_made_until_a_tracer_provider_is_set_up():
    # With only opentelemetry-api installed and nothing set up, every span would be a
    # non-recording one: none is started, so such a call costs nothing extra. Once a
    # provider is set, the same decorated function's calls are traced.
    code = (
        "from minicall.testing import FakeServer\n"
        "from minicall import llm\n"
        "from minicall._call import telemetry\n"
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from opentelemetry.sdk.trace.export import SimpleSpanProcessor\n"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter\n"
        "with FakeServer() as fake:\n"
        "    @llm.call('openai', 'gpt-4o-mini', client=fake.client('openai'))\n"
        "    def f(): return 'hi'\n"
        "    f()\n"
        "    started = []\n"
        "    real = telemetry._tracer.start_span\n"
        "    telemetry._tracer.start_span = lambda *a, **k: started.append(a) or real(*a, **k)\n"
        "    f()\n"
        "    assert started == [], started\n"
        "    provider = TracerProvider()\n"
        "    exporter = InMemorySpanExporter()\n"
        "    provider.add_span_processor(SimpleSpanProcessor(exporter))\n"
        "    trace.set_tracer_provider(provider)\n"
        "    f()\n"
        "    assert len(started) == 1 and [s.name for s in exporter.get_finished_spans()] == ['chat gpt-4o-mini']\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr
