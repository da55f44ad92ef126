"""SigV4: the Bedrock vector, the AWS SigV4 test suite, and botocore as an oracle.

The suite cases are from the AWS "aws-sig-v4-test-suite" as shipped in botocore's
tests/unit/auth/aws4_testsuite (service "service", region us-east-1, key AKIDEXAMPLE,
time 20150830T123600Z); expected values are copied from its .creq and .authz files.
Not reproduced: the normalize-path/* cases (non-S3 paths are not normalised here, as in
botocore's Bedrock signing), and get-header-key-duplicate / get-header-value-multiline /
get-header-value-order (a header Mapping cannot hold a name twice).
"""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicall._auth.sigv4 import (
    AwsCredentials,
    canonical_request,
    encode_model_id,
    sign,
)
from minicall._model.http import HttpRequest

UTC = datetime.timezone.utc
SUITE_TIME = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
SUITE_CREDS = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
EMPTY_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
STS_TOKEN = (
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmx"
    "fpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0K"
    "PkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZb"
    "qBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
)
FORM = "application/x-www-form-urlencoded"
UNRESERVED = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# name, method, path and query, extra headers, body, session token, signed headers, signature
SUITE = [
    ("get-vanilla", "GET", "/", {}, b"", None, "host;x-amz-date",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("post-vanilla", "POST", "/", {}, b"", None, "host;x-amz-date",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ("post-vanilla-query", "POST", "/?Param1=value1", {}, b"", None, "host;x-amz-date",
     "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
    ("get-vanilla-query-order-key-case", "GET", "/?Param2=value2&Param1=value1", {}, b"", None,
     "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    ("get-vanilla-query-order-key", "GET", "/?Param1=value2&Param1=Value1", {}, b"", None,
     "host;x-amz-date", "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"),
    ("get-vanilla-query-order-value", "GET", "/?Param1=value2&Param1=value1", {}, b"", None,
     "host;x-amz-date", "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"),
    ("get-vanilla-query-order-encoded", "GET", "/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
     {}, b"", None, "host;x-amz-date",
     "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"),
    ("get-vanilla-query-unreserved", "GET", f"/?{UNRESERVED}={UNRESERVED}", {}, b"", None,
     "host;x-amz-date", "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
    ("get-vanilla-utf8-query", "GET", "/?\u1234=bar", {}, b"", None, "host;x-amz-date",
     "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
    ("get-unreserved", "GET", "/" + UNRESERVED, {}, b"", None, "host;x-amz-date",
     "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
    ("get-utf8", "GET", "/\u1234", {}, b"", None, "host;x-amz-date",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
    ("get-header-value-trim", "GET", "/", {"My-Header1": " value1", "My-Header2": ' "a   b   c"'},
     b"", None, "host;my-header1;my-header2;x-amz-date",
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
    ("post-header-key-sort", "POST", "/", {"My-Header1": "value1"}, b"", None,
     "host;my-header1;x-amz-date",
     "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"),
    ("post-header-value-case", "POST", "/", {"My-Header1": "VALUE1"}, b"", None,
     "host;my-header1;x-amz-date",
     "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
    ("post-x-www-form-urlencoded", "POST", "/", {"Content-Type": FORM}, b"Param1=value1", None,
     "content-type;host;x-amz-date",
     "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
    ("post-x-www-form-urlencoded-parameters", "POST", "/",
     {"Content-Type": FORM + "; charset=utf8"}, b"Param1=value1", None,
     "content-type;host;x-amz-date",
     "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"),
    ("get-vanilla-with-session-token", "GET", "/", {}, b"",
     "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
     "host;x-amz-date;x-amz-security-token",
     "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"),
    ("post-sts-header-before", "POST", "/", {}, b"", STS_TOKEN,
     "host;x-amz-date;x-amz-security-token",
     "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
]  # fmt: skip


@pytest.mark.parametrize(
    "method, target, headers, body, token, signed, signature",
    [case[1:] for case in SUITE],
    ids=[case[0] for case in SUITE],
)
def test_aws_sigv4_suite_case(method, target, headers, body, token, signed, signature):
    creds = AwsCredentials(SUITE_CREDS.access_key_id, SUITE_CREDS.secret_access_key, token)
    request = HttpRequest(method, "https://example.amazonaws.com" + target, headers, body)
    signed_request = sign(request, creds, region="us-east-1", service="service", now=SUITE_TIME)
    assert signed_request.headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    assert signed_request.headers["X-Amz-Date"] == "20150830T123600Z"


def test_suite_canonical_requests_for_query_order_and_header_trim():
    request = HttpRequest(
        "GET",
        "https://example.amazonaws.com/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
        {"X-Amz-Date": "20150830T123600Z"},
    )
    assert canonical_request(request) == (
        (
            "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\n"
            "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            f"host;x-amz-date\n{EMPTY_SHA}"
        ),
        "host;x-amz-date",
    )
    trimmed = HttpRequest(
        "GET",
        "https://example.amazonaws.com/",
        {"My-Header1": " value1", "My-Header2": ' "a   b   c"', "X-Amz-Date": "20150830T123600Z"},
    )
    assert canonical_request(trimmed)[0].split("\n")[3:6] == [
        "host:example.amazonaws.com",
        "my-header1:value1",
        'my-header2:"a b c"',
    ]


BEDROCK_URL = (
    "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
    "anthropic.claude-3-haiku-20240307-v1%3A0/converse"
)
BEDROCK_BODY = b'{"messages":[{"role":"user","content":[{"text":"hi"}]}]}'


def test_bedrock_vector_from_providers_notes():
    request = HttpRequest("POST", BEDROCK_URL, {"Content-Type": "application/json"}, BEDROCK_BODY)
    signed = sign(
        request,
        SUITE_CREDS,
        region="us-east-1",
        service="bedrock",
        now=datetime.datetime(2024, 1, 1, tzinfo=UTC),
    )
    assert signed.headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/bedrock/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=6f88a80011decd5c99451a480f81e600fdee43ae9f0769ab8b258d9982f83cc4"
    )
    canonical = canonical_request(signed)[0]
    assert canonical.split("\n")[1] == "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse"
    assert canonical.endswith("c3335e07d6e89650bf94cb98664be69f8774dbc3198df221f113db0a59ea14f0")
    assert signed.body == BEDROCK_BODY
    assert signed.url == BEDROCK_URL


def test_signing_returns_a_new_request_and_replaces_stale_auth_headers():
    request = HttpRequest(
        "POST",
        BEDROCK_URL,
        {"authorization": "old", "x-amz-date": "19990101T000000Z", "User-Agent": "minicall"},
        BEDROCK_BODY,
    )
    signed = sign(request, SUITE_CREDS, region="us-east-1", service="bedrock", now=SUITE_TIME)
    assert dict(request.headers)["authorization"] == "old"
    assert {k.lower() for k in signed.headers} == {"authorization", "x-amz-date", "user-agent"}
    # user-agent is never signed: proxies and transports rewrite it.
    assert "SignedHeaders=host;x-amz-date," in signed.headers["Authorization"]


def test_session_token_is_sent_and_signed():
    creds = AwsCredentials("AKID", "secret", "tok")
    signed = sign(HttpRequest("GET", BEDROCK_URL), creds, region="eu-west-1", service="bedrock",
                  now=SUITE_TIME)  # fmt: skip
    assert signed.headers["X-Amz-Security-Token"] == "tok"
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token" in signed.headers["Authorization"]


def test_non_default_port_is_part_of_the_signed_host():
    request = HttpRequest("GET", "http://127.0.0.1:8123/model/x/converse")
    text = canonical_request(request)[0]
    assert "host:127.0.0.1:8123\n" in text
    assert (
        "host:example.com\n" in canonical_request(HttpRequest("GET", "https://example.com:443/"))[0]
    )


def test_naive_and_aware_times_sign_alike():
    request = HttpRequest("GET", BEDROCK_URL)
    aware = datetime.datetime(
        2015, 8, 30, 14, 36, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    naive = datetime.datetime(2015, 8, 30, 12, 36)
    kw = {"region": "us-east-1", "service": "bedrock"}
    assert (
        sign(request, SUITE_CREDS, now=aware, **kw).headers
        == sign(request, SUITE_CREDS, now=naive, **kw).headers
    )


def test_credentials_repr_hides_secret_and_token():
    creds = AwsCredentials(
        "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "SESSIONTOKEN"
    )
    shown = repr(creds) + str(creds)
    assert "AKIDEXAMPLE" in shown
    assert "wJalr" not in shown
    assert "SESSIONTOKEN" not in shown


@pytest.mark.parametrize(
    "model_id, label",
    [
        ("anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1%3A0"),
        ("us.amazon.nova-micro-v1:0", "us.amazon.nova-micro-v1%3A0"),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/x",
            "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fx",
        ),
    ],
)
def test_model_id_is_encoded_as_one_label(model_id, label):
    assert encode_model_id(model_id) == label


# --- botocore as an oracle --------------------------------------------------------------


def botocore_authorization(monkeypatch, url, headers, body, creds, region, now):
    auth_mod = pytest.importorskip("botocore.auth")
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    monkeypatch.setattr(auth_mod, "get_current_datetime", lambda *a, **k: now.replace(tzinfo=None))
    request = AWSRequest(method="POST", url=url, headers=dict(headers), data=body)
    signer = auth_mod.SigV4Auth(
        Credentials(creds.access_key_id, creds.secret_access_key, creds.session_token),
        "bedrock",
        region,
    )
    signer.add_auth(request)
    return request.headers["Authorization"]


@pytest.mark.conformance
@pytest.mark.parametrize(
    "url, headers, token",
    [
        (BEDROCK_URL, {"Content-Type": "application/json"}, None),
        (BEDROCK_URL, {"Content-Type": "application/json"}, "FwoGZXIvYXdzEXAMPLE"),
        (
            "https://bedrock-runtime.eu-central-1.amazonaws.com/model/"
            + encode_model_id("arn:aws:bedrock:eu-central-1:1:inference-profile/eu.x:0")
            + "/converse-stream",
            {"Content-Type": "application/json", "Accept": "application/vnd.amazon.eventstream"},
            None,
        ),
        ("http://127.0.0.1:9000/model/m/converse?b=2&a=1&a=0", {"X-Custom": "  a  b "}, None),
    ],
)
def test_matches_botocore_sigv4(monkeypatch, url, headers, token):
    creds = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    now = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    region = "eu-central-1"
    expected = botocore_authorization(monkeypatch, url, headers, BEDROCK_BODY, creds, region, now)
    request = HttpRequest("POST", url, headers, BEDROCK_BODY)
    ours = sign(request, creds, region=region, service="bedrock", now=now)
    assert ours.headers["Authorization"] == expected


@pytest.mark.conformance
@settings(max_examples=40, deadline=None)
@given(model_id=st.text(min_size=1, max_size=30), body=st.binary(max_size=50))
def test_any_model_id_signs_like_botocore(model_id, body):
    pytest.importorskip("botocore.auth")
    with pytest.MonkeyPatch.context() as monkeypatch:
        url = f"https://bedrock-runtime.us-east-1.amazonaws.com/model/{encode_model_id(model_id)}/converse"
        now = datetime.datetime(2024, 1, 1, tzinfo=UTC)
        expected = botocore_authorization(monkeypatch, url, {}, body, SUITE_CREDS, "us-east-1", now)
        ours = sign(HttpRequest("POST", url, {}, body), SUITE_CREDS, region="us-east-1",
                    service="bedrock", now=now)  # fmt: skip
        assert ours.headers["Authorization"] == expected


@pytest.mark.conformance
@pytest.mark.parametrize(
    "path",
    ["/model/./converse", "/model/../model/m/converse", "/model//m/converse", "/model/m/converse/", "/a/b/../../..", "//"],
)
def test_dot_and_empty_segments_are_normalised_before_signing_as_botocore_does(path):
    pytest.importorskip("botocore.auth")
    with pytest.MonkeyPatch.context() as monkeypatch:
        url = f"https://bedrock-runtime.us-east-1.amazonaws.com{path}"
        now = datetime.datetime(2024, 1, 1, tzinfo=UTC)
        expected = botocore_authorization(monkeypatch, url, {}, b"{}", SUITE_CREDS, "us-east-1", now)
        ours = sign(HttpRequest("POST", url, {}, b"{}"), SUITE_CREDS, region="us-east-1",
                    service="bedrock", now=now)  # fmt: skip
        assert ours.headers["Authorization"] == expected
