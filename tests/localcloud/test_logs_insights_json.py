"""Logs Insights over JSON log events: the fields AWS discovers in them and the documentation's examples
with their documented answers (docs/aws-behaviour.md, "Discovered fields" and "Query language"), also in a
log group that holds flow-log records and JSON events side by side."""
from __future__ import annotations

import json

import pytest

from labkit.localcloud.logs.insights import MalformedQueryError, events_relation, run_query

START_MS = 1_600_000_000_000

# "Supported logs and discovered fields", Fields in JSON logs: the documentation's CloudTrail event.
START_INSTANCES = {
    "eventVersion": "1.0",
    "userIdentity": {"type": "IAMUser", "principalId": "EX_PRINCIPAL_ID",
                     "arn": "arn: aws: iam: : 123456789012: user/Alice", "accessKeyId": "EXAMPLE_KEY_ID",
                     "accountId": "123456789012", "userName": "Alice"},
    "eventTime": "2014-03-06T21: 22: 54Z", "eventSource": "ec2.amazonaws.com", "eventName": "StartInstances",
    "awsRegion": "us-east-2", "sourceIPAddress": "192.0.2.255", "userAgent": "ec2-api-tools1.6.12.2",
    "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-abcde123"}]}},
    "responseElements": {"instancesSet": {"items": [{"instanceId": "i-abcde123",
                                                     "currentState": {"code": 0, "name": "pending"},
                                                     "previousState": {"code": 80, "name": "stopped"}}]}},
}
CLOUDTRAIL = [
    START_INSTANCES,
    {"eventSource": "ec2.amazonaws.com", "eventName": "StopInstances", "awsRegion": "us-west-2",
     "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0000aaaa"}, {"instanceId": "i-abcde123"}]}}},
    {"eventSource": "ec2.amazonaws.com", "eventName": "StartInstances", "awsRegion": "us-east-2",
     "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0000aaaa"}]}}},
    {"eventSource": "iam.amazonaws.com", "eventName": "CreateUser", "awsRegion": "us-east-1",
     "requestParameters": {"userName": "Bob"},
     "responseElements": {"user": {"arn": "arn:aws:iam::123456789012:user/Bob"}}},
    {"eventSource": "cloudtrail.amazonaws.com", "eventName": "UpdateTrail", "awsRegion": "us-east-1",
     "errorCode": "TrailNotFoundException", "errorMessage": "Unknown trail"},
    {"eventSource": "cloudtrail.amazonaws.com", "eventName": "UpdateTrail", "awsRegion": "us-east-1"},
]
# The query-syntax pages' examples name fields f1, f2, f3, duration, statusCode, Type, server, severity.
APP = [
    {"f1": 10, "f2": "a", "f3": 5, "duration": 2500, "statusCode": 200, "Type": "foo", "server": "web-1",
     "severity": "INFO", "message": "started", "range": 3500, "accountId": "123456789012"},
    {"f1": 20, "f2": "a", "f3": 30, "duration": 1500, "statusCode": 404, "Type": "bar", "server": "web-1",
     "severity": "WARN", "message": "not found", "range": 2500, "accountId": "123456789012"},
    {"f1": 5, "f2": "b", "f3": 1, "duration": 3000, "statusCode": 500, "Type": 1, "server": "web-2",
     "severity": "ERROR", "message": "failed", "range": 4000, "accountId": "210987654321"},
    {"f1": 7, "f2": "b", "f3": 26, "duration": 100, "statusCode": 300, "Type": "baz", "server": "web-2",
     "severity": "INFO", "message": "moved"},
]
GLOB_LINES = ["user=alice, method:GET, latency := 9", "user=bob, method:POST, latency := 120",
              "user=alice, method:GET, latency := 35"]
FLOW_RECORDS = [
    "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
    "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
    "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
]
# A log group with both kinds of event: a JSON event may use the flow-log fields' names.
MIXED_JSON = [{"action": "REJECT", "dstPort": 22, "bytes": 1.5, "srcAddr": "198.51.100.7", "note": "from an app"},
              {"action": "ACCEPT", "dstPort": "443", "note": "port as text"}]


