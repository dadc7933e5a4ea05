"""CloudWatch Logs in the local cloud, on moto's models.

- PutMetricFilter validates the filter as AWS does (`metric_filters`: pattern, metric names, metric
  value, dimensions, the regex quotas) and replaces a filter of the same name; nothing is stored on error.
- FilterLogEvents matches with the real filter-pattern engine (`filter_patterns`).
- Every event a log group accepts is run through the group's metric filters and the values are
  published into moto's CloudWatch backend at the event's timestamp. The hook sits on moto's log
  group, so the HTTP PutLogEvents and the flow records the local cloud delivers itself both publish.
- Logs Insights queries are kept per account and region (`insights_queries`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
from moto.backends import get_backend
from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time_millis, utcnow
from moto.logs.exceptions import InvalidParameterException, LimitExceededException, ResourceNotFoundException
from moto.logs.models import LogGroup, LogsBackend, LogStream

from .filter_patterns import InvalidFilterPattern, InvalidMetricTransformation
from .insights import EVENT_SCHEMA, QueryResult
from .metric_filters import (
    MAX_METRIC_FILTERS_PER_GROUP,
    MAX_REGEX_FILTERS_PER_GROUP,
    MetricFilter,
    MetricSample,
    SerializationError,
    compiled,
    regex_count,
    validate_metric_filter,
)

log = logging.getLogger(__name__)


class SerializationException(JsonRESTError):
    """A member of the wrong JSON type (e.g. defaultValue "7"); AWS's body says "Message"."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("SerializationException", message)


# --- metric filters on moto's log groups ----------------------------------------------------------------

def checked_put_metric_filter(original: Any) -> Any:
    def put_metric_filter(self: LogsBackend, filter_name: str, filter_pattern: str, log_group_name: str,
                          metric_transformations: list[dict[str, Any]]) -> None:
        group = self.groups.get(log_group_name)
        if group is None:
            raise ResourceNotFoundException()
        try:
            pattern = validate_metric_filter(filter_pattern, metric_transformations)
        except (InvalidFilterPattern, InvalidMetricTransformation) as error:
            raise InvalidParameterException(error.message) from None
        except SerializationError as error:
            raise SerializationException(error.message) from None
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


def checked_filter_log_events(original: Any) -> Any:
    def filter_log_events(self: LogsBackend, log_group_name: str, *args: Any, **kwargs: Any) -> Any:
        filter_pattern = kwargs.get("filter_pattern", args[5] if len(args) > 5 else None)
        try:
            compiled(filter_pattern or "")
        except InvalidFilterPattern as error:
            raise InvalidParameterException(error.message) from None
        return original(self, log_group_name, *args, **kwargs)
    return filter_log_events


def stream_filter_log_events(_original: Any) -> Any:
    def filter_log_events(self: LogStream, start_time: int, end_time: int, filter_pattern: str) -> list[dict[str, Any]]:
        in_range = [event for event in sorted(self.events, key=lambda e: e.timestamp)
                    if not (start_time and event.timestamp < start_time) and not (end_time and event.timestamp > end_time)]
        flags = compiled(filter_pattern or "").match_many([event.message for event in in_range])
        return [{**event.to_filter_dict(), "logStreamName": self.log_stream_name}
                for event, matched in zip(in_range, flags) if matched]
    return filter_log_events


def publishing_put_log_events(original: Any) -> Any:
    def put_log_events(self: LogGroup, log_stream_name: str, log_events: list[dict[str, Any]]) -> str:
        token = original(self, log_stream_name, log_events)
        try:
            publish(self.account_id, self.region, self.name, log_events)
        except Exception:  # a bad event or a bug here must never fail the PutLogEvents that stored the events
            log.exception("metric filters of %s failed to publish", self.name)
        return token
    return put_log_events


def regex_bearing_filters(backend: LogsBackend, group: LogGroup, excluding: str) -> int:
    """Metric and subscription filters of the group whose pattern holds a regex (AWS allows 5)."""
    patterns = [f["filterPattern"] for f in backend.filters.get_matching_filters(log_group_name=group.name)
                if f["filterName"] != excluding]
    patterns += [s.filter_pattern for s in group.subscription_filters.values()]
    return sum(1 for text in patterns if regex_count(text))


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


# --- Logs Insights queries ----------------------------------------------------------------------------

@dataclass
class InsightsQuery:
    query_id: str
    query_string: str
    log_groups: list[str]
    create_time_ms: int
    result: QueryResult | None = None
    status: str = "Scheduled"


class InsightsQueries(BaseBackend):
    """The Logs Insights queries of one account and region, by query id."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.queries: dict[str, InsightsQuery] = {}
        self.lock = threading.Lock()


insights_queries = BackendDict(InsightsQueries, "logs")


def events_table(logs: Any, groups: list[str]) -> pa.Table:
    columns: dict[str, list[Any]] = {name: [] for name in EVENT_SCHEMA.names}
    for group in groups:
        for stream_name, stream in list(logs.groups[group].streams.items()):
            for event in list(stream.events):
                columns["log_group"].append(group)
                columns["log_stream"].append(stream_name)
                columns["timestamp_ms"].append(event.timestamp)
                columns["ingestion_time_ms"].append(event.ingestion_time)
                columns["message"].append(event.message)
    return pa.table(columns, schema=EVENT_SCHEMA)
