"""CloudWatch metric-alarm evaluation: the state an alarm takes at one evaluation, and why.

Pure behaviour, no I/O and no clock: the caller passes the metric samples and the evaluation
time. What this follows (docs/aws-behaviour.md, "CloudWatch alarms"):

* Datapoints are per-period statistics over a sliding window that ends at the evaluation time,
  rounded down to the minute (to 10 s for the 10/20/30 s high-resolution periods). A datapoint's
  timestamp is the start of its period. CloudWatch evaluates every minute, so a 5-minute period
  covers minutes 1-5, then 2-6, and so on.
* CloudWatch looks at an "evaluation range" longer than EvaluationPeriods (N). AWS documents
  5 datapoints for N = 3 and publishes no rule. We use N + max(N // 3, 2) periods: 5 for N = 3, and
  3 for N = 1, which matches an alarm seen going back to OK about three periods after its
  metric stopped.
* When the range holds at least N real datapoints, the newest N decide and TreatMissingData
  plays no part. Otherwise `breaching` / `notBreaching` fill as few missing periods as needed to
  reach N. `missing` decides on the real datapoints alone (INSUFFICIENT_DATA when there are
  none), and `ignore` does the same but keeps the current state where `missing` would give
  INSUFFICIENT_DATA or a premature ALARM.
* Premature ALARM (AWS's "avoiding premature transitions"): with fewer than N real datapoints,
  the alarm still goes to ALARM when the oldest real datapoint in the range is breaching, lies
  in the newest N periods and is at least DatapointsToAlarm (M) periods old, and every newer
  real datapoint is breaching. This reproduces every row of AWS's two truth tables.
* Reason wording depends on whether DatapointsToAlarm was set: AWS writes
  "1 out of the last 1 datapoints [...] (minimum 1 datapoint for OK -> ALARM transition)" when it
  was, and the older "1 datapoint [...] was greater than the threshold (1.0)." when it was not.

Not modelled: EvaluateLowSampleCountPercentile, metric math and anomaly bands, and the
AWS/DynamoDB rule that such alarms always ignore missing data.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..formats import as_utc, aws_json, aws_timestamp, java_double

OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"

INITIAL_STATE = INSUFFICIENT_DATA
INITIAL_STATE_REASON = "Unchecked: Initial alarm creation"

MISSING = "missing"
IGNORE = "ignore"
BREACHING = "breaching"
NOT_BREACHING = "notBreaching"

STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d{1,2})?|100)")

# The comparison, and how AWS words it in a StateReason.
COMPARISONS = {
    "GreaterThanOrEqualToThreshold": (lambda value, threshold: value >= threshold, "greater than or equal to"),
    "GreaterThanThreshold": (lambda value, threshold: value > threshold, "greater than"),
    "LessThanThreshold": (lambda value, threshold: value < threshold, "less than"),
    "LessThanOrEqualToThreshold": (lambda value, threshold: value <= threshold, "less than or equal to"),
}

# How TreatMissingData is named where a reason says what filled periods were treated as.
FILL_NAMES = {BREACHING: "Breaching", NOT_BREACHING: "NonBreaching"}

# AWS lists at most this many datapoints in a plural reason.
LISTED_DATAPOINTS = 5


@dataclass(frozen=True)
class AlarmConfig:
    """The PutMetricAlarm settings that decide an alarm's state."""

    period: int
    evaluation_periods: int
    threshold: float
    comparison_operator: str
    statistic: str | None = None
    extended_statistic: str | None = None
    datapoints_to_alarm: int | None = None  # None: not set (then M = N, and the older wording)
    treat_missing_data: str | None = None  # None: not set, behaves as "missing"
    unit: str | None = None

    def __post_init__(self) -> None:
        if (self.statistic is None) == (self.extended_statistic is None):
            raise ValueError("set exactly one of statistic and extended_statistic")
        if self.statistic is not None and self.statistic not in STATISTICS:
            raise ValueError(f"unknown statistic {self.statistic!r}")
        if self.extended_statistic is not None and not PERCENTILE.fullmatch(self.extended_statistic):
            raise ValueError(f"unsupported extended statistic {self.extended_statistic!r}")
        if self.comparison_operator not in COMPARISONS:
            raise ValueError(f"unsupported comparison operator {self.comparison_operator!r}")
        if self.treat_missing_data not in (None, MISSING, IGNORE, BREACHING, NOT_BREACHING):
            raise ValueError(f"unknown TreatMissingData {self.treat_missing_data!r}")
        if self.period not in (10, 20, 30) and (self.period <= 0 or self.period % 60):
            raise ValueError("period must be 10, 20, 30 or a multiple of 60 seconds")
        if not 1 <= self.datapoints_to_alarm_or_default <= self.evaluation_periods:
            raise ValueError("need 1 <= DatapointsToAlarm <= EvaluationPeriods")

    @property
    def datapoints_to_alarm_or_default(self) -> int:
        return self.evaluation_periods if self.datapoints_to_alarm is None else self.datapoints_to_alarm

    @property
    def missing_data(self) -> str:
        return self.treat_missing_data or MISSING

    @property
    def statistic_name(self) -> str:
        return self.statistic or self.extended_statistic  # type: ignore[return-value]

    def breaches(self, value: float) -> bool:
        compare, _ = COMPARISONS[self.comparison_operator]
        return compare(value, self.threshold)


