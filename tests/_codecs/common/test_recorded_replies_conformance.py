"""The recorded replies read by each provider's official SDK give the facts stored beside them.

``test_recorded_replies`` checks minicall against ``<name>.expected.json``; this checks the
expected facts themselves. FakeServer sends each recorded body to the official SDK (openai,
anthropic, google-genai, cohere, mistralai, groq, azure-ai-inference, botocore) and the SDK's
own parse, put in minicall's terms by the documented usage rule (input counts include cached
and cache-written tokens, Gemini's output counts thoughts, Cohere's billed units come first),
must equal the stored facts. A fact the SDK does not report (Cohere and Bedrock name no model,
Gemini calls have no id) is not compared.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_recorded_replies import CONTENT_TYPES, FAILED_STREAMS, RECORDED, REQUESTED, expected

from minicall.testing import FakeServer, RawReply

pytestmark = [pytest.mark.conformance, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

MESSAGES = [{"role": "user", "content": "recorded"}]
Facts = dict[str, Any]


def _usage(inp: Any, out: Any, total: Any, cached: Any = 0, write: Any = 0) -> Facts:
    """Counts in minicall's terms; ``inp`` already includes the cached and cache-written tokens."""

    def n(value: Any) -> int:
        return int(value or 0)

    return {"input_tokens": n(inp), "output_tokens": n(out), "cached_tokens": n(cached),
            "total_tokens": n(total), "cache_write_tokens": n(write)}


def _call(id_: Any, name: str, args: Any) -> Facts:
    return {"id": id_, "name": name, "args": json.loads(args) if isinstance(args, str) else dict(args or {})}


# -- the OpenAI-compatible SDKs -------------------------------------------------------


def _stainless(client: Any, stream: bool) -> Facts:
    """openai and groq: ``chat.completions.create``."""
    if not stream:
        r = client.chat.completions.create(model=REQUESTED, messages=MESSAGES)
        u = r.usage
        cached = getattr(u.prompt_tokens_details, "cached_tokens", 0) if u.prompt_tokens_details else 0
        return {"content": r.choices[0].message.content or "", "finish_reasons": [c.finish_reason for c in r.choices],
                "model": r.model, "id": r.id, "usage": _usage(u.prompt_tokens, u.completion_tokens, u.total_tokens, cached),
                "tool_calls": [_call(c.id, c.function.name, c.function.arguments)
                               for c in r.choices[0].message.tool_calls or []]}
    text, finish, usage, model, id_, calls = "", [], None, None, None, {}
    for chunk in client.chat.completions.create(model=REQUESTED, messages=MESSAGES, stream=True):
        model, id_ = chunk.model or model, chunk.id or id_
        if chunk.usage is not None:
            u = chunk.usage
            usage = _usage(u.prompt_tokens, u.completion_tokens, u.total_tokens)
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = [choice.finish_reason] if choice.finish_reason else finish
            for tc in choice.delta.tool_calls or []:
                entry = calls.setdefault(tc.index, {"id": None, "name": "", "args": ""})
                entry["id"] = tc.id or entry["id"]
                entry["name"] += (tc.function.name or "") if tc.function else ""
                entry["args"] += (tc.function.arguments or "") if tc.function else ""
    return {"content": text, "finish_reasons": finish, "model": model, "id": id_, "usage": usage,
            "tool_calls": [_call(c["id"], c["name"], c["args"]) for _, c in sorted(calls.items())]}


def _openai(fake: FakeServer, stream: bool) -> Facts:
    openai = pytest.importorskip("openai")
    return _stainless(openai.OpenAI(api_key="test-key", base_url=fake.base_url("openai"), max_retries=0), stream)


def _groq(fake: FakeServer, stream: bool) -> Facts:
    groq = pytest.importorskip("groq")
    return _stainless(groq.Groq(api_key="test-key", base_url=fake.base_url("groq"), max_retries=0), stream)


def _text_of(content: Any) -> str:
    """Mistral's content: a string, or chunks of which only ``text`` ones are the answer."""
    if isinstance(content, str) or content is None:
        return content or ""
    return "".join(c.text for c in content if getattr(c, "type", None) == "text")


