"""`build_model`: a SAM template, read and resolved into the `StackModel` the stack runs.

The order matters and is the only logic here: data resources first (their names
and ARNs feed everything else), then HTTP API authorizers, then every function,
then each function's events and the wiring resources, which may name any
function. Each kind's parser lives in `resources`, `websocket` or
`event_sources`; a kind none of them knows fails here, by name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from relay_local.template.context import Context
from relay_local.template.event_sources import EVENT_SOURCES
from relay_local.template.loader import Resolver, load_template, ref_target
from relay_local.template.model import (
    AuthorizerSpec,
    CorsSpec,
    Destination,
    FunctionSpec,
    JwtAuthorizerSpec,
    StackModel,
    TemplateError,
)
from relay_local.template.names import FUNCTION, HTTP_API, IMPLICIT_HTTP_API, LAYER, LocalNames
from relay_local.template.parameters import resolve_parameters
from relay_local.template.resources import DATA, HANDLED, INERT, WIRING, unsupported


def merge(base: Any, override: Any) -> Any:
    """SAM's Globals merge: maps merge key by key, everything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base.get(key), value) if key in base else value
        return merged
    return override


def build_model(
    template_path: Path, moto_url: str, overrides: Mapping[str, str] | None = None
) -> StackModel:
    """Read the template and resolve what the local stack serves."""
    if not template_path.is_file():
        raise TemplateError(f"no template at {template_path} (use --template)")
    try:
        template = load_template(template_path)
    except (ValueError, OSError) as exc:
        raise TemplateError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - YAML errors carry the line; show them
        raise TemplateError(f"{template_path}: {exc}") from None
    root = template_path.resolve().parent
    parameters = resolve_parameters(template.get("Parameters") or {}, overrides or {})
    names = LocalNames(moto_url)
    resolver = Resolver(template, names.ref, names.get_att, parameters)
    names.resolver = resolver
    resources: dict[str, Any] = template["Resources"]
    model = StackModel(
        root=root, moto_url=moto_url, parameters={k: str(v) for k, v in parameters.items()}
    )
    ctx = Context(model, resolver, names, resources, template.get("Globals") or {})

    live = {
        logical_id: resource
        for logical_id, resource in resources.items()
        if "Condition" not in resource or resolver.condition(resource["Condition"])
    }
    for logical_id, resource in live.items():
        kind = str(resource.get("Type", ""))
        if kind in DATA:
            DATA[kind](ctx, logical_id, resource)
        elif kind in INERT:
            model.ignored[logical_id] = f"{kind}: {INERT[kind]}"
        elif kind not in WIRING and kind not in HANDLED:
            raise unsupported(logical_id, kind)

    _http_authorizers(ctx)
    _http_cors(ctx)
    function_globals = ctx.globals_.get("Function") or {}
    events: list[tuple[str, str, dict[str, Any]]] = []
    for logical_id, resource in live.items():
        if resource.get("Type") != FUNCTION:
            continue
        props = merge(function_globals, resource.get("Properties") or {})
        model.functions[logical_id] = _function(ctx, logical_id, props, resource, root)
        for event_id, event in (props.get("Events") or {}).items():
            events.append((logical_id, str(event_id), event or {}))

    for function, event_id, event in events:
        kind = str(event.get("Type", ""))
        parser = EVENT_SOURCES.get(kind)
        if parser is None:
            raise TemplateError(
                f"{function} event {event_id}: the local stack cannot run {kind or 'untyped'}"
                f" events (it runs {', '.join(sorted(EVENT_SOURCES))})"
            )
        parser(ctx, function, event_id, event.get("Properties") or {})

    for logical_id, resource in live.items():
        kind = str(resource.get("Type", ""))
        if kind in WIRING:
            WIRING[kind](ctx, logical_id, resource)
    return model


