"""AWS event shapes the domain should not know, decoded at the edge into plain values.

A CloudWatch Logs subscription delivers gzipped, base64-encoded JSON; Lambda leaves
an asynchronous invocation that failed for good as an invocation record on its
OnFailure queue, with the original event as `requestPayload`. Handlers hand the
domain the log lines these carry.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any


class NotAnEvent(ValueError):
    """The input is not the AWS event shape it was read as."""


def log_lines(awslogs: Any) -> list[str]:
    """The log lines of a CloudWatch Logs subscription delivery (`event["awslogs"]`);
    none for CloudWatch's own control message."""
    try:
        data = awslogs["data"]
        delivery = json.loads(gzip.decompress(base64.b64decode(data, validate=True)))
        if delivery.get("messageType") != "DATA_MESSAGE":
            return []
        return [str(event["message"]) for event in delivery.get("logEvents", [])]
    except (TypeError, KeyError, ValueError, OSError, AttributeError, RecursionError) as error:
        raise NotAnEvent("not a CloudWatch Logs delivery") from error


def failed_log_delivery(body: str) -> list[str] | None:
    """The log lines of a failed delivery that Lambda left as an invocation record (a
    dead-letter message redriven to a queue); None when `body` is not such a record."""
    try:
        record = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("requestPayload"), dict):
        return None
    payload = record["requestPayload"]
    if "awslogs" not in payload:
        return None
    return log_lines(payload["awslogs"])
