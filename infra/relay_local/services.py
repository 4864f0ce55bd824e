"""The AWS-and-Redis half of the local stack, which `relay run`, `relay invoke` and
`relay token` share.

`start_services` picks a Redis and starts local AWS in its own process (moto
with its journal replayed and the template's resources created, see
`state.process`), serving Cognito on the socket it is given, else on its own
port; `worker_overrides` is what every worker's environment points at them.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relay_local.gateways.tls import ca_path
from relay_local.state.process import AwsProcess, OnTrigger
from relay_local.state.redis_choice import RedisChoice, choose_redis
from relay_local.state.streams import StreamLog
from relay_local.template.build import build_model
from relay_local.template.dynamic import SecretReference, has_references, resolve_environment
from relay_local.template.errors import TemplateError
from relay_local.template.loader import REGION
from relay_local.template.model import StackModel
from relay_local.tokens import jwt_secret

_AWS_MAIN = "relay_local.aws_process"  # run as `python -m`: the AWS process's main


def worker_overrides(
    state_dir: Path, moto_url: str, redis_url: str, cognito_url: str, model: StackModel
) -> dict[str, str]:
    overrides = {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        # Endpoints are local: boto3 trusts the local CA (the WebSocket port's TLS).
        "AWS_CA_BUNDLE": str(ca_path(state_dir)),
        "REDIS_URL": redis_url,
    }
    if any("JWT_SECRET_ARN" in spec.environment for spec in model.functions.values()):
        # A template that signs its own HS256 tokens; one with a user pool needs no secret.
        overrides["JWT_SECRET"] = jwt_secret(state_dir)
    pools = sorted(model.user_pools.values(), key=lambda pool: pool.logical_id)
    if pools:
        # Clients reach the pool at the local endpoint (GET /api/config hands it out), and
        # token checks fetch its keys there: every local pool signs with moto's one key,
        # so the first pool's key set serves them all.
        endpoint = cognito_url.rstrip("/") + "/"
        overrides["COGNITO_ENDPOINT"] = endpoint
        overrides["COGNITO_JWKS_URL"] = f"{endpoint}{pools[0].id}/.well-known/jwks.json"
    return overrides


@dataclass
class LocalServices:
    model: StackModel
    state_dir: Path
    aws: AwsProcess
    redis: RedisChoice
    streams: StreamLog
    cognito_url: str = ""  # the Cognito endpoint clients are given
    overrides: dict[str, str] = field(default_factory=dict)

    def follow(self, model: StackModel) -> None:
        """Point the workers' environment at a changed template's pools (the dict is the
        invoker's own: a function whose environment changes gets fresh workers)."""
        fresh = worker_overrides(
            self.state_dir, self.aws.url, self.redis.url, self.cognito_url, model
        )
        self.overrides.clear()
        self.overrides.update(fresh)

    async def stop(self) -> None:
        await self.aws.stop()
        self.redis.stop()

    async def resolved(self, model: StackModel) -> StackModel:
        """The model with the secrets its functions' environments reference filled in
        (waiting for local AWS only when there are some)."""
        if not has_references(model):
            return model
        await self.aws.ready()
        from relay_local.state.wire import SECRETS, AsyncAws, AwsError

        aws = AsyncAws(self.aws.url)

        async def lookup(reference: SecretReference) -> str:
            body = {"SecretId": reference.secret_id}
            if reference.version_stage:
                body["VersionStage"] = reference.version_stage
            if reference.version_id:
                body["VersionId"] = reference.version_id
            try:
                answer = await aws.call(SECRETS + "GetSecretValue", body)
            except AwsError as error:
                raise TemplateError(f"secret {reference.secret_id}: {error}") from error
            return str(answer.get("SecretString", ""))

        try:
            return await resolve_environment(model, lookup)
        finally:
            await aws.close()


async def start_services(
    template: Path,
    state_dir: Path,
    parameters: dict[str, str] | None = None,
    on_invoke: Callable[[str, Any, str], None] | None = None,
    on_line: Callable[[str], None] | None = None,
    wait: bool = True,
    on_trigger: OnTrigger | None = None,
    cognito: socket.socket | None = None,
) -> LocalServices:
    """Redis, then local AWS (its own process) and the model of the template against it.

    `on_invoke` takes SNS deliveries to functions (the stack's asynchronous invocation);
    until the stack has one, `relay invoke` journals them for the next `relay run`.
    `on_trigger` runs a user pool's trigger and gives back its outcome. `cognito` is the
    Cognito endpoint's socket (local AWS's own port serves Cognito as well; without
    one, that port is the endpoint). Without `wait`, this returns before local AWS has
    replayed its journal: a function that never calls AWS (a redirect served from Redis)
    need not wait for it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    redis = choose_redis(state_dir)
    streams = StreamLog(state_dir / "streams")
    aws = AwsProcess(
        _AWS_MAIN,
        streams.add,
        on_invoke or _keep_for_later(state_dir),
        on_line or _ignore,
        on_trigger,
    )
    cognito_url = f"http://127.0.0.1:{cognito.getsockname()[1]}/" if cognito is not None else ""
    try:
        await aws.start(template, state_dir, parameters or {}, cognito)
        model = build_model(template, aws.url, parameters)
        if wait:
            await aws.ready()
    except BaseException:
        await aws.stop()
        redis.stop()
        raise
    streams.open(list(model.tables.values()))
    cognito_url = cognito_url or f"{aws.url}/"
    services = LocalServices(
        model=model,
        state_dir=state_dir,
        aws=aws,
        redis=redis,
        streams=streams,
        cognito_url=cognito_url,
        overrides=worker_overrides(state_dir, aws.url, redis.url, cognito_url, model),
    )
    try:
        services.model = await services.resolved(model)
    except BaseException:
        await services.stop()
        raise
    return services


def _ignore(_: str) -> None:
    return None


def _keep_for_later(state_dir: Path) -> Callable[[str, Any, str], None]:
    """Without a running stack, an SNS delivery to a function waits in the journal of
    asynchronous invocations: the next `relay run` makes it."""
    from relay_local.sources.async_invoke import pending_entry
    from relay_local.state.journal import Journal

    def keep(function: str, event: Any, source: str) -> None:
        journal = Journal(state_dir / "async-invocations.jsonl")
        try:
            journal.append({"add": pending_entry(function, event, source)})
        finally:
            journal.close()

    return keep
