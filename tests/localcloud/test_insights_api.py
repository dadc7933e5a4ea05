"""Logs Insights through boto3 against the local cloud: StartQuery, GetQueryResults, DescribeQueries."""

from __future__ import annotations

import collections
import time

import pytest
from botocore.exceptions import ClientError

GROUP = "insights-test"
LINES = [
    "2 123456789012 eni-1 198.51.100.7 10.0.1.4 40001 22 6 3 180 {t} {t} REJECT OK",
    "2 123456789012 eni-1 198.51.100.7 10.0.1.4 40002 22 6 3 180 {t} {t} REJECT OK",
    "2 123456789012 eni-1 203.0.113.10 10.0.1.4 50000 22 6 20 4249 {t} {t} ACCEPT OK",
    "2 123456789012 eni-1 192.0.2.99 10.0.1.4 41000 3389 6 2 120 {t} {t} REJECT OK",
    "2 123456789012 eni-1 - - - - - - - {t} {t} - NODATA",
]


@pytest.fixture
def logs(clients):
    logs = clients("logs")
    if GROUP not in [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]]:
        logs.create_log_group(logGroupName=GROUP)
        logs.create_log_stream(logGroupName=GROUP, logStreamName="eni-1-all")
        now = int(time.time())
        logs.put_log_events(logGroupName=GROUP, logStreamName="eni-1-all", logEvents=[
            {"timestamp": (now - 60 + i) * 1000, "message": line.format(t=now - 60 + i)} for i, line in enumerate(LINES)])
    return logs


def _run(logs, query: str) -> dict:
    now = int(time.time())
    query_id = logs.start_query(logGroupName=GROUP, startTime=now - 3600, endTime=now + 60, queryString=query)["queryId"]
    for _ in range(50):
        response = logs.get_query_results(queryId=query_id)
        if response["status"] == "Complete":
            return response
        time.sleep(0.1)
    raise AssertionError("query did not complete")


def test_top_rejected_sources_matches_an_independent_count(logs):
    response = _run(logs, 'filter action="REJECT" | stats count(*) as numRejections by srcAddr '
                          '| sort numRejections desc | limit 20')
    expected = collections.Counter(line.split()[3] for line in LINES if line.split()[12] == "REJECT")
    rows = [{cell["field"]: cell["value"] for cell in row} for row in response["results"]]
    assert {r["srcAddr"]: int(r["numRejections"]) for r in rows} == dict(expected)
    assert int(rows[0]["numRejections"]) == max(expected.values())
    assert response["statistics"]["recordsScanned"] == len(LINES)


def test_plain_rows_carry_a_pointer(logs):
    response = _run(logs, "fields @timestamp, srcAddr, dstPort | filter dstPort = 22 | sort @timestamp asc")
    assert len(response["results"]) == 3
    assert all(row[-1]["field"] == "@ptr" for row in response["results"])


def test_a_field_no_event_has_answers_rather_than_failing(logs):
    """It was an HTTP 500 (DuckDB refused to sort by a constant); on AWS such a field is null."""
    response = _run(logs, "fields noSuchField, srcPort | sort noSuchField desc")
    ports = [cell["value"] for row in response["results"] for cell in row if cell["field"] == "srcPort"]
    assert ports == ["41000", "50000", "40002", "40001"]  # in the default order: newest first
    assert len(response["results"]) == len(LINES)  # the NODATA record has no srcPort: a row of its @ptr only


def test_json_events_have_their_fields_discovered(logs):
    now, group = int(time.time()), "insights-json-test"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="app")
    logs.put_log_events(logGroupName=group, logStreamName="app", logEvents=[
        {"timestamp": (now - 30) * 1000, "message": '{"request": {"status": 503, "path": "/login"}, "srcAddr": "x"}'},
        {"timestamp": (now - 20) * 1000, "message": '{"request": {"status": 200, "path": "/"}}'}])
    query_id = logs.start_query(logGroupName=group, startTime=now - 3600, endTime=now + 60,
                                queryString="filter request.status >= 500 | fields request.path, srcAddr")["queryId"]
    response = logs.get_query_results(queryId=query_id)
    assert [row[:2] for row in response["results"]] == [[{"field": "request.path", "value": "/login"},
                                                          {"field": "srcAddr", "value": "x"}]]


def test_a_malformed_query_is_refused_at_start_with_its_position(logs):
    now = int(time.time())
    with pytest.raises(ClientError) as error:
        logs.start_query(logGroupName=GROUP, startTime=now - 60, endTime=now, queryString="stats coun(*) by")
    assert error.value.response["Error"]["Code"] == "MalformedQueryException"
    assert "line 1" in error.value.response["Error"]["Message"]


def test_an_unknown_log_group_is_not_found(logs):
    now = int(time.time())
    with pytest.raises(ClientError) as error:
        logs.start_query(logGroupName="no-such-group", startTime=now - 60, endTime=now, queryString="fields @message")
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_describe_queries_lists_what_ran(logs):
    _run(logs, "fields @message | limit 1")
    queries = logs.describe_queries(logGroupName=GROUP)["queries"]
    assert queries[0]["queryString"] == "fields @message | limit 1" and queries[0]["status"] == "Complete"
