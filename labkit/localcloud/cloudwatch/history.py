"""Alarm history as CloudWatch keeps it: ConfigurationUpdate, StateUpdate and Action items per alarm,
kept after DeleteAlarms (as on AWS) in a store per account and region that moto's reset clears."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moto.cloudwatch.models import Alarm
from moto.core.base_backend import BackendDict, BaseBackend

from ..formats import as_utc, aws_json

STATE_UPDATE = "StateUpdate"
CONFIGURATION_UPDATE = "ConfigurationUpdate"
ACTION = "Action"


@dataclass(frozen=True)
class HistoryItem:
    alarm_name: str
    alarm_type: str  # MetricAlarm | CompositeAlarm
    timestamp: datetime  # naive UTC, as moto keeps timestamps
    item_type: str
    summary: str
    data: str

    def as_api(self) -> dict[str, Any]:
        return {"AlarmName": self.alarm_name, "AlarmType": self.alarm_type, "Timestamp": self.timestamp,
                "HistoryItemType": self.item_type, "HistorySummary": self.summary, "HistoryData": self.data}


class AlarmHistory(BaseBackend):
    """The alarm history of one account and region."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self._items: list[HistoryItem] = []
        self._lock = threading.Lock()

    def add(self, item: HistoryItem) -> None:
        with self._lock:
            self._items.append(item)

    def query(self, *, alarm_name: str | None = None, item_type: str | None = None,
              alarm_types: tuple[str, ...] = ("MetricAlarm",), start: datetime | None = None,
              end: datetime | None = None, newest_first: bool = True) -> list[HistoryItem]:
        with self._lock:
            items = list(self._items)
        selected = [
            item for item in items
            if (alarm_name is None or item.alarm_name == alarm_name)
            and (item_type is None or item.item_type == item_type)
            and item.alarm_type in alarm_types
            and (start is None or as_utc(item.timestamp) >= as_utc(start))
            and (end is None or as_utc(item.timestamp) <= as_utc(end))
        ]
        return sorted(selected, key=lambda item: item.timestamp, reverse=newest_first)


alarm_histories = BackendDict(AlarmHistory, "cloudwatch")


def record(alarm: Alarm, account_id: str, item_type: str, summary: str, data: dict[str, Any],
           when: datetime) -> None:
    """Add a history item about `alarm` (its data as CloudWatch's compact JSON)."""
    alarm_type = "CompositeAlarm" if alarm.rule is not None else "MetricAlarm"
    alarm_histories[account_id][alarm.region_name].add(
        HistoryItem(alarm.name, alarm_type, when, item_type, summary, aws_json(data)))


def configuration(alarm: Alarm) -> dict[str, Any]:
    """The alarm as ConfigurationUpdate history data describes it (settings that are not set left out)."""
    settings = {
        "alarmName": alarm.name,
        "alarmArn": alarm.alarm_arn,
        "alarmDescription": alarm.description,
        "namespace": alarm.namespace,
        "metricName": alarm.metric_name,
        "dimensions": [{"name": d.name, "value": d.value} for d in alarm.dimensions],
        "statistic": alarm.statistic,
        "extendedStatistic": alarm.extended_statistic,
        "period": alarm.period,
        "unit": alarm.unit,
        "evaluationPeriods": alarm.evaluation_periods,
        "datapointsToAlarm": alarm.datapoints_to_alarm,
        "threshold": None if alarm.threshold is None else float(alarm.threshold),
        "comparisonOperator": alarm.comparison_operator,
        "treatMissingData": alarm.treat_missing_data,
        "actionsEnabled": alarm.actions_enabled,
        "okActions": list(alarm.ok_actions),
        "alarmActions": list(alarm.alarm_actions),
        "insufficientDataActions": list(alarm.insufficient_data_actions),
    }
    return {key: value for key, value in settings.items() if value is not None}


def state(value: str, reason: str, reason_data: str | None) -> dict[str, Any]:
    """An alarm state as StateUpdate history data describes it."""
    described: dict[str, Any] = {"stateValue": value, "stateReason": reason}
    parsed = json.loads(reason_data) if reason_data else {}
    if parsed:
        described["stateReasonData"] = parsed
    return described
