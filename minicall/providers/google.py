"""Google Gemini, through the Gemini API or Vertex AI.

Gemini API environment: ``GOOGLE_API_KEY`` or ``GEMINI_API_KEY`` (the first wins),
``GOOGLE_GEMINI_BASE_URL`` (host root), ``GOOGLE_GENAI_API_VERSION`` (``beta`` means
``v1beta``; default ``v1``, as google-genai 3.x).

Vertex AI (``GoogleClient(vertex=True, ...)`` or ``GOOGLE_GENAI_USE_VERTEXAI=true``):
``GOOGLE_CLOUD_PROJECT``, ``GOOGLE_CLOUD_LOCATION`` (default ``global``),
``GOOGLE_VERTEX_BASE_URL``, and credentials from ``access_token=``, ``token_provider=``
(a function returning a token), or else Application Default Credentials as
google-auth finds them: the JSON file named by ``GOOGLE_APPLICATION_CREDENTIALS``
(a service account or an ``authorized_user``), gcloud's application-default file, then
the metadata server on Google Cloud (``GCE_METADATA_HOST``, ``GCE_METADATA_IP``,
``NO_GCE_CHECK``). An ``api_key`` without a project is Vertex express mode.

Native call params go into ``generationConfig`` (camelCase or snake_case names), except
``safetySettings``, ``toolConfig``, ``cachedContent``, ``labels``, ``tools``,
``systemInstruction`` and ``modelArmorConfig``, which sit at the top of the request;
a ``generation_config`` or ``config`` dict is spread the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar, Literal, TypedDict

from .._auth.google import VertexAuth, adc_configured
from .._call.sdk_clients import GenAISDKClient
from .._call.client import BaseClient, env_first
from .._call.decorate import ProviderCall
from .._call.response import BaseCallResponse, BaseCallResponseChunk
from .._call.settings import Flavor
from .._call.stream import BaseAsyncStream, BaseStream
from .._call.tools import BaseTool
from .._codecs.gemini.codec import GEMINI
from .._model.errors import *
from .._model.errors import ConfigurationError
from .._model import errors as _errors
from .._model.http import AsyncTransport, HttpRequest, HttpResponse, Transport
from .._model.spec import Codec, Endpoint

__all__ = [
    "call",
    "google_call",
    "GoogleClient",
    "GoogleCallResponse",
    "GoogleCallResponseChunk",
    "GoogleStream",
    "GoogleAsyncStream",
    "GoogleDynamicConfig",
    "AsyncGoogleDynamicConfig",
    "GoogleCallParams",
    "GoogleTool",
    "GoogleMessageParam",
    "ContentDict",
    "PartDict",
    "BlobDict",
    "FileDataDict",
    "FunctionCallDict",
    "FunctionResponseDict",
]
__all__ += _errors.__all__  # the error classes, as Mirascope's provider modules have them

CLIENT_CLASS = "GoogleClient"

_GEMINI_URL = "https://generativelanguage.googleapis.com"
_MULTI_REGION = frozenset({"us", "eu"})
_TRUE = ("true", "1")


class BlobDict(TypedDict):
    """Inline bytes: base64 ``data`` with its ``mimeType``."""

    mimeType: str
    data: str


class FileDataDict(TypedDict):
    """A file by URI (``gs://`` or an uploaded file's URI)."""

    mimeType: str
    fileUri: str


class _FunctionCallBase(TypedDict):
    name: str


class FunctionCallDict(_FunctionCallBase, total=False):
    """A tool call the model made."""

    args: dict[str, Any]
    id: str


class _FunctionResponseBase(TypedDict):
    name: str
    response: dict[str, Any]


class FunctionResponseDict(_FunctionResponseBase, total=False):
    """A tool result sent back to the model (in a ``user`` turn)."""

    id: str


class PartDict(TypedDict, total=False):
    """One part of a ``Content``: exactly one of the data fields is set."""

    text: str
    inlineData: BlobDict
    fileData: FileDataDict
    functionCall: FunctionCallDict
    functionResponse: FunctionResponseDict
    thought: bool
    thoughtSignature: str


class ContentDict(TypedDict):
    """A turn: ``role`` ``user`` or ``model`` (``system`` goes to ``systemInstruction``)."""

    role: Literal["user", "model", "system"]
    parts: list[PartDict]


GoogleMessageParam = ContentDict


class GoogleCallParams(TypedDict, total=False):
    """The documented ``generateContent`` parameters (snake_case; camelCase works too)."""

    extra_headers: dict[str, str]
    extra_query: dict[str, Any]
    extra_body: dict[str, Any]
    timeout: float
    temperature: float
    top_p: float
    top_k: float
    candidate_count: int
    max_output_tokens: int
    stop_sequences: list[str]
    presence_penalty: float
    frequency_penalty: float
    seed: int
    response_mime_type: str
    response_schema: dict[str, Any]
    response_json_schema: dict[str, Any]
    response_modalities: list[str]
    response_logprobs: bool
    logprobs: int
    media_resolution: str
    speech_config: dict[str, Any]
    thinking_config: dict[str, Any]
    image_config: dict[str, Any]
    safety_settings: list[dict[str, Any]]
    tool_config: dict[str, Any]
    cached_content: str
    labels: dict[str, str]
    generation_config: dict[str, Any]
    config: dict[str, Any]


def _vertex_base(location: str) -> str:
    if location == "global":
        return "https://aiplatform.googleapis.com"
    if location in _MULTI_REGION:
        return f"https://aiplatform.{location}.rep.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


class GoogleClient(BaseClient):
    """Connection settings for the Gemini API or, with ``vertex=True``, Vertex AI."""

    provider: ClassVar[str] = "google"
    api_key_env: ClassVar[tuple[str, ...]] = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
    base_url_env: ClassVar[tuple[str, ...]] = ("GOOGLE_GEMINI_BASE_URL",)
    default_base_url: ClassVar[str] = _GEMINI_URL
    requires_api_key: ClassVar[bool] = False

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int = 2,
        headers: Mapping[str, str] | None = None,
        transport: Transport | AsyncTransport | None = None,
        ca_file: str | None = None,
        verify: bool = True,
        vertex: bool | None = None,
        project: str | None = None,
        location: str | None = None,
        access_token: str | None = None,
        token_provider: Callable[[], str] | None = None,
        api_version: str | None = None,
    ) -> None:
        if vertex is None:
            vertex = (env_first("GOOGLE_GENAI_USE_VERTEXAI") or "").lower() in _TRUE
        express = False
        self.vertex = vertex
        self.project: str | None = None
        self.location: str | None = None
        self._auth: VertexAuth | None = None
        env_version = env_first("GOOGLE_GENAI_API_VERSION")
        if env_version == "beta":
            env_version = "v1beta1" if vertex else "v1beta"
        self.api_version = api_version or env_version
        if vertex:
            api_key, base_url, express = self._vertex(
                api_key, base_url, project, location, access_token, token_provider
            )
        elif api_key is None and env_first(*self.api_key_env) is None:
            self._missing_credential()
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            headers=headers,
            transport=transport,
            ca_file=ca_file,
            verify=verify,
        )
        if vertex and not express:
            self._vertex_credentials()

    def _vertex(
        self,
        api_key: str | None,
        base_url: str | None,
        project: str | None,
        location: str | None,
        access_token: str | None,
        token_provider: Callable[[], str] | None,
    ) -> tuple[str, str, bool]:
        """Settle project, location and given tokens; return (api key, base URL, express)."""
        self.project = project or env_first("GOOGLE_CLOUD_PROJECT")
        express = api_key is not None and not project and not location
        if express:
            self.project = None
        else:
            self._auth = VertexAuth(access_token, token_provider)
            api_key = ""  # a key in the environment is not used beside a project
        self.location = location or env_first("GOOGLE_CLOUD_LOCATION") or "global"
        url = base_url or env_first("GOOGLE_VERTEX_BASE_URL")
        if url is None:
            url = _vertex_base("global" if express else self.location)
        return api_key or "", url, express

    def _vertex_credentials(self) -> None:
        """Application Default Credentials unless a token was given, then the project.

        Runs after the transport is set: the metadata server is asked through it.
        """
        assert self._auth is not None  # made by _vertex, for every client but express mode
        self.project = self._auth.settle(self._send_token, self.project)
        if not self.project:
            raise ConfigurationError(
                "no Google Cloud project for Vertex AI: pass project= to GoogleClient "
                "or set GOOGLE_CLOUD_PROJECT"
            )

    @classmethod
    def environment(cls) -> dict[str, tuple[str, ...]]:
        return {
            "api key": cls.api_key_env,
            "base url": (*cls.base_url_env, "GOOGLE_VERTEX_BASE_URL"),
            "api version": ("GOOGLE_GENAI_API_VERSION",),
            "vertex": (
                "GOOGLE_GENAI_USE_VERTEXAI",
                "GOOGLE_CLOUD_PROJECT",
                "GOOGLE_CLOUD_LOCATION",
                "GOOGLE_APPLICATION_CREDENTIALS",
                "CLOUDSDK_CONFIG",
                "GCE_METADATA_HOST",
                "GCE_METADATA_IP",
                "NO_GCE_CHECK",
            ),
        }

    @classmethod
    def is_configured(cls) -> bool:
        if (env_first("GOOGLE_GENAI_USE_VERTEXAI") or "").lower() in _TRUE:
            return adc_configured() or env_first(*cls.api_key_env) is not None
        return env_first(*cls.api_key_env) is not None

    @property
    def codec(self) -> Codec:
        return GEMINI

    def credentials_rejected(self) -> None:
        """A 401 means the cached Vertex token was revoked: fetch a new one next time."""
        if self._auth is not None:
            self._auth.invalidate()

    def _build_endpoint(self) -> Endpoint:
        options = {
            "vertex": "true" if self.vertex else "",
            "project": self.project or "",
            "location": (self.location or "") if self.project else "",
            "api_version": self.api_version or "",
        }
        return Endpoint(base_url=self.base_url, headers=self.headers, options=options, timeout=self.timeout)

    # -- credentials --------------------------------------------------------------

    def _send_token(self, request: HttpRequest) -> HttpResponse:
        """Token requests go through this client's transport (sync side)."""
        send = getattr(self.transport, "send", None)
        if send is None:
            from .._http._default import default_transport

            send = default_transport().send
        response: HttpResponse = send(request)
        return response

    def _headers_for(self, token: str | None) -> dict[str, str]:
        if token is not None:
            return {"Authorization": f"Bearer {token}"}
        return {"x-goog-api-key": self._api_key} if self._api_key else {}

    def auth_headers(self) -> dict[str, str]:
        return self._headers_for(self._auth.token() if self._auth is not None else None)

    async def authorize_async(self, request: HttpRequest) -> HttpRequest:
        if self._auth is None or self._auth.source is None:
            return self.authorize(request)
        # A token refresh goes through the async side of the transport, off no thread.
        send = getattr(self.transport, "send_async", None)
        if send is None:
            from .._http._default import default_transport

            send = default_transport().send_async
        token = await self._auth.token_async(send)
        headers = {**request.headers, **self._headers_for(token)}
        return replace(request, headers=headers)

    def __repr__(self) -> str:
        where = f", vertex=True, project={self.project!r}, location={self.location!r}" if self.vertex else ""
        return f"GoogleClient(base_url={self.shown_base_url!r}{where}, credentials=[redacted])"


