"""Shorten: POST /api/shorten, GET /api/links, DELETE /api/links/{code}."""

from __future__ import annotations

import functools
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.platform.cache import redis_client, redis_gate
from relay.platform.config import settings
from relay.platform.http import caller, make_resolver, resolve
from relay.platform.observability import logger
from relay.platform.responses import JSON
from relay.platform.schemas import error_responses
from relay.shortener import hosts
from relay.shortener.links import Links
from relay.shortener.redirects import LinkCache
from relay.shortener.schemas import LinkOut, LinkPage, ShortenBody
from relay.shortener.store import LinkStore

app = make_resolver()


@functools.cache
def links() -> Links:
    return Links(LinkStore(), cache=LinkCache(redis_client(), redis_gate()))


def base_url() -> str:
    event = app.current_event
    scheme = event.headers.get("x-forwarded-proto", "https")
    return hosts.public_base_url(
        settings().short_base_url, event.request_context.domain_name, scheme
    )


def own_hosts() -> frozenset[str]:
    return hosts.own_hosts(settings().short_base_url, app.current_event.request_context.domain_name)


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
    result = links().shorten(body.request(), owner=caller(app).user_id, own_hosts=own_hosts())
    out = LinkOut.of(result.link, base_url())
    return Response(201 if result.created else 200, JSON, out)


@app.get(
    "/api/links",
    summary="The caller's links, newest first",
    responses=error_responses(400, 401),
)
def list_links(
    limit: Annotated[int, Query(ge=1, le=100)] = 20, cursor: Annotated[str | None, Query()] = None
) -> LinkPage:
    owner = caller(app).require_user()
    items, next_cursor = links().list(owner, limit, cursor)
    base = base_url()
    return LinkPage(items=[LinkOut.of(link, base) for link in items], next_cursor=next_cursor)


@app.delete(
    "/api/links/<code>",
    summary="Delete one of the caller's links",
    responses={204: {"description": "Deleted", "content": {}}, **error_responses(401, 403, 404)},
)
def delete_link(code: str) -> Response[None]:
    links().delete(code, owner=caller(app).require_user())
    return Response(204)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    return resolve(app, event, context)