def _mistral(fake: FakeServer, stream: bool) -> Facts:
    mistralai = pytest.importorskip("mistralai.client")
    client = mistralai.Mistral(api_key="test-key", server_url=fake.base_url("mistral"))
    if not stream:
        r = client.chat.complete(model=REQUESTED, messages=MESSAGES)
        m, u = r.choices[0].message, r.usage
        cached = getattr(u.prompt_tokens_details, "cached_tokens", 0) if getattr(u, "prompt_tokens_details", None) else 0
        return {"content": _text_of(m.content), "finish_reasons": [c.finish_reason for c in r.choices], "model": r.model,
                "id": r.id, "usage": _usage(u.prompt_tokens, u.completion_tokens, u.total_tokens, cached),
                "tool_calls": [_call(c.id, c.function.name, c.function.arguments) for c in m.tool_calls or []]}
    text, finish, usage, model, id_ = "", [], None, None, None
    for event in client.chat.stream(model=REQUESTED, messages=MESSAGES):
        chunk = event.data
        model, id_ = chunk.model or model, chunk.id or id_
        if chunk.usage is not None:
            usage = _usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens, chunk.usage.total_tokens)
        for choice in chunk.choices:
            text += _text_of(choice.delta.content)
            finish = [choice.finish_reason] if choice.finish_reason else finish
    return {"content": text, "finish_reasons": finish, "model": model, "id": id_, "usage": usage, "tool_calls": []}


def _value(reason: Any) -> Any:
    """An enum member's wire value (the inference SDK's ``CompletionsFinishReason``)."""
    return getattr(reason, "value", reason)


def _azure(fake: FakeServer, stream: bool) -> Facts:
    inference = pytest.importorskip("azure.ai.inference")
    credentials = pytest.importorskip("azure.core.credentials")
    client = inference.ChatCompletionsClient(endpoint=fake.base_url("azure"), retry_total=0,
                                             credential=credentials.AzureKeyCredential("test-key"))
    if not stream:
        r = client.complete(messages=MESSAGES)
        m, u = r.choices[0].message, r.usage
        return {"content": m.content or "", "finish_reasons": [_value(c.finish_reason) for c in r.choices], "model": r.model,
                "id": r.id, "usage": _usage(u.prompt_tokens, u.completion_tokens, u.total_tokens),
                "tool_calls": [_call(c.id, c.function.name, c.function.arguments) for c in m.tool_calls or []]}
    text, finish, usage, model, id_, calls = "", [], None, None, None, []
    for update in client.complete(messages=MESSAGES, stream=True):
        model, id_ = update.model or model, update.id or id_
        if update.usage is not None:
            usage = _usage(update.usage.prompt_tokens, update.usage.completion_tokens, update.usage.total_tokens)
        for choice in update.choices:
            text += choice.delta.content or ""
            finish = [_value(choice.finish_reason)] if choice.finish_reason else finish
            calls += [_call(c.id, c.function.name, c.function.arguments) for c in choice.delta.tool_calls or []]
    return {"content": text, "finish_reasons": finish, "model": model, "id": id_, "usage": usage, "tool_calls": calls}


# -- the others ------------------------------------------------------------------------


def _anthropic(fake: FakeServer, stream: bool) -> Facts:
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.Anthropic(api_key="test-key", base_url=fake.base_url("anthropic"), max_retries=0)
    if stream:
        with client.messages.stream(model=REQUESTED, max_tokens=1024, messages=MESSAGES) as s:
            r = s.get_final_message()
    else:
        r = client.messages.create(model=REQUESTED, max_tokens=1024, messages=MESSAGES)
    u = r.usage
    read, write = u.cache_read_input_tokens or 0, u.cache_creation_input_tokens or 0
    inp = u.input_tokens + read + write
    facts = {"content": "".join(b.text for b in r.content if b.type == "text"), "finish_reasons": [r.stop_reason],
             "model": r.model, "id": r.id, "usage": _usage(inp, u.output_tokens, inp + u.output_tokens, read, write),
             "tool_calls": [_call(b.id, b.name, b.input) for b in r.content if b.type == "tool_use"]}
    thinking = [{"type": "thinking", "thinking": b.thinking, "signature": b.signature}
                for b in r.content if b.type == "thinking"]
    if thinking:
        facts["thinking_blocks"] = thinking
    return facts


