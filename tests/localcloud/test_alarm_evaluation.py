"""CloudWatch alarm evaluation against AWS's documented truth tables and captured reason strings."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from labkit.localcloud.cloudwatch.alarm_evaluation import (
    ALARM,
    INITIAL_STATE,
    INITIAL_STATE_REASON,
    INSUFFICIENT_DATA,
    OK,
    AlarmConfig,
    MetricSample,
    aggregate,
    aws_json,
    evaluate,
    evaluation_range,
    java_double,
)

T0 = datetime(2021, 9, 15, 18, 0, tzinfo=timezone.utc)
# Evaluating here, the 5-period range of an N = 3, 60 s alarm is 18:00 ... 18:04.
AFTER_RANGE = T0 + timedelta(minutes=5, seconds=20)
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")
RETAIN = "retain"


def config(**overrides) -> AlarmConfig:
    settings = dict(
        period=60,
        evaluation_periods=3,
        datapoints_to_alarm=3,
        threshold=1.0,
        comparison_operator="GreaterThanThreshold",
        statistic="Maximum",
    )
    settings.update(overrides)
    return AlarmConfig(**settings)


def samples_for(pattern: str) -> list[MetricSample]:
    """`0 - X - -`: one minute each, oldest first; 0 within the threshold, X breaching, - missing."""
    values = {"0": 0.0, "X": 2.0}
    return [MetricSample(T0 + timedelta(minutes=i), values[c]) for i, c in enumerate(pattern.split()) if c != "-"]


def outcome(pattern: str, datapoints_to_alarm: int, treat_missing_data: str) -> str:
    alarm = config(datapoints_to_alarm=datapoints_to_alarm, treat_missing_data=treat_missing_data)
    result = evaluate(alarm, samples_for(pattern), AFTER_RANGE, current_state=OK)
    return RETAIN if result.retained else result.state


# docs/aws-behaviour.md, "Truth tables", from AWS's "Configuring how CloudWatch alarms treat missing data".
TABLE_N3_M3 = [
    ("0 - X - X", (OK, OK, OK, OK)),
    ("0 - - - -", (OK, OK, OK, OK)),
    ("- - - - -", (INSUFFICIENT_DATA, RETAIN, ALARM, OK)),
    ("0 X X - X", (ALARM, ALARM, ALARM, ALARM)),
    ("- - X - -", (ALARM, RETAIN, ALARM, OK)),
]
TABLE_N3_M2 = [
    ("0 - X - X", (ALARM, ALARM, ALARM, ALARM)),
    ("0 0 X 0 X", (ALARM, ALARM, ALARM, ALARM)),
    ("0 - X - -", (OK, OK, ALARM, OK)),
    ("- - - - 0", (OK, OK, ALARM, OK)),
    ("- - - X -", (ALARM, RETAIN, ALARM, OK)),
]


@pytest.mark.parametrize("treatment_index, treatment", list(enumerate(TREATMENTS)))
@pytest.mark.parametrize("pattern, expected", TABLE_N3_M3)
def test_truth_table_three_of_three(pattern, expected, treatment_index, treatment):
    assert outcome(pattern, 3, treatment) == expected[treatment_index]


@pytest.mark.parametrize("treatment_index, treatment", list(enumerate(TREATMENTS)))
@pytest.mark.parametrize("pattern, expected", TABLE_N3_M2)
def test_truth_table_two_of_three(pattern, expected, treatment_index, treatment):
    assert outcome(pattern, 2, treatment) == expected[treatment_index]


@pytest.mark.parametrize("pattern", ["- - - - X", "- - - X -"])
def test_too_recent_breach_is_not_a_premature_alarm_for_three_of_three(pattern):
    assert outcome(pattern, 3, "missing") == OK


def test_unset_treat_missing_data_behaves_as_missing():
    for pattern, expected in TABLE_N3_M3:
        assert outcome(pattern, 3, None) == expected[0]


def test_ignore_keeps_the_current_state_whatever_it_is():
    alarm = config(treat_missing_data="ignore")
    for state in (OK, ALARM, INSUFFICIENT_DATA):
        result = evaluate(alarm, [], AFTER_RANGE, current_state=state)
        assert (result.state, result.retained, result.reason, result.reason_data) == (state, True, None, None)


def test_newest_real_datapoints_decide_and_breaching_flags_are_reported():
    result = evaluate(config(treat_missing_data="breaching"), samples_for("0 X X - X"), AFTER_RANGE, OK)
    assert [point.value for point in result.range] == [0.0, 2.0, 2.0, None, 2.0]
    assert [point.breaching for point in result.range] == [False, True, True, None, True]
    assert [point.timestamp.minute for point in result.evaluated] == [1, 2, 4]


# Reason strings: wording captured from real alarms (docs/aws-behaviour.md, "Reason wording", and SNS payloads).


def test_alarm_reason_names_the_breaching_datapoint():
    alarm = config(evaluation_periods=1, datapoints_to_alarm=1, statistic="Sum")
    result = evaluate(alarm, [MetricSample(datetime(2021, 9, 15, 18, 27, 40, tzinfo=timezone.utc), 2.0)],
                      datetime(2021, 9, 15, 18, 28, 31, tzinfo=timezone.utc), OK)
    assert result.state == ALARM
    assert result.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [2.0 (15/09/21 18:27:00)] was greater than the threshold (1.0) "
        "(minimum 1 datapoint for OK -> ALARM transition)."
    )


def test_ok_reason_counts_the_datapoints_that_no_longer_breach():
    result = evaluate(config(datapoints_to_alarm=2), samples_for("X X X X 0"), AFTER_RANGE, ALARM)
    assert result.state == ALARM  # two of the newest three still breach
    result = evaluate(config(datapoints_to_alarm=2), samples_for("X X X 0 0"), AFTER_RANGE, ALARM)
    assert result.state == OK
    assert result.reason == (
        "Threshold Crossed: 2 out of the last 3 datapoints were not greater than the threshold (1.0). "
        "The most recent datapoints which crossed the threshold: [0.0 (15/09/21 18:04:00), 0.0 (15/09/21 18:03:00)] "
        "(minimum 2 datapoints for ALARM -> OK transition)."
    )


def test_plural_alarm_reason_lists_newest_first():
    result = evaluate(config(), samples_for("0 X X X X"), AFTER_RANGE, OK)
    assert result.reason == (
        "Threshold Crossed: 3 out of the last 3 datapoints were greater than the threshold (1.0). "
        "The most recent datapoints which crossed the threshold: "
        "[2.0 (15/09/21 18:04:00), 2.0 (15/09/21 18:03:00), 2.0 (15/09/21 18:02:00)] "
        "(minimum 3 datapoints for OK -> ALARM transition)."
    )


def test_without_datapoints_to_alarm_aws_uses_the_older_wording():
    single = config(evaluation_periods=1, datapoints_to_alarm=None)
    result = evaluate(single, samples_for("- - - - X"), AFTER_RANGE, OK)
    assert result.reason == "Threshold Crossed: 1 datapoint [2.0 (15/09/21 18:04:00)] was greater than the threshold (1.0)."
    result = evaluate(single, samples_for("- - - - 0"), AFTER_RANGE, ALARM)
    assert result.reason == "Threshold Crossed: 1 datapoint [0.0 (15/09/21 18:04:00)] was not greater than the threshold (1.0)."


def test_older_wording_lists_at_most_five_datapoints():
    alarm = config(evaluation_periods=6, datapoints_to_alarm=None)
    samples = [MetricSample(T0 + timedelta(minutes=i), float(10 + i)) for i in range(8)]
    result = evaluate(alarm, samples, T0 + timedelta(minutes=8, seconds=5), OK)
    assert result.reason == (
        "Threshold Crossed: 6 datapoints were greater than the threshold (1.0). "
        "The most recent datapoints which crossed the threshold: [17.0 (15/09/21 18:07:00), 16.0 (15/09/21 18:06:00), "
        "15.0 (15/09/21 18:05:00), 14.0 (15/09/21 18:04:00), 13.0 (15/09/21 18:03:00)]."
    )


def test_all_missing_reasons_per_treatment():
    wording = {
        "missing": "Insufficient Data: 3 datapoints were unknown.",
        "breaching": "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were treated as [Breaching].",
        "notBreaching": "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were treated as [NonBreaching].",
    }
    for treatment, reason in wording.items():
        assert evaluate(config(treat_missing_data=treatment), [], AFTER_RANGE, OK).reason == reason


def test_partly_filled_reason_counts_received_and_filled_datapoints():
    alarm = config(datapoints_to_alarm=2, treat_missing_data="breaching")
    result = evaluate(alarm, samples_for("- - - - 0"), AFTER_RANGE, OK)
    assert result.state == ALARM
    assert result.reason == (
        "Threshold Crossed: 1 datapoint was received for 3 periods and 2 missing datapoints were treated as [Breaching]."
    )
    assert [(point.timestamp.minute, point.filled) for point in result.evaluated] == [(2, True), (3, True), (4, False)]


def test_premature_alarm_reason_names_the_breaching_datapoint():
    result = evaluate(config(), samples_for("- - X - -"), AFTER_RANGE, OK)
    assert result.reason == (
        "Threshold Crossed: 1 out of the last 3 datapoints [2.0 (15/09/21 18:02:00)] was greater than the threshold (1.0) "
        "(minimum 3 datapoints for OK -> ALARM transition)."
    )


# M out of N, operators, statistics.


def test_m_out_of_n_need_not_be_consecutive():
    alarm = config(evaluation_periods=5, datapoints_to_alarm=2)
    samples = [MetricSample(T0 + timedelta(minutes=i), v) for i, v in enumerate([0, 0, 2, 0, 0, 0, 2])]
    at = T0 + timedelta(minutes=7, seconds=1)  # range of 7 periods: 18:00 ... 18:06
    assert evaluate(alarm, samples, at, OK).state == ALARM
    assert evaluate(alarm, samples[:-1], at, ALARM).state == OK


@pytest.mark.parametrize(
    "operator, value, breaching, words",
    [
        ("GreaterThanOrEqualToThreshold", 5.0, True, "was greater than or equal to"),
        ("GreaterThanOrEqualToThreshold", 4.0, False, "was not greater than or equal to"),
        ("GreaterThanThreshold", 5.0, False, "was not greater than"),
        ("GreaterThanThreshold", 6.0, True, "was greater than"),
        ("LessThanThreshold", 4.0, True, "was less than"),
        ("LessThanThreshold", 5.0, False, "was not less than"),
        ("LessThanOrEqualToThreshold", 5.0, True, "was less than or equal to"),
        ("LessThanOrEqualToThreshold", 6.0, False, "was not less than or equal to"),
    ],
)
def test_comparison_operators(operator, value, breaching, words):
    alarm = config(evaluation_periods=1, datapoints_to_alarm=1, threshold=5.0, comparison_operator=operator)
    result = evaluate(alarm, [MetricSample(T0 + timedelta(minutes=4), value)], AFTER_RANGE, OK)
    assert result.state == (ALARM if breaching else OK)
    assert result.reason == (
        f"Threshold Crossed: 1 out of the last 1 datapoints [{value} (15/09/21 18:04:00)] {words} the threshold (5.0) "
        f"(minimum 1 datapoint for {'OK -> ALARM' if breaching else 'ALARM -> OK'} transition)."
    )


PERIOD_SAMPLES = [
    MetricSample(T0 + timedelta(seconds=5), 1.0),
    MetricSample(T0 + timedelta(seconds=20), 2.0, count=2),
    MetricSample(T0 + timedelta(seconds=59), 10.0),
    MetricSample(T0 + timedelta(seconds=60), 99.0),  # next period
]


@pytest.mark.parametrize(
    "statistic, expected",
    [("SampleCount", 4.0), ("Sum", 15.0), ("Average", 3.75), ("Minimum", 1.0), ("Maximum", 10.0),
     ("p50", 2.0), ("p75", 2.0), ("p90", 10.0), ("p99.9", 10.0), ("p25", 1.0)],
)
def test_statistics_of_a_period(statistic, expected):
    periods = aggregate(PERIOD_SAMPLES, 60, T0, T0 + timedelta(minutes=2))
    assert periods[T0].statistic(statistic) == expected
    assert periods[T0 + timedelta(minutes=1)].sample_count == 1.0


@pytest.mark.parametrize("statistic", ["SampleCount", "Sum", "Average", "Minimum", "Maximum", "p90"])
def test_alarm_evaluates_its_statistic(statistic):
    kind = "statistic" if statistic[0] != "p" else "extended_statistic"
    alarm = config(evaluation_periods=1, datapoints_to_alarm=1, **{"statistic": None, kind: statistic})
    result = evaluate(alarm, PERIOD_SAMPLES[:3], T0 + timedelta(minutes=1, seconds=30), OK)
    expected = aggregate(PERIOD_SAMPLES, 60, T0, T0 + timedelta(minutes=1))[T0].statistic(statistic)
    assert result.evaluated[0].value == expected
    assert result.evaluated[0].sample_count == 4.0
    assert json.loads(result.reason_data)["statistic" if kind == "statistic" else "extendedStatistic"] == statistic


def test_config_rejects_impossible_settings():
    with pytest.raises(ValueError):
        config(statistic=None)
    with pytest.raises(ValueError):
        config(comparison_operator="LessThanLowerThreshold")
    with pytest.raises(ValueError):
        config(period=90)
    with pytest.raises(ValueError):
        config(datapoints_to_alarm=4)


# Windows.


def test_evaluation_range_is_five_periods_for_three_and_slides_by_the_minute():
    starts = evaluation_range(config(period=300), datetime(2021, 9, 15, 18, 33, 45, tzinfo=timezone.utc))
    assert [f"{s:%H:%M}" for s in starts] == ["18:08", "18:13", "18:18", "18:23", "18:28"]
    assert len(evaluation_range(config(evaluation_periods=1, datapoints_to_alarm=1), T0)) == 3
    assert len(evaluation_range(config(evaluation_periods=9, datapoints_to_alarm=1), T0)) == 12


def test_high_resolution_periods_align_to_ten_seconds():
    starts = evaluation_range(config(period=10), datetime(2021, 9, 15, 18, 0, 37, tzinfo=timezone.utc))
    assert [f"{s:%M:%S}" for s in starts] == ["59:40", "59:50", "00:00", "00:10", "00:20"]


def test_samples_in_the_current_partial_minute_wait_for_the_next_evaluation():
    alarm = config(evaluation_periods=1, datapoints_to_alarm=1, treat_missing_data="notBreaching")
    sample = [MetricSample(T0 + timedelta(minutes=5, seconds=10), 5.0)]
    assert evaluate(alarm, sample, AFTER_RANGE, OK).state == OK
    assert evaluate(alarm, sample, AFTER_RANGE + timedelta(minutes=1), OK).state == ALARM


# Lifecycle of the lab's alarms.


def test_new_alarm_starts_unchecked():
    assert (INITIAL_STATE, INITIAL_STATE_REASON) == (INSUFFICIENT_DATA, "Unchecked: Initial alarm creation")


def test_metric_that_never_reports_leaves_the_alarm_without_data():
    alarm = config(evaluation_periods=1, datapoints_to_alarm=1, statistic="Sum", unit="Count")
    now = datetime(2024, 10, 26, 18, 38, 52, 499000, tzinfo=timezone.utc)
    result = evaluate(alarm, [], now, INITIAL_STATE)
    assert result.state == INSUFFICIENT_DATA
    assert result.reason == "Insufficient Data: 1 datapoint was unknown."
    assert result.reason_data == (
        '{"version":"1.0","queryDate":"2024-10-26T18:38:52.499+0000","unit":"Count","statistic":"Sum","period":60,'
        '"recentDatapoints":[],"threshold":1.0,"evaluatedDatapoints":[{"timestamp":"2024-10-26T18:37:00.000+0000"}]}'
    )


SSH_REJECTS = AlarmConfig(  # the walkthrough's alarm
    period=60,
    evaluation_periods=1,
    datapoints_to_alarm=1,
    threshold=1.0,
    comparison_operator="GreaterThanOrEqualToThreshold",
    statistic="Sum",
    treat_missing_data="notBreaching",
)


def test_walkthrough_alarm_lifecycle():
    rejects = [MetricSample(datetime(2021, 9, 15, 18, 27, s, tzinfo=timezone.utc), 1.0) for s in (3, 41)]

    quiet = evaluate(SSH_REJECTS, [], datetime(2021, 9, 15, 18, 20, 5, tzinfo=timezone.utc), INITIAL_STATE)
    assert (quiet.state, quiet.reason) == (
        OK,
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching].",
    )

    fired = evaluate(SSH_REJECTS, rejects, datetime(2021, 9, 15, 18, 28, 31, 250000, tzinfo=timezone.utc), OK)
    assert fired.state == ALARM
    assert fired.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [2.0 (15/09/21 18:27:00)] was greater than or equal to "
        "the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )
    assert fired.reason_data == (
        '{"version":"1.0","queryDate":"2021-09-15T18:28:31.250+0000","startDate":"2021-09-15T18:27:00.000+0000",'
        '"statistic":"Sum","period":60,"recentDatapoints":[2.0],"threshold":1.0,'
        '"evaluatedDatapoints":[{"timestamp":"2021-09-15T18:27:00.000+0000","sampleCount":2.0,"value":2.0}]}'
    )

    # The last datapoint keeps deciding while it is in the 3-period range...
    lingering = evaluate(SSH_REJECTS, rejects, datetime(2021, 9, 15, 18, 30, 1, tzinfo=timezone.utc), ALARM)
    assert lingering.state == ALARM
    # ...then the missing minute counts as not breaching.
    cleared = evaluate(SSH_REJECTS, rejects, datetime(2021, 9, 15, 18, 31, 1, tzinfo=timezone.utc), ALARM)
    assert (cleared.state, cleared.reason) == (OK, quiet.reason)


def test_documented_hourly_variant_fires_minutes_after_the_tenth_reject():
    hourly = AlarmConfig(
        period=3600, evaluation_periods=1, datapoints_to_alarm=1, threshold=10.0,
        comparison_operator="GreaterThanOrEqualToThreshold", statistic="Sum", treat_missing_data="notBreaching",
    )
    rejects = [MetricSample(T0 + timedelta(minutes=5 * i, seconds=30), 1.0) for i in range(10)]  # 18:00:30 ... 18:45:30
    before = evaluate(hourly, rejects[:9], T0 + timedelta(minutes=46, seconds=10), OK)
    assert before.state == OK
    assert before.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [9.0 (15/09/21 17:46:00)] was not greater than or equal to "
        "the threshold (10.0) (minimum 1 datapoint for ALARM -> OK transition)."
    )
    fired = evaluate(hourly, rejects, T0 + timedelta(minutes=46, seconds=10), OK)
    assert fired.state == ALARM
    assert fired.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [10.0 (15/09/21 17:46:00)] was greater than or equal to "
        "the threshold (10.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )


# Number and JSON formatting (AWS prints Java doubles).


@pytest.mark.parametrize(
    "value, text",
    [(2.0, "2.0"), (0.0, "0.0"), (1.0166666666666666, "1.0166666666666666"), (400000.0, "400000.0"),
     (1e7, "1.0E7"), (12345678.0, "1.2345678E7"), (0.00015, "1.5E-4"), (-2.5, "-2.5"), (3, "3.0")],
)
def test_java_double(value, text):
    assert java_double(value) == text


def test_aws_json_is_compact_with_java_doubles():
    assert aws_json({"a": [1.0, 1e7], "b": None, "c": "é", "d": 60}) == '{"a":[1.0,1.0E7],"b":null,"c":"é","d":60}'


@pytest.mark.parametrize("late_minutes, fires", [(1, True), (5, True), (6, True), (7, False)])
def test_the_walkthroughs_alarm_holds_cloudwatch_logs_delivery_delay(late_minutes, fires):
    """docs/aws-behaviour.md, "AWS's timings": Part 3's alarm (Sum, 60 s, 1 of 5, notBreaching), OK
    before the test, sees the breaching minute 18:00 at the first evaluation after its datapoint came
    in about 5 minutes late (CloudWatch Logs' delay); a delivery later than its range is missed."""
    alarm = config(evaluation_periods=5, datapoints_to_alarm=1, threshold=1.0, statistic="Sum",
                   comparison_operator="GreaterThanOrEqualToThreshold", treat_missing_data="notBreaching")
    first_look = T0 + timedelta(minutes=1 + late_minutes, seconds=5)  # the minute ended, the datapoint arrived
    result = evaluate(alarm, [MetricSample(T0 + timedelta(seconds=20), 3.0)], first_look, current_state=OK)
    assert (result.state == ALARM) is fires
