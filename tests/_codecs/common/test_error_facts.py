"""The provider facts an error is judged by, declared by each codec.

The retry policy and the send step are provider-blind: which error bodies no retry can
cure (``Codec.never_retry``) and which response header names the request id
(``Codec.request_id_headers``) are each codec's to say, as its provider's official SDK
reads them. The request id is also checked through the whole pipeline against
FakeServer; the pipeline's retries of 429s are in ``test_hardening_faults``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from shared import ask, run

from minicall import APIError
from minicall._call.registry import PROVIDERS
from minicall._cli.demo import MODELS
from minicall._codecs.anthropic.codec import ANTHROPIC
from minicall._codecs.bedrock.codec import CODEC as BEDROCK
from minicall._codecs.cohere import CODEC as COHERE
from minicall._codecs.gemini.codec import GEMINI
from minicall._codecs.openai.codec import AZURE_OPENAI, DIALECTS, OpenAICompatCodec
from minicall._model.spec import Codec
from minicall.testing import ErrorReply, FakeServer

COMPAT: dict[str, Codec] = {name: OpenAICompatCodec(d) for name, d in DIALECTS.items()}
CODECS: dict[str, Codec] = {
    **COMPAT,
    "anthropic": ANTHROPIC,
    "google": GEMINI,
    "cohere": COHERE,
    "bedrock": BEDROCK,
}


def quota_body(**error: Any) -> bytes:
    fields = error or {
        "message": "You exceeded your current quota",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }
    return json.dumps({"error": fields}).encode()


def test_every_provider_has_a_codec_here():
    assert set(CODECS) == set(PROVIDERS)


# -- bodies no retry can cure ------------------------------------------------------------


@pytest.mark.parametrize(
    "codec", [*COMPAT.values(), OpenAICompatCodec(AZURE_OPENAI)], ids=lambda c: c.provider
)
def test_insufficient_quota_429_is_final_for_every_openai_compatible_dialect(codec):
    assert codec.never_retry(429, quota_body())


def test_insufficient_quota_as_code_only_or_type_only_is_recognised():
    codec = COMPAT["openai"]
    assert codec.never_retry(429, quota_body(code="insufficient_quota"))
    assert codec.never_retry(429, quota_body(type="insufficient_quota"))


def test_insufficient_quota_with_another_status_is_left_to_the_status():
    # Only a 429 is judged by its body; any other status keeps the policy's verdict.
    assert not COMPAT["openai"].never_retry(500, quota_body())


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"insufficient_quota",  # not JSON
        b'["insufficient_quota"]',  # not an object
        b'{"error": "insufficient_quota"}',  # error not an object
        b'{"error": {"code": "rate_limit_exceeded", "message": "not insufficient_quota"}}',
        b"\xff\xfe insufficient_quota",  # not UTF-8
        b"[" * 100_000 + b"insufficient_quota",  # absurd nesting
    ],
)
def test_ordinary_or_garbled_429_bodies_are_not_final(body):
    assert not COMPAT["openai"].never_retry(429, body)


@pytest.mark.parametrize("provider", ["anthropic", "google", "cohere", "bedrock"])
def test_providers_whose_sdks_retry_every_429_mark_no_body_final(provider):
    # OpenAI's quota code means nothing in another provider's error format.
    assert not CODECS[provider].never_retry(429, quota_body())


# -- the request id header ------------------------------------------------------------------

# The header each official SDK reads the request id from: openai's APIStatusError
# (and so xAI, LiteLLM and Azure OpenAI through it) ``x-request-id``; anthropic's
# ``request-id``; botocore's REST parsers ``x-amzn-RequestId``. The google-genai,
# cohere, mistralai, groq and azure-ai-inference SDKs expose none: ``x-request-id``
# is their default.
REQUEST_ID_HEADER = {
    "openai": "x-request-id",
    "anthropic": "request-id",
    "google": "x-request-id",
    "groq": "x-request-id",
    "xai": "x-request-id",
    "mistral": "x-request-id",
    "cohere": "x-request-id",
    "litellm": "x-request-id",
    "azure": "x-request-id",
    "bedrock": "x-amzn-requestid",
}
# Every candidate at once, each with its own value: only the provider's own may win.
ALL_IDS = {
    "x-request-id": "id-from-x-request-id",
    "request-id": "id-from-request-id",
    "x-amzn-requestid": "id-from-x-amzn-requestid",
    "x-amz-request-id": "id-from-x-amz-request-id",
}


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_codec_names_the_request_id_header_its_sdk_reads(provider):
    assert CODECS[provider].request_id_headers[0] == REQUEST_ID_HEADER[provider]


def fail(fake: FakeServer, provider: str, headers: dict[str, str]) -> APIError:
    """The error of a call answered with a 400 carrying ``headers``."""
    fake.script(ErrorReply(400, "bad request", headers=headers), provider=provider)
    client = fake.client(provider, max_retries=0)
    with pytest.raises(APIError) as info:
        run(ask(client, "sync", provider=provider, model=MODELS[provider]), "hello")
    assert info.value.provider == provider
    return info.value


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_error_carries_the_request_id_from_the_providers_own_header(fake, provider):
    assert fail(fake, provider, ALL_IDS).request_id == ALL_IDS[REQUEST_ID_HEADER[provider]]


# FakeServer adds each provider's own request id header; "" blanks it out.
BLANK = {"x-request-id": "", "request-id": "", "x-amzn-requestid": ""}


@pytest.mark.parametrize(
    ("provider", "foreign"),
    [
        ("anthropic", "x-request-id"),
        ("openai", "request-id"),
        ("openai", "x-amzn-requestid"),
        ("bedrock", "x-request-id"),
    ],
)
def test_another_providers_request_id_header_is_not_taken(fake, provider, foreign):
    assert fail(fake, provider, {**BLANK, foreign: "not-this-provider"}).request_id is None


def test_bedrock_falls_back_to_x_amz_request_id_as_botocore_does(fake):
    headers = {**BLANK, "x-amz-request-id": "id-from-x-amz-request-id"}
    assert fail(fake, "bedrock", headers).request_id == "id-from-x-amz-request-id"
