"""Amazon Bedrock Runtime, through the Converse API.

Environment (as botocore reads it): ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``; or ``AWS_PROFILE`` with ``~/.aws/credentials`` and
``~/.aws/config`` (``AWS_SHARED_CREDENTIALS_FILE``, ``AWS_CONFIG_FILE``); region from
``AWS_REGION`` or ``AWS_DEFAULT_REGION`` or the profile; a Bedrock API key in
``AWS_BEARER_TOKEN_BEDROCK`` (sent as a bearer token, no signing); endpoint override
``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` or ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, TypedDict

from .._auth.aws import KEY_ENV, REGION_ENV, env_credentials, file_credentials, file_region
from .._auth.sigv4 import AwsCredentials, sign
from .._call.sdk_clients import BedrockRuntimeSDKClient
from .._call.client import BaseClient, env_first
from .._call.decorate import ProviderCall
from .._call.response import BaseCallResponse, BaseCallResponseChunk
from .._call.settings import Flavor
from .._call.stream import BaseAsyncStream, BaseStream
from .._call.tools import BaseTool, ToolConfig
from .._codecs.bedrock.codec import CODEC
from .._model.errors import *
from .._model.errors import ConfigurationError
from .._model import errors as _errors
from .._model.http import AsyncTransport, HttpRequest, Transport
from .._model.spec import Codec

__all__ = [
    "call",
    "bedrock_call",
    "BedrockClient",
    "BedrockCallResponse",
    "BedrockCallResponseChunk",
    "BedrockStream",
    "BedrockAsyncStream",
    "BedrockDynamicConfig",
    "AsyncBedrockDynamicConfig",
    "BedrockCallParams",
    "BedrockTool",
    "BedrockToolConfig",
    "BedrockMessageParam",
    "ContentBlock",
    "SystemContentBlock",
    "InferenceConfig",
]
__all__ += _errors.__all__  # the error classes, as Mirascope's provider modules have them

CLIENT_CLASS = "BedrockClient"
SERVICE = "bedrock"  # the SigV4 signing name (the host prefix is bedrock-runtime)


class ContentBlock(TypedDict, total=False):
    """One Converse content block; exactly one key is set."""

    text: str
    image: dict[str, Any]
    document: dict[str, Any]
    video: dict[str, Any]
    audio: dict[str, Any]
    toolUse: dict[str, Any]
    toolResult: dict[str, Any]
    cachePoint: dict[str, Any]
    reasoningContent: dict[str, Any]
    guardContent: dict[str, Any]


class SystemContentBlock(TypedDict, total=False):
    """A ``system`` block: text, a cache point or guarded content."""

    text: str
    cachePoint: dict[str, Any]
    guardContent: dict[str, Any]


class BedrockMessageParam(TypedDict):
    """``{"role": "user" | "assistant", "content": [ContentBlock, ...]}``

    ``{"role": "system", ...}`` is accepted too and moved to the request's ``system``.
    """

    role: Literal["user", "assistant", "system"]
    content: str | list[ContentBlock]


class InferenceConfig(TypedDict, total=False):
    """``inferenceConfig``."""

    maxTokens: int
    temperature: float
    topP: float
    stopSequences: list[str]


class BedrockCallParams(TypedDict, total=False):
    """ConverseRequest members, plus the common names (``max_tokens`` ...) that map onto
    ``inferenceConfig``; any other key goes to ``additionalModelRequestFields``."""

    extra_headers: dict[str, str]
    extra_query: dict[str, Any]
    extra_body: dict[str, Any]
    timeout: float
    inferenceConfig: InferenceConfig
    additionalModelRequestFields: dict[str, Any]
    additionalModelResponseFieldPaths: list[str]
    guardrailConfig: dict[str, Any]
    toolConfig: dict[str, Any]
    performanceConfig: dict[str, Any]
    serviceTier: dict[str, Any]
    requestMetadata: dict[str, str]
    promptVariables: dict[str, Any]
    outputConfig: dict[str, Any]
    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    stop: str | list[str]


class BedrockClient(BaseClient):
    """Connection settings for Bedrock Runtime: region and AWS credentials (SigV4), or a
    Bedrock API key (bearer). Arguments win over the environment, which wins over the
    shared credentials and config files."""

    provider: ClassVar[str] = "bedrock"
    api_key_env: ClassVar[tuple[str, ...]] = ("AWS_BEARER_TOKEN_BEDROCK",)
    base_url_env: ClassVar[tuple[str, ...]] = (
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
        "AWS_ENDPOINT_URL",
    )
    requires_api_key: ClassVar[bool] = False

    def __init__(
        self,
        *,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int = 2,
        headers: Mapping[str, str] | None = None,
        transport: Transport | AsyncTransport | None = None,
        ca_file: str | None = None,
        verify: bool = True,
    ) -> None:
        self._credentials: AwsCredentials | None = None
        if access_key_id is not None or secret_access_key is not None:
            if not (access_key_id and secret_access_key):
                raise ConfigurationError(
                    "BedrockClient needs both access_key_id and secret_access_key"
                )
            self._credentials = AwsCredentials(access_key_id, secret_access_key, session_token)
        elif api_key is None and env_first(*self.api_key_env) is None:
            self._credentials = env_credentials() or file_credentials()
            if self._credentials is None:
                raise ConfigurationError(
                    "no AWS credentials for bedrock: pass access_key_id= and secret_access_key= "
                    "(or api_key=) to BedrockClient, or set AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY (or AWS_BEARER_TOKEN_BEDROCK, or AWS_PROFILE with "
                    "~/.aws/credentials)"
                )
        self.region = region or env_first(*REGION_ENV) or file_region()
        url = base_url or env_first(*self.base_url_env)
        if url is None:
            if self.region is None:
                self._no_region()
            url = f"https://bedrock-runtime.{self.region}.amazonaws.com"
        if self._credentials is not None and self.region is None:
            self._no_region()  # the signature's scope names the region
        super().__init__(
            api_key=None if self._credentials is not None else api_key,
            base_url=url,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            headers=headers,
            transport=transport,
            ca_file=ca_file,
            verify=verify,
        )

    @staticmethod
    def _no_region() -> None:
        raise ConfigurationError(
            "no AWS region for bedrock: pass region= to BedrockClient, or set AWS_REGION or "
            "AWS_DEFAULT_REGION (or a region in the ~/.aws/config profile)"
        )

    @classmethod
    def environment(cls) -> dict[str, tuple[str, ...]]:
        return {
            "access keys": (*KEY_ENV, "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"),
            "shared files": ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"),
            "api key": cls.api_key_env,
            "region": REGION_ENV,
            "base url": cls.base_url_env,
        }

    @classmethod
    def is_configured(cls) -> bool:
        try:
            cls()
        except ConfigurationError:
            return False
        return True

    @property
    def codec(self) -> Codec:
        return CODEC

    @property
    def auth_scheme(self) -> str:
        """``"sigv4"`` or ``"bearer"`` (an API key)."""
        return "sigv4" if self._credentials is not None else "bearer"

    def authorize(self, request: HttpRequest) -> HttpRequest:
        """``request`` signed with SigV4 at the current time, or with the bearer key."""
        if self._credentials is None:
            return super().authorize(request)
        assert self.region is not None  # checked in __init__ for signing clients
        now = datetime.datetime.now(datetime.timezone.utc)
        return sign(request, self._credentials, region=self.region, service=SERVICE, now=now)

    def __repr__(self) -> str:
        who = (
            f"access_key_id={self._credentials.access_key_id!r}, secret_access_key=[redacted]"
            if self._credentials is not None
            else "api_key=[redacted]"
        )
        return f"BedrockClient(region={self.region!r}, base_url={self.shown_base_url!r}, {who})"


class BedrockToolConfig(ToolConfig, total=False):
    """Mirascope's (empty) ``tool_config`` type for Bedrock: Bedrock has no tool features."""


