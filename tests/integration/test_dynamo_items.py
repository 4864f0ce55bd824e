"""The storage kit's item helpers against moto (tables from template.yaml): queries read
to the last page, a partition deleted whole, items that refuse to be made twice or
removed when gone."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from relay.platform.dynamo import (
    CONDITION_FAILED,
    batch_write,
    cancellation_reasons,
    delete_existing,
    delete_partition,
    put_new,
    query_pages,
    s,
)

LIKES = "LikesTable"


def _like(post_id: str, user_id: str) -> dict[str, dict[str, str]]:
    return {"postId": s(post_id), "userId": s(user_id)}


def _likers(aws, post_id: str) -> list[str]:
    request = {
        "TableName": LIKES,
        "KeyConditionExpression": "postId = :p",
        "ExpressionAttributeValues": {":p": s(post_id)},
    }
    return [item["userId"]["S"] for page in query_pages(aws.dynamodb, request) for item in page]


def _refusal(aws, item: dict) -> list[str]:
    with pytest.raises(ClientError) as raised:
        aws.dynamodb.transact_write_items(TransactItems=[item])
    return cancellation_reasons(raised.value)


def test_a_query_is_read_page_by_page_to_the_last_page(aws):
    users = [f"user{n:02d}" for n in range(7)]
    batch_write(aws.dynamodb, LIKES, puts=[_like("post", u) for u in users])
    request = {
        "TableName": LIKES,
        "KeyConditionExpression": "postId = :p",
        "ExpressionAttributeValues": {":p": s("post")},
        "Limit": 3,
    }

    pages = list(query_pages(aws.dynamodb, request))

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [item["userId"]["S"] for page in pages for item in page] == users


def test_deleting_a_partition_takes_its_items_and_no_others(aws):
    batch_write(aws.dynamodb, LIKES, puts=[_like("gone", f"user{n:03d}") for n in range(60)])
    batch_write(aws.dynamodb, LIKES, puts=[_like("kept", "user000")])

    deleted = delete_partition(aws.dynamodb, LIKES, "postId", s("gone"), "userId")

    assert deleted == 60
    assert _likers(aws, "gone") == []
    assert _likers(aws, "kept") == ["user000"]


def test_an_item_put_as_new_is_refused_the_second_time(aws):
    item = put_new(LIKES, _like("post", "alice"), "postId")
    aws.dynamodb.transact_write_items(TransactItems=[item])

    assert _refusal(aws, item) == [CONDITION_FAILED]
    assert _likers(aws, "post") == ["alice"]


def test_deleting_an_item_that_is_gone_is_refused(aws):
    batch_write(aws.dynamodb, LIKES, puts=[_like("post", "alice")])
    item = delete_existing(LIKES, _like("post", "alice"))
    aws.dynamodb.transact_write_items(TransactItems=[item])

    assert _refusal(aws, item) == [CONDITION_FAILED]
    assert _likers(aws, "post") == []
