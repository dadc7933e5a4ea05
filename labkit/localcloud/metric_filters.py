"""CloudWatch Logs metric filters as AWS runs them, and the filter-pattern engine behind the Logs APIs.

- PutMetricFilter validates the filter as AWS does (pattern, metric names, metric value, dimensions,
  the regex quotas) and replaces a filter of the same name; nothing is stored on error.
- TestMetricFilter and FilterLogEvents match with the real engine (`filter_patterns`).
- Every event a log group accepts is run through the group's metric filters and the values are
  published into moto's CloudWatch backend at the event's timestamp (aws-behaviour.md §3.6). The hook
  sits on moto's log group, so the HTTP PutLogEvents and the flow records the local cloud delivers
  itself both publish.

Not modelled: `emitSystemFieldDimensions`, `fieldSelectionCriteria` and `applyOnTransformedLogs`
(moto's PutMetricFilter drops them before the backend sees them).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from moto.backends import get_backend
from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time_millis, utcnow
from moto.logs.exceptions import InvalidParameterException, LimitExceededException, ResourceNotFoundException
from moto.logs.models import LogGroup, LogsBackend, LogStream

from .app import AwsCall, LocalCloudApp, Response
from .filter_patterns import (
    FilterPattern,
    InvalidFilterPattern,
    InvalidMetricTransformation,
    compile_filter_pattern,
    evaluate_test_metric_filter,
    validate_metric_value,
)
from .filter_patterns.values import NUMBER
from .moto_fixes import _patch

log = logging.getLogger(__name__)

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


class SerializationException(JsonRESTError):
    """A member of the wrong JSON type (e.g. defaultValue "7"); AWS's body says "Message"."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("SerializationException", message)


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
    InvalidMetricTransformation); SerializationException for a defaultValue that is not a number."""
    pattern = compile_filter_pattern(filter_pattern)
    for index, member in enumerate(transformations, 1):
        for key in ("metricName", "metricNamespace"):
            if FORBIDDEN_IN_METRIC_NAMES & set(member[key]):
                raise InvalidMetricTransformation(_constraint_message(
                    member[key], f"metricTransformations.{index}.member.{key}",
                    f"Member must satisfy regular expression pattern: {METRIC_NAME_PATTERN}"))
        default = member.get("defaultValue")
        if isinstance(default, str):
            raise SerializationException("STRING_VALUE cannot be converted to Double")
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


def regex_bearing_filters(backend: LogsBackend, group: LogGroup, excluding: str) -> int:
    """Metric and subscription filters of the group whose pattern holds a regex (AWS allows 5)."""
    patterns = [f["filterPattern"] for f in backend.filters.get_matching_filters(log_group_name=group.name)
                if f["filterName"] != excluding]
    patterns += [s.filter_pattern for s in group.subscription_filters.values()]
    return sum(1 for text in patterns if _regex_count(text))


def _regex_count(filter_pattern: str) -> int:
    try:
        return compiled(filter_pattern).regex_count
    except InvalidFilterPattern:
        return 0


# --- publishing ----------------------------------------------------------------------------------------

def publish(account_id: str, region: str, group_name: str, events: Sequence[dict[str, Any]]) -> int:
    """Run the group's metric filters over accepted events; returns the number of values published."""
    logs = get_backend("logs")[account_id][region]
    stored = logs.filters.get_matching_filters(log_group_name=group_name)
    if not stored or not events:
        return 0
    samples = [sample for filter_ in map(MetricFilter.from_stored, stored) for sample in filter_.samples(events)]
    put_samples(get_backend("cloudwatch")[account_id][region], samples)
    return len(samples)


def put_samples(cloudwatch: Any, samples: Iterable[MetricSample]) -> None:
    """PutMetricData into moto's backend, one call per namespace (timestamps naive UTC, as moto keeps them)."""
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for sample in samples:
        member: dict[str, Any] = {
            "MetricName": sample.metric_name,
            "Value": sample.value,
            "Timestamp": datetime.fromtimestamp(sample.timestamp_ms / 1000, timezone.utc).replace(tzinfo=None),
            "Dimensions": [{"Name": name, "Value": value} for name, value in sample.dimensions],
        }
        if sample.unit:
            member["Unit"] = sample.unit
        by_namespace.setdefault(sample.namespace, []).append(member)
    for namespace, members in by_namespace.items():
        cloudwatch.put_metric_data(namespace, members)