class BedrockTool(BaseTool):
    """A tool for Bedrock calls (any ``BaseTool`` works; this name mirrors Mirascope)."""


class BedrockCallResponse(BaseCallResponse[BedrockMessageParam]):
    """A Converse response: native message dicts and Bedrock stop reasons."""

    _codec = CODEC


class BedrockCallResponseChunk(BaseCallResponseChunk):
    """One ConverseStream event."""


class BedrockStream(BaseStream[BedrockCallResponse, BedrockCallResponseChunk]):
    """A streamed Converse reply."""


class BedrockAsyncStream(BaseAsyncStream[BedrockCallResponse, BedrockCallResponseChunk]):
    """A streamed Converse reply, async."""


class BedrockDynamicConfig(TypedDict, total=False):
    """What a Bedrock prompt function may return."""

    messages: Sequence[BedrockMessageParam | Any]
    call_params: BedrockCallParams
    metadata: Mapping[str, Any]
    client: BedrockClient | BedrockRuntimeSDKClient
    tools: Sequence[Any]
    computed_fields: Mapping[str, Any]


AsyncBedrockDynamicConfig = BedrockDynamicConfig
"""Mirascope's name for the config of ``async def`` prompts: the same dict, since one client serves both."""


call = ProviderCall[
    BedrockCallResponse,
    BedrockStream,
    BedrockAsyncStream,
    BedrockCallParams,
    BedrockClient | BedrockRuntimeSDKClient,
](
    "bedrock",
    Flavor(BedrockCallResponse, BedrockStream, BedrockAsyncStream, BedrockCallResponseChunk),
)
"""``@bedrock.call("anthropic.claude-3-haiku-20240307-v1:0")``: see :func:`minicall.llm.call`."""

bedrock_call = call
"""Mirascope's other name for :data:`call`."""