def _events() -> list[dict]:
    groups = {"/trail": [json.dumps(event) for event in CLOUDTRAIL], "/app": [json.dumps(event) for event in APP],
              "/glob": GLOB_LINES, "/mixed": FLOW_RECORDS + [json.dumps(event) for event in MIXED_JSON]}
    events = []
    for group, messages in groups.items():
        for index, message in enumerate(messages):
            events.append(dict(log_group=group, log_stream="stream-1", timestamp_ms=START_MS + index * 1000,
                               ingestion_time_ms=START_MS + index * 1000 + 500, message=message))
    return events


@pytest.fixture(scope="module")
def events():
    return events_relation(_events())


def rows(events, query: str, group: str) -> list[dict[str, str]]:
    result = run_query(query, events, 0, 2_000_000_000, log_groups=[group])
    return [{cell["field"]: cell["value"] for cell in row if cell["field"] != "@ptr"} for row in result.results]


def column(events, query: str, group: str, field: str) -> list[str | None]:
    return [row.get(field) for row in rows(events, query, group)]


# --- discovered fields ----------------------------------------------------------------------------

def test_nested_fields_are_named_with_dots_and_array_items_by_position(events):
    """The documentation's query over its CloudTrail event."""
    result = rows(events, 'fields @timestamp, @message | filter requestParameters.instancesSet.items.0.instanceId='
                          '"i-abcde123" | sort @timestamp desc', "/trail")
    assert result == [{"@timestamp": "2020-09-13 12:26:40.000", "@message": json.dumps(START_INSTANCES)}]
    assert rows(events, "filter eventName = 'StartInstances' and awsRegion = 'us-east-2' | sort @timestamp asc "
                        "| limit 1 | fields userIdentity.type, responseElements.instancesSet.items.0.currentState.code, "
                        "responseElements.instancesSet.items.0.previousState.name", "/trail") == [
        {"userIdentity.type": "IAMUser", "responseElements.instancesSet.items.0.currentState.code": "0",
         "responseElements.instancesSet.items.0.previousState.name": "stopped"}]
    # The second item of an array is `.1`: only the StopInstances event has one.
    assert column(events, "filter requestParameters.instancesSet.items.1.instanceId = 'i-abcde123' | fields eventName",
                  "/trail", "eventName") == ["StopInstances"]


def test_a_query_without_fields_returns_every_discovered_field_of_each_event(events):
    [row] = rows(events, "filter eventName = 'CreateUser'", "/trail")
    assert row == {"@timestamp": "2020-09-13 12:26:43.000", "@message": json.dumps(CLOUDTRAIL[3]),
                   "@logStream": "stream-1", "@log": "123456789012:/trail", "@ingestionTime": "2020-09-13 12:26:43.500",
                   "eventSource": "iam.amazonaws.com", "eventName": "CreateUser", "awsRegion": "us-east-1",
                   "requestParameters.userName": "Bob",
                   "responseElements.user.arn": "arn:aws:iam::123456789012:user/Bob"}


def test_at_most_200_fields_are_discovered_and_parse_reaches_the_others():
    event = {f"k{index}": index for index in range(250)}
    relation = events_relation([dict(log_group="/wide", log_stream="s", timestamp_ms=START_MS,
                                     ingestion_time_ms=START_MS, message=json.dumps(event))])
    [row] = run_query("fields k0, k199, k200, k249", relation, 0, 2_000_000_000).results
    assert [(cell["field"], cell["value"]) for cell in row if cell["field"] != "@ptr"] == [("k0", "0"), ("k199", "199")]
    [row] = run_query('parse @message \'"k249": *}\' as k249', relation, 0, 2_000_000_000).results
    assert {"field": "k249", "value": "249"} in row


def test_a_discovered_name_that_starts_with_at_gets_another_at():
    relation = events_relation([dict(log_group="/at", log_stream="s", timestamp_ms=START_MS, ingestion_time_ms=START_MS,
                                     message='{"@example.com": "mail", "@timestamp": "not the event time"}')])
    [row] = run_query("fields @@example.com, @@timestamp, @timestamp", relation, 0, 2_000_000_000).results
    assert [(cell["field"], cell["value"]) for cell in row if cell["field"] != "@ptr"] == [
        ("@@example.com", "mail"), ("@@timestamp", "not the event time"), ("@timestamp", "2020-09-13 12:26:40.000")]


