"""CloudWatch's DescribeAlarmHistory, which moto does not answer, from the local cloud's history."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult

from .history import alarm_histories

MAX_HISTORY_RECORDS = 100


def describe_alarm_history(_original: Any) -> Any:
    """CloudWatchResponse.describe_alarm_history (moto has none)."""
    return _describe_alarm_history


def _describe_alarm_history(self: CloudWatchResponse) -> ActionResult:
    alarm_types = tuple(self._get_param("AlarmTypes") or ["MetricAlarm"])
    items = alarm_histories[self.current_account][self.region].query(
        alarm_name=self._get_param("AlarmName"),
        item_type=self._get_param("HistoryItemType"), alarm_types=alarm_types,
        start=_timestamp(self._get_param("StartDate")), end=_timestamp(self._get_param("EndDate")),
        newest_first=self._get_param("ScanBy") != "TimestampAscending")
    offset = int(self._get_param("NextToken") or 0)
    limit = int(self._get_param("MaxRecords") or MAX_HISTORY_RECORDS)
    page = items[offset:offset + limit]
    more = offset + limit < len(items)
    return ActionResult({"AlarmHistoryItems": [item.as_api() for item in page],
                         **({"NextToken": str(offset + limit)} if more else {})})


def _timestamp(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
