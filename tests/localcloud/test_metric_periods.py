"""CloudWatch's metric periods: StartTime rounded down as AWS documents it, and every period
stamped with its start (GetMetricStatistics and GetMetricData through boto3)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from labkit.localcloud.cloudwatch.metric_periods import rounded_start_time

NOW = datetime.now(timezone.utc)


@pytest.mark.parametrize("days_ago, period, expected", [
    (1, 60, "12:32:00"), (1, 300, "12:32:00"),  # under 15 days: the whole minute, whatever the period
    (20, 60, "12:30:00"),                        # 15 to 63 days: 5 minutes
    (70, 60, "12:00:00"),                        # beyond 63 days: the hour
    (0, 10, "12:32:30"), (0, 5, "12:32:30"),     # high resolution: multiples of the period
])
def test_start_time_is_rounded_as_aws_documents_it(days_ago, period, expected):
    day = (NOW - timedelta(days=days_ago)).date()
    start = datetime.combine(day, datetime.strptime("12:32:34", "%H:%M:%S").time(), timezone.utc)
    if start > NOW:
        start -= timedelta(days=1)
    assert rounded_start_time(start, period).strftime("%H:%M:%S") == expected


def test_datapoints_are_stamped_with_their_period_start(clients):
    cloudwatch = clients("cloudwatch")
    minute = NOW.replace(second=0, microsecond=0) - timedelta(minutes=5)
    for offset in (10, 50, 70, 130):  # two in the first minute, one in each of the next two
        cloudwatch.put_metric_data(Namespace="Lab/Periods", MetricData=[
            {"MetricName": "Hits", "Value": 1, "Timestamp": minute + timedelta(seconds=offset)}])
    start = minute - timedelta(seconds=26)  # not on a minute: CloudWatch rounds it down

    statistics = cloudwatch.get_metric_statistics(Namespace="Lab/Periods", MetricName="Hits", StartTime=start,
                                                  EndTime=NOW, Period=60, Statistics=["Sum"])["Datapoints"]
    assert sorted((d["Timestamp"], d["Sum"]) for d in statistics) == [
        (minute, 2.0), (minute + timedelta(minutes=1), 1.0), (minute + timedelta(minutes=2), 1.0)]

    data = cloudwatch.get_metric_data(StartTime=start, EndTime=NOW, ScanBy="TimestampAscending", MetricDataQueries=[
        {"Id": "hits", "MetricStat": {"Metric": {"Namespace": "Lab/Periods", "MetricName": "Hits"},
                                      "Period": 300, "Stat": "Sum"}}])["MetricDataResults"][0]
    assert (data["Timestamps"], data["Values"]) == ([start.replace(second=0)], [4.0])  # one 5-minute period
