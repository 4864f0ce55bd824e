"""`HttpApi` events: a route of an HTTP API (payload format 2.0), with its authorizer."""

from __future__ import annotations

from typing import Any

from relay_local.template.context import Context
from relay_local.template.loader import ref_target
from relay_local.template.model import JwtAuthorizerSpec, RouteSpec, TemplateError
from relay_local.template.names import IMPLICIT_HTTP_API


def parse(ctx: Context, function: str, event_id: str, props: dict[str, Any]) -> None:
    where = f"{function} event {event_id} (HttpApi)"
    api = ref_target(props.get("ApiId")) or IMPLICIT_HTTP_API
    method = str(ctx.resolve(props.get("Method", "ANY"))).upper()
    path = str(ctx.resolve(props.get("Path", "$default")))
    if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
        method = "ANY"
    if str(ctx.resolve(props.get("PayloadFormatVersion", "2.0"))) != "2.0":
        raise TemplateError(f"{where}: only HTTP API payload format 2.0 is served locally")
    auth = props.get("Auth") or {}
    auth_name = auth.get("Authorizer") or ctx.default_authorizer.get(api)
    authorizer = None
    scopes: tuple[str, ...] = ()
    if auth_name and auth_name != "NONE":
        authorizer = ctx.http_authorizers.get(api, {}).get(str(auth_name))
        if authorizer is None:
            raise TemplateError(f"{where}: unknown authorizer {auth_name} on {api}")
    route_scopes = ctx.resolve(auth.get("AuthorizationScopes"))
    if isinstance(authorizer, JwtAuthorizerSpec):
        # A route's own scopes replace the authorizer's defaults, as SAM applies them.
        scopes = tuple(str(s) for s in route_scopes) if route_scopes else authorizer.scopes
    elif route_scopes:
        raise TemplateError(
            f"{where}: AuthorizationScopes apply to JWT authorizers only, not {auth_name or 'NONE'}"
        )
    ctx.model.routes.append(RouteSpec(method, path, function, api, authorizer, scopes))
