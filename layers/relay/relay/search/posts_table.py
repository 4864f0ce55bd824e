"""What search reads of the feed's PostsTable, read-only: posts to index (a rebuild) and
to check that a hit still exists as it was found.

Search may not import the feed (pyproject's import contracts), so the attributes it
reads are named here: `postId`, `authorId`, `content`, `createdMs`, as
relay/feed/posts_table.py writes them. tests/integration/test_search.py writes through
the feed's store and reads back through this one, so a change of format fails a test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from relay.platform.dynamo import Item, batch_get, s, scan_pages
from relay.search.models import PostHit


def post_of(item: Item) -> PostHit:
    """A post from its item or from a stream image of it."""
    return PostHit(
        post_id=item["postId"]["S"],
        author_id=item["authorId"]["S"],
        content=item.get("content", {}).get("S", ""),
        created_ms=int(item.get("createdMs", {}).get("N", "0")),
    )


class PostsView:
    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def get_many(self, post_ids: list[str]) -> dict[str, PostHit]:
        if not post_ids:
            return {}
        keys = [{"postId": s(post_id)} for post_id in dict.fromkeys(post_ids)]
        found = batch_get(self.client, {self.name: keys})[self.name]
        return {post.post_id: post for post in map(post_of, found)}

    def all_posts(self) -> Iterator[PostHit]:
        request = {
            "TableName": self.name,
            "ProjectionExpression": "postId, authorId, content, createdMs",
        }
        for items in scan_pages(self.client, request):
            yield from map(post_of, items)
