"""Metric filters through boto3 against the local cloud: TestMetricFilter, FilterLogEvents,
PutMetricFilter's validation, and the metrics published on PutLogEvents and on flow-log delivery."""

from __future__ import annotations

import json
import time
import urllib.error
import uuid
import urllib.request
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from labkit.localcloud.lifecycle import control_request

CONFORMANCE = Path(__file__).parents[1] / "data" / "conformance" / "cloudwatch-logs"
RECORDINGS = ("filter-pattern-aws.json", "filter-pattern-aws-edges.json", "filter-pattern-aws-boundaries.json")
PUBLISHING = json.loads((CONFORMANCE / "metric-filter-publishing-aws.json").read_text())
REFERENCE_VALIDATION = json.loads((CONFORMANCE / "metric-filter-reference-validation-aws.json").read_text())

SSH_REJECT = ('[version, account, eni, source, destination, srcport, destport="22", protocol="6", packets, bytes, '
              'windowstart, windowend, action="REJECT", flowlogstatus]')
SSH_REJECT_LINE = "2 123456789010 eni-1235b8ca123456789 198.51.100.7 172.31.9.12 49761 22 6 1 40 1418530010 1418530070 REJECT OK"
OTHER_LINES = [
    "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
    "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
    "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
    "2 123456789010 eni-1235b8ca123456789 198.51.100.7 172.31.9.12 49761 22 17 1 40 1418530010 1418530070 REJECT OK",
    "2 123456789010 eni-1235b8ca123456789 198.51.100.7 172.31.9.12 49761 2222 6 1 40 1418530010 1418530070 REJECT OK",
]
ONE_PER_EVENT = {"metricName": "m", "metricNamespace": "N", "metricValue": "1"}


def _recorded_cases() -> list:
    return [pytest.param(case, id=case["id"])
            for recording in RECORDINGS for case in json.loads((CONFORMANCE / recording).read_text())["cases"]]


def _minute_ago(minutes: int) -> int:
    """A whole minute in the past, in ms: events there land in one period of GetMetricStatistics."""
    return (int(time.time()) // 60 - minutes) * 60_000


@pytest.fixture
def logs(clients):
    return clients("logs")


@pytest.fixture
def group(logs) -> str:
    name = f"/test/{uuid.uuid4()}"
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    return name


def _error(raised: pytest.ExceptionInfo) -> tuple[str, str]:
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


# --- TestMetricFilter ------------------------------------------------------------------------------

@pytest.mark.parametrize("case", _recorded_cases())
def test_every_recorded_aws_case_through_test_metric_filter(logs, case):
    request = case["request"]
    if "error" in case:
        with pytest.raises(ClientError) as raised:
            logs.test_metric_filter(**request)
        assert _error(raised) == (case["error"]["code"], case["error"]["message"])
    else:
        response = logs.test_metric_filter(**request)
        assert {"matches": response["matches"]} == case["response"]


def test_walkthrough_pattern_matches_only_rejected_tcp_ssh(logs):
    matches = logs.test_metric_filter(filterPattern=SSH_REJECT, logEventMessages=[SSH_REJECT_LINE, *OTHER_LINES])["matches"]
    assert [m["eventNumber"] for m in matches] == [1]
    assert matches[0]["extractedValues"]["$destport"] == "22"
    assert matches[0]["extractedValues"]["$action"] == "REJECT"


# --- FilterLogEvents -----------------------------------------------------------------------------------

def test_filter_log_events_uses_the_pattern(logs, group):
    now = _minute_ago(1)
    logs.put_log_events(logGroupName=group, logStreamName="s",
                        logEvents=[{"timestamp": now + i, "message": line} for i, line in enumerate([SSH_REJECT_LINE, *OTHER_LINES])])
    events = logs.filter_log_events(logGroupName=group, filterPattern=SSH_REJECT)["events"]
    assert [e["message"] for e in events] == [SSH_REJECT_LINE]
    assert len(logs.filter_log_events(logGroupName=group, filterPattern="REJECT -NODATA")["events"]) == 4
    assert len(logs.filter_log_events(logGroupName=group)["events"]) == 6


def test_filter_log_events_rejects_a_bad_pattern(logs, group):
    with pytest.raises(ClientError) as raised:
        logs.filter_log_events(logGroupName=group, filterPattern="[a, b")
    assert _error(raised) == ("InvalidParameterException", "If a filter pattern starts with '[' it must end with ']'")


# --- PutMetricFilter validation ------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, transformation, code, message", [
    ("{ $.a = ", ONE_PER_EVENT, "InvalidParameterException", "If a filter pattern starts with '{' it must end with '}'"),
    ("ERROR", {**ONE_PER_EVENT, "metricName": "a:b"}, "InvalidParameterException",
     "1 validation error detected: Value 'a:b' at 'metricTransformations.1.member.metricName' failed to satisfy "
     "constraint: Member must satisfy regular expression pattern: [^:*$]*"),
    ("ERROR", {**ONE_PER_EVENT, "metricNamespace": "ns$"}, "InvalidParameterException",
     "1 validation error detected: Value 'ns$' at 'metricTransformations.1.member.metricNamespace' failed to satisfy "
     "constraint: Member must satisfy regular expression pattern: [^:*$]*"),
    ("ERROR", {**ONE_PER_EVENT, "dimensions": {"Host": "$host"}}, "InvalidParameterException",
     "The specified filter pattern does not support dimensions"),
    ("[host, level]", {**ONE_PER_EVENT, "dimensions": {"Host": "$host"}, "defaultValue": 0}, "InvalidParameterException",
     "Invalid metric transformation: dimensions and default value are mutually exclusive properties"),
    ("{ $.a = %1% || $.a = %2% || $.a = %3% }", ONE_PER_EVENT, "InvalidParameterException",
     "Your input has exceeded the maximum of 2 regular expressions per filter pattern."),
    ("ERROR", {**ONE_PER_EVENT, "unit": "Parsecs"}, "InvalidParameterException", None),
], ids=["pattern", "metric-name", "namespace", "dimensions-with-terms", "dimensions-and-default", "three-regexes", "unit"])
def test_put_metric_filter_errors_store_nothing(logs, group, pattern, transformation, code, message):
    with pytest.raises(ClientError) as raised:
        logs.put_metric_filter(logGroupName=group, filterName="f", filterPattern=pattern,
                               metricTransformations=[transformation])
    assert _error(raised)[0] == code
    if message:
        assert _error(raised)[1] == message
    assert logs.describe_metric_filters(logGroupName=group)["metricFilters"] == []


