"""The `relay` command: argparse subcommands, one small function each.

A new subcommand is a `_add_<name>` function that adds its parser and sets
`handler`, listed in `SUBCOMMANDS`; the handler gets the parsed arguments and
returns the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from relay_local.output import Output
from relay_local.template.model import TemplateError

Handler = Callable[[argparse.Namespace], int]


def _common(parser: argparse.ArgumentParser, template: bool = True) -> None:
    parser.add_argument(
        "--state-dir", type=Path, default=Path(".relay"), help="local state (default .relay)"
    )
    if template:
        parser.add_argument(
            "--template", type=Path, default=Path("template.yaml"), help="SAM template"
        )


def _run(args: argparse.Namespace) -> int:
    from relay_local.stack import RunOptions, run_stack

    options = RunOptions(
        template=args.template,
        state_dir=args.state_dir.resolve(),
        http_port=args.http_port,
        ws_port=args.ws_port,
        concurrency=args.concurrency,
    )
    asyncio.run(run_stack(options, Output()))
    return 0


def _add_run(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="run the template locally (HTTP API, queues, logs)")
    parser.add_argument("--http-port", type=int, default=3000)
    parser.add_argument("--ws-port", type=int, default=3001)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="execution environments per function, each a worker process (default 1)",
    )
    _common(parser)
    parser.set_defaults(handler=_run)


def _invoke(args: argparse.Namespace) -> int:
    from relay_local.runtime.invoker import Invoker
    from relay_local.stack import attach_services, start_services

    event: Any = {}
    if args.event:
        event = json.loads(Path(args.event).read_text(encoding="utf-8"))
    state_dir = args.state_dir.resolve()
    services = attach_services(args.template, state_dir)
    if services is None:
        services = start_services(args.template, state_dir)
    try:
        if args.function not in services.model.functions:
            known = ", ".join(sorted(services.model.functions))
            sys.stderr.write(f"relay: no function {args.function} in the template ({known})\n")
            return 2
        invoker = Invoker(services.model, services.overrides)

        async def once() -> Any:
            try:
                return await invoker.invoke(args.function, event)
            finally:
                await invoker.close()

        invocation = asyncio.run(once())
    finally:
        services.stop()
    temperature = f"cold, init {invocation.init_ms:.1f} ms" if invocation.cold else "warm"
    sys.stderr.write(
        f"{args.function}: {invocation.duration_ms:.1f} ms ({temperature}),"
        f" Redis {services.redis_description}\n"
    )
    for line in invocation.logs:
        sys.stderr.write(f"    {line}\n")
    if invocation.error is not None:
        sys.stdout.write(json.dumps(invocation.error, indent=2) + "\n")
        return 1
    sys.stdout.write(json.dumps(invocation.result, indent=2) + "\n")
    return 0


def _add_invoke(subparsers: Any) -> None:
    parser = subparsers.add_parser("invoke", help="run one function once with an event")
    parser.add_argument("function", help="logical id of the function in the template")
    parser.add_argument("-e", "--event", help="JSON file with the event (default {})")
    _common(parser)
    parser.set_defaults(handler=_invoke)


def _token(args: argparse.Namespace) -> int:
    from relay_local.tokens import make_token

    sys.stdout.write(make_token(args.state_dir.resolve(), args.user, args.ttl) + "\n")
    return 0


def _add_token(subparsers: Any) -> None:
    parser = subparsers.add_parser("token", help="print a bearer token the local stack accepts")
    parser.add_argument("user", help="user id (the token's sub)")
    parser.add_argument("--ttl", type=int, default=86400, help="seconds (default 86400)")
    _common(parser, template=False)
    parser.set_defaults(handler=_token)


def _openapi(args: argparse.Namespace) -> int:
    from relay_local.openapi import DOCUMENT, generate

    document = generate(args.template)
    if args.stdout:
        sys.stdout.write(document)
        return 0
    target = args.template.resolve().parent / DOCUMENT
    if args.check:
        if not target.exists() or target.read_text(encoding="utf-8") != document:
            sys.stderr.write(f"relay: {target} is out of date; run `make openapi`\n")
            return 1
        return 0
    target.write_text(document, encoding="utf-8")
    sys.stderr.write(f"wrote {target}\n")
    return 0


def _add_openapi(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "openapi", help="write the HTTP API's OpenAPI document (docs/openapi.json)"
    )
    parser.add_argument("--stdout", action="store_true", help="print it instead")
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    _common(parser)
    parser.set_defaults(handler=_openapi)


SUBCOMMANDS: list[Callable[[Any], None]] = [_add_run, _add_invoke, _add_token, _add_openapi]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relay", description="Relay's local stack.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except TemplateError as exc:
        sys.stderr.write(f"relay: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
