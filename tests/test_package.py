"""Package-level promises: stdlib only, lazy providers, sans-IO core, pinned public names."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import minicall

PACKAGE = Path(minicall.__file__).resolve().parent
STDLIB = set(sys.stdlib_module_names) | {"__future__"}

# Only the transports (and the test server, which is a server) may touch sockets.
IO_MODULES = {"socket", "ssl", "http.client", "http.server", "socketserver", "urllib.request", "asyncio", "select"}
# Modules that import asyncio only to sleep between attempts of an async call.
ASYNC_SLEEPERS = {"_call/send.py", "retries/_retry.py"}
IO_ALLOWED = {"_http/_sync.py", "_http/_async.py", "_http/_async_conn.py", "_http/_default.py", "_http/_tls.py", "testing/_server.py"}


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, relative imports resolved to absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ["minicall", *path.relative_to(PACKAGE).parent.parts]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.append((node.lineno, module))
            if node.module is None:  # from . import x
                found.extend((node.lineno, f"{module}.{a.name}") for a in node.names)
    return found


def test_every_module_imports_only_the_standard_library():
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line}: {name}"
        for path in PACKAGE.rglob("*.py")
        for line, name in _imports(path)
        if name.split(".")[0] not in STDLIB and name.split(".")[0] != "minicall"
    ]
    assert offenders == []


# The sans-IO core: it may not reach a transport except through a client.
SANS_IO = ("_codecs/", "_framing/", "_auth/", "_call/pipeline.py", "_call/send.py", "_call/stream.py",
           "_call/response.py", "_model/", "_call/prompt.py", "_schema/", "_call/tools.py", "_call/structured.py")
TRANSPORTS = ("minicall._http._sync", "minicall._http._async", "minicall._http._async_conn", "minicall._http._default")


def test_the_sans_io_core_never_imports_a_transport():
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line}: {name}"
        for path in PACKAGE.rglob("*.py")
        if str(path.relative_to(PACKAGE)).startswith(SANS_IO)
        for line, name in _imports(path)
        if name in TRANSPORTS or name.split(".")[0] in {"socket", "ssl", "select", "asyncio"}
        and not (name == "asyncio" and str(path.relative_to(PACKAGE)) == "_call/send.py")
    ]
    assert offenders == []


def test_codecs_framing_auth_and_pipeline_do_no_io():
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line}: {name}"
        for path in PACKAGE.rglob("*.py")
        if str(path.relative_to(PACKAGE)) not in IO_ALLOWED
        for line, name in _imports(path)
        if name in IO_MODULES and not (name == "asyncio" and str(path.relative_to(PACKAGE)) in ASYNC_SLEEPERS)
    ]
    assert offenders == []


def test_import_loads_no_provider_codec_or_transport():
    code = (
        "import sys, minicall; from minicall import llm; "
        "print(sorted(m for m in sys.modules if m.startswith(('minicall.providers.', 'minicall._codecs.')) "
        "or m in ('ssl', 'http.client', 'asyncio', 'socket', 'minicall._http._sync', 'minicall._http._async')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_public_names_are_pinned():
    assert sorted(minicall.__all__) == sorted(
        [
            "llm", "prompt_template", "Messages", "Message", "BaseMessageParam", "TextPart", "ImagePart",
            "AudioPart", "DocumentPart", "ToolCallPart", "ToolResultPart", "BaseDynamicConfig", "BaseTool",
            "Usage", "set_price", "HttpRequest", "HttpResponse", "MockTransport", "MinicallError",
            "ConfigurationError", "PromptError", "APIError", "BadRequestError", "AuthenticationError",
            "PermissionDeniedError", "NotFoundError", "ConflictError", "UnprocessableEntityError",
            "RateLimitError", "InternalServerError", "APIConnectionError", "APITimeoutError",
            "ResponseFormatError", "ValidationError", "__version__", "BaseToolKit", "toolkit_tool",
            "FromCallArgs", "Partial", "batch", "PydanticValidationError", "ToolConfig", "ResponseModelConfigDict",
            "CacheControlPart",
        ]
    )
    for name in minicall.__all__:
        assert hasattr(minicall, name), name


def test_every_provider_module_exposes_the_documented_names():
    import importlib

    from minicall._call.registry import PROVIDERS

    prefixes = {
        "openai": "OpenAI", "anthropic": "Anthropic", "google": "Google", "groq": "Groq", "xai": "XAI",
        "mistral": "Mistral", "cohere": "Cohere", "litellm": "LiteLLM", "azure": "Azure", "bedrock": "Bedrock",
    }
    for provider, client_name in PROVIDERS.items():
        module = importlib.import_module(f"minicall.providers.{provider}")
        p = prefixes[provider]
        for suffix in ("CallResponse", "CallResponseChunk", "Stream", "DynamicConfig", "CallParams", "Tool"):
            assert hasattr(module, p + suffix), f"{provider}: {p + suffix}"
        assert getattr(module, f"Async{p}DynamicConfig") is getattr(module, f"{p}DynamicConfig")
        assert hasattr(module, client_name) and callable(module.call)
        assert hasattr(module, "APIError") and hasattr(module, "RateLimitError")
    # Mirascope's provider tool configs, where Mirascope has one.
    for provider, name in (("openai", "OpenAIToolConfig"), ("azure", "AzureToolConfig"),
                           ("bedrock", "BedrockToolConfig"), ("anthropic", "AnthropicToolConfig")):
        module = importlib.import_module(f"minicall.providers.{provider}")
        assert name in module.__all__ and hasattr(module, name), name


def test_no_test_folder_shadows_an_official_sdk():
    # pytest puts each folder holding test files on sys.path; a subfolder there named
    # like an SDK (tests/_codecs/openai) would then import as that SDK, a namespace
    # package with none of its names, wherever the SDK itself is not installed.
    sdk_names = {"openai", "anthropic", "groq", "cohere", "mistralai", "google", "botocore", "boto3",
                 "azure", "litellm", "pydantic", "tenacity", "opentelemetry", "jsonschema", "cryptography"}
    tests = Path(__file__).resolve().parent
    shadowing = [
        f"{folder.relative_to(tests)}/{sub.name}"
        for folder in [tests, *(d for d in tests.rglob("*") if d.is_dir())]
        if folder != tests and any(folder.glob("test_*.py"))
        for sub in folder.iterdir()
        if sub.is_dir() and sub.name in sdk_names
    ]
    assert shadowing == []
