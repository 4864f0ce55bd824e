"""Cognito user pools of a template: the pool, its app clients and groups, and its triggers.

The pool and its clients get ids shaped as Cognito shapes them, derived from
their logical ids (`names.user_pool_id`), so that `!Ref`, `!GetAtt`, the tokens'
issuer and the users stored under the pool are the same at every start. A pool's
triggers come two ways, as on AWS: SAM `Cognito` events on a function
(`event_sources.cognito`) and the pool's own `LambdaConfig`; both land in
`CognitoTriggerSpec`s here. The local stack runs the triggers Relay's flows reach
(PreSignUp, PostConfirmation); any other fails at start, by name, rather than
being skipped.
"""

from __future__ import annotations

import json
from typing import Any

from relay_local.template.context import Context
from relay_local.template.model import (
    CognitoTriggerSpec,
    TemplateError,
    UserPoolClientSpec,
    UserPoolGroupSpec,
    UserPoolSpec,
)
from relay_local.template.names import (
    USER_POOL,
    USER_POOL_CLIENT,
    USER_POOL_GROUP,
    user_pool_client_id,
    user_pool_id,
)

# The triggers the local stack runs, and the trigger sources Cognito invokes them with.
RUN_TRIGGERS = ("PreSignUp", "PostConfirmation")
_KNOWN_TRIGGERS = frozenset(
    {
        *RUN_TRIGGERS,
        "PreAuthentication",
        "PostAuthentication",
        "CustomMessage",
        "DefineAuthChallenge",
        "CreateAuthChallenge",
        "VerifyAuthChallengeResponse",
        "PreTokenGeneration",
        "PreTokenGenerationConfig",
        "UserMigration",
        "CustomSMSSender",
        "CustomEmailSender",
        "KMSKeyID",
    }
)
# Pool settings the local stack cannot honour: refused rather than silently ignored.
_REFUSED = {
    "MfaConfiguration": ("ON",),
}


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def parse_pool(ctx: Context, logical_id: str, resource: dict[str, Any]) -> None:
    where = f"{logical_id} ({USER_POOL})"
    props = ctx.resolver.try_resolve(
        {k: v for k, v in (resource.get("Properties") or {}).items() if k != "LambdaConfig"},
        placeholder="",
    )
    for key, refused in _REFUSED.items():
        if str(props.get(key, "")) in refused:
            raise TemplateError(f"{where}: {key} {props[key]} is not run by the local stack")
    template = props.get("VerificationMessageTemplate") or {}
    if template.get("DefaultEmailOption") == "CONFIRM_WITH_LINK":
        raise TemplateError(
            f"{where}: CONFIRM_WITH_LINK needs the hosted pages, which run on AWS only; the local"
            " stack sends codes (CONFIRM_WITH_CODE)"
        )
    if props.get("AliasAttributes") and props.get("UsernameAttributes"):
        raise TemplateError(f"{where}: give UsernameAttributes or AliasAttributes, not both")
    props.pop("UserPoolName", None)
    ctx.model.user_pools[logical_id] = UserPoolSpec(
        logical_id=logical_id,
        id=user_pool_id(logical_id),
        name=ctx.names.name(logical_id, resource),
        properties=props,
        config=_json(props),
    )


def _pool_of(ctx: Context, value: Any, where: str) -> str:
    pool = ctx.target(value)
    if pool is None or ctx.resources.get(pool, {}).get("Type") != USER_POOL:
        raise TemplateError(f"{where}: UserPoolId must be !Ref of a user pool of the template")
    return pool


def parse_client(ctx: Context, logical_id: str, resource: dict[str, Any]) -> None:
    where = f"{logical_id} ({USER_POOL_CLIENT})"
    raw = resource.get("Properties") or {}
    pool = _pool_of(ctx, raw.get("UserPoolId"), where)
    props = ctx.resolver.try_resolve(
        {k: v for k, v in raw.items() if k != "UserPoolId"}, placeholder=""
    )
    if ctx.flag(props.get("GenerateSecret", False)):
        raise TemplateError(
            f"{where}: GenerateSecret is not run by the local stack (its secret would change"
            " at every start); Relay's clients are public"
        )
    ctx.model.user_pool_clients[logical_id] = UserPoolClientSpec(
        logical_id=logical_id,
        id=user_pool_client_id(logical_id),
        pool=pool,
        name=str(props.pop("ClientName", logical_id)),
        properties=props,
        config=_json(props),
    )


def parse_group(ctx: Context, logical_id: str, resource: dict[str, Any]) -> None:
    where = f"{logical_id} ({USER_POOL_GROUP})"
    props = resource.get("Properties") or {}
    precedence = props.get("Precedence")
    ctx.model.user_pool_groups[logical_id] = UserPoolGroupSpec(
        logical_id=logical_id,
        pool=_pool_of(ctx, props.get("UserPoolId"), where),
        name=ctx.names.name(logical_id, resource),
        description=str(ctx.resolve(props.get("Description", ""))),
        precedence=None if precedence is None else ctx.integer(precedence, where),
    )


def parse_lambda_config(ctx: Context, logical_id: str, resource: dict[str, Any]) -> None:
    """A pool's own `LambdaConfig`: `{PreSignUp: !GetAtt Fn.Arn, ...}` (the CloudFormation
    spelling; SAM writes its `Cognito` events into it on deploy)."""
    config = (resource.get("Properties") or {}).get("LambdaConfig") or {}
    for trigger, arn in config.items():
        where = f"{logical_id} ({USER_POOL}) LambdaConfig.{trigger}"
        function = ctx.target(arn)
        if function not in ctx.model.functions:
            raise TemplateError(f"{where}: must be !GetAtt SomeFunction.Arn of the template")
        add_trigger(ctx, logical_id, str(trigger), str(function), where)


def add_trigger(ctx: Context, pool: str, trigger: str, function: str, where: str) -> None:
    if trigger not in _KNOWN_TRIGGERS:
        raise TemplateError(f"{where}: {trigger} is not a Cognito trigger")
    if trigger not in RUN_TRIGGERS:
        raise TemplateError(
            f"{where}: the local stack runs the {' and '.join(RUN_TRIGGERS)} triggers,"
            f" not {trigger}"
        )
    existing = ctx.model.trigger(pool, trigger)
    if existing is not None:
        raise TemplateError(
            f"{where}: {pool} has its {trigger} trigger twice ({existing} and {function});"
            " a pool runs one function per trigger"
        )
    ctx.model.cognito_triggers.append(CognitoTriggerSpec(pool, trigger, function))
