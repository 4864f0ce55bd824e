"""DynamoDB's key limits where moto does not enforce them.

Real DynamoDB refuses a key attribute over 2,048 bytes (partition) or 1,024 bytes
(sort), or an empty one, with ValidationException on every call; moto checks writes
only, and answers a GetItem or Query with such a key as a miss. A handler that sends
such a key is a 500 on AWS and a 404 in the tests, so the tests that look for 500s
(the fuzzer) refuse such calls the way AWS does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import botocore.client
from botocore.exceptions import ClientError

MAX_PARTITION_KEY_BYTES = 2_048
MAX_SORT_KEY_BYTES = 1_024
_KEY_PARAMETERS = ("Key", "ExclusiveStartKey")


def _sizes(value: dict[str, Any]) -> list[int]:
    return [len(str(v).encode("utf-8", "surrogatepass")) for v in value.values()]


def _refusal(operation: str, params: dict[str, Any]) -> str | None:
    keys: list[dict[str, Any]] = [params[p] for p in _KEY_PARAMETERS if p in params]
    for item in params.get("TransactItems", []):
        for action in item.values():
            if "Key" in action:
                keys.append(action["Key"])
    if operation == "Query":
        # The values a key condition compares with are keys too.
        keys.append(params.get("ExpressionAttributeValues", {}))
    for key in keys:
        for value in key.values():
            for size in _sizes(value):
                if size == 0 and operation != "Query":
                    return "The AttributeValue for a key attribute cannot contain an empty value"
                if size > MAX_PARTITION_KEY_BYTES:
                    return "Size of hashkey has exceeded the maximum size limit of 2048 bytes"
    return None


@contextlib.contextmanager
def enforced() -> Iterator[None]:
    original = botocore.client.BaseClient._make_api_call

    def strict(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            reason = _refusal(operation, params)
            if reason is not None:
                error = {"Error": {"Code": "ValidationException", "Message": reason}}
                raise ClientError(error, operation)  # type: ignore[arg-type]
        return original(client, operation, params)

    botocore.client.BaseClient._make_api_call = strict  # type: ignore[method-assign]
    try:
        yield
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