@pytest.mark.parametrize("case", REFERENCE_VALIDATION["cases"], ids=lambda case: case["id"])
def test_metric_value_references_as_recorded(logs, group, case):
    transformation = {"metricName": "m", "metricNamespace": "N", "metricValue": case["metricValue"]}
    for key in ("defaultValue", "dimensions"):
        if key in case:
            transformation[key] = case[key]
    put = lambda: logs.put_metric_filter(logGroupName=group, filterName="f", filterPattern=case["filterPattern"],  # noqa: E731
                                         metricTransformations=[transformation])
    if case["expected"]["accepted"]:
        put()
        assert len(logs.describe_metric_filters(logGroupName=group)["metricFilters"]) == 1
    else:
        with pytest.raises(ClientError) as raised:
            put()
        assert _error(raised) == (case["expected"]["errorCode"], case["expected"]["message"])


def test_default_value_as_a_string_is_a_serialization_error(local_env, group):
    """boto3 refuses to send a string for a double, so this request is signed and sent by hand."""
    body = {"logGroupName": group, "filterName": "f", "filterPattern": "ERROR",
            "metricTransformations": [{**ONE_PER_EVENT, "defaultValue": "7"}]}
    request = AWSRequest("POST", local_env.endpoint + "/", data=json.dumps(body), headers={
        "X-Amz-Target": "Logs_20140328.PutMetricFilter", "Content-Type": "application/x-amz-json-1.1"})
    owner = local_env.credentials
    SigV4Auth(Credentials(owner.access_key_id, owner.secret_access_key), "logs", "us-east-1").add_auth(request)
    prepared = request.prepare()
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(urllib.request.Request(prepared.url, data=prepared.body.encode(), headers=dict(prepared.headers)))
    error = json.load(raised.value)
    assert (raised.value.code, error["__type"]) == (400, "SerializationException")
    assert (error.get("Message") or error.get("message")) == "STRING_VALUE cannot be converted to Double"


