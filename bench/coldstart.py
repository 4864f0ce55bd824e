"""Part 3: cold start per function, beside the floor of the clients it cannot do without.

Each sample is a fresh `python -c` process. Inside it, time starts at the script's
first line: the import of the handler module (PYTHONPATH = its CodeUri + the layer,
environment as the template gives it, AWS pointed at a moto server on loopback),
then one call with the matching events/*.json event. The floor children do the
same with only the unavoidable clients and one real request each. Function and
floor samples alternate, 5 of each; the median is reported. Where a function misses
1.3x, `-X importtime` of both says which modules make the difference.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    EVENTS,
    LAYER_DIR,
    PYTHON,
    REDIS_URL,
    ROOT,
    TEMPLATE,
    PartResult,
    Row,
    access_token,
    bench_env,
    create_template_resources,
    flush_bench_db,
    key_set_server,
    median,
    moto_server,
    ms,
    run_python,
    template_pool,
    verdict,
)

REPEATS = 5
LIMIT = 1.3

_CHILD_HEAD = """\
import time
_t0 = time.perf_counter()
"""

_CHILD_TAIL = """
_t2 = time.perf_counter()
import json as _json, sys as _sys
_boto = sorted(m for m in _sys.modules if m.split(".")[0] in ("boto3", "botocore"))
_sys.__stdout__.write(chr(10) + "BENCH-RESULT " + _json.dumps({
    "import_s": _t1 - _t0, "first_s": _t2 - _t1, "result": _result, "boto": _boto,
    "body": str(_body)[:2000],
}))
"""

# The function: import its handler module, then one call, stdout to a file as on Lambda.
_FUNCTION = """
import importlib, os
_module = importlib.import_module(os.environ["BENCH_MODULE"])
_t1 = time.perf_counter()
import json, sys

class _Context:
    function_name = "bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self):
        return 10_000

with open(os.environ["BENCH_EVENT"]) as _f:
    _event = json.load(_f)
_saved = sys.stdout
sys.stdout = open(os.devnull, "w")
try:
    _reply = getattr(_module, os.environ["BENCH_ATTR"])(_event, _Context())
finally:
    sys.stdout = _saved
_result = _reply.get("statusCode", _reply) if isinstance(_reply, dict) else str(_reply)
_body = _reply.get("body", "") if isinstance(_reply, dict) else ""
"""

_REDIS_GET = """
import redis as _redis
_r = _redis.Redis.from_url(os.environ["REDIS_URL"])
_r.get(os.environ["BENCH_CACHE_KEY"])
"""

_VALIDATING_RESOLVER = """
_app = APIGatewayHttpResolver(enable_validation=True)

class _Body(pydantic.BaseModel):
    url: str

@_app.post("/x")
def _route(body: _Body) -> dict:
    return {"url": body.url}