@dataclass(frozen=True)
class MetricSample:
    """One published value; `count` is how many times it occurred (PutMetricData's Counts)."""

    timestamp: datetime
    value: float
    count: float = 1.0


@dataclass(frozen=True)
class PeriodStatistics:
    """The statistics of one period's samples."""

    timestamp: datetime  # start of the period
    sample_count: float
    sum: float
    minimum: float
    maximum: float
    weighted_values: tuple[tuple[float, float], ...]  # sorted (value, count) pairs, for percentiles

    def statistic(self, name: str) -> float:
        simple = {
            "SampleCount": self.sample_count,
            "Average": self.sum / self.sample_count,
            "Sum": self.sum,
            "Minimum": self.minimum,
            "Maximum": self.maximum,
        }
        if name in simple:
            return simple[name]
        return self._percentile(float(name[1:]))

    def _percentile(self, percent: float) -> float:
        # Nearest rank over the weighted samples. AWS does not publish its percentile method.
        rank = max(1.0, math.ceil(percent / 100 * self.sample_count))
        seen = 0.0
        for value, count in self.weighted_values:
            seen += count
            if seen >= rank:
                return value
        return self.maximum


def aggregate(
    samples: Iterable[MetricSample], period: int, start: datetime, end: datetime
) -> dict[datetime, PeriodStatistics]:
    """Per-period statistics of the samples in [start, end), keyed by period start.

    Periods are laid out from `start`; periods without samples are absent (missing data).
    """
    start, end = as_utc(start), as_utc(end)
    by_period: dict[datetime, list[MetricSample]] = defaultdict(list)
    for sample in samples:
        timestamp = as_utc(sample.timestamp)
        if start <= timestamp < end and sample.count > 0:
            offset = (timestamp - start) // timedelta(seconds=period)
            by_period[start + timedelta(seconds=period * offset)].append(sample)
    return {period_start: _statistics(period_start, members) for period_start, members in sorted(by_period.items())}


def _statistics(period_start: datetime, samples: list[MetricSample]) -> PeriodStatistics:
    weights: dict[float, float] = defaultdict(float)
    for sample in samples:
        weights[float(sample.value)] += sample.count
    return PeriodStatistics(
        timestamp=period_start,
        sample_count=sum(weights.values()),
        sum=sum(value * count for value, count in weights.items()),
        minimum=min(weights),
        maximum=max(weights),
        weighted_values=tuple(sorted(weights.items())),
    )


