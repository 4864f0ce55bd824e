"""An event source's FilterCriteria, read and checked at start like the rest of the template."""

from __future__ import annotations

from typing import Any

from relay_local.template.context import Context
from relay_local.template.languages.event_filters import (
    FilterCriteriaError,
    compile_filter_criteria,
)
from relay_local.template.model import RecordFilter, TemplateError


def record_filter(ctx: Context, props: dict[str, Any], where: str) -> RecordFilter | None:
    try:
        return compile_filter_criteria(ctx.resolve(props.get("FilterCriteria")))
    except FilterCriteriaError as error:
        raise TemplateError(f"{where}: {error}") from None
