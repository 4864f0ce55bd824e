"""Shorten: POST /api/shorten, GET /api/links, DELETE /api/links/{code}."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.platform.http import caller, make_resolver, resolve
from relay.platform.observability import logger
from relay.platform.responses import JSON
from relay.platform.schemas import error_responses
from relay.shortener import service
from relay.shortener.rules import DEFAULT_PAGE, MAX_PAGE
from relay.shortener.schemas import LinkOut, LinkPage, ShortenBody

app = make_resolver()


def api_host() -> str:
    return app.current_event.request_context.domain_name


def base_url() -> str:
    scheme = app.current_event.headers.get("x-forwarded-proto", "https")
    return service.public_base_url(api_host(), scheme)


@app.post(
    "/api/shorten",
    summary="Shorten a URL",
    description="201 with a new link; 200 with the same link when the caller asks again.",
    responses={
        201: {"description": "Created"},
        200: {"description": "The caller's link for this URL and these options, made before"},
        **error_responses(400, 401, 409),
    },
)
def shorten(body: ShortenBody) -> Response[LinkOut]:
    owner, own_hosts = caller(app).user_id, service.own_hosts(api_host())
    result = service.links().shorten(body.request(), owner=owner, own_hosts=own_hosts)
    return Response(201 if result.created else 200, JSON, LinkOut.of(result.link, base_url()))


@app.get(
    "/api/links",
    summary="The caller's links, newest first",
    responses=error_responses(400, 401),
)
def list_links(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query()] = None,
) -> LinkPage:
    owner = caller(app).require_user()
    items, next_cursor = service.links().list(owner, limit, cursor)
    base = base_url()
    return LinkPage(items=[LinkOut.of(link, base) for link in items], next_cursor=next_cursor)


@app.delete(
    "/api/links/<code>",
    summary="Delete one of the caller's links",
    responses={204: {"description": "Deleted", "content": {}}, **error_responses(401, 403, 404)},
)
def delete_link(code: str) -> Response[None]:
    service.links().delete(code, owner=caller(app).require_user())
    return Response(204)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    return resolve(app, event, context)