def test_values_keep_their_json_text_and_a_json_encoded_string_is_one_value():
    message = json.dumps({"price": 1.50, "big": 12345678901234567890, "ok": True, "none": None, "empty": "",
                          "api": {"request": {"data": '{"startTime":1234,"endTime":5678}'}}}).replace("1.5", "1.50")
    relation = events_relation([dict(log_group="/v", log_stream="s", timestamp_ms=START_MS, ingestion_time_ms=START_MS,
                                     message=message)])
    [row] = run_query("fields price, big, ok, none, empty, api.request.data, api.request.data.startTime",
                      relation, 0, 2_000_000_000).results
    assert {cell["field"]: cell["value"] for cell in row if cell["field"] != "@ptr"} == {
        "price": "1.50", "big": "12345678901234567890", "ok": "1", "empty": "",
        "api.request.data": '{"startTime":1234,"endTime":5678}'}


def test_events_that_are_no_json_object_have_only_system_fields():
    messages = ["[1, 2]", '"text"', "42", '{"unterminated": ', "{'single': 'quotes'}", '{"a": NaN}']
    relation = events_relation([dict(log_group="/n", log_stream="s", timestamp_ms=START_MS + index,
                                     ingestion_time_ms=START_MS, message=message)
                                for index, message in enumerate(messages)])
    result = run_query("sort @timestamp asc", relation, 0, 2_000_000_000).results
    assert [sorted(cell["field"] for cell in row) for row in result] == \
        [sorted(["@timestamp", "@message", "@logStream", "@log", "@ingestionTime", "@ptr"])] * len(messages)


# --- the query-syntax pages' examples -----------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    # filter: "retrieves f1, f2 and f3 for all log events with a value greater than 2000 in duration"
    ("fields f1, f2, f3 | filter (duration>2000)",
     [{"f1": "5", "f2": "b", "f3": "1"}, {"f1": "10", "f2": "a", "f3": "5"}]),
    # "where f1 equals 10 or f3 is greater than 25"
    ("fields f1, f2 | filter (f1=10 or f3>25)",
     [{"f1": "7", "f2": "b"}, {"f1": "20", "f2": "a"}, {"f1": "10", "f2": "a"}]),
    # "where the field statusCode contains a value between 200 and 299", and the negation
    (r"fields f1 | filter statusCode like /2\d\d/", [{"f1": "10"}]),
    (r"fields f1 | filter statusCode not like /2\d\d/", [{"f1": "7"}, {"f1": "5"}, {"f1": "20"}]),
    # "log events that have a statusCode of 300, 400, or 500"; "Type not foo, bar or 1"
    ("fields server | filter statusCode in [300,400,500]", [{"server": "web-2"}, {"server": "web-2"}]),
    ('fields f1 | filter Type not in ["foo","bar",1]', [{"f1": "7"}]),
    # The filter page: range > 3000 and accountId = 123456789012 (a number against the text of a JSON string)
    ("fields message | filter (range>3000 and accountId=123456789012)", [{"message": "started"}]),
    # sort: "sorts the returned events in descending order based on the value of f1" (as numbers)
    ("fields f1, f2, f3 | sort f1 desc", [{"f1": "20", "f2": "a", "f3": "30"}, {"f1": "10", "f2": "a", "f3": "5"},
                                          {"f1": "7", "f2": "b", "f3": "26"}, {"f1": "5", "f2": "b", "f3": "1"}]),
    # dedup: "the most recent event for each unique value of server"
    ("fields @timestamp, server, severity, message | sort @timestamp desc | dedup server",
     [{"@timestamp": "2020-09-13 12:26:43.000", "server": "web-2", "severity": "INFO", "message": "moved"},
      {"@timestamp": "2020-09-13 12:26:41.000", "server": "web-1", "severity": "WARN", "message": "not found"}]),
])
def test_query_syntax_examples(events, query, expected):
    assert rows(events, query, "/app") == expected


def test_stats_average_by_group(events):
    """`stats avg (f1) by f2` "calculates the average value of f1 for each unique value of f2"."""
    assert {row["f2"]: row["avg (f1)"] for row in rows(events, "stats avg (f1) by f2", "/app")} == {"a": "15", "b": "6"}


