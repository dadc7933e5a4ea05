"""References a metric transformation makes to a match: `$.path` (JSON patterns) or `$field` (space-delimited)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import InvalidMetricTransformation
from .json_pattern import Selector
from .lexer import WILDCARD, parse_selector
from .values import NUMBER, json_number_text

_FIELD_REFERENCE = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*|\d+)")


def validate_metric_value(metric_value: str) -> None:
    """Accept a literal number, `$field` or a `$.path` without wildcards, as PutMetricFilter does."""
    path = parse_selector(metric_value)
    if NUMBER.fullmatch(metric_value) or _FIELD_REFERENCE.fullmatch(metric_value):
        return
    if path is not None and WILDCARD not in path:
        return
    raise InvalidMetricTransformation(
        f"Invalid metric transformation: metric value {metric_value} must be a valid number"
    )


def resolve_reference(reference: str, extracted_values: Mapping[str, str], event: Any) -> str | None:
    """The referenced value as text, or None when it is missing, null, an object or an array."""
    if not reference.startswith("$."):
        return extracted_values.get(reference)
    path = parse_selector(reference)
    if path is None or WILDCARD in path or event is None:
        return None
    values = Selector(path).select(event)
    return _scalar_text(values[0]) if values else None


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return json_number_text(value)
    return None
