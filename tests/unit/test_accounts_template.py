"""What template.yaml gives accounts: each function only the calls its code makes, on
accounts' own resources; triggers wired to the pool; a private avatars bucket whose
abandoned uploads expire; the events outbox with its stream."""

from __future__ import annotations

import pytest

from relay_local.template.loader import load_template
from tests.conftest import TEMPLATE

# The AWS calls each function's code makes (relay/accounts/*), as IAM actions, and on what.
CALLS = {
    "PreSignUp": {"UsersTable": {"dynamodb:PutItem"}},
    "PostConfirmation": {
        "UsersTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
        "EventsTable": {"dynamodb:PutItem"},
    },
    "Accounts": {
        "UsersTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"},
        "EventsTable": {"dynamodb:PutItem"},
        "UserPool": {
            "cognito-idp:AdminGetUser",
            "cognito-idp:AdminUpdateUserAttributes",
            "cognito-idp:AdminUserGlobalSignOut",
            "cognito-idp:AdminDeleteUser",
        },
        "AvatarsBucket/avatars/*": {
            "s3:PutObject",
            "s3:PutObjectTagging",
            "s3:GetObject",
            "s3:DeleteObject",
            "s3:DeleteObjectTagging",
        },
        "AvatarsBucket": {"s3:ListBucket"},
    },
}


@pytest.fixture(scope="module")
def resources():
    return load_template(TEMPLATE)["Resources"]


def _target(resource: object) -> str:
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return str(resource["Fn::GetAtt"][0])
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        return str(resource["Fn::Sub"]).replace("${", "").replace(".Arn}", "")
    return str(resource)


@pytest.mark.parametrize("function", sorted(CALLS))
def test_each_accounts_function_may_make_only_the_calls_its_code_makes(resources, function):
    policies = resources[function]["Properties"]["Policies"]
    granted: dict[str, set[str]] = {}
    for policy in policies:
        assert set(policy) == {"Statement"}, f"{function}: a managed policy grants more"
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            granted.setdefault(_target(statement["Resource"]), set()).update(actions)

    assert granted == CALLS[function]


def test_the_triggers_are_the_pools_and_need_no_pool_id(resources):
    for function, trigger in (("PreSignUp", "PreSignUp"), ("PostConfirmation", "PostConfirmation")):
        (event,) = resources[function]["Properties"]["Events"].values()
        assert event["Type"] == "Cognito"
        assert event["Properties"] == {"UserPool": {"Ref": "UserPool"}, "Trigger": trigger}
        # The pool names the trigger: a trigger naming the pool back would be a cycle.
        variables = resources[function]["Properties"].get("Environment", {}).get("Variables", {})
        assert "USER_POOL_ID" not in variables and "VpcConfig" not in resources[function]


def test_the_avatars_bucket_is_private_encrypted_and_expires_abandoned_uploads(resources):
    bucket = resources["AvatarsBucket"]["Properties"]

    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert {"POST", "GET"} <= set(bucket["CorsConfiguration"]["CorsRules"][0]["AllowedMethods"])
    abandoned = next(
        rule for rule in bucket["LifecycleConfiguration"]["Rules"] if "TagFilters" in rule
    )
    assert abandoned["TagFilters"] == [{"Key": "pending", "Value": "true"}]
    assert abandoned["Status"] == "Enabled" and abandoned["ExpirationInDays"] == 1


def test_the_pending_tag_the_lifecycle_expires_is_the_one_uploads_carry(resources):
    from relay.accounts.profiles import PENDING_TAG

    assert "<Key>pending</Key><Value>true</Value>" in PENDING_TAG


def test_the_events_outbox_expires_events_and_streams_new_ones(resources):
    table = resources["EventsTable"]["Properties"]

    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}


def test_config_needs_no_sign_in_and_the_other_accounts_routes_do(resources):
    events = resources["Accounts"]["Properties"]["Events"]
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]): e for e in events.values()}

    assert routes[("GET", "/api/config")]["Properties"]["Auth"] == {"Authorizer": "NONE"}
    for key, event in routes.items():
        if key != ("GET", "/api/config"):
            assert event["Properties"].get("Auth", {}).get("Authorizer") != "NONE", key
