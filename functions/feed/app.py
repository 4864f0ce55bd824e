"""Feed: posts, follows, likes, comments, shares and the timeline (GET /api/feed)."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.feed import rules
from relay.feed.models import Comment, FeedItem
from relay.feed.schemas import (
    CommentBody,
    CommentList,
    CommentOut,
    Handles,
    PeopleList,
    PostBody,
    PostEdit,
    PostOut,
    PostPage,
    ProfileOut,
)
from relay.feed.service import feed, people
from relay.platform.http import caller, make_resolver, resolve
from relay.platform.observability import logger
from relay.platform.responses import JSON
from relay.platform.schemas import error_responses

app = make_resolver()

Limit = Annotated[int, Query(ge=1, le=rules.MAX_PAGE)]
Cursor = Annotated[str | None, Query(max_length=200)]


def me() -> str:
    return caller(app).require_user()


def viewer() -> str | None:
    """The caller on routes where signing in is optional; None when anonymous."""
    return caller(app).user_id


def handles(*shown: FeedItem | Comment) -> Handles:
    """The handles of the authors a response shows: one lookup, whatever its size."""
    return people().authors(shown)


@app.post("/api/posts", summary="Post", responses={201: {"description": "Created"}})
def create_post(body: PostBody) -> Response[PostOut]:
    post = feed().post(me(), body.content, body.media_urls)
    return Response(201, JSON, PostOut.of(post, handles(FeedItem(post, False))))


@app.get("/api/posts/<post_id>", summary="One post", responses=error_responses(404))
def get_post(post_id: str) -> PostOut:
    item = feed().get(me(), post_id)
    return PostOut.of_item(item, handles(item))


@app.patch(
    "/api/posts/<post_id>",
    summary="Edit one of the caller's posts",
    description="Readers see the edit, with editedAt, in every timeline and share.",
    responses=error_responses(400, 403, 404, 413),
)
def edit_post(post_id: str, body: PostEdit) -> PostOut:
    item = feed().edit(me(), post_id, body.content, body.media_urls)
    return PostOut.of_item(item, handles(item))


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
    description="Once per person and post: a repeat answers 200 with the existing share.",
    responses={
        200: {"description": "Shared already: the existing share"},
        201: {"description": "Shared"},
        **error_responses(404, 409),
    },
)
def share(post_id: str) -> Response[PostOut]:
    post, created = feed().share(me(), post_id)
    return Response(201 if created else 200, JSON, PostOut.of(post, handles(FeedItem(post, False))))


@app.delete(
    "/api/posts/<post_id>/share",
    summary="Undo the caller's share of a post",
    responses={204: {"description": "Unshared", "content": {}}, **error_responses(404)},
)
def unshare(post_id: str) -> Response[None]:
    feed().unshare(me(), post_id)
    return Response(204)


@app.get(
    "/api/posts/<post_id>/likes",
    summary="Who liked a post, a page at a time (ordered by user id)",
    responses=error_responses(400, 404),
)
def likes(post_id: str, limit: Limit = rules.DEFAULT_PAGE, cursor: Cursor = None) -> PeopleList:
    me()
    page = feed().people("likes", post_id, limit, cursor)
    return PeopleList.of(page, people().handles(page.items))


@app.post("/api/posts/<post_id>/like", summary="Like (once)", responses=error_responses(404))
def like(post_id: str) -> PostOut:
    item = feed().like(me(), post_id)
    return PostOut.of_item(item, handles(item))


@app.delete("/api/posts/<post_id>/like", summary="Unlike", responses=error_responses(404))
def unlike(post_id: str) -> PostOut:
    item = feed().unlike(me(), post_id)
    return PostOut.of_item(item, handles(item))


@app.post(
    "/api/posts/<post_id>/comments",
    summary="Comment",
    responses={201: {"description": "Created"}, **error_responses(404)},
)
def comment(post_id: str, body: CommentBody) -> Response[CommentOut]:
    made = feed().comment(me(), post_id, body.content)
    return Response(201, JSON, CommentOut.of(made, handles(made)))


@app.delete(
    "/api/posts/<post_id>/comments/<comment_id>",
    summary="Delete a comment (its author or the post's)",
    responses={204: {"description": "Deleted", "content": {}}, **error_responses(403, 404)},
)
def delete_comment(post_id: str, comment_id: str) -> Response[None]:
    feed().delete_comment(me(), post_id, comment_id)
    return Response(204)


@app.get(
    "/api/posts/<post_id>/comments",
    summary="A post's comments, oldest first",
    responses=error_responses(400, 404),
)
def comments(post_id: str, limit: Limit = rules.DEFAULT_PAGE, cursor: Cursor = None) -> CommentList:
    me()
    page = feed().comments(post_id, limit, cursor)
    return CommentList.of(page, handles(*page.items))


@app.get(
    "/api/users/<handle>",
    summary="A person's profile with its counts",
    description="Signing in is optional: an anonymous reader sees followedByMe false.",
    responses=error_responses(400, 404),
)
def profile(handle: str) -> ProfileOut:
    return ProfileOut.of(people().profile(viewer(), handle))


@app.get(
    "/api/users/<handle>/posts",
    summary="A person's posts, newest first",
    description="Signing in is optional: an anonymous reader sees likedByMe false.",
    responses=error_responses(400, 404),
)
def user_posts(handle: str, limit: Limit = rules.DEFAULT_PAGE, cursor: Cursor = None) -> PostPage:
    author = people().sub_of(handle)
    page = feed().posts_of(viewer(), author, limit, cursor)
    return PostPage.of(page, handles(*page.items))


@app.get(
    "/api/users/<handle>/followers",
    summary="Who follows a person, a page at a time",
    description="Ordered by user id. Signing in is optional.",
    responses=error_responses(400, 404),
)
def followers(handle: str, limit: Limit = rules.DEFAULT_PAGE, cursor: Cursor = None) -> PeopleList:
    page = feed().people("followers", people().sub_of(handle), limit, cursor)
    return PeopleList.of(page, people().handles(page.items))


@app.get(
    "/api/users/<handle>/following",
    summary="Whom a person follows, a page at a time",
    description="Ordered by user id. Signing in is optional.",
    responses=error_responses(400, 404),
)
def following(handle: str, limit: Limit = rules.DEFAULT_PAGE, cursor: Cursor = None) -> PeopleList:
    page = feed().people("following", people().sub_of(handle), limit, cursor)
    return PeopleList.of(page, people().handles(page.items))


@app.post(
    "/api/users/<handle>/block",
    summary="Block a person: no follows either way, no mentions, no posts seen",
    responses={204: {"description": "Blocked", "content": {}}, **error_responses(400, 404)},
)
def block(handle: str) -> Response[None]:
    people().block(me(), handle, on=True)
    return Response(204)


@app.delete(
    "/api/users/<handle>/block",
    summary="Unblock a person",
    responses={204: {"description": "Unblocked", "content": {}}, **error_responses(400, 404)},
)
def unblock(handle: str) -> Response[None]:
    people().block(me(), handle, on=False)
    return Response(204)


@app.post(
    "/api/users/<handle>/mute",
    summary="Mute a person (they are not told)",
    responses={204: {"description": "Muted", "content": {}}, **error_responses(400, 404)},
)
def mute(handle: str) -> Response[None]:
    people().mute(me(), handle, on=True)
    return Response(204)


@app.delete(
    "/api/users/<handle>/mute",
    summary="Unmute a person",
    responses={204: {"description": "Unmuted", "content": {}}, **error_responses(400, 404)},
)
def unmute(handle: str) -> Response[None]:
    people().mute(me(), handle, on=False)
    return Response(204)


@app.post(
    "/api/users/<handle>/follow",
    summary="Follow",
    description="403 `blocked` when either of the two blocked the other.",
    responses=error_responses(400, 403, 404, 409),
)
def follow(handle: str) -> ProfileOut:
    return ProfileOut.of(people().follow(me(), handle, on=True))


@app.delete("/api/users/<handle>/follow", summary="Unfollow", responses=error_responses(400, 404))
def unfollow(handle: str) -> ProfileOut:
    return ProfileOut.of(people().follow(me(), handle, on=False))


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
    page = feed().read(me(), limit, cursor, rank)
    return PostPage.of(page, handles(*page.items))


@logger.inject_lambda_context
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    return resolve(app, event, context)
