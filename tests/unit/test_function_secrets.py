"""Each secret reaches only the functions whose code uses it.

REDIS_URL carries the Redis AUTH token (resolved from Secrets Manager at deploy time):
it is set on exactly the functions whose code opens Redis, read from the code itself
(tests/support/code_reach.py: what each functions/<name>/app.py reaches), never from a
list kept by hand.
"""

from __future__ import annotations

import re

import pytest

from relay_local.template.loader import load_template
from tests.conftest import TEMPLATE
from tests.support import code_reach

REDIS_URL = (
    "rediss://:{{resolve:secretsmanager:${RedisAuthToken}}}@"
    "${RedisReplicationGroup.PrimaryEndPoint.Address}:"
    "${RedisReplicationGroup.PrimaryEndPoint.Port}/0"
)


@pytest.fixture(scope="module")
def template():
    return load_template(TEMPLATE)


def _functions(template) -> dict[str, dict]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def _code_dir(props: dict) -> str:
    return str(props["CodeUri"]).removeprefix("functions/").strip("/")


def _env(props: dict) -> dict:
    return (props.get("Environment") or {}).get("Variables") or {}


def opens_redis(code_dir: str) -> bool:
    return code_reach.reaches(code_dir, "relay.platform.cache", "redis_client")


def test_no_secret_sits_in_globals(template):
    env = template["Globals"]["Function"]["Environment"]["Variables"]

    assert "REDIS_URL" not in env
    assert not any("resolve:secretsmanager" in str(value) for value in env.values())


def test_the_reading_of_the_code_tells_functions_apart():
    """The analysis is only worth something if it says no somewhere: the click pipeline
    imports the shortener's service module, whose redirect part opens Redis."""
    assert opens_redis("redirect") and opens_redis("shorten")
    assert not opens_redis("click_consumer") and not opens_redis("click_shipper")


def test_redis_url_is_set_on_exactly_the_functions_whose_code_opens_redis(template):
    wrong = {}
    for name, props in _functions(template).items():
        uses, has = opens_redis(_code_dir(props)), "REDIS_URL" in _env(props)
        if uses != has:
            wrong[name] = "opens Redis, no REDIS_URL" if uses else "REDIS_URL, never opens Redis"

    assert not wrong


def test_every_redis_url_is_the_one_url_of_the_auth_token(template):
    for props in _functions(template).values():
        if "REDIS_URL" in _env(props):
            assert _env(props)["REDIS_URL"] == {"Fn::Sub": REDIS_URL}


def test_a_function_given_redis_can_reach_it(template):
    """Outside the VPC Redis is out of reach: its token has no business there."""
    redis = template["Resources"]["RedisSecurityGroup"]["Properties"]
    allowed = {rule["SourceSecurityGroupId"]["Ref"] for rule in redis["SecurityGroupIngress"]}
    for name, props in _functions(template).items():
        if "REDIS_URL" in _env(props):
            groups = {g["Ref"] for g in props.get("VpcConfig", {}).get("SecurityGroupIds", [])}
            assert groups & allowed, name


def test_the_redis_token_is_referenced_only_by_redis_and_its_users(template):
    users = {name for name, props in _functions(template).items() if "REDIS_URL" in _env(props)}
    referring = {
        name
        for name, resource in template["Resources"].items()
        if re.search(r"\bRedisAuthToken\b", str(resource)) and name != "RedisAuthToken"
    }

    assert referring == users | {"RedisReplicationGroup"}