def _google(fake: FakeServer, stream: bool) -> Facts:
    genai = pytest.importorskip("google.genai")
    from google.genai import types

    options = types.HttpOptions(base_url=fake.base_url("google"), retry_options=types.HttpRetryOptions(attempts=1))
    client = genai.Client(api_key="test-key", http_options=options)
    replies = (list(client.models.generate_content_stream(model=REQUESTED, contents="recorded")) if stream
               else [client.models.generate_content(model=REQUESTED, contents="recorded")])
    text, finish, usage, model, id_, calls = "", [], None, None, None, []
    for r in replies:
        model, id_ = r.model_version or model, r.response_id or id_
        for candidate in r.candidates or []:
            for part in candidate.content.parts or [] if candidate.content else []:
                if part.text is not None and not part.thought:
                    text += part.text
                if part.function_call is not None:
                    calls.append(_call(None, part.function_call.name, part.function_call.args))
            finish = [candidate.finish_reason.value] if candidate.finish_reason else finish
        if r.usage_metadata is not None:
            m = r.usage_metadata
            out = (m.candidates_token_count or 0) + (m.thoughts_token_count or 0)
            usage = _usage(m.prompt_token_count, out, m.total_token_count, m.cached_content_token_count)
    return {"content": text, "finish_reasons": finish, "model": model, "id": id_, "usage": usage, "tool_calls": calls}


def _cohere_usage(u: Any) -> Facts:
    billed, tokens = u.billed_units, u.tokens

    def pick(name: str) -> Any:
        value = getattr(billed, name, None) if billed is not None else None
        return value if value is not None else getattr(tokens, name, None)

    inp, out = pick("input_tokens"), pick("output_tokens")
    return _usage(inp, out, int(inp or 0) + int(out or 0))


def _cohere(fake: FakeServer, stream: bool) -> Facts:
    cohere = pytest.importorskip("cohere")
    client = cohere.ClientV2("test-key", base_url=fake.base_url("cohere"), max_retries=0,
                             log_warning_experimental_features=False)
    if not stream:
        r = client.chat(model=REQUESTED, messages=MESSAGES)
        text = "".join(c.text for c in r.message.content or [] if c.type == "text")
        return {"content": text, "finish_reasons": [r.finish_reason], "model": None, "id": r.id,
                "usage": _cohere_usage(r.usage),
                "tool_calls": [_call(c.id, c.function.name, c.function.arguments) for c in r.message.tool_calls or []]}
    text, finish, usage, id_, calls = "", [], None, None, []
    for event in client.chat_stream(model=REQUESTED, messages=MESSAGES):
        if event.type == "message-start":
            id_ = event.id
        elif event.type == "content-delta":
            text += event.delta.message.content.text
        elif event.type == "tool-call-start":
            tc = event.delta.message.tool_calls
            calls.append({"id": tc.id, "name": tc.function.name, "args": tc.function.arguments or ""})
        elif event.type == "tool-call-delta":
            calls[-1]["args"] += event.delta.message.tool_calls.function.arguments
        elif event.type == "message-end":
            finish, usage = [event.delta.finish_reason], _cohere_usage(event.delta.usage)
    return {"content": text, "finish_reasons": finish, "model": None, "id": id_, "usage": usage,
            "tool_calls": [_call(c["id"], c["name"], c["args"]) for c in calls]}