_event = {
    "version": "2.0", "routeKey": "POST /x", "rawPath": "/x", "rawQueryString": "",
    "headers": {"content-type": "application/json"}, "isBase64Encoded": False,
    "body": '{"url": "https://example.com/"}',
    "requestContext": {"http": {"method": "POST", "path": "/x", "sourceIp": "192.0.2.1"},
                       "stage": "$default", "requestId": "r", "routeKey": "POST /x"},
}
assert _app.resolve(_event, None)["statusCode"] == 200
"""

# The floors: only what each function cannot do without, each with one real request.
_FLOORS: dict[str, tuple[str, str, str]] = {
    # The redirect reads its one route's event itself, so its floor is Redis alone.
    "Redirect": (
        "redis + one GET (no boto3, no Powertools)",
        "import os, redis",
        _REDIS_GET + "_result = 'ok'",
    ),
    "Shorten": (
        "boto3 + dynamodb GetItem + redis GET + resolver with validation (pydantic)",
        "import os, boto3, redis, pydantic\n"
        "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver",
        "boto3.client('dynamodb').get_item(TableName=os.environ['LINKS_TABLE'], "
        "Key={'pk': {'S': 'LINK#floor'}})\n" + _REDIS_GET + _VALIDATING_RESOLVER + "_result = 'ok'",
    ),
    "Authorizer": (
        "PyJWT + cryptography: the pool's JWKS fetched once (loopback here, Cognito on AWS)"
        " + one RS256 decode",
        "import os, json, urllib.request, jwt\nfrom jwt.algorithms import RSAAlgorithm",
        "_keys = json.loads(urllib.request.urlopen(os.environ['COGNITO_JWKS_URL']).read())\n"
        "_key = RSAAlgorithm.from_jwk(json.dumps(_keys['keys'][0]))\n"
        "jwt.decode(os.environ['BENCH_TOKEN'], _key, algorithms=['RS256'],"
        " options={'verify_aud': False})\n"
        "_result = 'ok'",
    ),
    "ClickShipper": (
        "boto3 + sqs SendMessage",
        "import os, boto3",
        "boto3.client('sqs').send_message(QueueUrl=os.environ['CLICK_QUEUE_URL'], "
        "MessageBody='{\"clicks\": []}')\n_result = 'ok'",
    ),
    "ClickConsumer": (
        "boto3 + dynamodb GetItem + Powertools batch utility",
        "import os, boto3\nfrom aws_lambda_powertools.utilities.batch import "
        "BatchProcessor, EventType, process_partial_response",
        "boto3.client('dynamodb').get_item(TableName=os.environ['CLICKS_TABLE'], "
        "Key={'pk': {'S': 'floor'}, 'sk': {'S': 'floor'}})\n_result = 'ok'",
    ),
}
_FLOORS["Analytics"] = (
    _FLOORS["Shorten"][0],
    _FLOORS["Shorten"][1],
    _FLOORS["Shorten"][2].replace("LINK#floor", "LINK#floor2"),
)
# The chat's and the feed's HTTP APIs validate bodies like Shorten; their other
# functions need DynamoDB and Redis (presence, timelines, rate limits), and the
# delivery consumer DynamoDB and the batch utility, like ClickConsumer.
_DYNAMODB_AND_REDIS = (
    "boto3 + dynamodb GetItem + redis GET",
    "import os, boto3, redis",
    "boto3.client('dynamodb').get_item(TableName=os.environ['LINKS_TABLE'], "
    "Key={'pk': {'S': 'LINK#floor'}})\n" + _REDIS_GET + "_result = 'ok'",
)
for _name in ("Conversations", "Feed"):
    _FLOORS[_name] = _FLOORS["Shorten"]
for _name in ("ChatPresenceSweep", "FanOut"):
    _FLOORS[_name] = _DYNAMODB_AND_REDIS
# A WebSocket route's function answers through the @connections API: its client is
# built from the event, as on AWS.
_CONNECTIONS_CLIENT = (
    "boto3.client('apigatewaymanagementapi', "
    "endpoint_url='https://r3pmxmplws.execute-api.us-east-1.amazonaws.com/prod')\n"
)
for _name in ("ChatConnect", "ChatDisconnect"):
    _FLOORS[_name] = (
        _DYNAMODB_AND_REDIS[0] + " + the @connections client",
        _DYNAMODB_AND_REDIS[1],
        _CONNECTIONS_CLIENT + _DYNAMODB_AND_REDIS[2],
    )
# ChatMessage validates each frame against a pydantic model, as the HTTP APIs do bodies.
_FLOORS["ChatMessage"] = (
    _DYNAMODB_AND_REDIS[0] + " + the @connections client + one pydantic model validation",
    _DYNAMODB_AND_REDIS[1] + ", pydantic",
    "class _Frame(pydantic.BaseModel):\n    action: str\n"
    '_Frame.model_validate_json(\'{"action": "ping"}\')\n'
    + _CONNECTIONS_CLIENT
    + _DYNAMODB_AND_REDIS[2],
)
# Large-group delivery: DynamoDB (connections), Redis (push windows), the batch utility.
_FLOORS["ChatDelivery"] = (
    _FLOORS["ClickConsumer"][0] + " + redis GET",
    _FLOORS["ClickConsumer"][1] + "\nimport redis",
    _REDIS_GET + _FLOORS["ClickConsumer"][2],
)

# Accounts answers like the other HTTP APIs; the Cognito triggers reach DynamoDB only
# (one conditional put; one transaction), with neither Redis nor the resolver.
_FLOORS["Accounts"] = _FLOORS["Shorten"]
for _name in ("PreSignUp", "PostConfirmation"):
    _FLOORS[_name] = (
        "boto3 + dynamodb GetItem",
        "import os, boto3",
        "boto3.client('dynamodb').get_item(TableName=os.environ['LINKS_TABLE'], "
        "Key={'pk': {'S': 'LINK#floor'}})\n_result = 'ok'",
    )

# The event each function's first request gets (events/*.json).
_EVENT_FILES = {
    "Redirect": "redirect.json",
    "Analytics": "analytics.json",
    "Authorizer": "authorizer.json",
    "ClickShipper": "click-shipper.json",
    "ClickConsumer": "click-consumer.json",
    "Conversations": "conversations-list.json",
    "ChatConnect": "chat-connect.json",
    "ChatDisconnect": "chat-disconnect.json",
    "ChatMessage": "chat-message-ping.json",
    "ChatDelivery": "chat-delivery.json",
    "ChatPresenceSweep": "chat-presence-sweep.json",
    "Feed": "feed-read-feed.json",
    "FanOut": "fan-out.json",
    # GET /api/me: one GetItem (the person PostConfirmation made, or nobody: a 404).
    "Accounts": "accounts.json",
    "PreSignUp": "pre-sign-up.json",
    "PostConfirmation": "post-confirmation.json",
}


@dataclass
class Sample:
    import_s: float
    first_s: float
    wall_s: float
    result: Any
    boto: list[str]
    body: str

    @property
    def cold_s(self) -> float:
        return self.import_s + self.first_s


def _run(code: str, env: dict[str, str], args: tuple[str, ...] = ()) -> tuple[Sample, str]:
    start = time.perf_counter()
    done = run_python(code, env, args=args)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"cold-start child failed ({env.get('BENCH_WHAT')}): {done.stderr}")
    marked = [line for line in done.stdout.splitlines() if line.startswith("BENCH-RESULT ")]
    if not marked:
        raise RuntimeError(f"cold-start child printed no result: {done.stdout[-2000:]}")
    data = json.loads(marked[-1].removeprefix("BENCH-RESULT "))
    sample = Sample(
        data["import_s"], data["first_s"], wall, data["result"], data["boto"], data["body"]
    )
    return sample, done.stderr


def _function_code() -> str:
    return _CHILD_HEAD + _FUNCTION + _CHILD_TAIL


def _floor_code(function: str) -> str:
    _, imports, request = _FLOORS[function]
    body = "\n_t1 = time.perf_counter()\n" + request + "\n_body = ''\n"
    return _CHILD_HEAD + imports + body + _CHILD_TAIL


class _Events:
    """events/*.json adjusted to the seeded link, written to files the children read."""

    def __init__(self, directory: Path, code: str, token: str) -> None:
        self._dir = directory
        self.code = code
        self._token = token
        self._serial = 0

    def _write(self, event: dict[str, Any]) -> str:
        self._serial += 1
        path = self._dir / f"event-{self._serial}.json"
        path.write_text(json.dumps(event))
        return str(path)

    def _ip(self, event: dict[str, Any]) -> None:
        ip = f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"
        event["requestContext"]["http"]["sourceIp"] = ip
        event.get("headers", {})["x-forwarded-for"] = ip

    def shorten(self, url: str) -> str:
        event = json.loads((EVENTS / "shorten.json").read_text())
        event["requestContext"]["authorizer"] = {"lambda": {"userId": "", "authError": ""}}
        event["headers"].pop("authorization", None)
        event["body"] = json.dumps({"longUrl": url})
        self._ip(event)
        return self._write(event)

    def for_function(self, function: str) -> str:
        if function == "Shorten":
            return self.shorten(f"https://example.com/cold/{random.getrandbits(48):x}")
        event = copy.deepcopy(json.loads((EVENTS / _EVENT_FILES[function]).read_text()))
        if function in ("Redirect", "Analytics"):
            path = event["rawPath"].rsplit("/", 1)[0] + f"/{self.code}"
            event["rawPath"] = event["requestContext"]["http"]["path"] = path
            event["pathParameters"] = {"code": self.code}
            self._ip(event)
        if function == "Authorizer":
            event["headers"]["authorization"] = f"Bearer {self._token}"
        if function == "PreSignUp":
            # A new person each time: a handle is held for the first sign-up that asks.
            import uuid

            fresh = uuid.uuid4().hex
            event["userName"] = fresh
            event["request"]["userAttributes"]["preferred_username"] = f"bench_{fresh[:8]}"
        return self._write(event)


def _expect(function: str, result: Any) -> None:
    ok = {
        "Redirect": result in (301, 302),
        "Shorten": result in (200, 201),
        "Analytics": result == 200,
        "Authorizer": isinstance(result, dict) and result.get("isAuthorized") is True,
        "ClickShipper": isinstance(result, dict) and "messages" in result,
        "ClickConsumer": isinstance(result, dict) and "batchItemFailures" in result,
        "ChatDelivery": isinstance(result, dict) and "batchItemFailures" in result,
        "FanOut": isinstance(result, dict) and result.get("batchItemFailures") == [],
        # The sweep answers nothing; the child fails if the handler raises.
        "ChatPresenceSweep": True,
        "Accounts": result in (200, 404),
        # A trigger answers with its event, as Cognito requires.
        "PreSignUp": isinstance(result, dict) and "triggerSource" in result,
        "PostConfirmation": isinstance(result, dict) and "triggerSource" in result,
    }.get(function, result == 200)
    if not ok:
        raise RuntimeError(f"{function}'s first request did not succeed: {result!r}")


def _importtime(stderr: str) -> dict[str, int]:
    """Module -> self import time in microseconds, from `-X importtime` output."""
    times: dict[str, int] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue
        name = fields[2].strip()
        times[name] = times.get(name, 0) + int(fields[0].strip())
    return times


def _group(module: str) -> str:
    parts = module.split(".")
    depth = 3 if parts[0] in ("aws_lambda_powertools", "relay") else 1
    return ".".join(parts[:depth])


def _offenders(function_stderr: str, floor_stderr: str) -> list[tuple[str, int]]:
    own, floor = _importtime(function_stderr), _importtime(floor_stderr)
    extra: dict[str, int] = {}
    for module, self_us in own.items():
        if module not in floor:
            extra[_group(module)] = extra.get(_group(module), 0) + self_us
    return sorted(extra.items(), key=lambda item: -item[1])


def run() -> PartResult:
    from relay_local.template.build import build_model

    result = PartResult("coldstart")
    flush_bench_db()
    with (
        moto_server() as moto_url,
        key_set_server() as jwks_url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        queues = create_template_resources(moto_url)
        model = build_model(TEMPLATE, moto_url=moto_url)
        token = access_token(*template_pool())
        envs: dict[str, dict[str, str]] = {}
        for name, spec in model.functions.items():
            module, _, attr = spec.handler.rpartition(".")
            paths = [str(spec.code_dir), *(str(d) for d in spec.layer_dirs or [LAYER_DIR])]
            env = bench_env(**spec.environment)
            env.update(
                AWS_ENDPOINT_URL=moto_url,
                REDIS_URL=REDIS_URL,
                COGNITO_JWKS_URL=jwks_url,
                CLICK_QUEUE_URL=queues["ClickQueue"],
                PYTHONPATH=":".join(paths),
                BENCH_MODULE=module,
                BENCH_ATTR=attr,
                BENCH_WHAT=name,
                BENCH_TOKEN=token,
            )
            envs[name] = env

        events = _Events(Path(tmp), "", token)
        seed_env = dict(envs["Shorten"], BENCH_EVENT=events.shorten("https://example.com/bench"))
        seeded, _ = _run(_function_code(), seed_env)
        if seeded.result != 201:
            raise RuntimeError(f"seeding a link failed: {seeded.result!r} {seeded.body}")
        code = str(json.loads(seeded.body)["code"])
        events.code = code
        for env in envs.values():
            env["BENCH_CACHE_KEY"] = f"link:{code}"

        functions = sorted(model.functions)
        samples: dict[str, list[Sample]] = {name: [] for name in functions}
        floors: dict[str, list[Sample]] = {name: [] for name in functions}
        bare: list[float] = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            subprocess.run([PYTHON, "-c", "pass"], check=True, cwd=ROOT)
            bare.append(time.perf_counter() - start)
            for name in functions:
                env = dict(envs[name], BENCH_EVENT=events.for_function(name))
                sample, _ = _run(_function_code(), env)
                _expect(name, sample.result)
                samples[name].append(sample)
                floor_sample, _ = _run(_floor_code(name), _floor_env(envs[name], moto_url))
                floors[name].append(floor_sample)

        bare_s = median(bare)
        result.rows.append(
            Row(
                "coldstart",
                "bare `python -c pass` (process start to exit)",
                ms(bare_s),
                note="in every child, before its first line; not in the figures below",
            )
        )
        for name in functions:
            imp = median([s.import_s for s in samples[name]])
            first = median([s.first_s for s in samples[name]])
            cold = median([s.cold_s for s in samples[name]])
            floor = median([s.cold_s for s in floors[name]])
            ratio = cold / floor
            boto = samples[name][-1].boto
            note = f"import {ms(imp)} + first request {ms(first)}; floor: {_FLOORS[name][0]}"
            if name == "Redirect":
                heavy = [m for m in boto if m != "botocore"]
                note += f"; boto modules after a cache hit: {len(boto)} ({', '.join(boto[:4])})"
                if heavy:
                    note += " - pays for boto3"
            result.rows.append(
                Row(
                    "coldstart",
                    f"cold start {name} (import + first request, median of {REPEATS})",
                    ms(cold),
                    ms(floor),
                    ratio,
                    "<= 1.3x",
                    verdict(ratio, LIMIT),
                    note,
                )
            )
            if ratio > LIMIT:
                result.details.extend(
                    _explain(name, envs[name], events, _floor_env(envs[name], moto_url))
                )
    return result


def _floor_env(env: dict[str, str], moto_url: str) -> dict[str, str]:
    return bench_env(
        AWS_ENDPOINT_URL=moto_url,
        LINKS_TABLE=env.get("LINKS_TABLE", "LinksTable"),
        CLICKS_TABLE=env.get("CLICKS_TABLE", "ClicksTable"),
        CLICK_QUEUE_URL=env["CLICK_QUEUE_URL"],
        BENCH_TOKEN=env["BENCH_TOKEN"],
        COGNITO_JWKS_URL=env["COGNITO_JWKS_URL"],
        BENCH_CACHE_KEY=env["BENCH_CACHE_KEY"],
        BENCH_WHAT=f"floor of {env['BENCH_WHAT']}",
    )


def _explain(
    name: str, env: dict[str, str], events: _Events, floor_env: dict[str, str]
) -> list[str]:
    function_env = dict(env, BENCH_EVENT=events.for_function(name))
    _, own = _run(_function_code(), function_env, ("-X", "importtime"))
    _, floor = _run(_floor_code(name), floor_env, ("-X", "importtime"))
    offenders = _offenders(own, floor)
    total = sum(us_ for _, us_ in offenders)
    lines = [
        f"**{name}**: modules it imports that its floor does not, {total / 1000:.0f} ms of "
        "self import time in all (`-X importtime`, one run, grouped by package):",
        "",
        "| package | self import time |",
        "|---|---|",
    ]
    lines += [f"| `{module}` | {us_ / 1000:.1f} ms |" for module, us_ in offenders[:10]]
    lines.append("")
    return lines
