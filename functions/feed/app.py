"""Feed: posts, follows, likes, comments, shares and the timeline (GET /api/feed)."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.feed import rules
from relay.feed.schemas import (
    CommentBody,
    CommentList,
    CommentOut,
    PostBody,
    PostOut,
    PostPage,
    ProfileOut,
)
from relay.feed.service import feed
from relay.platform.http import caller, make_resolver, resolve
from relay.platform.observability import logger
from relay.platform.responses import JSON
from relay.platform.schemas import error_responses

app = make_resolver()

Limit = Annotated[int, Query(ge=1, le=rules.MAX_PAGE)]
Cursor = Annotated[str | None, Query(max_length=200)]


def me() -> str:
    return caller(app).require_user()


@app.post("/api/posts", summary="Post", responses={201: {"description": "Created"}})
def create_post(body: PostBody) -> Response[PostOut]:
    post = feed().post(me(), body.content, body.media_urls)
    return Response(201, JSON, PostOut.of(post))


@app.get("/api/posts/<post_id>", summary="One post", responses=error_responses(404))
def get_post(post_id: str) -> PostOut:
    return PostOut.of_item(feed().get(me(), post_id))


@app.delete(
    "/api/posts/<post_id>",
    summary="Delete one of the caller's posts, with its comments",
    responses={204: {"description": "Deleted", "content": {}}, **error_responses(403, 404)},
)
def delete_post(post_id: str) -> Response[None]:
    feed().delete(me(), post_id)
    return Response(204)


@app.post(
    "/api/posts/<post_id>/share",
    summary="Share a post with the caller's followers",
    responses={201: {"description": "Shared"}, **error_responses(404)},
)
def share(post_id: str) -> Response[PostOut]:
    return Response(201, JSON, PostOut.of(feed().share(me(), post_id)))


@app.post("/api/posts/<post_id>/like", summary="Like (once)", responses=error_responses(404))
def like(post_id: str) -> PostOut:
    return PostOut.of_item(feed().like(me(), post_id))


@app.delete("/api/posts/<post_id>/like", summary="Unlike", responses=error_responses(404))
def unlike(post_id: str) -> PostOut:
    return PostOut.of_item(feed().unlike(me(), post_id))


@app.post(
    "/api/posts/<post_id>/comments",
    summary="Comment",
    responses={201: {"description": "Created"}, **error_responses(404)},
)
def comment(post_id: str, body: CommentBody) -> Response[CommentOut]:
    return Response(201, JSON, CommentOut.of(feed().comment(me(), post_id, body.content)))


@app.get(
    "/api/posts/<post_id>/comments",
    summary="A post's comments, oldest first",
    responses=error_responses(400, 404),
)
def comments(post_id: str, limit: Limit = rules.DEFAULT_PAGE, cursor: Cursor = None) -> CommentList:
    me()
    return CommentList.of(feed().comments(post_id, limit, cursor))


@app.get(
    "/api/users/<user_id>", summary="A profile with its counts", responses=error_responses(404)
)
def profile(user_id: str) -> ProfileOut:
    found, followed = feed().profile(me(), user_id)
    return ProfileOut.of(found, followed)


@app.get(
    "/api/users/<user_id>/posts",
    summary="A user's posts, newest first",
    responses=error_responses(400, 404),
)
def user_posts(user_id: str, limit: Limit = rules.DEFAULT_PAGE, cursor: Cursor = None) -> PostPage:
    return PostPage.of(feed().posts_of(me(), user_id, limit, cursor))


@app.post("/api/users/<user_id>/follow", summary="Follow", responses=error_responses(400, 404))
def follow(user_id: str) -> ProfileOut:
    found, followed = feed().follow(me(), user_id)
    return ProfileOut.of(found, followed)


@app.delete("/api/users/<user_id>/follow", summary="Unfollow", responses=error_responses(400, 404))
def unfollow(user_id: str) -> ProfileOut:
    found, followed = feed().unfollow(me(), user_id)
    return ProfileOut.of(found, followed)


@app.get(
    "/api/feed",
    summary="The caller's feed: newest first, or ?rank=top",
    description="Posts of the people the caller follows (and their own), pushed and pulled.",
    responses=error_responses(400),
)
def read_feed(
    limit: Limit = rules.DEFAULT_PAGE,
    cursor: Cursor = None,
    rank: Annotated[Literal["recent", "top"], Query()] = "recent",
) -> PostPage:
    return PostPage.of(feed().read(me(), limit, cursor, rank))


@logger.inject_lambda_context
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    return resolve(app, event, context)
