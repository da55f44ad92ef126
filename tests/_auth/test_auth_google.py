"""Google auth: PEM/DER parsing, RS256 checked by openssl, token flows and caching."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
from urllib.parse import parse_qs, parse_qsl, quote_plus

import pytest

from minicall._auth._rsa import load_private_key, sign_rs256
from minicall._auth.google import (
    CLOUD_PLATFORM_SCOPE,
    TOKEN_URI,
    TokenSource,
    parse_token_response,
    rs256_jwt,
    service_account_assertion,
    token_request,
)
from minicall._model.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    InternalServerError,
    ResponseFormatError,
)
from minicall._model.http import HttpRequest, HttpResponse

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


def openssl(*args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(
        ["openssl", *args], input=input, capture_output=True, check=True, timeout=60
    ).stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """One 2048-bit key as PKCS#8, PKCS#1 and its public half, made by openssl."""
    folder = tmp_path_factory.mktemp("keys")
    pkcs8 = folder / "key8.pem"
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(pkcs8))
    pkcs1 = folder / "key1.pem"
    openssl("pkey", "-in", str(pkcs8), "-traditional", "-out", str(pkcs1))
    public = folder / "pub.pem"
    openssl("pkey", "-in", str(pkcs8), "-pubout", "-out", str(public))
    return {
        "folder": folder,
        "pkcs8": pkcs8.read_text(),
        "pkcs1": pkcs1.read_text(),
        "public": public,
    }


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def openssl_verifies(keys, data: bytes, signature: bytes) -> bool:
    folder = keys["folder"]
    (folder / "data").write_bytes(data)
    (folder / "sig").write_bytes(signature)
    result = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", str(keys["public"]), "-signature",
         str(folder / "sig"), str(folder / "data")],
        capture_output=True,
        check=False,
        timeout=60,
    )  # fmt: skip
    return result.returncode == 0


def service_info(keys, **extra):
    info = {
        "type": "service_account",
        "project_id": "p",
        "private_key_id": "kid-123",
        "private_key": keys["pkcs8"],
        "client_email": "robot@p.iam.gserviceaccount.com",
        "token_uri": TOKEN_URI,
    }
    info.update(extra)
    return info


USER_INFO = {
    "type": "authorized_user",
    "client_id": "cid.apps.googleusercontent.com",
    "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty",
    "refresh_token": "1//0refresh-token-secret",
}


# --- keys and signatures ----------------------------------------------------------------


@pytest.mark.parametrize("form", ["pkcs8", "pkcs1"])
def test_jwt_signature_verifies_with_openssl(keys, form):
    token = rs256_jwt({"iss": "me", "n": 1}, keys[form], "kid-1")
    header, claims, signature = token.split(".")
    assert json.loads(b64url_decode(header)) == {"alg": "RS256", "typ": "JWT", "kid": "kid-1"}
    assert json.loads(b64url_decode(claims)) == {"iss": "me", "n": 1}
    assert "=" not in token
    signed = f"{header}.{claims}".encode()
    assert openssl_verifies(keys, signed, b64url_decode(signature))
    assert not openssl_verifies(keys, signed + b"x", b64url_decode(signature))


def test_both_pem_forms_load_the_same_key(keys):
    a, b = load_private_key(keys["pkcs8"]), load_private_key(keys["pkcs1"])
    assert (a.n, a.d, a.qinv) == (b.n, b.d, b.qinv)
    assert a.n.bit_length() == 2048


def test_signature_equals_the_cryptography_package(keys):
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    theirs = serialization.load_pem_private_key(keys["pkcs8"].encode(), password=None)
    message = b"header.claims"
    ours = sign_rs256(load_private_key(keys["pkcs8"]), message)
    # PKCS#1 v1.5 is deterministic, so the bytes must match exactly.
    assert ours == theirs.sign(message, padding.PKCS1v15(), hashes.SHA256())
    theirs.public_key().verify(ours, message, padding.PKCS1v15(), hashes.SHA256())


def test_key_repr_shows_only_its_size(keys):
    key = load_private_key(keys["pkcs1"])
    assert repr(key) == "RsaPrivateKey(2048 bits)"
    assert str(key.d)[:20] not in repr(key)


@pytest.mark.parametrize(
    "pem",
    [
        "",
        "not a key",
        "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIBAA==\n-----END RSA PRIVATE KEY-----\n",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n",
    ],
)
def test_garbage_pem_raises_configuration_error(pem):
    with pytest.raises(ConfigurationError):
        load_private_key(pem)