def _function(
    ctx: Context, logical_id: str, props: dict[str, Any], resource: Any, root: Path
) -> FunctionSpec:
    where = f"{logical_id} (AWS::Serverless::Function)"
    code_uri = props.get("CodeUri", ".")
    if not isinstance(code_uri, str):
        raise TemplateError(f"{where}: CodeUri must be a local directory")
    if props.get("PackageType", "Zip") != "Zip":
        raise TemplateError(f"{where}: only Zip (Python) functions run locally, not images")
    runtime = str(ctx.resolve(props.get("Runtime", "python3.12")))
    if not runtime.startswith("python"):
        raise TemplateError(f"{where}: the local stack runs Python functions, not {runtime}")
    env: dict[str, str] = {}
    for key, value in ((props.get("Environment") or {}).get("Variables") or {}).items():
        resolved = ctx.resolver.try_resolve(value)
        if resolved is None:
            continue
        if isinstance(resolved, bool):
            env[key] = str(resolved).lower()
        elif isinstance(resolved, (dict, list)):
            env[key] = json.dumps(resolved)
        else:
            env[key] = str(resolved)
    layer_dirs: list[Path] = []
    for layer in props.get("Layers") or []:
        target = ref_target(layer)
        if target and ctx.resources.get(target, {}).get("Type") == LAYER:
            content = ctx.resources[target].get("Properties", {}).get("ContentUri", ".")
            layer_dirs.append((root / str(content)).resolve())
    name = ctx.names.name(logical_id, resource)
    log_group = f"/aws/lambda/{name}"
    logging_config = props.get("LoggingConfig") or {}
    if "LogGroup" in logging_config:
        log_group = str(ctx.resolver.try_resolve(logging_config["LogGroup"], placeholder=log_group))
    invoke_config = props.get("EventInvokeConfig") or {}
    failure = (invoke_config.get("DestinationConfig") or {}).get("OnFailure")
    on_failure: Destination | None = ctx.destination(failure, where)
    return FunctionSpec(
        logical_id=logical_id,
        name=name,
        code_dir=(root / code_uri).resolve(),
        handler=str(props.get("Handler", "app.lambda_handler")),
        runtime=runtime,
        memory_mb=int(ctx.resolver.try_resolve(props.get("MemorySize", 128), placeholder="128")),
        timeout_s=float(ctx.resolver.try_resolve(props.get("Timeout", 3), placeholder="3")),
        env=tuple(sorted(env.items())),
        layer_dirs=tuple(layer_dirs),
        log_group=log_group,
        on_failure=on_failure,
        max_async_retries=ctx.integer(invoke_config.get("MaximumRetryAttempts", 2), where),
        max_event_age_s=ctx.integer(invoke_config.get("MaximumEventAgeInSeconds", 21600), where),
    )


def _http_authorizers(ctx: Context) -> None:
    """Authorizers per HttpApi logical id (the implicit API takes Globals.HttpApi)."""
    http_globals = ctx.globals_.get("HttpApi") or {}
    apis: dict[str, dict[str, Any]] = {IMPLICIT_HTTP_API: http_globals.get("Auth") or {}}
    for logical_id, resource in ctx.resources.items():
        if resource.get("Type") == HTTP_API:
            props = merge(http_globals, resource.get("Properties") or {})
            apis[logical_id] = props.get("Auth") or {}
    for api, auth in apis.items():
        ctx.http_authorizers[api] = {}
        if auth.get("DefaultAuthorizer"):
            ctx.default_authorizer[api] = str(auth["DefaultAuthorizer"])
        for name, config in (auth.get("Authorizers") or {}).items():
            if "JwtConfiguration" in config:
                jwt = _jwt_authorizer(ctx, api, str(name), config)
                ctx.http_authorizers[api][name] = jwt
                ctx.model.jwt_authorizers.append(jwt)
                continue
            function = ref_target(config.get("FunctionArn"))
            if function is None:
                raise TemplateError(
                    f"{api} authorizer {name}: give FunctionArn (a Lambda authorizer) or"
                    " JwtConfiguration (a JWT authorizer)"
                )
            identity = config.get("Identity") or {}
            spec = AuthorizerSpec(
                name=name,
                api_id=api,
                function=function,
                identity_headers=tuple(str(h).lower() for h in identity.get("Headers") or []),
                identity_query=tuple(str(q) for q in identity.get("QueryStrings") or []),
                simple_responses=bool(config.get("EnableSimpleResponses", False)),
                payload_version=str(config.get("AuthorizerPayloadFormatVersion", "2.0")),
            )
            ctx.http_authorizers[api][name] = spec
            ctx.model.authorizers.append(spec)


