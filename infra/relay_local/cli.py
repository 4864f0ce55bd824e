"""The `relay` command: argparse subcommands, one small function each.

A new subcommand is a `_add_<name>` function that adds its parser and sets
`handler`, listed in `SUBCOMMANDS`; the handler gets the parsed arguments and
returns the exit status. Only the standard library is imported here at start:
`relay invoke` against a running stack is this module, a socket and a print.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Handler = Callable[[argparse.Namespace], int]


def _common(
    parser: argparse.ArgumentParser, template: bool = True, state_dir: Path | None = Path(".relay")
) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=state_dir,
        help="local state (default .relay)"
        if state_dir is not None
        else "the state dir of the stack to sign in on (default: the running stack's)",
    )
    if template:
        parser.add_argument(
            "--template", type=Path, default=Path("template.yaml"), help="SAM template"
        )
        parser.add_argument(
            "--parameter-overrides",
            nargs="+",
            default=[],
            metavar="KEY=VALUE",
            help="template parameters, as sam deploy takes them"
            " (Key=Value or ParameterKey=Key,ParameterValue=Value)",
        )


def _parameters(args: argparse.Namespace) -> dict[str, str]:
    from relay_local.template.parameters import parse_overrides

    return parse_overrides(args.parameter_overrides)


def _run(args: argparse.Namespace) -> int:
    from relay_local.output import Output
    from relay_local.stack import RunOptions, run

    delays = (args.async_retry_delay,) if args.async_retry_delay is not None else None
    options = RunOptions(
        template=args.template,
        state_dir=args.state_dir.resolve(),
        http_port=args.http_port,
        ws_port=args.ws_port,
        cognito_port=args.cognito_port,
        concurrency=args.concurrency,
        parameters=_parameters(args),
        ws_idle_timeout_s=args.ws_idle_timeout,
        ws_max_lifetime_s=args.ws_max_connection_duration,
    )
    if delays is not None:
        options.async_retry_delays_s = delays
    if args.web is not None:
        if not args.web.is_dir():
            sys.stderr.write(f"relay: --web {args.web} is not a directory\n")
            return 2
        options.web = args.web.resolve()
    elif (args.template.resolve().parent / "web").is_dir():
        options.web = args.template.resolve().parent / "web"
    run(options, Output())
    return 0


def _add_run(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run", help="run the template locally (HTTP and WebSocket APIs, queues, topics, ...)"
    )
    parser.add_argument("--http-port", type=int, default=3000)
    parser.add_argument("--ws-port", type=int, default=3001, help="the first WebSocket API's port")
    parser.add_argument(
        "--cognito-port",
        type=int,
        default=3002,
        help="the user pools' Cognito endpoint (cognitoEndpoint)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="execution environments per function, each a worker process started when"
        " requests overlap (default 4)",
    )
    parser.add_argument(
        "--ws-idle-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="close WebSocket connections idle this long (API Gateway: 600)",
    )
    parser.add_argument(
        "--ws-max-connection-duration",
        type=float,
        default=7200.0,
        metavar="SECONDS",
        help="close WebSocket connections this old (API Gateway: 7200)",
    )
    parser.add_argument(
        "--async-retry-delay",
        type=float,
        default=None,
        metavar="SECONDS",
        help="wait between retries of a failed asynchronous invocation (Lambda: 60, then 120)",
    )
    parser.add_argument(
        "--web",
        type=Path,
        default=None,
        metavar="DIR",
        help="the browser client's files, served at /app/ (default: web/ beside the template,"
        " when there is one)",
    )
    _common(parser)
    parser.set_defaults(handler=_run)


def _invoke(args: argparse.Namespace) -> int:
    event = b"{}"
    if args.event:
        try:
            text = Path(args.event).read_text(encoding="utf-8")
            json.loads(text)
        except (OSError, ValueError) as exc:
            sys.stderr.write(f"relay: cannot read the event {args.event}: {exc}\n")
            return 2
        event = text.encode()
    state_dir = args.state_dir.resolve()
    outcome: dict[str, Any] | int | None = _invoke_running(args, state_dir, event)
    if outcome is None:
        outcome = _invoke_here(args, state_dir, event)
    if isinstance(outcome, int):
        return outcome
    temperature = f"cold, init {outcome['init_ms']:.1f} ms" if outcome["cold"] else "warm"
    sys.stderr.write(
        f"{args.function}: {outcome['duration_ms']:.1f} ms ({temperature}),"
        f" Redis {outcome['redis']}\n"
    )
    for line in outcome["logs"]:
        sys.stderr.write(f"    {line}\n")
    if outcome["error"] is not None:
        sys.stdout.write(json.dumps(outcome["error"], indent=2) + "\n")
        return 1
    sys.stdout.write(json.dumps(outcome["result"], indent=2) + "\n")
    return 0


def _invoke_running(
    args: argparse.Namespace, state_dir: Path, event: bytes
) -> dict[str, Any] | None:
    """The outcome from a `relay run` serving this template, if one is running."""
    from relay_local.control import invoke_remote, running_stack

    info = running_stack(state_dir)
    if info is None or info.get("template") != str(args.template.resolve()):
        return None
    if args.parameter_overrides and _parameters(args) != info.get("parameters"):
        return None  # the running stack was started with other parameters
    try:
        outcome = invoke_remote(
            int(info["control_port"]), str(info["control_token"]), args.function, event, 900.0
        )
    except (OSError, ValueError, KeyError):
        return None
    if outcome is not None:
        outcome["redis"] = f"of the running stack ({outcome.get('redis')})"
    return outcome


def _invoke_here(args: argparse.Namespace, state_dir: Path, event: bytes) -> dict[str, Any] | int:
    """Start the services, invoke once, stop."""
    import asyncio

    from relay_local.runtime.invoker import Invoker
    from relay_local.services import start_services

    async def once() -> dict[str, Any] | int:
        invokers: list[Invoker] = []

        async def trigger(function: str, event: Any, source: str) -> tuple[Any, Any]:
            # A user pool's trigger, when the function signs someone up: run here too.
            invocation = await invokers[0].invoke(function, event)
            return invocation.result, invocation.error

        services = await start_services(
            args.template, state_dir, _parameters(args), wait=False, on_trigger=trigger
        )
        try:
            if args.function not in services.model.functions:
                known = ", ".join(sorted(services.model.functions))
                sys.stderr.write(f"relay: no function {args.function} in the template ({known})\n")
                return 2
            invoker = Invoker(services.model.functions, services.overrides)
            invokers.append(invoker)
            try:
                invocation = await invoker.invoke_encoded(args.function, event)
            finally:
                await invoker.close(graceful=False)
            return invocation.outcome(services.redis.description)
        finally:
            await services.stop()

    return asyncio.run(once())


def _add_invoke(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "invoke",
        help="run one function once with an event (through a running `relay run` if any)",
    )
    parser.add_argument("function", help="logical id of the function in the template")
    parser.add_argument("-e", "--event", help="JSON file with the event (default {})")
    _common(parser)
    parser.set_defaults(handler=_invoke)


def _token(args: argparse.Namespace) -> int:
    from relay_local.accounts import CognitoFailed, find_target, make_token

    state_dir = args.state_dir.resolve() if args.state_dir is not None else None
    target = find_target(args.template, state_dir)
    if isinstance(target, str):
        sys.stderr.write(f"relay: {target}\n")
        return 2
    try:
        token, whose = make_token(target, args.handle, args.email, args.operator, args.ttl)
    except CognitoFailed as failed:
        sys.stderr.write(f"relay: {args.handle}: {failed.error_type}: {failed.message}\n")
        return 1
    sys.stderr.write(f"relay: {whose}\n")
    sys.stdout.write(token + "\n")
    return 0


def _add_token(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "token",
        help="sign a local user up if needed, sign in, and print the access token",
    )
    parser.add_argument("handle", help="the user's handle (preferred_username)")
    parser.add_argument(
        "--email", help="the user's email (default HANDLE@relay.local): the username"
    )
    parser.add_argument(
        "--operator", action="store_true", help="put the user in the operators group"
    )
    parser.add_argument(
        "--ttl",
        type=int,
        default=86400,
        help="seconds, for templates without a user pool (their HS256 tokens; default 86400)",
    )
    parser.add_argument("--template", type=Path, default=Path("template.yaml"), help="SAM template")
    _common(parser, template=False, state_dir=None)
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
    from relay_local.template.errors import TemplateError

    try:
        return handler(args)
    except TemplateError as exc:
        sys.stderr.write(f"relay: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
