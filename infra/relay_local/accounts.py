"""`relay token HANDLE`: a local user, made the way people are made, signed in.

The user signs up through the pool's own API (so the template's triggers run and
make the profile), is confirmed by an administrator's AdminConfirmSignUp (which
runs PostConfirmation as ConfirmSignUp does), joins `operators` with
`--operator`, and signs in with USER_PASSWORD_AUTH; the access token is printed.
Its email is `HANDLE@relay.local` unless `--email` says otherwise, and its
password is derived from a secret of the state dir, so the next `relay token` for
the same user signs in again. A person who signed up another way has a password
of their own: `relay token` says so rather than change it.

The stack is found by itself (`control.live_stacks`: the one serving this
template, whatever its state dir); with `--state-dir` and no stack running there,
local AWS is started on that state dir for the time it takes (triggers included),
so that a standalone `relay invoke` accepts the token. A template without a user
pool still signs its own HS256 tokens (`tokens.make_token`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relay_local.control import live_stacks, running_stack
from relay_local.template.model import StackModel, TemplateError

TARGET = "AWSCognitoIdentityProviderService."
OPERATORS = "operators"


class CognitoFailed(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


class CognitoClient:
    """Cognito's JSON API at an endpoint, as any client speaks it (the standard library's
    HTTP: `relay token` starts in a blink against a running stack)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint.rstrip("/") + "/"

    def call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - the local endpoint, http on loopback
            self.endpoint,
            data=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": TARGET + operation,
                # Admin operations are signed on AWS; locally the scope routes them.
                "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/"
                "cognito-idp/aws4_request, SignedHeaders=host, Signature=local",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as error:
            data = json.loads(error.read() or b"{}")
            kind = str(data.get("__type", "Error")).rsplit("#", 1)[-1]
            raise CognitoFailed(kind, str(data.get("message", ""))) from None
        answer: dict[str, Any] = json.loads(payload or b"{}")
        return answer


@dataclass(frozen=True)
class Pool:
    pool_id: str
    client_id: str
    email_usernames: bool
    groups: tuple[str, ...]


def pool_of(model: StackModel) -> Pool | None:
    """The template's user pool and the app client people sign in with (USER_PASSWORD_AUTH)."""
    if not model.user_pools:
        return None
    if len(model.user_pools) > 1:
        raise TemplateError(
            "relay token signs in to one user pool; the template has "
            + ", ".join(sorted(model.user_pools))
        )
    (spec,) = model.user_pools.values()
    clients = [
        c
        for c in model.user_pool_clients.values()
        if c.pool == spec.logical_id and "ALLOW_USER_PASSWORD_AUTH" in c.auth_flows
    ]
    if not clients:
        raise TemplateError(
            f"relay token signs in with USER_PASSWORD_AUTH: no client of {spec.logical_id}"
            " allows it (ExplicitAuthFlows: ALLOW_USER_PASSWORD_AUTH)"
        )
    groups = tuple(g.name for g in model.user_pool_groups.values() if g.pool == spec.logical_id)
    return Pool(spec.id, clients[0].id, "email" in spec.username_attributes, groups)


def local_password(state_dir: Path, email: str) -> str:
    """The password `relay token` gives a user of this state dir: derived from a secret of
    the state dir (made once, readable only by its owner), and one any policy accepts."""
    path = state_dir / "relay-token-secret"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                stream.write(secrets.token_urlsafe(32))
    secret = path.read_text(encoding="utf-8").strip().encode()
    digest = hmac.new(secret, email.lower().encode(), hashlib.sha256).digest()
    return "Rl-" + base64.urlsafe_b64encode(digest).decode().rstrip("=") + "-9a"


def sign_in(
    client: CognitoClient,
    pool: Pool,
    handle: str,
    email: str,
    password: str,
    operator: bool,
) -> dict[str, Any]:
    """Sign the user up if needed (the triggers run), confirm, sign in: the tokens."""
    username = email if pool.email_usernames else handle
    attributes = [{"Name": "preferred_username", "Value": handle}]
    if not pool.email_usernames:
        attributes.append({"Name": "email", "Value": email})
    try:
        client.call(
            "SignUp",
            {
                "ClientId": pool.client_id,
                "Username": username,
                "Password": password,
                "UserAttributes": attributes,
            },
        )
    except CognitoFailed as failed:
        if failed.error_type != "UsernameExistsException":
            raise
    user = client.call("AdminGetUser", {"UserPoolId": pool.pool_id, "Username": username})
    if user.get("UserStatus") == "UNCONFIRMED":
        client.call("AdminConfirmSignUp", {"UserPoolId": pool.pool_id, "Username": username})
    if operator:
        if OPERATORS not in pool.groups:
            raise CognitoFailed(
                "ResourceNotFoundException", f"the user pool has no group {OPERATORS}"
            )
        client.call(
            "AdminAddUserToGroup",
            {"UserPoolId": pool.pool_id, "Username": username, "GroupName": OPERATORS},
        )
    try:
        answer = client.call(
            "InitiateAuth",
            {
                "ClientId": pool.client_id,
                "AuthFlow": "USER_PASSWORD_AUTH",
                "AuthParameters": {"USERNAME": username, "PASSWORD": password},
            },
        )
    except CognitoFailed as failed:
        if failed.error_type == "NotAuthorizedException":
            raise CognitoFailed(
                failed.error_type,
                f"{username} has a password of its own (it signed up another way): sign in"
                " with InitiateAuth as the README shows, or pass --email for another user",
            ) from None
        raise
    result: dict[str, Any] = answer.get("AuthenticationResult") or {}
    return result


