"""Clients made on first use.

A store or a sender is handed its client when it is built; `OnFirstUse` stands in
for that client until something calls it, and only then asks its factory (which
keeps one client per process, e.g. relay.platform.dynamo.dynamodb_client) for the
real one. A function whose request never reaches a service pays nothing for it:
importing boto3 and loading a service's model cost a cold start tens of ms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class OnFirstUse:
    """A client made by `make` when first called: `OnFirstUse(dynamodb_client)`."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make

    def __getattr__(self, name: str) -> Any:
        return getattr(self._make(), name)
