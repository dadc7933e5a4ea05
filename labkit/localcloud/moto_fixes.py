"""Corrections to moto's models where moto answers differently from AWS, applied once when the
local cloud is built. Each one names what AWS does."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from typing import Any

from moto.ec2.models.flow_logs import FlowLogsBackend
from moto.ec2.models.instances import InstanceBackend


_applied = False


def apply() -> None:
    """Patch moto's classes, once per process."""
    global _applied
    if _applied:
        return
    _applied = True
    _create_flow_logs_checks_the_log_format()
    _s3_flow_log_destination_may_have_a_folder()
    _modify_instance_groups_replaces_the_eni_groups()
    _metric_periods_start_at_the_rounded_start_time()


def _patch(owner: type, name: str, make: Any) -> None:
    """Replace owner.name with make(original)."""
    original = getattr(owner, name)
    setattr(owner, name, functools.wraps(original)(make(original)))


def _modify_instance_groups_replaces_the_eni_groups() -> None:
    """ModifyInstanceAttribute(Groups=...) replaces the security groups of the instance's primary
    network interface on AWS; moto keeps the old ones on the ENI and adds the new ones."""

    def make(original: Any) -> Any:
        def modify_instance_security_groups(self: Any, instance_id: str, new_group_id_list: list[str]) -> Any:
            instance = original(self, instance_id, new_group_id_list)
            primary = instance.nics.get(0)
            if primary is not None:
                primary._group_set = list(instance.security_groups)
            return instance
        return modify_instance_security_groups

    _patch(InstanceBackend, "modify_instance_security_groups", make)


def _create_flow_logs_checks_the_log_format() -> None:
    """AWS refuses a LogFormat with an unknown field (InvalidParameter) and creates nothing; moto
    stores any text."""
    from moto.ec2.exceptions import EC2ClientError

    from .flow_records import FlowLogFormatError, parse_log_format

    def make(original: Any) -> Any:
        def create_flow_logs(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                parse_log_format(kwargs.get("log_format"))
            except FlowLogFormatError as error:
                raise EC2ClientError(error.code, error.message) from None
            return original(self, *args, **kwargs)
        return create_flow_logs

    _patch(FlowLogsBackend, "create_flow_logs", make)


def _s3_flow_log_destination_may_have_a_folder() -> None:
    """AWS accepts `arn:aws:s3:::bucket/folder/` as an S3 destination; moto looks for a bucket named
    `bucket/folder/` and reports it missing. Validate the bucket alone, keep the folder."""
    def make(original: Any) -> Any:
        def create_flow_logs(self: Any, *args: Any, **kwargs: Any) -> Any:
            destination = kwargs.get("log_destination")
            if kwargs.get("log_destination_type") != "s3" or not destination or "/" not in destination:
                return original(self, *args, **kwargs)
            bucket_arn = destination.split("/", 1)[0]
            flow_logs, unsuccessful = original(self, *args, **{**kwargs, "log_destination": bucket_arn})
            for flow_log in flow_logs:
                flow_log.log_destination = destination
            return flow_logs, unsuccessful
        return create_flow_logs

    _patch(FlowLogsBackend, "create_flow_logs", make)


def _metric_periods_start_at_the_rounded_start_time() -> None:
    """AWS rounds StartTime down (`rounded_start_time`) and reports each period from there, stamped
    with the period's start. moto starts GetMetricData's periods at StartTime as given, and
    GetMetricStatistics' at the first datapoint, stamped with that datapoint's time."""
    from moto.cloudwatch.models import CloudWatchBackend, Statistics

    def make_data(original: Any) -> Any:
        def get_metric_data(self: Any, queries: list[dict[str, Any]], start_time: datetime, end_time: datetime,
                            scan_by: str = "TimestampAscending") -> Any:
            periods = [int(q["MetricStat"]["Period"]) for q in queries if "MetricStat" in q]
            return original(self, queries, rounded_start_time(start_time, min(periods, default=60)), end_time, scan_by)
        return get_metric_data

    def make_statistics(original: Any) -> Any:
        def get_metric_statistics(self: Any, namespace: str, metric_name: str, start_time: datetime,
                                  end_time: datetime, period: int, stats: list[str], dimensions: Any,
                                  unit: str | None = None) -> list[Any]:
            start = rounded_start_time(start_time, period)
            # moto's filtering and statistics, one second at a time, gathered into AWS's periods
            by_second = original(self, namespace, metric_name, start, end_time, 1, stats, dimensions, unit)
            periods: dict[datetime, Any] = {}
            for second in by_second:
                begin = start + timedelta(seconds=(second.timestamp - start).total_seconds() // period * period)
                gathered = periods.setdefault(begin, Statistics(stats, begin))
                gathered.metric_data.extend(second.metric_data)
                gathered.unit = second.unit
            return list(periods.values())
        return get_metric_statistics

    _patch(CloudWatchBackend, "get_metric_data", make_data)
    _patch(CloudWatchBackend, "get_metric_statistics", make_statistics)


def rounded_start_time(start: datetime, period: int) -> datetime:
    """CloudWatch's rounding of StartTime: down to the whole minute if it is less than 15 days ago, to
    5 minutes if less than 63 days ago, else to the hour; for a high-resolution period (under a
    minute), down to a multiple of the period."""
    now = datetime.now(start.tzinfo) if start.tzinfo else datetime.now(timezone.utc).replace(tzinfo=None)
    age = now - start
    step = period if period < 60 else 60 if age < timedelta(days=15) else 300 if age < timedelta(days=63) else 3600
    seconds = (start - start.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    return start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(seconds=seconds // step * step)
