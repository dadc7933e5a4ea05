"""No single request can freeze or exhaust the local cloud: patterns match in linear time, projection
counts before it enumerates and obeys Athena's limit, a runaway query is bounded and can be stopped, and
health answers within a second while any of them runs."""

from __future__ import annotations

import os
import threading
import time

import boto3
import psutil
import pytest
from pyathena import connect
from pyathena.error import OperationalError

from labkit.localcloud.lifecycle import health

REDOS = "%a*a*a*a*c%"


@pytest.fixture
def logs(clients):
    return clients("logs")


def test_a_pattern_that_backtracking_engines_take_seconds_over_is_answered_at_once(logs):
    started = time.monotonic()
    answer = logs.test_metric_filter(filterPattern=REDOS, logEventMessages=["a" * 220, "aaac"])
    assert time.monotonic() - started < 1
    assert [m["eventNumber"] for m in answer["matches"]] == [2]


def test_the_same_pattern_as_a_metric_filter_does_not_slow_put_log_events(logs):
    logs.create_log_group(logGroupName="redos")
    logs.create_log_stream(logGroupName="redos", logStreamName="s")
    logs.put_metric_filter(logGroupName="redos", filterName="f", filterPattern=REDOS, metricTransformations=[
        {"metricName": "m", "metricNamespace": "redos", "metricValue": "1"}])
    started = time.monotonic()
    logs.put_log_events(logGroupName="redos", logStreamName="s", logEvents=[
        {"timestamp": int(time.time() * 1000), "message": "a" * 200_000} for _ in range(4)])
    assert time.monotonic() - started < 2


@pytest.fixture
def athena(local_env, clients):
    clients("s3").create_bucket(Bucket="bounded")
    cursor = connect(s3_staging_dir="s3://bounded/results/", region_name="us-east-1", poll_interval=0.05).cursor()
    cursor.execute("CREATE DATABASE IF NOT EXISTS bounded")
    return cursor


def _resident_mib() -> float:
    return psutil.Process(os.getpid()).memory_info().rss / 2**20


@pytest.mark.parametrize("values", [10**7, 10**8])
def test_a_projection_of_millions_of_partitions_fails_fast_with_athenas_error(athena, values):
    athena.execute(f"CREATE EXTERNAL TABLE IF NOT EXISTS bounded.wide{values} (a string) PARTITIONED BY (n int) "
                   f"LOCATION 's3://bounded/wide/' TBLPROPERTIES ('projection.enabled'='true', "
                   f"'projection.n.type'='integer', 'projection.n.range'='1,{values}')")
    before, started = _resident_mib(), time.monotonic()
    with pytest.raises(OperationalError, match=f"HIVE_EXCEEDED_PARTITION_LIMIT: Query over table 'bounded.wide{values}' "
                                               f"can potentially read more than 1000000 partitions"):
        athena.execute(f"SELECT count(*) FROM bounded.wide{values}")
    assert time.monotonic() - started < 2 and _resident_mib() - before < 50
    # narrowed by the query, the same table is read at once
    assert athena.execute(f"SELECT count(*) FROM bounded.wide{values} WHERE n BETWEEN 5 AND 50").fetchall() == [(0,)]


def test_a_recursion_stops_at_trinos_depth_limit(athena):
    assert athena.execute("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 10) "
                          "SELECT sum(n) FROM t").fetchall() == [(55,)]
    with pytest.raises(OperationalError, match=r"NOT_SUPPORTED: Recursion depth limit exceeded \(10\)"):
        athena.execute("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t")


RUNAWAY = "SELECT count(*) FROM UNNEST(sequence(1, 3000)) AS a(x) CROSS JOIN UNNEST(sequence(1, 3000)) AS b(y) " \
          "CROSS JOIN UNNEST(sequence(1, 3000)) AS c(z)"


def test_a_stopped_query_is_cancelled_and_frees_its_engine(local_env, athena):
    client = boto3.client("athena", region_name="us-east-1")
    execution = client.start_query_execution(QueryString=RUNAWAY, ResultConfiguration={
        "OutputLocation": "s3://bounded/results/"})["QueryExecutionId"]
    time.sleep(1)
    client.stop_query_execution(QueryExecutionId=execution)
    deadline = time.monotonic() + 10
    while client.get_query_execution(QueryExecutionId=execution)["QueryExecution"]["Status"]["State"] != "CANCELLED":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert athena.execute("SELECT 1 + 1").fetchall() == [(2,)]


def test_health_answers_within_a_second_while_abusive_requests_run(local_env, athena, logs):
    client = boto3.client("athena", region_name="us-east-1")
    abuse = [
        lambda: client.start_query_execution(QueryString=RUNAWAY, ResultConfiguration={
            "OutputLocation": "s3://bounded/results/"}),
        lambda: [logs.test_metric_filter(filterPattern=REDOS, logEventMessages=["a" * 5000] * 50) for _ in range(20)],
    ]
    threads = [threading.Thread(target=call, daemon=True) for call in abuse]
    for thread in threads:
        thread.start()
    worst = 0.0
    for _ in range(10):
        started = time.monotonic()
        assert health(local_env.endpoint, timeout=5) is not None
        worst = max(worst, time.monotonic() - started)
        time.sleep(0.2)
    for execution in client.list_query_executions()["QueryExecutionIds"]:
        client.stop_query_execution(QueryExecutionId=execution)
    assert worst < 1
