"""Secrets Manager dynamic references in function environments, parsed and resolved."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from relay_local.template.dynamic import SecretReference, parse, resolve_environment
from relay_local.template.errors import TemplateError
from relay_local.template.model import FunctionSpec, StackModel

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:RedisAuth-AbCdEf"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("RedisAuth", SecretReference("RedisAuth")),
        (ARN, SecretReference(ARN)),
        (f"{ARN}:SecretString:token", SecretReference(ARN, "token")),
        ("name:SecretString:token:AWSPREVIOUS", SecretReference("name", "token", "AWSPREVIOUS")),
        ("name:SecretString::AWSCURRENT:v1", SecretReference("name", "", "AWSCURRENT", "v1")),
    ],
)
def test_references_name_the_secret_by_name_or_arn(body: str, expected: SecretReference) -> None:
    assert parse(body) == expected


@pytest.mark.parametrize("body", ["", "arn:aws:secretsmanager:us-east-1", "name:SecretBinary"])
def test_malformed_references_are_template_errors(body: str) -> None:
    with pytest.raises(TemplateError):
        parse(body)


def _model(**env: str) -> StackModel:
    spec = FunctionSpec(
        "Fn", "Fn", Path("."), "app.handler", "python3.12", 128, 3.0, tuple(env.items()), (), "g"
    )
    return StackModel(Path("."), "http://127.0.0.1:1", functions={"Fn": spec})


def test_references_in_an_environment_are_replaced_and_json_keys_picked() -> None:
    secrets = {"plain": "s3cr3t", "doc": '{"token": "t0k3n", "port": 6379}'}

    async def lookup(reference: SecretReference) -> str:
        return secrets[reference.secret_id]

    model = _model(
        URL="rediss://:{{resolve:secretsmanager:doc:SecretString:token}}@host:6379",
        BOTH="{{resolve:secretsmanager:plain}}/{{resolve:secretsmanager:doc:SecretString:port}}",
        OTHER="untouched",
    )

    env = asyncio.run(resolve_environment(model, lookup)).functions["Fn"].environment

    assert env == {"URL": "rediss://:t0k3n@host:6379", "BOTH": "s3cr3t/6379", "OTHER": "untouched"}


def test_a_missing_json_key_names_the_function_and_variable() -> None:
    async def lookup(reference: SecretReference) -> str:
        return "{}"

    model = _model(URL="{{resolve:secretsmanager:doc:SecretString:token}}")

    with pytest.raises(TemplateError, match="Fn: environment variable URL"):
        asyncio.run(resolve_environment(model, lookup))
