"""The command line: ``python -m minicall call|demo|providers``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from ._call.registry import PROVIDERS, provider_module


def _call(args: argparse.Namespace) -> int:
    from . import llm
    from ._model.errors import MinicallError
    from ._model.messages import Message

    def prompt() -> list[Message]:
        messages = [Message("system", args.system)] if args.system else []
        return [*messages, Message("user", args.prompt)]

    settings: dict[str, Any] = {"json_mode": args.json}
    try:
        if args.stream:
            stream_fn = llm.call(args.provider, args.model, stream=True, **settings)(prompt)
            for chunk, _ in stream_fn():
                sys.stdout.write(chunk.content)
                sys.stdout.flush()
            sys.stdout.write("\n")
        else:
            print(llm.call(args.provider, args.model, **settings)(prompt)().content)
    except MinicallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
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
    from ._cli.demo import run

    return run()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m minicall", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    call = sub.add_parser("call", help="call a model once and print the reply")
    call.add_argument("--provider", required=True, choices=list(PROVIDERS))
    call.add_argument("--model", required=True)
    call.add_argument("--system", default=None, help="a system prompt")
    call.add_argument("--stream", action="store_true", help="print tokens as they arrive")
    call.add_argument("--json", action="store_true", help="ask for JSON output")
    call.add_argument("prompt")
    call.set_defaults(run=_call)
    sub.add_parser("demo", help="run the examples against the built-in FakeServer").set_defaults(run=_demo)
    sub.add_parser("providers", help="list providers and their environment").set_defaults(run=_providers)
    args = parser.parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
