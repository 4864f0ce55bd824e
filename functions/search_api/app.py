"""Search: suggestions as one types (GET /api/suggest), trending terms (GET
/api/trending) and search of posts and people (GET /api/search).

The suggest route is guarded inline: its rate limit and the caller's sign-out mark ride
in the one Redis round trip that fetches the suggestions (relay.search.suggest.Along).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.platform.http import caller, make_resolver, resolve, unchecked_caller
from relay.platform.ratelimit import Decision, guard, rate_limiter
from relay.platform.responses import JSON
from relay.platform.schemas import error_responses
from relay.platform.sessions import mark_key, refuse_if_ended
from relay.search import rules
from relay.search.schemas import SearchPage, SuggestionList, TrendList, checked_query
from relay.search.service import search, suggester, trending
from relay.search.suggest import Along

app = make_resolver()

Text = Annotated[str, Query(max_length=rules.MAX_QUERY_CHARS)]
SuggestLimit = Annotated[int, Query(ge=1, le=rules.MAX_SUGGESTIONS)]
PageLimit = Annotated[int, Query(ge=1, le=rules.MAX_PAGE)]
Cursor = Annotated[str | None, Query(max_length=1024)]
_SUGGEST = guard("GET /api/suggest")


def along(sub: str, issued_at: int, answered: dict[str, Decision]) -> Along:
    """The sign-out mark and the rate limit, in the suggestions' round trip."""
    checks = _SUGGEST.checks(user_id=sub) if _SUGGEST else []
    limiter = rate_limiter()

    def queue(pipe: Any) -> None:
        pipe.get(mark_key(sub))
        limiter.queue(pipe, checks)

    def take(replies: list[Any]) -> None:
        mark, reply = replies
        refuse_if_ended(mark, issued_at)
        decision = limiter.decision(checks, reply)
        answered["decision"] = decision
        decision.raise_if_denied()

    return Along(queue=queue, count=2, take=take, load=limiter.load)


@app.get(
    "/api/suggest",
    summary="Suggestions for what is being typed: people, hashtags, searches",
    responses=error_responses(400),
)
def suggest(
    q: Text = "", limit: SuggestLimit = rules.DEFAULT_SUGGESTIONS
) -> Response[SuggestionList]:
    who = unchecked_caller(app)
    sub = who.require_user()
    answered: dict[str, Decision] = {}
    checks = along(sub, who.issued_at or 0, answered)
    found = suggester().suggest(sub, checked_query(q), limit, checks)
    decision = answered.get("decision")
    headers = decision.headers() if decision else {}
    return Response(200, JSON, SuggestionList.of(found), headers=headers)


@app.get("/api/trending", summary="Hashtags and searches rising now")
def trends() -> TrendList:
    caller(app).require_user()
    return TrendList.of(trending().top())


@app.get(
    "/api/search",
    summary="Search posts (newest first) or people (by handle and name)",
    responses=error_responses(400),
)
def find(
    q: Text,
    type: Literal["posts", "users"] = "posts",
    cursor: Cursor = None,
    limit: PageLimit = rules.DEFAULT_PAGE,
) -> SearchPage:
    sub = caller(app).require_user()
    return SearchPage.of(search().search(sub, checked_query(q), type, cursor, limit))


def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    return resolve(app, event, context)