def test_fields_timestamp_and_message(events):
    result = rows(events, "fields @timestamp, @message | sort @timestamp desc | limit 2", "/app")
    assert result == [{"@timestamp": "2020-09-13 12:26:43.000", "@message": json.dumps(APP[3])},
                      {"@timestamp": "2020-09-13 12:26:42.000", "@message": json.dumps(APP[2])}]


# --- the sample queries' CloudTrail section ---------------------------------------------------------

def test_cloudtrail_sample_queries(events):
    counts = {(row["eventSource"], row["eventName"], row["awsRegion"]): row["count(*)"]
              for row in rows(events, "stats count(*) by eventSource, eventName, awsRegion", "/trail")}
    assert counts == {("ec2.amazonaws.com", "StartInstances", "us-east-2"): "2",
                      ("ec2.amazonaws.com", "StopInstances", "us-west-2"): "1",
                      ("iam.amazonaws.com", "CreateUser", "us-east-1"): "1",
                      ("cloudtrail.amazonaws.com", "UpdateTrail", "us-east-1"): "2"}
    assert rows(events, 'filter eventSource="ec2.amazonaws.com" | stats count(*) as eventCount by eventName, awsRegion '
                        "| sort eventCount desc", "/trail") == [
        {"eventName": "StartInstances", "awsRegion": "us-east-2", "eventCount": "2"},
        {"eventName": "StopInstances", "awsRegion": "us-west-2", "eventCount": "1"}]
    assert rows(events, 'filter eventName="UpdateTrail" and ispresent(errorCode) | stats count(*) by errorCode, '
                        "errorMessage", "/trail") == [
        {"errorCode": "TrailNotFoundException", "errorMessage": "Unknown trail", "count(*)": "1"}]
    assert rows(events, 'filter eventName="CreateUser" | fields awsRegion, requestParameters.userName, '
                        "responseElements.user.arn", "/trail") == [
        {"awsRegion": "us-east-1", "requestParameters.userName": "Bob",
         "responseElements.user.arn": "arn:aws:iam::123456789012:user/Bob"}]


# --- upper-case commands and keywords ---------------------------------------------------------------

def test_the_parse_example_in_upper_case(events):
    result = rows(events, 'PARSE @message "user=*, method:*, latency := *" AS @user, @method, @latency '
                          "| STATS avg(@latency) BY @method, @user | SORT @user ASC", "/glob")
    assert result == [{"@method": "GET", "@user": "alice", "avg(@latency)": "22"},
                      {"@method": "POST", "@user": "bob", "avg(@latency)": "120"}]


def test_display_and_keywords_in_any_case(events):
    assert rows(events, "FIELDS f1, f2, server | FILTER f1 > 5 AND NOT (f2 = 'b') Or server IN ['web-2'] "
                        "| DISPLAY f1, f2 | Sort f1 Desc | LIMIT 3", "/app") == [
        {"f1": "20", "f2": "a"}, {"f1": "10", "f2": "a"}, {"f1": "7", "f2": "b"}]
    assert column(events, "Filter statusCode NOT LIKE /[23]\\d\\d/ | Stats COUNT(*) As n By f2 | Sort n DESC",
                  "/app", "n") == ["1", "1"]


def test_json_parse_is_no_function_of_the_local_cloud(events):
    with pytest.raises(MalformedQueryError):
        rows(events, "fields jsonParse(api.request.data).startTime as startTime", "/app")


# --- flow-log records and JSON events in one log group --------------------------------------------

def test_flow_log_fields_and_json_fields_side_by_side(events):
    # The NODATA record's action is `-` (absent only in numeric fields)
    assert rows(events, "stats count(*) as n by action | sort action", "/mixed") == [
        {"action": "-", "n": "1"}, {"action": "ACCEPT", "n": "2"}, {"action": "REJECT", "n": "2"}]
    assert column(events, "filter dstPort = 22 | fields coalesce(interfaceId, note) as source", "/mixed", "source") == \
        ["from an app", "eni-1235b8ca123456789"]
    assert column(events, "filter ispresent(bytes) | sort bytes desc | fields bytes", "/mixed", "bytes") == \
        ["4249", "4249", "1.5"]
    assert column(events, "filter dstPort > 400 | fields dstPort", "/mixed", "dstPort") == ["443", "3389"]
