"""The HTTP API's OpenAPI document, made from the handlers' own type annotations.

Every function that serves HttpApi routes in template.yaml contributes its
Powertools resolver; Powertools' OpenAPIMerge joins them into one document. `relay
openapi` writes it to docs/openapi.json (a test keeps that file current) and the
local stack serves it at GET /api/openapi.json.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

from relay_local.template.build import build_model

DOCUMENT = Path("docs") / "openapi.json"
SERVED_AT = "/api/openapi.json"


def generate(template: Path) -> str:
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    model = build_model(template, moto_url="http://127.0.0.1:1")
    merge = OpenAPIMerge(
        title="Relay",
        version="0.1.0",
        description=(
            "The URL shortener of Relay. Errors are "
            '{"error": {"code": "<machine_code>", "message": "<for a person>"}}. '
            "Rate-limited routes answer with RateLimit-Limit, RateLimit-Remaining and "
            "RateLimit-Reset, and 429 with Retry-After."
        ),
        security_schemes={"bearer": HTTPBearer(bearerFormat="JWT")},
        on_conflict="error",
    )
    served = {route.function for route in model.routes}
    extra_paths: dict[str, Any] = {}
    for name in sorted(served):
        spec = model.functions[name]
        module = spec.handler.rpartition(".")[0]
        source = Path(spec.code_dir) / f"{module.replace('.', '/')}.py"
        paths = _declared_paths(source)
        if paths is None:
            merge.add_file(source)
        else:
            extra_paths.update(paths)
    document = _without_422(json.loads(merge.get_openapi_json_schema()))
    document["paths"] = dict(sorted({**document.get("paths", {}), **extra_paths}.items()))
    _gateway_refusals(document, model)
    return json.dumps(document, indent=2) + "\n"


_REFUSAL = {
    "title": "GatewayRefusal",
    "description": "API Gateway's own answer when its JWT authorizer refuses a token.",
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
}


def _gateway_refusals(document: dict[str, Any], model: Any) -> None:
    """Routes behind the HTTP API's JWT authorizer can also be refused by API Gateway
    itself, in its own body: 401 {"message":"Unauthorized"} for a missing or bad token,
    403 {"message":"Forbidden"} for a token without the route's scope (an ID token)."""
    from relay_local.template.model import JwtAuthorizerSpec

    refused = False
    paths = {_shape(path): item for path, item in document.get("paths", {}).items()}
    for route in model.routes:
        if not isinstance(route.authorizer, JwtAuthorizerSpec):
            continue
        operation = paths.get(_shape(route.path), {}).get(route.method.lower())
        if operation is None:
            continue
        refused = True
        operation["security"] = [{"bearer": []}]
        responses = operation.setdefault("responses", {})
        for status, meaning in (("401", "No token, or a bad one"), ("403", "Not allowed")):
            response = responses.setdefault(status, {"description": meaning})
            content = response.setdefault("content", {}).setdefault("application/json", {})
            schemas = [content["schema"]] if "schema" in content else []
            content["schema"] = {
                "anyOf": [*schemas, {"$ref": "#/components/schemas/GatewayRefusal"}]
            }
    if refused:
        document.setdefault("components", {}).setdefault("schemas", {})["GatewayRefusal"] = _REFUSAL


def _shape(path: str) -> str:
    """A path without its parameters' names: /api/posts/{} for /api/posts/{postId}."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _declared_paths(source: Path) -> dict[str, Any] | None:
    """OPENAPI_PATHS of a handler that skips the resolver (the redirect); None for the rest."""
    text = source.read_text()
    if "OPENAPI_PATHS" not in text:
        return None
    spec = importlib.util.spec_from_file_location(f"relay_openapi_{source.parent.name}", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    paths: dict[str, Any] = module.OPENAPI_PATHS
    return paths


def _without_422(document: dict[str, Any]) -> dict[str, Any]:
    """Relay answers validation errors with 400 and its own body, not Powertools' 422."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def write(template: Path, root: Path) -> Path:
    target = root / DOCUMENT
    target.write_text(generate(template))
    return target