def test_a_sixth_regex_filter_in_a_group_exceeds_the_limit(logs, group):
    for number in range(5):
        logs.put_metric_filter(logGroupName=group, filterName=f"r{number}", filterPattern=f"%ERR{number}%",
                               metricTransformations=[ONE_PER_EVENT])
    logs.put_metric_filter(logGroupName=group, filterName="r0", filterPattern="%ERR9%",  # replacing keeps the count
                           metricTransformations=[ONE_PER_EVENT])
    logs.put_metric_filter(logGroupName=group, filterName="plain", filterPattern="ERROR",
                           metricTransformations=[ONE_PER_EVENT])
    with pytest.raises(ClientError) as raised:
        logs.put_metric_filter(logGroupName=group, filterName="r5", filterPattern="%ERR5%",
                               metricTransformations=[ONE_PER_EVENT])
    assert _error(raised)[0] == "LimitExceededException"
    assert sorted(f["filterName"] for f in logs.describe_metric_filters(logGroupName=group)["metricFilters"]) == [
        "plain", "r0", "r1", "r2", "r3", "r4"]


def test_put_metric_filter_replaces_a_filter_of_the_same_name(logs, group):
    for value in ("1", "2"):
        logs.put_metric_filter(logGroupName=group, filterName="f", filterPattern="ERROR",
                               metricTransformations=[{**ONE_PER_EVENT, "metricValue": value}])
    [stored] = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
    assert stored["metricTransformations"][0]["metricValue"] == "2"
    assert stored["creationTime"] > 0


def test_put_metric_filter_needs_the_log_group(logs):
    with pytest.raises(ClientError) as raised:
        logs.put_metric_filter(logGroupName="/does/not/exist", filterName="f", filterPattern="ERROR",
                               metricTransformations=[ONE_PER_EVENT])
    assert _error(raised) == ("ResourceNotFoundException", "The specified log group does not exist.")


# --- publishing on PutLogEvents (metric-filter-publishing-aws.json) ---------------------------------------

def _put(logs, group: str, messages: list[str], timestamp: int) -> None:
    logs.put_log_events(logGroupName=group, logStreamName="s",
                        logEvents=[{"timestamp": timestamp, "message": message} for message in messages])


def _statistics(cloudwatch, namespace: str, timestamp: int, dimensions: list | None = None) -> dict:
    start = timestamp / 1000
    datapoints = cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName="m", StartTime=start - 60, EndTime=start + 120, Period=60,
        Statistics=["Sum", "SampleCount", "Minimum", "Maximum"], Dimensions=dimensions or [])["Datapoints"]
    return {} if not datapoints else {k: v for k, v in datapoints[0].items() if k in ("Sum", "SampleCount", "Minimum", "Maximum")}


@pytest.mark.parametrize("case", PUBLISHING["metricDefaults"]["cases"], ids=lambda case: case["name"])
def test_default_value_once_per_non_matching_event(logs, clients, group, case):
    recording = PUBLISHING["metricDefaults"]
    namespace = f"defaults-{case['name'].replace(' ', '-')}"
    logs.put_metric_filter(logGroupName=group, filterName="f", filterPattern=recording["filterPattern"],
                           metricTransformations=[{"metricName": "m", "metricNamespace": namespace,
                                                   "metricValue": recording["metricValue"],
                                                   "defaultValue": recording["defaultValue"]}])
    timestamp = _minute_ago(3)
    for batch in case["batches"]:
        _put(logs, group, batch, timestamp)
    assert _statistics(clients("cloudwatch"), namespace, timestamp) == case["expected"]


@pytest.mark.parametrize("case", PUBLISHING["extraction"]["cases"], ids=lambda case: case["name"])
def test_field_values_missing_null_and_not_numbers(logs, clients, group, case):
    recording = PUBLISHING["extraction"]
    namespace = f"extraction-{case['name'].replace(' ', '-')}"
    logs.put_metric_filter(logGroupName=group, filterName="f", filterPattern=recording["filterPattern"],
                           metricTransformations=[{"metricName": "m", "metricNamespace": namespace,
                                                   "metricValue": recording["metricValue"],
                                                   "defaultValue": recording["defaultValue"]}])
    timestamp = _minute_ago(4)
    _put(logs, group, [json.dumps(case["message"])], timestamp)
    statistics = _statistics(clients("cloudwatch"), namespace, timestamp)
    if case["expected"].get("datapoints") == []:
        assert statistics == {}
    else:
        assert {k: statistics[k] for k in case["expected"]} == case["expected"]


