"""SearchRebuild: the search index made again from DynamoDB (the users table and the
posts table).

Every minute on a schedule it looks for the mark a finished rebuild leaves in Redis and
does nothing more when it is there: a Redis that restarted empty is rebuilt within a
minute, by itself. `relay invoke SearchRebuild -e events/search_rebuild.json` (an event
with `"force": true`) rebuilds now, whatever the mark says.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.platform.observability import logger
from relay.search.service import rebuild


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    done = rebuild(force=bool((event or {}).get("force")))
    if done.get("rebuilt"):
        logger.info("search index rebuilt", extra=done)
    return done