@dataclass(frozen=True)
class Datapoint:
    """One period of the evaluation range."""

    timestamp: datetime  # start of the period
    value: float | None  # the alarm's statistic; None when no data arrived
    sample_count: float | None
    breaching: bool | None  # None for a missing period that was not filled
    filled: bool = False  # a missing period treated as breaching / not breaching

    @property
    def real(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one evaluation.

    `retained` means TreatMissingData=ignore kept `current_state`; then there is no new reason.
    A caller updates the alarm (and runs actions) only when `state` differs from the current one.
    """

    state: str
    reason: str | None
    reason_data: str | None
    retained: bool
    range: tuple[Datapoint, ...]  # the whole evaluation range, oldest first
    evaluated: tuple[Datapoint, ...]  # the N datapoints that decided, oldest first


def evaluation_range(alarm: AlarmConfig, now: datetime) -> list[datetime]:
    """Start times of the periods CloudWatch looks at when evaluating at `now`, oldest first."""
    resolution = 60 if alarm.period >= 60 else 10
    now = as_utc(now)
    end = now - timedelta(seconds=now.timestamp() % resolution)
    size = alarm.evaluation_periods + max(alarm.evaluation_periods // 3, 2)
    return [end - timedelta(seconds=alarm.period * (size - index)) for index in range(size)]


def evaluate(alarm: AlarmConfig, samples: Iterable[MetricSample], now: datetime, current_state: str) -> Evaluation:
    """Evaluate the alarm at `now` over the metric's samples (already filtered to its metric)."""
    now = as_utc(now)
    starts = evaluation_range(alarm, now)
    statistics = aggregate(samples, alarm.period, starts[0], starts[-1] + timedelta(seconds=alarm.period))
    datapoints = tuple(_datapoint(alarm, start, statistics.get(start)) for start in starts)
    real = [point for point in datapoints if point.real]
    needed = alarm.evaluation_periods
    outcome = _Outcome(alarm, datapoints, now, current_state)

    if len(real) >= needed:
        return outcome.decide(tuple(real[-needed:]))
    if alarm.missing_data in FILL_NAMES:
        return outcome.decide(_with_gaps(datapoints, real, needed, fill=alarm.missing_data == BREACHING))
    evaluated = _with_gaps(datapoints, real, needed, fill=None)
    if not real:
        return outcome.retain(evaluated) if alarm.missing_data == IGNORE else outcome.insufficient(evaluated)
    if _premature_alarm(datapoints, needed, alarm.datapoints_to_alarm_or_default):
        return outcome.retain(evaluated) if alarm.missing_data == IGNORE else outcome.conclude(ALARM, evaluated)
    return outcome.decide(evaluated)


def _datapoint(alarm: AlarmConfig, start: datetime, statistics: PeriodStatistics | None) -> Datapoint:
    if statistics is None:
        return Datapoint(start, None, None, None)
    value = statistics.statistic(alarm.statistic_name)
    return Datapoint(start, value, statistics.sample_count, alarm.breaches(value))


def _with_gaps(
    datapoints: tuple[Datapoint, ...], real: list[Datapoint], needed: int, fill: bool | None
) -> tuple[Datapoint, ...]:
    """All real datapoints plus the newest missing periods, N in all; `fill` is what the gaps count as."""
    missing = [point for point in datapoints if not point.real]
    gaps = missing[len(missing) - (needed - len(real)):]
    filled = [Datapoint(point.timestamp, None, None, fill, filled=fill is not None) for point in gaps]
    return tuple(sorted(real + filled, key=lambda point: point.timestamp))


def _premature_alarm(datapoints: tuple[Datapoint, ...], needed: int, datapoints_to_alarm: int) -> bool:
    """AWS: the oldest breaching datapoint of the evaluation periods is at least M old, and every
    more recent one is breaching or missing. Older non-breaching data in the range also prevents it."""
    real_indexes = [index for index, point in enumerate(datapoints) if point.real]
    age = len(datapoints) - real_indexes[0]  # periods from the oldest real datapoint to now, inclusive
    return datapoints_to_alarm <= age <= needed and all(datapoints[index].breaching for index in real_indexes)


@dataclass(frozen=True)
class _Outcome:
    """Builds the Evaluation, with AWS's StateReason and StateReasonData, for one evaluation."""

    alarm: AlarmConfig
    datapoints: tuple[Datapoint, ...]
    now: datetime
    current_state: str

    def decide(self, evaluated: tuple[Datapoint, ...]) -> Evaluation:
        breaching = sum(1 for point in evaluated if point.breaching)
        return self.conclude(ALARM if breaching >= self.alarm.datapoints_to_alarm_or_default else OK, evaluated)

    def conclude(self, state: str, evaluated: tuple[Datapoint, ...]) -> Evaluation:
        if any(point.filled for point in evaluated):
            reason = _fill_reason(self.alarm, evaluated)
        else:
            reason = _threshold_reason(self.alarm, evaluated, state)
        return self._evaluation(state, reason, evaluated)

    def insufficient(self, evaluated: tuple[Datapoint, ...]) -> Evaluation:
        count = len(evaluated)
        reason = f"Insufficient Data: {_count(count, 'datapoint')} {_was(count)} unknown."
        return self._evaluation(INSUFFICIENT_DATA, reason, evaluated)

    def retain(self, evaluated: tuple[Datapoint, ...]) -> Evaluation:
        return Evaluation(self.current_state, None, None, True, self.datapoints, evaluated)

    def _evaluation(self, state: str, reason: str, evaluated: tuple[Datapoint, ...]) -> Evaluation:
        reason_data = aws_json(_reason_data(self.alarm, evaluated, self.now))
        return Evaluation(state, reason, reason_data, False, self.datapoints, evaluated)


def _threshold_reason(alarm: AlarmConfig, evaluated: tuple[Datapoint, ...], state: str) -> str:
    """`Threshold Crossed: ...` naming the datapoints that put the alarm in `state`."""
    to_alarm = state == ALARM
    crossing = [point for point in reversed(evaluated) if point.real and point.breaching == to_alarm]
    _, operator_words = COMPARISONS[alarm.comparison_operator]
    comparison = f"{'' if to_alarm else 'not '}{operator_words} the threshold ({java_double(alarm.threshold)})"
    listed = ", ".join(
        f"{java_double(point.value)} ({reason_timestamp(point.timestamp)})"  # type: ignore[arg-type]
        for point in crossing[:LISTED_DATAPOINTS]
    )

    if alarm.datapoints_to_alarm is None:
        subject, suffix = "", "."
    else:
        datapoints_to_alarm = alarm.datapoints_to_alarm
        minimum = datapoints_to_alarm if to_alarm else alarm.evaluation_periods - datapoints_to_alarm + 1
        transition = "OK -> ALARM" if to_alarm else "ALARM -> OK"
        subject = f" out of the last {alarm.evaluation_periods} datapoints"
        suffix = f" (minimum {_count(minimum, 'datapoint')} for {transition} transition)."

    if not crossing:
        return f"Threshold Crossed: no datapoints were {comparison}{suffix}"
    if len(crossing) == 1:
        noun = subject or " datapoint"
        return f"Threshold Crossed: 1{noun} [{listed}] was {comparison}{suffix}"
    noun = subject or " datapoints"
    return (
        f"Threshold Crossed: {len(crossing)}{noun} were {comparison}. "
        f"The most recent datapoints which crossed the threshold: [{listed}]{suffix}"
    )


def _fill_reason(alarm: AlarmConfig, evaluated: tuple[Datapoint, ...]) -> str:
    """`Threshold Crossed: ... missing datapoints were treated as [Breaching].`"""
    received = sum(1 for point in evaluated if point.real)
    filled = len(evaluated) - received
    periods = _count(len(evaluated), "period")
    if received:
        got = f"{_count(received, 'datapoint')} {_was(received)} received"
    else:
        got = "no datapoints were received"
    treated = FILL_NAMES[alarm.missing_data]
    gaps = f"{_count(filled, 'missing datapoint')} {_was(filled)}"
    return f"Threshold Crossed: {got} for {periods} and {gaps} treated as [{treated}]."


def _reason_data(alarm: AlarmConfig, evaluated: tuple[Datapoint, ...], now: datetime) -> dict[str, object]:
    real = [point for point in evaluated if point.real]
    data: dict[str, object] = {"version": "1.0", "queryDate": aws_timestamp(now)}
    if real:
        data["startDate"] = aws_timestamp(real[0].timestamp)
    if alarm.unit:
        data["unit"] = alarm.unit
    data["statistic" if alarm.statistic else "extendedStatistic"] = alarm.statistic_name
    data["period"] = alarm.period
    data["recentDatapoints"] = [point.value for point in real]
    data["threshold"] = float(alarm.threshold)
    data["evaluatedDatapoints"] = [
        {"timestamp": aws_timestamp(point.timestamp), "sampleCount": point.sample_count, "value": point.value}
        if point.real
        else {"timestamp": aws_timestamp(point.timestamp)}
        for point in reversed(evaluated)
    ]
    return data


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _was(number: int) -> str:
    return "was" if number == 1 else "were"


def reason_timestamp(moment: datetime) -> str:
    """dd/MM/yy HH:mm:ss, the datapoint timestamp format inside a StateReason."""
    return f"{as_utc(moment):%d/%m/%y %H:%M:%S}"
