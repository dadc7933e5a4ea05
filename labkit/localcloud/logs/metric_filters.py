"""CloudWatch Logs metric filters as data: what PutMetricFilter accepts (AWS's validation of the
pattern, metric names, metric value, units and dimensions), and what a filter publishes for a batch of
events (docs/aws-behaviour.md, "Metric filters"). Pure: the moto glue is `models`.

Not modelled: `emitSystemFieldDimensions`, `fieldSelectionCriteria` and `applyOnTransformedLogs`
(moto's PutMetricFilter drops them before the backend sees them).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .filter_patterns import (
    FilterPattern,
    InvalidFilterPattern,
    InvalidMetricTransformation,
    compile_filter_pattern,
    validate_metric_value,
)
from .filter_patterns.values import NUMBER

MAX_METRIC_FILTERS_PER_GROUP = 100
MAX_REGEX_FILTERS_PER_GROUP = 5  # metric and subscription filters together
MAX_DIMENSIONS = 3
METRIC_NAME_PATTERN = "[^:*$]*"
FORBIDDEN_IN_METRIC_NAMES = set(":*$")
DIMENSIONS_NOT_SUPPORTED = "The specified filter pattern does not support dimensions"
DIMENSIONS_WITH_DEFAULT = (
    "Invalid metric transformation: dimensions and default value are mutually exclusive properties"
)
STANDARD_UNITS = (
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
)


class SerializationError(ValueError):
    """A member of the wrong JSON type (e.g. defaultValue "7"): AWS's SerializationException."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- the filter as data ------------------------------------------------------------------------

@dataclass(frozen=True)
class MetricTransformation:
    name: str
    namespace: str
    value: str  # a literal number, `$field` or `$.path`
    default_value: float | None = None
    dimensions: tuple[tuple[str, str], ...] = ()  # (dimension name, reference)
    unit: str | None = None

    @classmethod
    def from_api(cls, member: dict[str, Any]) -> MetricTransformation:
        default = member.get("defaultValue")
        return cls(
            name=member["metricName"],
            namespace=member["metricNamespace"],
            value=member["metricValue"],
            default_value=None if default is None else float(default),
            dimensions=tuple((member.get("dimensions") or {}).items()),
            unit=member.get("unit"),
        )


@dataclass(frozen=True)
class MetricSample:
    """One value a metric filter publishes."""

    namespace: str
    metric_name: str
    timestamp_ms: int
    value: float
    dimensions: tuple[tuple[str, str], ...] = ()
    unit: str | None = None


@dataclass(frozen=True)
class MetricFilter:
    name: str
    pattern: FilterPattern
    transformation: MetricTransformation

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> MetricFilter:
        return cls(stored["filterName"], compiled(stored["filterPattern"]),
                   MetricTransformation.from_api(stored["metricTransformations"][0]))

    def samples(self, events: Sequence[dict[str, Any]]) -> list[MetricSample]:
        """What this filter publishes for a batch of accepted events ({timestamp, message})."""
        transformation = self.transformation
        literal = _number(transformation.value)
        if literal is not None and not transformation.dimensions:  # the common case: count matches, fast
            flags = self.pattern.match_many([event["message"] for event in events])
            values = [literal if matched else transformation.default_value for matched in flags]
            return [self._sample(event, value) for event, value in zip(events, values) if value is not None]
        samples = []
        for event in events:
            result = self.pattern.match(event["message"])
            if result is None:
                if transformation.default_value is not None:  # once per non-matching event
                    samples.append(self._sample(event, transformation.default_value))
                continue
            value = literal if literal is not None else _referenced_value(result, transformation)
            if value is not None:
                samples.append(self._sample(event, value, _dimensions(result, transformation)))
        return samples

    def _sample(self, event: dict[str, Any], value: float, dimensions: tuple[tuple[str, str], ...] = ()) -> MetricSample:
        t = self.transformation
        return MetricSample(t.namespace, t.name, int(event["timestamp"]), value, dimensions, t.unit)


def _number(text: str | None) -> float | None:
    if text is None or not NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _referenced_value(result: Any, transformation: MetricTransformation) -> float | None:
    """A missing or null field takes the default; a field that is not a number publishes nothing."""
    text = result.reference_value(transformation.value)
    if text is None:
        return transformation.default_value
    return _number(text)


def _dimensions(result: Any, transformation: MetricTransformation) -> tuple[tuple[str, str], ...]:
    """All dimensions or none: if one is missing (or empty) the sample is published without dimensions."""
    resolved = []
    for name, reference in transformation.dimensions:
        value = result.reference_value(reference)
        if not value:
            return ()
        resolved.append((name, value))
    return tuple(resolved)


@functools.lru_cache(maxsize=256)
def compiled(filter_pattern: str) -> FilterPattern:
    return compile_filter_pattern(filter_pattern)


# --- PutMetricFilter validation --------------------------------------------------------------------

def validate_metric_filter(filter_pattern: str, transformations: list[dict[str, Any]]) -> FilterPattern:
    """The compiled pattern, or the InvalidParameterException AWS gives (as InvalidFilterPattern /
    InvalidMetricTransformation); SerializationError for a defaultValue that is not a number."""
    pattern = compile_filter_pattern(filter_pattern)
    for index, member in enumerate(transformations, 1):
        for key in ("metricName", "metricNamespace"):
            if FORBIDDEN_IN_METRIC_NAMES & set(member[key]):
                raise InvalidMetricTransformation(_constraint_message(
                    member[key], f"metricTransformations.{index}.member.{key}",
                    f"Member must satisfy regular expression pattern: {METRIC_NAME_PATTERN}"))
        default = member.get("defaultValue")
        if isinstance(default, str):
            raise SerializationError("STRING_VALUE cannot be converted to Double")
        validate_metric_value(member["metricValue"])
        unit = member.get("unit")
        if unit is not None and unit not in STANDARD_UNITS:
            raise InvalidMetricTransformation(_constraint_message(
                unit, f"metricTransformations.{index}.member.unit",
                f"Member must satisfy enum value set: [{', '.join(STANDARD_UNITS)}]"))
        dimensions = member.get("dimensions") or {}
        if dimensions:
            if len(dimensions) > MAX_DIMENSIONS:
                raise InvalidMetricTransformation(_constraint_message(
                    dimensions, f"metricTransformations.{index}.member.dimensions",
                    f"Member must have length less than or equal to {MAX_DIMENSIONS}"))
            if default is not None:
                raise InvalidMetricTransformation(DIMENSIONS_WITH_DEFAULT)
            if not pattern.supports_dimensions:
                raise InvalidMetricTransformation(DIMENSIONS_NOT_SUPPORTED)
    return pattern


def _constraint_message(value: Any, member: str, constraint: str) -> str:
    return f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"


def regex_count(filter_pattern: str) -> int:
    try:
        return compiled(filter_pattern).regex_count
    except InvalidFilterPattern:
        return 0
