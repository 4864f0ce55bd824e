"""A user pool for in-process tests of accounts (moto): the pool and its app client, the
avatars bucket, and the settings that name them, with people made as a confirmed
sign-up leaves them (a Cognito user and its profile). The `pool` fixture
(tests/integration/conftest.py) hands it out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from relay.platform.config import settings
from tests.support.people import register

AVATARS_BUCKET = "relay-avatars"  # tests/conftest.py sets AVATARS_BUCKET to it


@dataclass
class Pool:
    cognito: Any
    s3: Any
    dynamodb: Any
    pool_id: str
    client_id: str

    def person(self, handle: str, email: str | None = None) -> str:
        """A confirmed Cognito user with a profile, as sign-up leaves them; their sub."""
        made = self.cognito.admin_create_user(
            UserPoolId=self.pool_id,
            Username=email or f"{handle}@example.com",
            UserAttributes=[{"Name": "preferred_username", "Value": handle}],
            MessageAction="SUPPRESS",
        )["User"]
        sub = next(a["Value"] for a in made["Attributes"] if a["Name"] == "sub")
        register(self.dynamodb, handle, sub, created_ms=1_764_000_000_000)
        return sub

    def preferred_username(self, sub: str) -> str:
        user = self.cognito.admin_get_user(UserPoolId=self.pool_id, Username=sub)
        return next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "preferred_username")

    def item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.dynamodb.get_item(TableName=settings().users_table, Key=key).get("Item")

    def events(self, kind: str) -> list[dict[str, Any]]:
        items = self.dynamodb.scan(TableName=settings().events_table)["Items"]
        return [item for item in items if item["kind"]["S"] == kind]


def _clear_caches() -> None:
    from relay.accounts import avatars, directory, service

    for cached in (
        settings,
        service.profiles,
        service.registration,
        service.cognito_client,
        avatars.s3_client,
        directory.users_table,
    ):
        cached.cache_clear()


def made(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pool]:
    import boto3

    cognito, s3 = boto3.client("cognito-idp"), boto3.client("s3")
    pool_id = cognito.create_user_pool(
        PoolName="relay-test-users",
        UsernameAttributes=["email"],
        Schema=[{"Name": "preferred_username", "AttributeDataType": "String", "Mutable": True}],
    )["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="relay-public",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]["ClientId"]
    s3.create_bucket(Bucket=AVATARS_BUCKET)
    monkeypatch.setenv("USER_POOL_ID", pool_id)
    monkeypatch.setenv("USER_POOL_CLIENT_ID", client_id)
    _clear_caches()
    yield Pool(cognito, s3, aws.dynamodb, pool_id, client_id)
    monkeypatch.undo()
    _clear_caches()