def _bedrock(fake: FakeServer, stream: bool) -> Facts:
    pytest.importorskip("botocore")
    from botocore.config import Config
    from botocore.session import Session

    client = Session().create_client("bedrock-runtime", region_name="us-east-1", endpoint_url=fake.base_url("bedrock"),
                                     aws_access_key_id="AKIDFAKE", aws_secret_access_key="secret",
                                     config=Config(retries={"max_attempts": 0, "mode": "standard"}))
    messages = [{"role": "user", "content": [{"text": "recorded"}]}]
    try:
        if not stream:
            r = client.converse(modelId=REQUESTED, messages=messages)
            blocks, stop, u = r["output"]["message"]["content"], r["stopReason"], r["usage"]
            calls = [_call(b["toolUse"]["toolUseId"], b["toolUse"]["name"], b["toolUse"]["input"])
                     for b in blocks if "toolUse" in b]
            text = "".join(b["text"] for b in blocks if "text" in b)
        else:
            text, stop, u, pending = "", None, {}, {}
            for event in client.converse_stream(modelId=REQUESTED, messages=messages)["stream"]:
                if "contentBlockStart" in event and "toolUse" in event["contentBlockStart"]["start"]:
                    start = event["contentBlockStart"]
                    pending[start["contentBlockIndex"]] = {**start["start"]["toolUse"], "input": ""}
                elif "contentBlockDelta" in event:
                    delta, at = event["contentBlockDelta"]["delta"], event["contentBlockDelta"]["contentBlockIndex"]
                    text += delta.get("text", "")
                    if "toolUse" in delta:
                        pending[at]["input"] += delta["toolUse"]["input"]
                elif "messageStop" in event:
                    stop = event["messageStop"]["stopReason"]
                elif "metadata" in event:
                    u = event["metadata"]["usage"]
            calls = [_call(c["toolUseId"], c["name"], c["input"]) for _, c in sorted(pending.items())]
    finally:
        client.close()
    read, write = u.get("cacheReadInputTokens", 0), u.get("cacheWriteInputTokens", 0)
    return {"content": text, "finish_reasons": [stop], "model": None, "id": None,
            "usage": _usage(u["inputTokens"] + read + write, u["outputTokens"], u["totalTokens"], read, write),
            "tool_calls": calls}


ORACLES: dict[str, Callable[[FakeServer, bool], Facts]] = {
    "openai": _openai, "groq": _groq, "mistral": _mistral, "azure": _azure,
    "anthropic": _anthropic, "google": _google, "cohere": _cohere, "bedrock": _bedrock,
}


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", RECORDED, ids=_id)
def test_the_official_sdk_reads_the_stored_facts_from_a_recorded_reply(fake, path, monkeypatch):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    provider, facts = path.parent.name, expected(path)
    fake.script(RawReply(200, {"content-type": CONTENT_TYPES[path.suffix]}, path.read_bytes()), provider=provider)
    seen = ORACLES[provider](fake, path.name.startswith("stream_"))
    if seen["model"] is None:  # the reply names none: minicall reports the one asked for
        assert facts["model"] in (None, REQUESTED)
        seen["model"] = facts["model"]
    for mine, theirs in zip(facts["tool_calls"], seen["tool_calls"]):
        if theirs["id"] is None:  # Gemini calls carry no id: minicall numbers them
            theirs["id"] = mine["id"]
    assert seen == {k: facts[k] for k in seen}


@pytest.mark.parametrize("path", FAILED_STREAMS, ids=_id)
def test_the_official_sdk_raises_the_stored_error_from_a_stream_that_breaks(fake, path):
    assert path.parent.name == "google"  # the only one recorded so far
    genai = pytest.importorskip("google.genai")
    from google.genai import errors, types

    facts = expected(path)
    fake.script(RawReply(200, {"content-type": CONTENT_TYPES[path.suffix]}, path.read_bytes()), provider="google")
    options = types.HttpOptions(base_url=fake.base_url("google"), retry_options=types.HttpRetryOptions(attempts=1))
    client = genai.Client(api_key="test-key", http_options=options)
    text = ""
    with pytest.raises(errors.APIError) as info:
        for r in client.models.generate_content_stream(model=REQUESTED, contents="recorded"):
            text += r.text or ""
    assert (info.value.code, info.value.message) == (facts["status_code"], facts["message"])
    assert text == facts["partial"]