def test_truncated_der_raises_configuration_error_without_key_bytes(keys):
    body = "".join(keys["pkcs8"].strip().splitlines()[1:-1])
    der = base64.b64decode(body)
    cut = base64.b64encode(der[: len(der) // 2]).decode()
    pem = f"-----BEGIN PRIVATE KEY-----\n{cut}\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ConfigurationError) as info:
        load_private_key(pem)
    assert cut[40:80] not in str(info.value)


def test_non_rsa_pkcs8_key_is_refused(keys):
    ec = openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256").decode()
    with pytest.raises(ConfigurationError, match="not an RSA key"):
        load_private_key(ec)


def test_tampered_key_is_caught_by_the_signature_check(keys):
    key = load_private_key(keys["pkcs1"])
    key.dp += 2
    with pytest.raises(ConfigurationError, match="corrupt"):
        sign_rs256(key, b"x")


# --- requests ---------------------------------------------------------------------------


def test_service_account_assertion_claims(keys):
    jwt = service_account_assertion(
        service_info(keys), scopes=[CLOUD_PLATFORM_SCOPE, "b"], now=1000
    )
    header, claims, _ = jwt.split(".")
    assert json.loads(b64url_decode(header))["kid"] == "kid-123"
    assert json.loads(b64url_decode(claims)) == {
        "iss": "robot@p.iam.gserviceaccount.com",
        "scope": f"{CLOUD_PLATFORM_SCOPE} b",
        "aud": TOKEN_URI,
        "iat": 1000,
        "exp": 4600,
    }


def test_service_account_token_request_posts_a_jwt_bearer_form(keys):
    info = service_info(keys, token_uri="https://example.test/token")
    request = token_request(info, now=1000)
    assert (request.method, request.url) == ("POST", "https://example.test/token")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.body.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = json.loads(b64url_decode(form["assertion"][0].split(".")[1]))
    assert claims["aud"] == "https://example.test/token"
    assert claims["scope"] == CLOUD_PLATFORM_SCOPE
    assert keys["pkcs8"][40:80] not in repr(request)


def test_authorized_user_token_request_posts_a_refresh_token_form():
    request = token_request(USER_INFO, now=0)
    assert request.url == TOKEN_URI
    assert parse_qs(request.body.decode()) == {
        "grant_type": ["refresh_token"],
        "client_id": [USER_INFO["client_id"]],
        "client_secret": [USER_INFO["client_secret"]],
        "refresh_token": [USER_INFO["refresh_token"]],
    }
    assert USER_INFO["refresh_token"] not in repr(request)


@pytest.mark.parametrize(
    "info, problem",
    [
        ({"type": "external_account"}, "unsupported"),
        ({}, "unsupported"),
        ({"type": "authorized_user", "client_id": "x"}, "client_secret"),
        ({"type": "service_account", "private_key": "k"}, "client_email"),
    ],
)
def test_incomplete_credentials_raise_configuration_error(info, problem):
    with pytest.raises(ConfigurationError, match=problem):
        token_request(info, now=0)


def test_parse_token_response():
    body = b'{"access_token":"ya29.abc","expires_in":3599,"token_type":"Bearer"}'
    assert parse_token_response(body) == ("ya29.abc", 3599.0)
    assert parse_token_response(b'{"access_token":"t"}') == ("t", 3600.0)


@pytest.mark.parametrize(
    "body",
    [b"", b"<html>", b"[]", b'{"expires_in":10}', b'{"access_token":5}',
     b'{"access_token":"t","expires_in":"soon"}', b'{"access_token":"t","expires_in":true}'],
)  # fmt: skip
def test_garbage_token_response_raises_response_format_error(body):
    with pytest.raises(ResponseFormatError):
        parse_token_response(body)


# --- the token source -------------------------------------------------------------------


class FakeTokenEndpoint:
    """A ``send`` function answering token requests, counting them."""

    def __init__(self, status=200, body=None):
        self.requests: list[HttpRequest] = []
        self.status = status
        self.body = body

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        body = (
            self.body
            or json.dumps(
                {"access_token": f"token-{len(self.requests)}", "expires_in": 3600}
            ).encode()
        )
        return HttpResponse(self.status, {"content-type": "application/json"}, body)


class FakeClock:
    def __init__(self, now=1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_token_is_cached_until_a_minute_before_expiry(keys):
    send, clock = FakeTokenEndpoint(), FakeClock()
    source = TokenSource(service_info(keys), send, clock=clock)
    assert source.token() == "token-1"
    clock.now += 3600 - 61
    assert source.token() == "token-1"
    assert len(send.requests) == 1
    clock.now += 1
    assert source.token() == "token-2"
    assert len(send.requests) == 2
    claims = json.loads(
        b64url_decode(parse_qs(send.requests[1].body.decode())["assertion"][0].split(".")[1])
    )
    assert claims["iat"] == int(clock.now)


def test_invalidate_forces_a_refresh():
    send = FakeTokenEndpoint()
    source = TokenSource(USER_INFO, send, clock=FakeClock())
    assert source.token() == "token-1"
    source.invalidate()
    assert source.token() == "token-2"


def test_concurrent_callers_share_one_refresh():
    gate = threading.Event()
    endpoint = FakeTokenEndpoint()

    def slow_send(request):
        gate.wait(5)
        return endpoint(request)

    source = TokenSource(USER_INFO, slow_send, clock=FakeClock())
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(source.token())) for _ in range(8)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(10)
    assert results == ["token-1"] * 8
    assert len(endpoint.requests) == 1


def test_token_endpoint_error_raises_authentication_error_without_secrets(keys):
    body = b'{"error":"invalid_grant","error_description":"Invalid JWT Signature."}'
    source = TokenSource(service_info(keys), FakeTokenEndpoint(400, body), clock=FakeClock())
    with pytest.raises(AuthenticationError) as info:
        source.token()
    error = info.value
    assert error.status_code == 400
    assert "Invalid JWT Signature." in str(error)
    assert "invalid_grant" in str(error)
    key_body = "".join(keys["pkcs8"].strip().splitlines()[1:-1])
    for text in (str(error), repr(error), repr(source)):
        assert key_body[100:140] not in text
        assert "BEGIN PRIVATE KEY" not in text


def test_authorized_user_error_never_shows_the_refresh_token_or_secret():
    body = b'{"error":"invalid_client","error_description":"The OAuth client was not found."}'
    source = TokenSource(USER_INFO, FakeTokenEndpoint(401, body), clock=FakeClock())
    with pytest.raises(AuthenticationError) as info:
        source.token()
    shown = str(info.value) + repr(info.value) + repr(source)
    assert "The OAuth client was not found." in shown
    assert USER_INFO["refresh_token"] not in shown
    assert USER_INFO["client_secret"] not in shown


def test_token_endpoint_server_error_stays_retryable():
    source = TokenSource(USER_INFO, FakeTokenEndpoint(503, b"<html>busy</html>"), clock=FakeClock())
    with pytest.raises(InternalServerError) as info:
        source.token()
    assert info.value.status_code == 503


def test_token_source_repr_hides_the_key(keys):
    source = TokenSource(service_info(keys), FakeTokenEndpoint(), clock=FakeClock())
    shown = repr(source)
    assert "robot@p.iam.gserviceaccount.com" in shown
    assert "PRIVATE KEY" not in shown
    assert str(load_private_key(keys["pkcs8"]).d)[:30] not in shown


def test_bad_key_is_reported_when_the_source_is_built(keys):
    with pytest.raises(ConfigurationError, match="private key"):
        TokenSource(
            service_info(keys, private_key="garbage"), FakeTokenEndpoint(), clock=FakeClock()
        )


class EchoingTokenEndpoint:
    """A token endpoint that refuses the request and echoes its form back, in the
    error description, a header and an extra body field (as debugging proxies do)."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.forms: list[str] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        form = request.body.decode()
        self.forms.append(form)
        body = {"error": "invalid_grant", "error_description": f"bad request: {form}", "echo": {"form": [form]}}
        headers = {"content-type": "application/json", "x-echo": form}
        return HttpResponse(self.status, headers, json.dumps(body).encode(), reason=f"Bad {form}")


def _shown(error: Exception) -> str:
    return str(error) + repr(error) + json.dumps(getattr(error, "body", None)) + repr(getattr(error, "headers", None))


@pytest.mark.parametrize("status", [400, 401, 503])
def test_an_echoing_token_endpoint_never_puts_the_refresh_secrets_in_the_error(status):
    endpoint = EchoingTokenEndpoint(status)
    with pytest.raises(APIError) as info:
        TokenSource(USER_INFO, endpoint, clock=FakeClock()).token()
    shown = _shown(info.value)
    assert "invalid_grant" in shown and USER_INFO["client_id"] in shown  # the rest stays readable
    assert USER_INFO["refresh_token"] not in shown
    assert USER_INFO["client_secret"] not in shown
    assert quote_plus(USER_INFO["refresh_token"]) not in shown


def test_an_echoing_token_endpoint_never_puts_the_jwt_assertion_in_the_error(keys):
    endpoint = EchoingTokenEndpoint(400)
    with pytest.raises(AuthenticationError) as info:
        TokenSource(service_info(keys), endpoint, clock=FakeClock()).token()
    assertion = dict(parse_qsl(endpoint.forms[0]))["assertion"]
    shown = _shown(info.value)
    assert "invalid_grant" in shown
    assert assertion not in shown
    assert assertion.split(".")[2] not in shown  # the signature alone neither
