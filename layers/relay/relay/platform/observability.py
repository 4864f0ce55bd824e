"""The Powertools Logger every function shares; POWERTOOLS_* settings come from the template.

Tracing is Lambda's own (`Tracing: Active` in the template): the X-Ray SDK that
Powertools' Tracer would import costs more cold start than its subsegments are
worth on these short paths (docs/decisions.md).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger()
