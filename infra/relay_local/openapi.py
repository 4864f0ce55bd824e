"""The HTTP API's OpenAPI document, made from the handlers' own type annotations.

Every function that serves HttpApi routes in template.yaml contributes its
Powertools resolver; Powertools' OpenAPIMerge joins them into one document. `relay
openapi` writes it to docs/openapi.json (a test keeps that file current) and the
local stack serves it at GET /api/openapi.json.
"""

from __future__ import annotations

import importlib.util
import json
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
    return json.dumps(document, indent=2) + "\n"


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
