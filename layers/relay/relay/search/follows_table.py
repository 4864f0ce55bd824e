"""What search reads of the feed's FollowsTable, read-only: whom a person follows, for
their suggestions (`follower`, `followee`, as relay/feed/follows_table.py writes them;
tests/integration/test_search.py holds the two in step).
"""

from __future__ import annotations

from typing import Any

from relay.platform.dynamo import query_pages, s
from relay.search import rules


class FollowsView:
    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def followees(self, sub: str) -> list[str]:
        request = {
            "TableName": self.name,
            "KeyConditionExpression": "follower = :u",
            "ExpressionAttributeValues": {":u": s(sub)},
            "ProjectionExpression": "followee",
        }
        found: list[str] = []
        for items in query_pages(self.client, request):
            found += [item["followee"]["S"] for item in items]
            if len(found) >= rules.FOLLOWS_MAX:
                break
        return found[: rules.FOLLOWS_MAX]