# --- wiring ---------------------------------------------------------------------------------------------

def register(app: LocalCloudApp) -> None:
    _patch_moto()
    app.handle("logs", "TestMetricFilter", answer_test_metric_filter)


@functools.cache
def _patch_moto() -> None:
    """Once per process: moto's classes are shared by every local cloud in it."""
    _patch(LogsBackend, "put_metric_filter", _checked_put_metric_filter)
    _patch(LogsBackend, "filter_log_events", _checked_filter_log_events)
    _patch(LogStream, "filter_log_events", _stream_filter_log_events)
    _patch(LogGroup, "put_log_events", _publishing_put_log_events)


def answer_test_metric_filter(call: AwsCall) -> Response:
    try:
        result = evaluate_test_metric_filter(call.params.get("filterPattern", ""), call.params.get("logEventMessages", []))
    except InvalidFilterPattern as error:
        return Response.aws_json_error(error.error_code, error.message)
    return Response.json(result, content_type="application/x-amz-json-1.1")


def _checked_put_metric_filter(original: Any) -> Any:
    def put_metric_filter(self: LogsBackend, filter_name: str, filter_pattern: str, log_group_name: str,
                          metric_transformations: list[dict[str, Any]]) -> None:
        group = self.groups.get(log_group_name)
        if group is None:
            raise ResourceNotFoundException()
        try:
            pattern = validate_metric_filter(filter_pattern, metric_transformations)
        except (InvalidFilterPattern, InvalidMetricTransformation) as error:
            raise InvalidParameterException(error.message) from None
        others = [f for f in self.filters.get_matching_filters(log_group_name=log_group_name)
                  if f["filterName"] != filter_name]
        if len(others) >= MAX_METRIC_FILTERS_PER_GROUP:
            raise LimitExceededException()
        if pattern.regex_count and regex_bearing_filters(self, group, excluding=filter_name) >= MAX_REGEX_FILTERS_PER_GROUP:
            raise LimitExceededException()
        self.filters.delete_filter(filter_name, log_group_name)  # AWS replaces a filter of the same name
        original(self, filter_name, filter_pattern, log_group_name, metric_transformations)
        self.filters.metric_filters[-1]["creationTime"] = int(unix_time_millis(utcnow()))
    return put_metric_filter


def _checked_filter_log_events(original: Any) -> Any:
    def filter_log_events(self: LogsBackend, log_group_name: str, *args: Any, **kwargs: Any) -> Any:
        filter_pattern = kwargs.get("filter_pattern", args[5] if len(args) > 5 else None)
        try:
            compiled(filter_pattern or "")
        except InvalidFilterPattern as error:
            raise InvalidParameterException(error.message) from None
        return original(self, log_group_name, *args, **kwargs)
    return filter_log_events


def _stream_filter_log_events(_original: Any) -> Any:
    def filter_log_events(self: LogStream, start_time: int, end_time: int, filter_pattern: str) -> list[dict[str, Any]]:
        in_range = [event for event in sorted(self.events, key=lambda e: e.timestamp)
                    if not (start_time and event.timestamp < start_time) and not (end_time and event.timestamp > end_time)]
        flags = compiled(filter_pattern or "").match_many([event.message for event in in_range])
        return [{**event.to_filter_dict(), "logStreamName": self.log_stream_name}
                for event, matched in zip(in_range, flags) if matched]
    return filter_log_events


def _publishing_put_log_events(original: Any) -> Any:
    def put_log_events(self: LogGroup, log_stream_name: str, log_events: list[dict[str, Any]]) -> str:
        token = original(self, log_stream_name, log_events)
        try:
            publish(self.account_id, self.region, self.name, log_events)
        except Exception:  # a bad event or a bug here must never fail the PutLogEvents that stored the events
            log.exception("metric filters of %s failed to publish", self.name)
        return token
    return put_log_events
