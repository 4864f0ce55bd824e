"""The AWS-and-Redis half of the local stack, which `relay run` and `relay invoke` share.

`start_services` brings up moto (journal replayed, the template's resources
created) and picks a Redis; `worker_overrides` is what every worker's
environment points at them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from relay_local.gateways.tls import ca_path
from relay_local.state.aws import Hook, LocalAws
from relay_local.state.redis_choice import RedisChoice, choose_redis
from relay_local.state.streams import StreamLog, install
from relay_local.template.build import build_model
from relay_local.template.loader import REGION
from relay_local.template.model import StackModel
from relay_local.tokens import jwt_secret


def worker_overrides(state_dir: Path, moto_url: str, redis_url: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        # Endpoints are local: boto3 trusts the local CA (the WebSocket port's TLS).
        "AWS_CA_BUNDLE": str(ca_path(state_dir)),
        "REDIS_URL": redis_url,
        "JWT_SECRET": jwt_secret(state_dir),
    }


@dataclass
class LocalServices:
    model: StackModel
    state_dir: Path
    aws: LocalAws
    redis: RedisChoice
    streams: StreamLog
    replayed: int = 0
    overrides: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        self.streams.close()
        self.aws.stop()
        self.redis.stop()


def start_services(
    template: Path,
    state_dir: Path,
    parameters: dict[str, str] | None = None,
    hooks: list[Hook] | None = None,
) -> LocalServices:
    """Moto (journal replayed, template resources created) and Redis, in this process."""
    state_dir.mkdir(parents=True, exist_ok=True)
    # Redis first: starting redis-server forks, which is safest before any thread exists.
    redis = choose_redis(state_dir)
    aws = LocalAws(state_dir)
    streams = StreamLog(state_dir / "streams")
    try:
        moto_url = aws.bind()
        model = build_model(template, moto_url, parameters)
        install(streams)
        streams.open(list(model.tables.values()))
        aws.hooks.extend(hooks or [])
        replayed = aws.prepare(model)
        streams.capturing = True
        aws.serve()
    except BaseException:
        aws.stop()
        redis.stop()
        raise
    return LocalServices(
        model=model,
        state_dir=state_dir,
        aws=aws,
        redis=redis,
        streams=streams,
        replayed=replayed,
        overrides=worker_overrides(state_dir, moto_url, redis.url),
    )
