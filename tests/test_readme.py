"""The README's Python examples parse, and the self-contained ones run against FakeServer.

Every provider's API key and base URL variable points at a loopback FakeServer, so an
example runs exactly as a user would paste it. A block preceded by
``<!-- readme-test: skip -->`` names hosts or credentials no test can have (a private
endpoint, a Vertex project) and is only parsed.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import re
import sys
import types
from pathlib import Path

from minicall.testing import ErrorReply, FakeServer, Reply, ThinkingReply, ToolCallReply

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"(<!-- readme-test: skip -->\n)?```python\n(.*?)```", re.DOTALL)
BLOCKS = [(bool(m.group(1)), m.group(2)) for m in _BLOCK.finditer(README.read_text(encoding="utf-8"))]

_ENV = {
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
    "google": ("GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL"),
    "groq": ("GROQ_API_KEY", "GROQ_BASE_URL"),
    "xai": ("XAI_API_KEY", "XAI_BASE_URL"),
    "mistral": ("MISTRAL_API_KEY", "MISTRAL_BASE_URL"),
    "cohere": ("CO_API_KEY", "CO_API_URL"),
    "litellm": ("LITELLM_PROXY_API_KEY", "LITELLM_PROXY_API_BASE"),
    "azure": ("AZURE_AI_API_KEY", "AZURE_AI_ENDPOINT"),
    "bedrock": ("AWS_BEARER_TOKEN_BEDROCK", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"),
}


_DUNE = ToolCallReply("Book", {"title": "Dune", "year": 1965})
_THINK = Reply(thinking=[ThinkingReply("Paris: call get_weather.")], tool_calls=[ToolCallReply("get_weather", {"city": "Paris"})])
# What the model "answers" to examples whose point is a structured reply or a tool loop,
# and the provider it answers as.
_SCRIPTS = {
    "book: Book = extract_book(": ("openai", [Reply(tool_calls=[_DUNE])]),
    "for partial in extract_partial(": ("openai", [Reply(tool_calls=[_DUNE])]),
    "book_stream = extract_partial(": ("openai", [Reply(tool_calls=[_DUNE])]),
    "stream = identify_authors(": ("openai", [Reply(text="Let me check.", tool_calls=[
        ToolCallReply("GetBookAuthor", {"title": "The Name of the Wind"}),
        ToolCallReply("GetBookAuthor", {"title": "Mistborn: The Final Empire"})])]),
    "stream = weather_agent(history)": ("anthropic", [_THINK, Reply(text="Sunny in Paris.")]),
    "response = answer_question(": ("openai", [ErrorReply(429, "Rate limit reached")]),
    "print(count_pages(": ("openai", [Reply(text="many"), Reply(text="662")]),
    "extract_author(\"Frank Herbert, born 3020\")": (
        "openai", [Reply(tool_calls=[ToolCallReply("Author", {"name": "Frank Herbert", "born": 3020})])]),
    "response = forecast(": ("openai", [Reply(tool_calls=[ToolCallReply("get_forecast", {"city": "paris"})])]),
}
# Lines the examples must print (a caught error prints them: an example that raised nothing would not).
_PRINTED = [
    "['born: Value error, born in the future, got 3020']",
    "['city: Value error, must be in capitals, got \"paris\"']",
]
_HAS_PYDANTIC = importlib.util.find_spec("pydantic") is not None


def test_every_python_example_parses():
    assert len(BLOCKS) > 20
    for _, code in BLOCKS:
        ast.parse(code)


def test_the_runnable_examples_run_in_order(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)  # examples may write files (hello.wav)
    with FakeServer() as fake:
        for provider, (key, url) in _ENV.items():
            monkeypatch.setenv(key, "test-key-0123456789")
            monkeypatch.setenv(url, fake.base_url(provider))
        monkeypatch.setenv("AWS_REGION", "us-east-1")
        module = types.ModuleType("readme_examples")  # dataclasses look their module up
        monkeypatch.setitem(sys.modules, module.__name__, module)
        namespace = module.__dict__
        ran = 0
        for skip, code in BLOCKS:
            if skip or ("import pydantic" in code and not _HAS_PYDANTIC):  # pydantic is optional
                continue
            for marker, (provider, replies) in _SCRIPTS.items():
                if marker in code:
                    fake.script(*replies, provider=provider)
            # asyncio.run inside an example is fine: no loop is running here.
            exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - the README is ours
            ran += 1
        assert ran >= 15
        # The thinking tool loop sent its streamed turn back, thinking block and all.
        follow_up = [r.json for r in fake.requests if isinstance(r.json, dict) and "thinking" in r.json][-1]
        thinking_turn = follow_up["messages"][1]
        assert [b["type"] for b in thinking_turn["content"]] == ["thinking", "tool_use"]
        assert thinking_turn["content"][0]["signature"]
        assert len(fake.requests) >= 10  # the examples really went over loopback HTTP
        printed = capsys.readouterr().out
        assert [line for line in _PRINTED if line in printed] == (_PRINTED if _HAS_PYDANTIC else [])
    asyncio.set_event_loop_policy(None)
