"""Application Default Credentials on Google Cloud: the metadata server fallback.

A tiny loopback HTTP server stands in for the metadata server (``GCE_METADATA_HOST`` and
``GCE_METADATA_IP`` point at it); FakeServer stands in for Vertex AI. Nothing leaves
127.0.0.1: every test here pins both variables, and the DMI product-name file is
pointed at a path that does not exist so a test run on a GCE machine behaves the same.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

import minicall
from minicall import llm
from minicall._auth import metadata
from minicall._auth.google import (
    CLOUD_PLATFORM_SCOPE,
    TokenSource,
    application_default,
    well_known_file,
)
from minicall._http._default import DefaultTransport
from minicall.providers import google
from minicall.testing import ErrorReply

MODEL = "gemini-2.0-flash"
TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"
PROJECT_PATH = "/computeMetadata/v1/project/project-id"
INFO_PATH = "/computeMetadata/v1/instance/service-accounts/default/"
SECRET = "ya29.metadata-secret"


class MetadataHandler(BaseHTTPRequestHandler):
    server: MetadataServerStandIn

    def do_GET(self) -> None:
        fake = self.server
        fake.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        path = urlsplit(self.path).path
        if self.headers.get("Metadata-Flavor") != "Google":
            self._answer(403, b"Missing Metadata-Flavor:Google header.", "text/html")
        elif path == "/":
            self._answer(200, b"computeMetadata/\n", "application/text", flavor=fake.flavor)
        elif path == TOKEN_PATH:
            fake.tokens_issued += 1
            if fake.token_status != 200:
                self._answer(fake.token_status, b"no service account", "text/plain")
                return
            body = {"access_token": f"{SECRET}-{fake.tokens_issued}", "expires_in": fake.expires_in,
                    "token_type": "Bearer"}  # fmt: skip
            self._answer(200, json.dumps(body).encode(), "application/json")
        elif path == INFO_PATH:  # google-auth reads the account's email and scopes first
            body = {"email": "robot@p.iam.gserviceaccount.com", "scopes": [CLOUD_PLATFORM_SCOPE],
                    "aliases": ["default"]}  # fmt: skip
            self._answer(200, json.dumps(body).encode(), "application/json")
        elif path == PROJECT_PATH and fake.project is not None:
            self._answer(200, fake.project.encode(), "application/text")
        else:
            self._answer(404, b"Not Found", "text/html")

    def _answer(self, status: int, body: bytes, kind: str, flavor: bool = True) -> None:
        self.send_response(status)
        if flavor:
            self.send_header("Metadata-Flavor", "Google")
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class MetadataServerStandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), MetadataHandler)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.flavor = True
        self.project: str | None = "meta-project"
        self.expires_in = 3599
        self.token_status = 200
        self.tokens_issued = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def paths(self) -> list[str]:
        return [urlsplit(path).path for path, _ in self.requests]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def hermetic(monkeypatch, tmp_path):
    """No gcloud file, no inherited metadata settings, no DMI product name."""
    for name in ("NO_GCE_CHECK", "GCE_METADATA_HOST", "GCE_METADATA_ROOT", "GCE_METADATA_IP",
                 "GCE_METADATA_TIMEOUT", "GCE_METADATA_DETECT_RETRIES"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setattr(metadata, "_PRODUCT_NAME_FILE", str(tmp_path / "no-product-name"))
    # Pointed at a dead loopback port until a test starts the stand-in.
    dead = f"127.0.0.1:{closed_port()}"
    monkeypatch.setenv("GCE_METADATA_HOST", dead)
    monkeypatch.setenv("GCE_METADATA_IP", dead)


@pytest.fixture()
def server(monkeypatch):
    httpd = MetadataServerStandIn()
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    monkeypatch.setenv("GCE_METADATA_HOST", httpd.address)
    monkeypatch.setenv("GCE_METADATA_IP", httpd.address)
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture()
def send():
    transport = DefaultTransport()
    yield transport.send
    transport.sync().close()


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- the metadata server's requests --------------------------------------------------------


def test_token_request_is_the_documented_get_with_the_flavor_header(server, send):
    source = TokenSource(metadata.MetadataServer.at(), send, clock=FakeClock())
    assert source.token() == f"{SECRET}-1"
    path, headers = server.requests[-1]
    assert urlsplit(path).path == TOKEN_PATH
    assert parse_qs(urlsplit(path).query) == {"scopes": [CLOUD_PLATFORM_SCOPE]}
    assert headers["metadata-flavor"] == "Google"
    assert headers["host"] == server.address


def test_token_is_cached_until_a_minute_before_expiry_then_fetched_again(server, send):
    clock = FakeClock()
    source = TokenSource(metadata.MetadataServer.at(), send, clock=clock)
    assert source.token() == f"{SECRET}-1"
    clock.now += 3599 - 61
    assert source.token() == f"{SECRET}-1"
    assert server.tokens_issued == 1
    clock.now += 1
    assert source.token() == f"{SECRET}-2"
    assert server.tokens_issued == 2


def test_metadata_host_variables_and_their_defaults():
    assert (
        metadata.MetadataServer.at({}).url("x")
        == "http://metadata.google.internal/computeMetadata/v1/x"
    )
    assert metadata.MetadataServer.at({"GCE_METADATA_ROOT": "old:1"}).host == "old:1"
    both = {"GCE_METADATA_HOST": "new:2", "GCE_METADATA_ROOT": "old:1"}
    assert metadata.MetadataServer.at(both).host == "new:2"
    assert metadata.metadata_ip({}) == "169.254.169.254"
    assert metadata.metadata_ip({"GCE_METADATA_IP": "10.0.0.1:8080"}) == "10.0.0.1:8080"


def test_the_ping_needs_the_flavor_header_in_the_answer(server, send):
    assert metadata.detect(send)
    assert server.requests[-1][0] == "/"
    server.flavor = False  # e.g. a captive portal answering 200 to anything
    assert not metadata.detect(send)


def test_no_gce_check_skips_the_ping(server, send, monkeypatch):
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    assert not metadata.detect(send)
    assert server.requests == []


def test_google_hardware_counts_even_when_the_ping_fails(send, monkeypatch, tmp_path):
    product = tmp_path / "product_name"
    product.write_text("Google Compute Engine\n")
    monkeypatch.setattr(metadata, "_PRODUCT_NAME_FILE", str(product))
    assert metadata.detect(send)


def test_project_id_comes_from_the_metadata_server(server, send):
    assert metadata.project_id(send) == "meta-project"
    assert server.requests[-1][1]["metadata-flavor"] == "Google"
    server.project = None
    assert metadata.project_id(send) is None


# --- the ADC order --------------------------------------------------------------------------


def test_absent_server_fails_fast_naming_every_place_looked_at(tmp_path):
    start = time.monotonic()
    with pytest.raises(minicall.ConfigurationError) as info:
        google.GoogleClient(vertex=True, project="proj", location="us-central1")
    assert time.monotonic() - start < 5  # generous on a busy machine: fast, not a hang
    message = str(info.value)
    for place in ("access_token=", "token_provider=", "GOOGLE_APPLICATION_CREDENTIALS",
                  str(tmp_path / "gcloud" / "application_default_credentials.json"),
                  "metadata server", "gcloud auth application-default login"):  # fmt: skip
        assert place in message


def test_a_silent_server_is_given_up_on_after_the_timeout(monkeypatch):
    # A socket that accepts connections but never answers: the ping must time out.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setenv("GCE_METADATA_IP", address)
        monkeypatch.setenv("GCE_METADATA_TIMEOUT", "0.2")
        monkeypatch.setenv("GCE_METADATA_DETECT_RETRIES", "2")
        start = time.monotonic()
        with pytest.raises(
            minicall.ConfigurationError, match=f"no metadata server answered at http://{address}"
        ):
            google.GoogleClient(vertex=True, project="proj")
        assert time.monotonic() - start < 5  # generous on a busy machine: fast, not a hang


def test_no_gce_check_is_named_in_the_error(monkeypatch):
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    with pytest.raises(minicall.ConfigurationError, match="NO_GCE_CHECK=true"):
        google.GoogleClient(vertex=True, project="proj")


def test_credential_files_come_before_the_metadata_server(server, send, monkeypatch, tmp_path):
    user = {"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r",
            "project_id": "file-project"}  # fmt: skip
    gcloud = tmp_path / "gcloud"
    gcloud.mkdir()
    (gcloud / "application_default_credentials.json").write_text(json.dumps(user))
    assert well_known_file() == str(gcloud / "application_default_credentials.json")
    found = application_default(send)
    assert (found.origin, found.project) == (well_known_file(), "file-project")
    explicit = tmp_path / "explicit.json"
    explicit.write_text(json.dumps({**user, "project_id": "explicit-project"}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(explicit))
    assert application_default(send).project == "explicit-project"
    assert server.requests == []  # the metadata server was never asked


def test_well_known_file_follows_cloudsdk_config_and_the_platform():
    assert (
        well_known_file({"CLOUDSDK_CONFIG": "/cfg"}) == "/cfg/application_default_credentials.json"
    )
    assert well_known_file({}).endswith("/.config/gcloud/application_default_credentials.json")


def test_client_discovers_the_project_only_when_none_is_configured(server, monkeypatch):
    client = google.GoogleClient(vertex=True, location="us-central1")
    assert client.project == "meta-project"
    assert server.paths() == ["/", PROJECT_PATH]  # the ping, the project; no token yet
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-project")
    assert google.GoogleClient(vertex=True).project == "env-project"
    assert server.paths() == ["/", PROJECT_PATH, "/"]


def test_no_project_anywhere_names_the_setting(server):
    server.project = None
    with pytest.raises(minicall.ConfigurationError, match="GOOGLE_CLOUD_PROJECT"):
        google.GoogleClient(vertex=True)


# --- end to end -----------------------------------------------------------------------------


def ask_through(client):
    """A sync and an async prompt function sent to Vertex through ``client``."""

    def ask() -> str:
        return "hi"

    async def ask_async() -> str:
        return "hi"

    decorate = llm.call(provider="google", model=MODEL, client=client)
    return decorate(ask), decorate(ask_async)


def test_vertex_call_end_to_end_with_a_metadata_token(server, fake):
    client = google.GoogleClient(
        vertex=True, location="us-central1", base_url=fake.base_url("google")
    )

    ask, ask_async = ask_through(client)

    assert ask().content == "echo: hi"
    assert asyncio.run(ask_async()).content == "echo: hi"
    assert fake.last.path == (
        f"/v1beta1/projects/meta-project/locations/us-central1/publishers/google/models/{MODEL}:generateContent"
    )
    assert [r.headers["authorization"] for r in fake.requests] == [f"Bearer {SECRET}-1"] * 2
    assert server.tokens_issued == 1


def test_a_rejected_metadata_token_is_fetched_again(server, fake):
    client = google.GoogleClient(
        vertex=True, project="p", base_url=fake.base_url("google"), max_retries=0
    )

    ask, _ = ask_through(client)

    fake.script(ErrorReply(401, message="token revoked"), provider="google")
    with pytest.raises(minicall.AuthenticationError):
        ask()
    ask()
    assert fake.last.headers["authorization"] == f"Bearer {SECRET}-2"


def test_a_metadata_server_refusing_a_token_is_an_authentication_error(server, fake):
    server.token_status = 404  # e.g. no service account attached to the instance
    client = google.GoogleClient(vertex=True, project="p", base_url=fake.base_url("google"))

    ask, _ = ask_through(client)

    with pytest.raises(
        minicall.AuthenticationError, match=f"http://{server.address}{TOKEN_PATH} failed"
    ):
        ask()
    assert fake.requests == []


def test_the_metadata_token_never_shows_in_reprs_errors_or_logs(server, fake, caplog):
    caplog.set_level(logging.DEBUG, logger="minicall")
    client = google.GoogleClient(
        vertex=True, project="p", base_url=fake.base_url("google"), max_retries=0
    )

    ask, _ = ask_through(client)

    ask()
    fake.script(ErrorReply(500, message="boom"), provider="google")
    with pytest.raises(minicall.MinicallError) as info:
        ask()
    assert fake.last.headers["authorization"] == f"Bearer {SECRET}-1"  # it was sent
    shown = [repr(client), str(client), repr(client._auth.source), str(info.value), repr(info.value),
             caplog.text]  # fmt: skip
    assert caplog.text  # the transport did log the exchange
    for text in shown:
        assert SECRET not in text


# --- side by side with google-auth ------------------------------------------------------------

GOOGLE_AUTH = """
import json, google.auth, google.auth.transport.requests as transport
credentials, project = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
credentials.refresh(transport.Request())
print(json.dumps({"project": project, "token": credentials.token}))
"""


def test_google_auth_asks_the_same_server_the_same_way(server):
    pytest.importorskip("google.auth.transport.requests")
    # google-auth reads the metadata variables at import: a fresh interpreter.
    env = {**os.environ, "GCE_METADATA_MTLS_MODE": "none"}
    done = subprocess.run([sys.executable, "-c", GOOGLE_AUTH], env=env, capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    theirs = json.loads(done.stdout)
    sdk_requests = [(path, headers["metadata-flavor"]) for path, headers in server.requests]
    server.requests.clear()
    client = google.GoogleClient(vertex=True)
    assert client.project == theirs["project"] == "meta-project"
    assert client._auth.source is not None
    assert client._auth.source.token() == f"{SECRET}-2" and theirs["token"] == f"{SECRET}-1"
    ours = [(path, headers["metadata-flavor"]) for path, headers in server.requests]
    # The same ping, project and token requests (google-auth also reads the account's
    # email and scopes, which a token for Vertex does not need).
    assert [urlsplit(path).path for path, _ in ours] == ["/", PROJECT_PATH, TOKEN_PATH]
    assert [r for r in sdk_requests if urlsplit(r[0]).path != INFO_PATH] == ours
