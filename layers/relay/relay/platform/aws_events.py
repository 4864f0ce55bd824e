"""AWS event shapes the domain should not know, decoded at the edge into plain values.

A CloudWatch Logs subscription delivers gzipped, base64-encoded JSON; Lambda leaves
an asynchronous invocation that failed for good as an invocation record on its
OnFailure queue, with the original event as `requestPayload`. A Cognito trigger
names its pool, its user and their attributes. Handlers hand the domain the plain
values these carry.
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class CognitoTrigger:
    """What a Cognito trigger's event says: which trigger and why (`source`, for example
    `PreSignUp_SignUp`), the pool, the user (`user_name`; `sub` once the user exists) and
    the user's attributes as strings."""

    source: str
    pool_id: str
    user_name: str
    attributes: dict[str, str]

    @property
    def sub(self) -> str:
        """The user's stable id: the `sub` attribute, or the user name Cognito gave a
        pool whose people sign in with their email (which is the sub)."""
        return self.attributes.get("sub") or self.user_name


def cognito_trigger(event: Any) -> CognitoTrigger:
    """The trigger event Cognito invokes a function with; NotAnEvent for anything else.
    Attribute values that are not strings are dropped: Cognito sends only strings."""
    if not isinstance(event, dict):
        raise NotAnEvent("not a Cognito trigger event")
    request = event.get("request")
    attributes = request.get("userAttributes") if isinstance(request, dict) else None
    source, pool, user = event.get("triggerSource"), event.get("userPoolId"), event.get("userName")
    if not all(isinstance(value, str) for value in (source, pool, user)):
        raise NotAnEvent("not a Cognito trigger event")
    given = attributes if isinstance(attributes, dict) else {}
    return CognitoTrigger(
        source=str(source),
        pool_id=str(pool),
        user_name=str(user),
        attributes={str(k): v for k, v in given.items() if isinstance(v, str)},
    )
