"""Analytics: GET /api/analytics/{code}, a link's clicks by day, referrer, country and device."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.platform.http import caller, make_resolver, resolve
from relay.platform.observability import logger
from relay.platform.schemas import error_responses
from relay.shortener import service
from relay.shortener.schemas import AnalyticsOut

app = make_resolver()


@app.get(
    "/api/analytics/<code>",
    summary="Clicks of a link by day, referrer, country and device",
    description="Anyone may read an anonymous link's analytics; an owned link's only its owner.",
    responses=error_responses(401, 403, 404, 429),
)
def link_analytics(code: str) -> AnalyticsOut:
    link, summary = service.analytics().of(code, caller(app).user_id)
    return AnalyticsOut.of(link, summary)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    return resolve(app, event, context)