def _http_cors(ctx: Context) -> None:
    """Each HttpApi's CorsConfiguration (the implicit API takes Globals.HttpApi's). SAM
    takes an object, an origin as a string, or `true` for any origin."""
    http_globals = ctx.globals_.get("HttpApi") or {}
    apis: dict[str, Any] = {IMPLICIT_HTTP_API: http_globals.get("CorsConfiguration")}
    for logical_id, resource in ctx.resources.items():
        if resource.get("Type") == HTTP_API:
            props = merge(http_globals, resource.get("Properties") or {})
            apis[logical_id] = props.get("CorsConfiguration")
    for api, raw in apis.items():
        config = ctx.resolve(raw)
        if config is None or config is False or config == "false":
            continue
        if config is True or config == "true":
            config = {"AllowOrigins": ["*"]}
        elif isinstance(config, str):
            config = {"AllowOrigins": [config]}
        if not isinstance(config, dict):
            raise TemplateError(f"{api} CorsConfiguration: an object, an origin or true")
        ctx.model.cors[api] = _cors_spec(api, config)


def _cors_spec(api: str, config: dict[str, Any]) -> CorsSpec:
    def strings(key: str) -> tuple[str, ...]:
        value = config.get(key) or []
        if isinstance(value, str):
            value = [value]
        return tuple(str(entry).strip() for entry in value)

    origins = strings("AllowOrigins")
    credentials = config.get("AllowCredentials") in (True, "true")
    if credentials and "*" in origins:
        # API Gateway refuses this configuration when the stack is deployed.
        raise TemplateError(
            f"{api} CorsConfiguration: AllowCredentials is not supported with AllowOrigins '*'"
        )
    max_age = config.get("MaxAge")
    if max_age is not None:
        try:
            max_age = int(max_age)
        except (TypeError, ValueError):
            raise TemplateError(f"{api} CorsConfiguration: MaxAge must be seconds") from None
        if not -1 <= max_age <= 86400:
            raise TemplateError(f"{api} CorsConfiguration: MaxAge must be -1 to 86400")
    return CorsSpec(
        allow_origins=origins,
        allow_methods=tuple(method.upper() for method in strings("AllowMethods")),
        allow_headers=strings("AllowHeaders"),
        expose_headers=strings("ExposeHeaders"),
        max_age=max_age,
        allow_credentials=credentials,
    )


def _jwt_authorizer(ctx: Context, api: str, name: str, config: dict[str, Any]) -> JwtAuthorizerSpec:
    """SAM's OAuth2 authorizer of an HttpApi: `JwtConfiguration` (issuer, audience), the
    identity source, and default AuthorizationScopes. Locally the issuer must be a user pool
    of the template: its keys are the ones the local stack holds."""
    where = f"{api} authorizer {name} (JWT)"
    jwt = ctx.resolve(config.get("JwtConfiguration")) or {}
    issuer = str(jwt.get("issuer", jwt.get("Issuer", "")))
    audience = jwt.get("audience", jwt.get("Audience")) or []
    if isinstance(audience, str):
        audience = [audience]
    pools = {pool.issuer: pool for pool in ctx.model.user_pools.values()}
    if issuer not in pools:
        known = ", ".join(sorted(pools)) or "none"
        raise TemplateError(
            f"{where}: issuer {issuer or '(none)'} is not a user pool of the template (the local"
            f" stack verifies tokens of its own pools: {known})"
        )
    source = str(ctx.resolve(config.get("IdentitySource", "$request.header.Authorization")))
    header = query = None
    if source.startswith("$request.header."):
        header = source.removeprefix("$request.header.").lower()
    elif source.startswith("$request.querystring."):
        query = source.removeprefix("$request.querystring.")
    if not (header or query):
        raise TemplateError(
            f"{where}: IdentitySource must be $request.header.<name> or"
            f" $request.querystring.<name>, not {source!r}"
        )
    return JwtAuthorizerSpec(
        name=name,
        api_id=api,
        issuer=issuer,
        audience=tuple(str(entry) for entry in audience),
        identity_header=header,
        identity_query=query,
        scopes=tuple(str(s) for s in ctx.resolve(config.get("AuthorizationScopes")) or []),
    )
