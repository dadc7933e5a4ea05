"""CloudWatch metric alarms in the local cloud: evaluated on their own, with history and SNS actions,
and metric statistics reported over AWS's periods.

- A new alarm starts in INSUFFICIENT_DATA ("Unchecked: Initial alarm creation"); PutMetricAlarm on an
  existing alarm changes its configuration and keeps its state. Both write a ConfigurationUpdate
  history item.
- A background thread evaluates every metric alarm every LABKIT_ALARM_INTERVAL seconds (default 5;
  CloudWatch evaluates every minute, the lab runs faster) with `alarm_evaluation.evaluate` over the
  datapoints in moto's CloudWatch backend. A state change (or SetAlarmState) updates the alarm,
  writes a StateUpdate history item and, when ActionsEnabled, publishes AWS's alarm message to the
  SNS topics among the new state's actions (an Action history item each).
- GetMetricData and GetMetricStatistics start at the rounded StartTime (`metric_periods`).

One evaluator serves the process, because moto's backends are shared by every server in it. A
broken alarm or a bug in one evaluation is logged and never stops the loop.

Not evaluated (left as they are): metric-math and anomaly-detection alarms, composite alarms.
Non-SNS actions (Auto Scaling, EC2, Lambda, SSM) are not run.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from moto.backends import get_backend
from moto.cloudwatch.models import Alarm, CloudWatchBackend, MetricAggregatedDatum, Statistics
from moto.core.utils import utcnow

from ..formats import as_utc
from ..timing import AwsTiming
from . import history
from .alarm_evaluation import INITIAL_STATE, INITIAL_STATE_REASON, AlarmConfig, MetricSample, evaluate
from .metric_periods import rounded_start_time
from .notifications import MetricAlarm, StateChange, alarm_publication, alarm_subject

log = logging.getLogger(__name__)

INTERVAL_ENV = "LABKIT_ALARM_INTERVAL"

# Transitions and configuration changes come from API threads and the evaluator thread.
_state_lock = threading.RLock()


def evaluation_interval() -> float:
    """Seconds between two evaluations of every alarm: LABKIT_ALARM_INTERVAL, else the local cloud's
    timing (AWS's minute with LABKIT_DELIVERY=realistic, times LABKIT_TIME_SCALE; 5 s by default)."""
    try:
        return max(0.05, float(os.environ.get(INTERVAL_ENV) or AwsTiming.from_environment().alarm_interval_s))
    except ValueError:
        return AwsTiming().alarm_interval_s


# --- evaluation -------------------------------------------------------------------------------------

def alarm_config(alarm: Alarm) -> AlarmConfig | None:
    """The settings the evaluation needs; None for alarms it does not model (metric math, composite)."""
    if alarm.rule is not None or alarm.metric_data_queries or alarm.threshold_metric_id or not alarm.metric_name:
        return None
    try:
        return AlarmConfig(
            period=int(alarm.period), evaluation_periods=int(alarm.evaluation_periods),
            threshold=float(alarm.threshold), comparison_operator=alarm.comparison_operator,
            statistic=alarm.statistic or None, extended_statistic=alarm.extended_statistic or None,
            datapoints_to_alarm=None if alarm.datapoints_to_alarm is None else int(alarm.datapoints_to_alarm),
            treat_missing_data=alarm.treat_missing_data or None, unit=alarm.unit or None)
    except (TypeError, ValueError):
        return None


def metric_samples(cloudwatch: CloudWatchBackend, alarm: Alarm) -> list[MetricSample]:
    """The alarm's metric: same namespace and name, exactly the same dimensions, and unit if it has one."""
    wanted = {(d.name, d.value) for d in alarm.dimensions}
    samples = []
    for datum in cloudwatch.get_all_metrics():
        if (datum.namespace != alarm.namespace or datum.name != alarm.metric_name
                or {(d.name, d.value) for d in datum.dimensions} != wanted
                or (alarm.unit and datum.unit != alarm.unit)):
            continue
        if isinstance(datum, MetricAggregatedDatum):  # a StatisticSet: its mean, weighted by its count
            if datum.sample_count:
                samples.append(MetricSample(datum.timestamp, datum.sum / datum.sample_count, datum.sample_count))
        else:
            samples.append(MetricSample(datum.timestamp, datum.value))
    return samples


def evaluate_alarm(cloudwatch: CloudWatchBackend, alarm: Alarm, now: datetime) -> None:
    config = alarm_config(alarm)
    if config is None:
        return
    with _state_lock:
        outcome = evaluate(config, metric_samples(cloudwatch, alarm), now, alarm.state_value)
        if outcome.retained or outcome.state == alarm.state_value:
            return
        old = (alarm.state_value, alarm.state_reason, alarm.state_reason_data)
        alarm.state_value, alarm.state_reason, alarm.state_reason_data = outcome.state, outcome.reason, outcome.reason_data
        alarm.state_updated_timestamp = as_utc(now).replace(tzinfo=None)
        on_state_change(cloudwatch, alarm, *old)


def on_state_change(cloudwatch: CloudWatchBackend, alarm: Alarm, old_state: str, old_reason: str,
                    old_reason_data: str | None) -> None:
    """History and actions for a transition already made on the alarm."""
    when = alarm.state_updated_timestamp
    history.record(alarm, cloudwatch.account_id, history.STATE_UPDATE, f"Alarm updated from {old_state} to {alarm.state_value}",
            {"version": "1.0", "oldState": history.state(old_state, old_reason, old_reason_data),
             "newState": history.state(alarm.state_value, alarm.state_reason, alarm.state_reason_data)}, when)
    if alarm.actions_enabled:
        change = StateChange(old_state, alarm.state_value, alarm.state_reason, when)
        for arn in actions_for(alarm, alarm.state_value):
            _notify(cloudwatch.account_id, alarm, change, arn)


def actions_for(alarm: Alarm, state: str) -> list[str]:
    return list({"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions,
                 "INSUFFICIENT_DATA": alarm.insufficient_data_actions}.get(state) or [])


def _notify(account_id: str, alarm: Alarm, change: StateChange, topic_arn: str) -> None:
    """SNS Publish of CloudWatch's alarm message (MessageStructure=json), recorded as an Action item."""
    parts = topic_arn.split(":")
    if len(parts) < 6 or parts[2] != "sns":
        return
    described = notification_alarm(alarm, account_id)
    try:
        message_id = get_backend("sns")[parts[4]][parts[3]].publish(
            alarm_publication(described, change), arn=topic_arn,
            subject=alarm_subject(described, change.new_state)[:100], message_structure="json")
    except Exception as error:  # a deleted topic, a bad ARN: AWS records the failure and carries on
        history.record(alarm, account_id, history.ACTION, f"Failed to execute action {topic_arn}",
                {"actionState": "Failed", "notificationResource": topic_arn, "error": str(error)}, utcnow())
        return
    history.record(alarm, account_id, history.ACTION, f"Successfully executed action {topic_arn}",
            {"actionState": "Succeeded", "stateUpdateTimestamp": int(as_utc(change.timestamp).timestamp() * 1000),
             "notificationResource": topic_arn, "publishedMessage": {"messageId": message_id}}, utcnow())


def notification_alarm(alarm: Alarm, account_id: str) -> MetricAlarm:
    return MetricAlarm(
        name=alarm.name, region=alarm.region_name, account_id=account_id, namespace=alarm.namespace,
        metric_name=alarm.metric_name, config=alarm_config(alarm),  # type: ignore[arg-type]
        dimensions=tuple((d.name, d.value) for d in alarm.dimensions), description=alarm.description,
        ok_actions=tuple(alarm.ok_actions), alarm_actions=tuple(alarm.alarm_actions),
        insufficient_data_actions=tuple(alarm.insufficient_data_actions),
        configuration_updated=alarm.configuration_updated_timestamp)


class AlarmEvaluator:
    """Evaluates every metric alarm of every account and region, on a background thread."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.clock = clock
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def evaluate_all(self, now: datetime | None = None) -> None:
        now = now or self.clock()
        for cloudwatch in _cloudwatch_backends():
            for alarm in list(cloudwatch.alarms.values()):
                try:
                    evaluate_alarm(cloudwatch, alarm, now)
                except Exception:
                    log.exception("evaluating alarm %s failed", alarm.name)

    def start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="labkit-alarm-evaluation", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            started = time.monotonic()
            while time.monotonic() - started < evaluation_interval():  # a changed interval applies at once
                time.sleep(0.05)
            try:
                self.evaluate_all()
            except Exception:  # e.g. a backend appearing mid-iteration: try again next time
                log.exception("alarm evaluation pass failed")


EVALUATOR = AlarmEvaluator()


def _cloudwatch_backends() -> Iterator[CloudWatchBackend]:
    for regions in list(dict.values(get_backend("cloudwatch"))):
        yield from list(dict.values(regions))


# --- moto's alarm calls -------------------------------------------------------------------------------

def put_metric_alarm_keeps_state(original: Any) -> Any:
    def put_metric_alarm(self: CloudWatchBackend, *args: Any, **kwargs: Any) -> Alarm:
        name = kwargs["name"] if "name" in kwargs else args[0]
        with _state_lock:
            previous = self.alarms.get(name)
            alarm = original(self, *args, **kwargs)
            if previous is None:
                alarm.state_value, alarm.state_reason = INITIAL_STATE, INITIAL_STATE_REASON
                history.record(alarm, self.account_id, history.CONFIGURATION_UPDATE, f'Alarm "{name}" created',
                        {"type": "Create", "version": "1.0", "createdAlarm": history.configuration(alarm)},
                        alarm.configuration_updated_timestamp)
            else:
                alarm.state_value, alarm.state_reason = previous.state_value, previous.state_reason
                alarm.state_reason_data = previous.state_reason_data
                alarm.state_updated_timestamp = previous.state_updated_timestamp
                history.record(alarm, self.account_id, history.CONFIGURATION_UPDATE, f'Alarm "{name}" updated',
                        {"type": "Update", "version": "1.0", "originalAlarm": history.configuration(previous),
                         "updatedAlarm": history.configuration(alarm)}, alarm.configuration_updated_timestamp)
        return alarm
    return put_metric_alarm


def set_alarm_state_acts(original: Any) -> Any:
    """SetAlarmState is a real transition on AWS: history and actions, until the next evaluation."""
    def set_alarm_state(self: CloudWatchBackend, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        with _state_lock:
            alarm = self.alarms.get(alarm_name)
            old = (alarm.state_value, alarm.state_reason, alarm.state_reason_data) if alarm else None
            original(self, alarm_name, reason, reason_data, state_value)
            if old is not None and old[0] != state_value:
                on_state_change(self, alarm, *old)
    return set_alarm_state


# --- metric statistics over AWS's periods -------------------------------------------------------------

def metric_data_from_rounded_start(original: Any) -> Any:
    """GetMetricData's periods start at the rounded StartTime (moto starts them at StartTime as given)."""
    def get_metric_data(self: Any, queries: list[dict[str, Any]], start_time: datetime, end_time: datetime,
                        scan_by: str = "TimestampAscending") -> Any:
        periods = [int(q["MetricStat"]["Period"]) for q in queries if "MetricStat" in q]
        return original(self, queries, rounded_start_time(start_time, min(periods, default=60)), end_time, scan_by)
    return get_metric_data


def metric_statistics_from_rounded_start(original: Any) -> Any:
    """GetMetricStatistics' periods start at the rounded StartTime, each stamped with its start (moto
    starts them at the first datapoint, stamped with that datapoint's time)."""
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
