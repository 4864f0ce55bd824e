"""The Powertools Logger and Metrics every function shares; POWERTOOLS_* settings come from
the template.

Metrics are CloudWatch embedded metric format (EMF): one JSON log line per
invocation, turned into metrics by CloudWatch Logs, with no API call. `metrics()`
builds them on first use, so a function that records none does not import them.
The redirect records none this way: its cache hits and misses are fields of its
click line, counted by metric filters in the template, at no cost per request.

Tracing is Lambda's own (`Tracing: Active` in the template): the X-Ray SDK that
Powertools' Tracer would import costs more cold start than its subsegments are
worth on these short paths (docs/decisions.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

logger = Logger()


@functools.cache
def metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    return Metrics()


_pending = False


def count(metric: str) -> None:
    """One more `metric` (a count) in this invocation's metrics line."""
    global _pending
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=metric, unit=MetricUnit.Count, value=1)
    _pending = True


def flush() -> None:
    """Write the counts made since the last flush as one EMF line, if there are any."""
    global _pending
    if _pending:
        _pending = False
        metrics().flush_metrics()


Handler = TypeVar("Handler", bound=Callable[..., Any])


def flushing(handler: Handler) -> Handler:
    """A Lambda handler (not behind the HTTP resolver, which flushes by itself) whose
    counts are written when it returns or raises, as one line per invocation."""

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        finally:
            flush()

    return cast(Handler, wrapped)
