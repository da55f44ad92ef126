"""The command line: ``minicall call|demo|providers`` (also ``python -m minicall``).

``call`` makes one call and prints the reply (``--stream`` as it arrives, ``--output
json`` the whole response as JSON); its usage and cost go to stderr, so stdout holds
only the reply. Ctrl-C ends with status 130 and no traceback; a reader that closes the
pipe early (``minicall providers | head -1``) ends it quietly.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, cast

from .._call.registry import PROVIDERS, provider_module
from .format import cost_text

__all__ = ["console", "main"]

_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
_BROKEN_PIPE = 141  # 128 + SIGPIPE


def _prompt_text(args: argparse.Namespace) -> str:
    if args.prompt is not None:
        return str(args.prompt)
    if sys.stdin is None or sys.stdin.isatty():
        raise _UsageError("no prompt: give one as an argument or pipe it on stdin")
    text = sys.stdin.read().strip()
    if not text:
        raise _UsageError("no prompt: stdin was empty")
    return text


class _UsageError(Exception):
    """A command line that cannot run (exit status 2)."""


def _client(args: argparse.Namespace) -> Any:
    options: dict[str, Any] = {}
    if args.base_url is not None:
        options["base_url"] = args.base_url
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if not options:
        return None
    module = provider_module(args.provider)
    return getattr(module, module.CLIENT_CLASS)(**options)


def _usage_line(response: Any) -> str:
    usage = response.usage
    tokens = "usage unknown" if usage is None else f"{usage.input_tokens} in, {usage.output_tokens} out"
    return f"{response.provider} {response.model}: {tokens}; cost {cost_text(response.cost)}"


def _as_json(response: Any) -> str:
    usage = response.usage
    cost = response.cost
    return json.dumps(
        {
            "content": response.content,
            "provider": response.provider,
            "model": response.model,
            "id": response.id,
            "finish_reasons": response.finish_reasons,
            "usage": None
            if usage is None
            else {
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cached_tokens": usage.cached_tokens,
                "total_tokens": usage.total_tokens,
            },
            "cost": None if cost is None else round(cost, 12),
        },
        indent=2,
    )


def _call(args: argparse.Namespace) -> int:
    from .. import llm
    from .._model.messages import Message

    text = _prompt_text(args)

    def prompt() -> list[Message]:
        messages = [Message("system", args.system)] if args.system else []
        return [*messages, Message("user", text)]

    params = {k: v for k, v in (("temperature", args.temperature), ("max_tokens", args.max_tokens)) if v is not None}
    settings: dict[str, Any] = {"json_mode": args.json, "client": _client(args), "call_params": params or None}
    as_json = args.output == "json"
    response: Any
    if args.stream:
        stream = cast(Any, llm.call(args.provider, args.model, stream=True, **settings)(prompt)())
        for chunk, _tool in cast("Iterable[tuple[Any, Any]]", stream):
            if not as_json:
                sys.stdout.write(chunk.content)
                sys.stdout.flush()
        response = stream.construct_call_response()
        print(_as_json(response) if as_json else "")
    else:
        response = cast(Any, llm.call(args.provider, args.model, **settings)(prompt)())
        print(_as_json(response) if as_json else response.content)
    sys.stdout.flush()
    print(_usage_line(response), file=sys.stderr)
    return 0


def _providers(_: argparse.Namespace) -> int:
    print(f"{'provider':<10} {'configured':<11} environment")
    for name, client_name in PROVIDERS.items():
        try:
            client = getattr(provider_module(name), client_name)
        except (ImportError, AttributeError):
            print(f"{name:<10} {'-':<11} (not available in this build)")
            continue
        env = "; ".join(f"{what}: {', '.join(names)}" for what, names in client.environment().items() if names)
        print(f"{name:<10} {'yes' if client.is_configured() else 'no':<11} {env}")
    return 0


def _demo(_: argparse.Namespace) -> int:
    from .demo import run

    return run()


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="minicall", description="Typed Python functions become LLM API calls: the command line."
    )
    parser.add_argument("--version", action="version", version=f"minicall {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each request at DEBUG on stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    call = sub.add_parser("call", help="call a model once and print the reply")
    call.add_argument("--provider", required=True, choices=list(PROVIDERS))
    call.add_argument("--model", required=True)
    call.add_argument("--system", default=None, help="a system prompt")
    call.add_argument("--stream", action="store_true", help="print tokens as they arrive")
    call.add_argument("--json", action="store_true", help="JSON mode: ask the model for a JSON object")
    call.add_argument("--output", choices=["text", "json"], default="text", help="json: print the whole response as JSON")
    call.add_argument("--base-url", default=None, help="the provider's base URL (else its environment variable)")
    call.add_argument("--timeout", type=_positive, default=None, help="seconds for connecting and each read")
    call.add_argument("--temperature", type=float, default=None)
    call.add_argument("--max-tokens", type=int, default=None)
    call.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    call.add_argument("prompt", nargs="?", default=None, help="the prompt (read from stdin when left out)")
    call.set_defaults(run=_call)
    sub.add_parser("demo", help="run the examples against the built-in FakeServer").set_defaults(run=_demo)
    sub.add_parser("providers", help="list providers and their environment").set_defaults(run=_providers)
    return parser


def _quiet_stdout() -> None:
    # The reader went away: further writes (and the flush at exit) must not complain.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    from .._model.errors import MinicallError

    try:
        args = _parser().parse_args(argv)
        if args.verbose:
            logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
            logging.getLogger("minicall").setLevel(logging.DEBUG)
        status: int = args.run(args)
        sys.stdout.flush()
        return status
    except _UsageError as exc:
        print(f"minicall: {exc}", file=sys.stderr)
        return 2
    except MinicallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return _INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return _BROKEN_PIPE


def console() -> None:
    """The ``minicall`` console script."""
    sys.exit(main())