@dataclass
class Target:
    """Where `relay token` signs in: a running stack, or a state dir without one."""

    template: Path
    state_dir: Path
    parameters: dict[str, str]
    endpoint: str | None  # the running stack's Cognito endpoint; None: start local AWS


def find_target(template: Path, state_dir: Path | None) -> Target | str:
    """The stack to sign in on, or what to say when there is none to pick."""
    template = template.resolve()
    if state_dir is not None:
        info = running_stack(state_dir)
        if info is not None:
            return _target(info, state_dir)
        return Target(template, state_dir, {}, None)
    stacks = live_stacks()
    serving = [s for s in stacks if Path(s["template"]) == template]
    if len(serving) == 1:
        return _target(serving[0], Path(serving[0]["state_dir"]))
    if serving:
        dirs = "\n".join(f"  relay token ... --state-dir {s['state_dir']}" for s in serving)
        return f"{len(serving)} stacks serve {template}; say which:\n{dirs}"
    lines = [f"no `relay run` serves {template}."]
    for other in stacks:
        lines.append(
            f"  running: {other['template']} (--template {other['template']}"
            f" --state-dir {other['state_dir']})"
        )
    lines.append(
        "Start it (make run), or pass --state-dir DIR to sign in on DIR's state without"
        " a stack (for `relay invoke`)."
    )
    return "\n".join(lines)


def _target(info: dict[str, Any], state_dir: Path) -> Target:
    return Target(
        Path(str(info["template"])),
        state_dir,
        dict(info.get("parameters") or {}),
        info.get("cognito_url") or None,
    )


def make_token(
    target: Target, handle: str, email: str | None, operator: bool, ttl_s: int
) -> tuple[str, str]:
    """The access token (or the HS256 token of a template without a user pool), and a
    line saying whose it is."""
    from relay_local.template.build import build_model
    from relay_local.tokens import make_token as hs256_token

    model = build_model(target.template, "http://127.0.0.1:1", target.parameters)
    pool = pool_of(model)
    if pool is None:
        token = hs256_token(target.state_dir, handle, ttl_s)
        return token, f"{handle}: HS256, signed with {target.state_dir / 'jwt-secret'}"
    address = email or f"{handle}@relay.local"
    password = local_password(target.state_dir, address)
    if target.endpoint is not None:
        result = sign_in(CognitoClient(target.endpoint), pool, handle, address, password, operator)
        where = f"the stack on {target.state_dir}"
    else:
        result = asyncio.run(_sign_in_here(target, pool, handle, address, password, operator))
        where = f"{target.state_dir} (no stack running: local AWS started for it)"
    token = str(result.get("AccessToken", ""))
    minutes = int(result.get("ExpiresIn", 0)) // 60
    return token, f"{handle} ({address}) signed in on {where}; the token lasts {minutes} min"


async def _sign_in_here(
    target: Target, pool: Pool, handle: str, email: str, password: str, operator: bool
) -> dict[str, Any]:
    """Local AWS on the state dir, functions for its triggers, sign in, stop."""
    from relay_local.output import Output
    from relay_local.runtime.invoker import Invoker
    from relay_local.services import start_services

    output = Output(sys.stderr)
    invokers: list[Invoker] = []

    async def trigger(function: str, event: Any, source: str) -> tuple[Any, Any]:
        invocation = await invokers[0].invoke(function, event)
        output.invocation(source, invocation, "error" if invocation.failed else "ok")
        return invocation.result, invocation.error

    services = await start_services(
        target.template,
        target.state_dir,
        target.parameters,
        on_line=output.line,
        on_trigger=trigger,
    )
    invoker = Invoker(services.model.functions, services.overrides)
    invokers.append(invoker)
    try:
        client = CognitoClient(services.cognito_url)
        work: Callable[[], dict[str, Any]] = lambda: sign_in(  # noqa: E731
            client, pool, handle, email, password, operator
        )
        return await asyncio.to_thread(work)
    finally:
        await invoker.close(graceful=False)
        await services.stop()
        output.flush()
