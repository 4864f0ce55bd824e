"""Lambda event filtering: an event source mapping's `FilterCriteria`, as Lambda applies it.

Up to five filters, each a pattern in the engine SNS filter policies use; a record
that matches any of them is delivered, the others never reach the function. For SQS
the body is matched as JSON when it is JSON and as a string otherwise, and a message
no filter matches is deleted, as Lambda deletes it; a stream record no filter matches
is passed over and the checkpoint moves on.
"""

from __future__ import annotations

import json
from typing import Any

from relay_local.template.languages.sns_filters import FilterPolicyError, compile_event_pattern
from relay_local.template.model import RecordFilter

# Lambda's default quota of filters per event source mapping.
MAX_FILTERS = 5


class FilterCriteriaError(ValueError):
    """FilterCriteria that Lambda would refuse; the message says which filter and why."""


def compile_filter_criteria(criteria: Any) -> RecordFilter | None:
    """The record filter for an event source's FilterCriteria; None when there is none."""
    if criteria is None:
        return None
    filters = criteria.get("Filters") if isinstance(criteria, dict) else None
    if not isinstance(filters, list) or not filters:
        raise FilterCriteriaError("FilterCriteria needs Filters: a list of {Pattern: ...}")
    if len(filters) > MAX_FILTERS:
        raise FilterCriteriaError(
            f"FilterCriteria has {len(filters)} filters; Lambda allows {MAX_FILTERS}"
        )
    patterns = []
    for position, entry in enumerate(filters):
        pattern = entry.get("Pattern") if isinstance(entry, dict) else None
        if not isinstance(pattern, (str, dict)):
            raise FilterCriteriaError(f"Filters[{position}] needs a Pattern (a JSON object)")
        try:
            patterns.append(compile_event_pattern(pattern))
        except FilterPolicyError as error:
            reason = str(error).removeprefix("FilterPolicy: ")
            raise FilterCriteriaError(f"Filters[{position}].Pattern: {reason}") from None
    return lambda record: any(matches(record) for matches in patterns)


def sqs_view(record: dict[str, Any]) -> dict[str, Any]:
    """What an SQS filter sees of a record: the body as JSON when it is JSON."""
    try:
        body = json.loads(record["body"])
    except (ValueError, RecursionError, TypeError):
        return record
    return {**record, "body": body}