class GoogleTool(BaseTool):
    """A tool for Gemini calls (any ``BaseTool`` works; this name mirrors Mirascope)."""


class GoogleCallResponse(BaseCallResponse[GoogleMessageParam]):
    """A ``generateContent`` response: ``Content`` dicts and Gemini finish reasons."""

    _codec = GEMINI


class GoogleCallResponseChunk(BaseCallResponseChunk):
    """One streamed ``GenerateContentResponse``."""


class GoogleStream(BaseStream[GoogleCallResponse, GoogleCallResponseChunk]):
    """A streamed Gemini reply."""


class GoogleAsyncStream(BaseAsyncStream[GoogleCallResponse, GoogleCallResponseChunk]):
    """A streamed Gemini reply, async."""


class GoogleDynamicConfig(TypedDict, total=False):
    """What a Google prompt function may return."""

    messages: Sequence[GoogleMessageParam | Any]
    call_params: GoogleCallParams
    metadata: Mapping[str, Any]
    client: GoogleClient | GenAISDKClient
    tools: Sequence[Any]
    computed_fields: Mapping[str, Any]


AsyncGoogleDynamicConfig = GoogleDynamicConfig
"""Mirascope's name for the config of ``async def`` prompts: the same dict, since one client serves both."""


call = ProviderCall[
    GoogleCallResponse,
    GoogleStream,
    GoogleAsyncStream,
    GoogleCallParams,
    GoogleClient | GenAISDKClient,
]("google", Flavor(GoogleCallResponse, GoogleStream, GoogleAsyncStream, GoogleCallResponseChunk))
"""``@google.call("gemini-2.0-flash")``: see :func:`minicall.llm.call`."""

google_call = call
"""Mirascope's other name for :data:`call`."""
