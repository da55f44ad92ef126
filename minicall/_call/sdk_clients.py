"""The official SDKs' client objects minicall accepts as ``client=`` (API.md section 9).

Nothing here imports an SDK. Each Protocol names exactly the attributes minicall reads
from one SDK family, typed ``object`` because every read is checked at run time (see
``sdk_readers``); they exist so the decorators can say what ``client=`` takes. Which
family an object belongs to is decided by its class's module and name
(:data:`SDK_CLASSES`), walking the MRO so a user's subclass is recognised too.

Pinned against: openai 3.63, anthropic 2.17, groq 1.7, cohere 7.3, mistralai 3.8,
google-genai 3.6, botocore 1.44, azure-ai-inference 1.0.0b9, the conformance extra's
versions (the conformance tests build each one and check what minicall sends); and
aiobotocore 3.10, whose client is a botocore one with coroutine credentials (its test
runs where it is installed; a stand-in for its credentials runs everywhere).
"""

from __future__ import annotations

from typing import Protocol

__all__ = [
    "SDK_CLASSES",
    "AnthropicSDKClient",
    "AzureInferenceSDKClient",
    "AzureOpenAISDKClient",
    "BedrockRuntimeSDKClient",
    "CohereSDKClient",
    "GenAISDKClient",
    "GroqSDKClient",
    "MistralSDKClient",
    "OpenAISDKClient",
    "SDKClient",
    "family_of",
]


class _StainlessClient(Protocol):
    """What the Stainless-generated SDKs (openai, anthropic, groq) share."""

    @property
    def base_url(self) -> object: ...
    @property
    def timeout(self) -> object: ...
    @property
    def max_retries(self) -> object: ...
    @property
    def _custom_headers(self) -> object: ...  # the ``default_headers=`` given
    @property
    def _custom_query(self) -> object: ...  # the ``default_query=`` given


class OpenAISDKClient(_StainlessClient, Protocol):
    """``openai.OpenAI`` / ``AsyncOpenAI`` (also for xAI and LiteLLM, with a base URL)."""

    @property
    def api_key(self) -> object: ...
    @property
    def organization(self) -> object: ...
    @property
    def project(self) -> object: ...


class AzureOpenAISDKClient(OpenAISDKClient, Protocol):
    """``openai.AzureOpenAI`` / ``AsyncAzureOpenAI``."""

    @property
    def _api_version(self) -> object: ...
    @property
    def _azure_endpoint(self) -> object: ...
    @property
    def _azure_deployment(self) -> object: ...
    @property
    def _azure_ad_token(self) -> object: ...
    @property
    def _azure_ad_token_provider(self) -> object: ...


class AnthropicSDKClient(_StainlessClient, Protocol):
    """``anthropic.Anthropic`` / ``AsyncAnthropic``."""

    @property
    def api_key(self) -> object: ...
    @property
    def auth_token(self) -> object: ...


class GroqSDKClient(_StainlessClient, Protocol):
    """``groq.Groq`` / ``AsyncGroq``."""

    @property
    def api_key(self) -> object: ...


class CohereSDKClient(Protocol):
    """cohere ``Client``, ``AsyncClient``, ``ClientV2``, ``AsyncClientV2``: settings live
    on the private client wrapper (``get_base_url()``, ``get_timeout()``,
    ``get_max_retries()``, ``get_custom_headers()``, ``_token``)."""

    @property
    def _client_wrapper(self) -> object: ...


class MistralSDKClient(Protocol):
    """``mistralai.Mistral``: ``sdk_configuration`` (``get_server_details()``,
    ``security.api_key``, ``timeout_ms``)."""

    @property
    def sdk_configuration(self) -> object: ...


class GenAISDKClient(Protocol):
    """``google.genai.Client`` (or its ``.aio``): the private API client (``vertexai``,
    ``api_key``, ``project``, ``location``, ``_http_options``)."""

    @property
    def _api_client(self) -> object: ...


class BedrockRuntimeSDKClient(Protocol):
    """A botocore (or boto3) ``bedrock-runtime`` client: ``meta`` (region, endpoint,
    config) and the request signer's credentials."""

    @property
    def meta(self) -> object: ...
    @property
    def _request_signer(self) -> object: ...


class AzureInferenceSDKClient(Protocol):
    """azure-ai-inference ``ChatCompletionsClient`` (sync or ``aio``): its configuration
    (``endpoint``, ``credential``, ``api_version``, ``headers_policy``, ``retry_policy``)."""

    @property
    def _config(self) -> object: ...


SDKClient = (
    OpenAISDKClient
    | AzureOpenAISDKClient
    | AnthropicSDKClient
    | GroqSDKClient
    | CohereSDKClient
    | MistralSDKClient
    | GenAISDKClient
    | BedrockRuntimeSDKClient
    | AzureInferenceSDKClient
)
"""Any official SDK client minicall converts (for annotations)."""


# (package, class name) -> family; the package is the class's module or one that
# contains it. A class counts if it, or any class it inherits from, is listed: the
# user's own subclass of OpenAI is an OpenAI client.
SDK_CLASSES: dict[tuple[str, str], str] = {
    ("openai", "OpenAI"): "openai",
    ("openai", "AsyncOpenAI"): "openai",
    ("openai", "AzureOpenAI"): "azure_openai",
    ("openai", "AsyncAzureOpenAI"): "azure_openai",
    ("anthropic", "Anthropic"): "anthropic",
    ("anthropic", "AsyncAnthropic"): "anthropic",
    ("anthropic", "AnthropicBedrock"): "unsupported",
    ("anthropic", "AsyncAnthropicBedrock"): "unsupported",
    ("anthropic", "AnthropicVertex"): "unsupported",
    ("anthropic", "AsyncAnthropicVertex"): "unsupported",
    ("groq", "Groq"): "groq",
    ("groq", "AsyncGroq"): "groq",
    ("cohere", "Client"): "cohere",
    ("cohere", "AsyncClient"): "cohere",
    ("cohere", "ClientV2"): "cohere",
    ("cohere", "AsyncClientV2"): "cohere",
    ("mistralai", "Mistral"): "mistral",
    ("google.genai", "Client"): "genai",
    ("google.genai", "AsyncClient"): "genai",
    ("botocore", "BaseClient"): "bedrock",
    ("azure.ai.inference", "ChatCompletionsClient"): "azure_inference",
}


def family_of(obj: object) -> str | None:
    """The SDK family of ``obj`` (a key of the readers' table), or ``None``."""
    for klass in type(obj).__mro__:
        module = klass.__module__
        while module:
            family = SDK_CLASSES.get((module, klass.__name__))
            if family is not None:
                return family
            module = module.rpartition(".")[0]
    return None
