"""A WebSocket API from its CloudFormation parts: `AWS::ApiGatewayV2::Api` with
`ProtocolType: WEBSOCKET`, its Routes, Lambda proxy Integrations, REQUEST
Authorizers, RouteResponses and Stage, resolved into one `WebSocketApiSpec`.

SAM has no WebSocket type, so templates spell these out; each part is checked
here for what the local gateway can run (Lambda proxy integrations, REQUEST
authorizers on `$connect`, `$request.body.*` route selection) and anything else
fails at start with the resource's name.
"""

from __future__ import annotations

import re
from typing import Any

from relay_local.template.context import Context
from relay_local.template.loader import ref_target
from relay_local.template.model import (
    AuthorizerSpec,
    TemplateError,
    WebSocketApiSpec,
    WebSocketRouteSpec,
)
from relay_local.template.names import api_id

ROUTE = "AWS::ApiGatewayV2::Route"
INTEGRATION = "AWS::ApiGatewayV2::Integration"
AUTHORIZER = "AWS::ApiGatewayV2::Authorizer"
ROUTE_RESPONSE = "AWS::ApiGatewayV2::RouteResponse"
STAGE = "AWS::ApiGatewayV2::Stage"
DEPLOYMENT = "AWS::ApiGatewayV2::Deployment"
INTEGRATION_RESPONSE = "AWS::ApiGatewayV2::IntegrationResponse"
PARTS = frozenset(
    {ROUTE, INTEGRATION, AUTHORIZER, ROUTE_RESPONSE, STAGE, DEPLOYMENT, INTEGRATION_RESPONSE}
)

_SELECTION = re.compile(r"\$\{?request\.body\.([A-Za-z0-9_$.-]+)\}?")
_IDENTITY = re.compile(r"route\.request\.(header|querystring)\.([A-Za-z0-9._-]+)")


def _parts(ctx: Context, kind: str, api: str) -> dict[str, dict[str, Any]]:
    """The resources of `kind` that belong to the API with logical id `api`."""
    return {
        logical_id: resource.get("Properties") or {}
        for logical_id, resource in ctx.resources.items()
        if resource.get("Type") == kind
        and ref_target((resource.get("Properties") or {}).get("ApiId")) == api
    }


def _function_of(ctx: Context, uri: Any, where: str) -> str:
    """The template function a Lambda integration or authorizer URI invokes."""
    target = ref_target(uri)
    if target in ctx.model.functions:
        return str(target)
    resolved = str(ctx.resolver.try_resolve(uri, placeholder=""))
    for function in ctx.model.functions.values():
        if f"{function.arn}/invocations" in resolved or resolved == function.arn:
            return function.logical_id
    raise TemplateError(
        f"{where}: the URI must invoke a function of the template, got {resolved!r}"
    )


def _authorizer(ctx: Context, api: str, logical_id: str, props: dict[str, Any]) -> AuthorizerSpec:
    where = f"{logical_id} ({AUTHORIZER})"
    kind = str(ctx.resolve(props.get("AuthorizerType", "")))
    if kind != "REQUEST":
        raise TemplateError(f"{where}: WebSocket APIs take REQUEST Lambda authorizers, not {kind}")
    headers: list[str] = []
    query: list[str] = []
    for source in ctx.resolve(props.get("IdentitySource") or []):
        match = _IDENTITY.fullmatch(str(source))
        if match is None:
            raise TemplateError(
                f"{where}: identity source {source!r} is not route.request.header.NAME"
                " or route.request.querystring.NAME"
            )
        (headers if match.group(1) == "header" else query).append(match.group(2))
    return AuthorizerSpec(
        name=str(ctx.resolve(props.get("Name", logical_id))),
        api_id=api,
        function=_function_of(ctx, props.get("AuthorizerUri"), where),
        identity_headers=tuple(h.lower() for h in headers),
        identity_query=tuple(query),
        simple_responses=False,
        payload_version="1.0",
    )