def test_dimensions_are_all_or_nothing(logs, clients, group):
    recording = PUBLISHING["ordinaryDimensions"]
    namespace = "ordinary-dimensions"
    logs.put_metric_filter(logGroupName=group, filterName="f", filterPattern=recording["filterPattern"],
                           metricTransformations=[{"metricName": "m", "metricNamespace": namespace,
                                                   "metricValue": recording["metricValue"],
                                                   "dimensions": recording["dimensions"], "unit": "Count"}])
    timestamp = _minute_ago(2)
    _put(logs, group, [json.dumps(message) for message in recording["messages"]], timestamp)
    cloudwatch = clients("cloudwatch")
    series = {frozenset((d["Name"], d["Value"]) for d in metric["Dimensions"])
              for metric in cloudwatch.list_metrics(Namespace=namespace)["Metrics"]}
    assert series == {frozenset(), frozenset({("A", "alpha"), ("B", "beta")})}  # no partial series
    both = [{"Name": "A", "Value": "alpha"}, {"Name": "B", "Value": "beta"}]
    assert _statistics(cloudwatch, namespace, timestamp, both)["Sum"] == 1


def test_values_are_published_at_the_event_timestamp_with_get_metric_data(logs, clients, group):
    logs.put_metric_filter(logGroupName=group, filterName="f", filterPattern=SSH_REJECT,
                           metricTransformations=[{"metricName": "m", "metricNamespace": "ssh", "metricValue": "$packets"}])
    earlier, later = _minute_ago(5), _minute_ago(2)
    _put(logs, group, [SSH_REJECT_LINE, *OTHER_LINES], earlier)
    _put(logs, group, [SSH_REJECT_LINE.replace(" 1 40 ", " 3 120 ")] * 2, later)
    result = clients("cloudwatch").get_metric_data(
        StartTime=earlier / 1000 - 60, EndTime=later / 1000 + 60, ScanBy="TimestampAscending",
        MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": {"Namespace": "ssh", "MetricName": "m"},
                                                       "Period": 60, "Stat": "Sum"}}])["MetricDataResults"][0]
    assert [t.timestamp() * 1000 for t in result["Timestamps"]] == [earlier, later]
    assert result["Values"] == [1.0, 6.0]


def test_a_malformed_event_never_fails_put_log_events(logs, clients, group):
    logs.put_metric_filter(logGroupName=group, filterName="f", filterPattern="{ $.v = * }",
                           metricTransformations=[{"metricName": "m", "metricNamespace": "malformed", "metricValue": "$.v"}])
    timestamp = _minute_ago(2)
    _put(logs, group, ['{"v": 1e999}', '{"v": ', "\x00\udcff", '{"v": "x"}', '{"v": 2}'], timestamp)
    assert _statistics(clients("cloudwatch"), "malformed", timestamp)["Sum"] == 2


# --- publishing the flow records the local cloud delivers itself -------------------------------------------

def test_delivered_flow_records_publish_the_ssh_reject_metric(local_env, clients):
    ec2, iam, logs = clients("ec2"), clients("iam"), clients("logs")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    ec2.create_network_interface(SubnetId=subnet)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}}]}
    role = iam.create_role(RoleName="metric-filter-delivery", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    group = "/test/delivered-flow-records"
    logs.create_log_group(logGroupName=group)
    logs.put_metric_filter(logGroupName=group, filterName="dest-port-22-reject", filterPattern=SSH_REJECT,
                           metricTransformations=[{"metricName": "SSH Rejects", "metricNamespace": "delivered",
                                                   "metricValue": "1"}])
    ec2.create_flow_logs(ResourceType="VPC", ResourceIds=[vpc], TrafficType="ALL", LogDestinationType="cloud-watch-logs",
                         LogGroupName=group, DeliverLogsPermissionArn=role, MaxAggregationInterval=60)

    assert control_request(local_env.endpoint, "background-traffic", {"records": 400, "seed": 3})["generated"] >= 400

    rejected_ssh = [e for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, filterPattern=SSH_REJECT)
                    for e in page["events"]]
    assert rejected_ssh
    end = time.time() + 120
    datapoints = clients("cloudwatch").get_metric_statistics(
        Namespace="delivered", MetricName="SSH Rejects", StartTime=end - 3 * 3600, EndTime=end, Period=3600,
        Statistics=["Sum"])["Datapoints"]
    assert sum(d["Sum"] for d in datapoints) == len(rejected_ssh)
