"""SearchIndexer: the EventsTable's stream (accounts' events about people) and the posts
table's stream (posts made and deleted) in, the search index kept in step.

Records of a shard come in order; when one fails, it and the rest are reported failed
and the stream retries from it (then SearchIndexerDeadLetterQueue). A record that is
neither an event nor a post is skipped, logged: nothing search could ever index.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from redis.exceptions import RedisError

from relay.platform.events import NotAnEventRecord, from_stream_image
from relay.platform.observability import logger
from relay.search.indexer import KINDS
from relay.search.posts_table import post_of
from relay.search.service import indexer, person_event


def handle(record: dict[str, Any]) -> None:
    change = record.get("dynamodb") or {}
    image = change.get("NewImage") or change.get("OldImage") or {}
    if "postId" in image:
        if record.get("eventName") == "INSERT":
            indexer().post_created(post_of(change["NewImage"]))
        elif record.get("eventName") == "REMOVE":
            indexer().post_deleted(post_of(change["OldImage"]))
        return
    if record.get("eventName") != "INSERT":
        return  # an event expiring (TTL) is nothing new
    try:
        event = from_stream_image(image)
    except NotAnEventRecord:
        logger.warning("not an event or a post; skipped")
        return
    if event.kind in KINDS:
        person_event(event.kind, event.subject_id)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    for record in event.get("Records", []):
        try:
            handle(record)
        except (RedisError, ClientError, BotoCoreError, KeyError, TypeError, ValueError):
            sequence = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
            logger.exception("indexing failed; the stream retries from here")
            return {"batchItemFailures": [{"itemIdentifier": sequence}]}
    return {"batchItemFailures": []}