def parse_api(ctx: Context, logical_id: str, resource: dict[str, Any]) -> None:
    props = resource.get("Properties") or {}
    where = f"{logical_id} (AWS::ApiGatewayV2::Api)"
    protocol = str(ctx.resolve(props.get("ProtocolType", "")))
    if protocol != "WEBSOCKET":
        raise TemplateError(f"{where}: HTTP APIs are served from AWS::Serverless::HttpApi")
    expression = str(ctx.resolve(props.get("RouteSelectionExpression", "")))
    match = _SELECTION.fullmatch(expression)
    if match is None:
        raise TemplateError(
            f"{where}: RouteSelectionExpression {expression!r} is not $request.body.<path>"
        )
    integrations = {
        integration_id: _integration(ctx, integration_id, integration)
        for integration_id, integration in _parts(ctx, INTEGRATION, logical_id).items()
    }
    authorizers = {
        authorizer_id: _authorizer(ctx, logical_id, authorizer_id, authorizer)
        for authorizer_id, authorizer in _parts(ctx, AUTHORIZER, logical_id).items()
    }
    two_way = {
        str(ref_target(response.get("RouteId")))
        for response in _parts(ctx, ROUTE_RESPONSE, logical_id).values()
        if str(ctx.resolve(response.get("RouteResponseKey", ""))) == "$default"
    }
    routes: list[WebSocketRouteSpec] = []
    for route_id, route in _parts(ctx, ROUTE, logical_id).items():
        routes.append(_route(ctx, route_id, route, integrations, authorizers, route_id in two_way))
    keys = [route.route_key for route in routes]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise TemplateError(f"{where}: more than one route for {', '.join(duplicates)}")
    stages = [
        str(ctx.resolve(stage.get("StageName", "$default")))
        for stage in _parts(ctx, STAGE, logical_id).values()
    ]
    ctx.model.websocket_apis.append(
        WebSocketApiSpec(
            logical_id=logical_id,
            api_id=api_id(logical_id),
            name=str(ctx.resolver.try_resolve(props.get("Name", logical_id))),
            selection=tuple(match.group(1).split(".")),
            stage=stages[0] if stages else "$default",
            routes=tuple(sorted(routes, key=lambda r: r.route_key)),
        )
    )


def _integration(ctx: Context, logical_id: str, props: dict[str, Any]) -> str:
    where = f"{logical_id} ({INTEGRATION})"
    kind = str(ctx.resolve(props.get("IntegrationType", "")))
    if kind != "AWS_PROXY":
        raise TemplateError(f"{where}: the local gateway runs AWS_PROXY (Lambda) integrations only")
    return _function_of(ctx, props.get("IntegrationUri"), where)


def _route(
    ctx: Context,
    logical_id: str,
    props: dict[str, Any],
    integrations: dict[str, str],
    authorizers: dict[str, AuthorizerSpec],
    two_way: bool,
) -> WebSocketRouteSpec:
    where = f"{logical_id} ({ROUTE})"
    key = str(ctx.resolve(props.get("RouteKey", "")))
    function: str | None = None
    if props.get("Target") is not None:
        target = str(ctx.resolver.try_resolve(props["Target"], placeholder=""))
        integration = target.rpartition("/")[2]
        if not target.startswith("integrations/") or integration not in integrations:
            raise TemplateError(f"{where}: Target must be integrations/<an Integration of the API>")
        function = integrations[integration]
    authorization = str(ctx.resolve(props.get("AuthorizationType", "NONE")))
    authorizer: AuthorizerSpec | None = None
    if authorization == "CUSTOM":
        authorizer_id = ref_target(props.get("AuthorizerId"))
        if authorizer_id not in authorizers:
            raise TemplateError(f"{where}: AuthorizerId must name an Authorizer of the API")
        if key != "$connect":
            raise TemplateError(f"{where}: API Gateway runs authorizers on $connect only")
        authorizer = authorizers[str(authorizer_id)]
    elif authorization != "NONE":
        raise TemplateError(f"{where}: AuthorizationType {authorization} is not run locally")
    return WebSocketRouteSpec(key, function, authorizer, two_way)
