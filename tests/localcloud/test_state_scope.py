"""The local cloud's own state is scoped as moto scopes its backends: each account and region sees only
its own, and moto's reset (/moto-api/reset) clears it with moto's."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core.base_backend import BackendDict

from labkit.localcloud.flowlogs.delivery import FlowLogDelivery, delivery_states

from ..clouds import reset

OTHER_ACCOUNT = "210987654321"


def _reset(cloud) -> None:
    reset(cloud)


def _client(cloud, service: str, region: str = "us-east-1", account: str | None = None):
    client = boto3.client(service, endpoint_url=cloud.endpoint, region_name=region,
                          aws_access_key_id=cloud.credentials.access_key_id,
                          aws_secret_access_key=cloud.credentials.secret_access_key)
    if account:
        client.meta.events.register("before-sign.*.*", lambda request, **_: request.headers.add_header(
            "x-moto-account-id", account))
    return client


def _start_query(logs, group: str = "scope-test") -> str:
    logs.create_log_group(logGroupName=group)
    now = int(time.time())
    return logs.start_query(logGroupName=group, startTime=now - 3600, endTime=now, queryString="fields @message")["queryId"]


def _alarm(cloudwatch) -> None:
    cloudwatch.put_metric_alarm(AlarmName="scope", Namespace="Scope", MetricName="M", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold")


def test_reset_clears_the_alarm_history_with_the_alarms(local_cloud):
    cloudwatch = _client(local_cloud, "cloudwatch")
    _alarm(cloudwatch)
    assert cloudwatch.describe_alarm_history(AlarmName="scope")["AlarmHistoryItems"]
    _reset(local_cloud)
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
    assert cloudwatch.describe_alarm_history(AlarmName="scope")["AlarmHistoryItems"] == []


def test_alarm_history_is_per_region_and_account(local_cloud):
    _reset(local_cloud)
    _alarm(_client(local_cloud, "cloudwatch", "eu-west-1"))
    assert _client(local_cloud, "cloudwatch", "eu-west-1").describe_alarm_history(AlarmName="scope")["AlarmHistoryItems"]
    for other in (_client(local_cloud, "cloudwatch"), _client(local_cloud, "cloudwatch", "eu-west-1", OTHER_ACCOUNT)):
        assert other.describe_alarm_history(AlarmName="scope")["AlarmHistoryItems"] == []


def test_insights_queries_are_per_region_and_account(local_cloud):
    _reset(local_cloud)
    query_id = _start_query(_client(local_cloud, "logs", "eu-west-1"))
    assert [q["queryId"] for q in _client(local_cloud, "logs", "eu-west-1").describe_queries()["queries"]] == [query_id]
    for other in (_client(local_cloud, "logs"), _client(local_cloud, "logs", "eu-west-1", OTHER_ACCOUNT)):
        assert other.describe_queries()["queries"] == []
        with pytest.raises(ClientError, match="ResourceNotFoundException"):
            other.get_query_results(queryId=query_id)


def test_reset_clears_insights_queries(local_cloud):
    logs = _client(local_cloud, "logs")
    query_id = _start_query(logs)
    _reset(local_cloud)
    assert logs.describe_queries()["queries"] == []
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        logs.get_query_results(queryId=query_id)


def test_reset_clears_athena_executions(local_cloud):
    _client(local_cloud, "s3").create_bucket(Bucket="scope-results")
    athena = _client(local_cloud, "athena")
    execution_id = athena.start_query_execution(
        QueryString="SELECT 1", ResultConfiguration={"OutputLocation": "s3://scope-results/"})["QueryExecutionId"]
    assert athena.get_query_execution(QueryExecutionId=execution_id)
    _reset(local_cloud)
    with pytest.raises(ClientError, match="InvalidRequestException"):
        athena.get_query_execution(QueryExecutionId=execution_id)
    assert athena.list_query_executions()["QueryExecutionIds"] == []


def test_reset_clears_flow_log_delivery_state():
    """Records held back for AWS's delays must not be delivered into the account that replaced theirs."""
    delivery_states["123456789012"]["us-east-1"].pending[FlowLogDelivery()] = [(0.0, 0, lambda: None)]
    BackendDict.reset()  # what /moto-api/reset does
    assert list(delivery_states.iter_backends()) == []
