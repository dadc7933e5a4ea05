"""The CloudWatch Logs calls the local cloud answers itself: TestMetricFilter (moto fails it), and Logs
Insights' StartQuery, GetQueryResults, StopQuery and DescribeQueries (moto answers with raw events and
ignores filter and stats).

A Logs Insights query runs on the real engine (`insights`) over the log groups' events held by moto's
logs backend. Queries over a lab's log groups finish in well under a second, so a query is run when
it starts and is Complete by the first GetQueryResults.
"""

from __future__ import annotations

import time
import uuid

from .. import backends
from ..wire import AwsCall, Response
from .checks import log_group_names
from .filter_patterns import InvalidFilterPattern, evaluate_test_metric_filter
from .insights import MalformedQueryError, events_relation, run_query
from .models import InsightsQuery, events_table, insights_queries

def answer_test_metric_filter(call: AwsCall) -> Response:
    try:
        result = evaluate_test_metric_filter(call.params.get("filterPattern", ""), call.params.get("logEventMessages", []))
    except InvalidFilterPattern as error:
        return Response.aws_json_error(error.error_code, error.message)
    return Response.json(result, content_type="application/x-amz-json-1.1")


def start_query(call: AwsCall) -> Response:
    params = call.params
    groups = log_group_names(params)
    logs = backends.logs(call.account_id, call.region)
    if not groups:
        return Response.aws_json_error("InvalidParameterException",
                                       "Either logGroupName, logGroupNames or logGroupIdentifiers must be specified")
    missing = [g for g in groups if g not in logs.groups]
    if missing:
        # AWS's message carries the suffix its Java client added to it (recorded answers)
        return Response.aws_json_error("ResourceNotFoundException", f"Log group '{missing[0]}' does not exist for "
                                       f"account ID '{call.account_id}' (Service: AWSLogs; Status Code: 400; Error "
                                       f"Code: ResourceNotFoundException; Request ID: {uuid.uuid4()}; Proxy: null)")
    limit = params.get("limit")
    query = InsightsQuery(str(uuid.uuid4()), params.get("queryString", ""), groups, int(time.time() * 1000))
    try:
        query.result = run_query(query.query_string, events_relation(events_table(logs, groups)),
                                 int(params["startTime"]), int(params["endTime"]), limit=limit,
                                 log_groups=groups, account_id=call.account_id)
    except MalformedQueryError as error:
        return Response.json(error.to_aws(), "400 Bad Request", "application/x-amz-json-1.1")
    query.status = query.result.status
    store = insights_queries[call.account_id][call.region]
    with store.lock:
        store.queries[query.query_id] = query
    return Response.json({"queryId": query.query_id})


def get_query_results(call: AwsCall) -> Response:
    query = _query(call)
    if query is None:
        return Response.aws_json_error("ResourceNotFoundException", "Query does not exist.")
    if query.result is None:
        return Response.json({"status": query.status, "results": [], "statistics": {}})
    return Response.json({**query.result.to_aws(), "status": query.status})


def stop_query(call: AwsCall) -> Response:
    if _query(call) is None:
        return Response.aws_json_error("ResourceNotFoundException", "Query does not exist.")
    # A query can only be stopped while it runs; these finish when they start.
    return Response.aws_json_error("InvalidParameterException", "The specified query is not running.")


def describe_queries(call: AwsCall) -> Response:
    wanted_group = call.params.get("logGroupName")
    wanted_status = call.params.get("status")
    queries = [
        {"queryId": q.query_id, "queryString": q.query_string, "status": q.status,
         "createTime": q.create_time_ms, "logGroupName": q.log_groups[0]}
        for q in sorted(insights_queries[call.account_id][call.region].queries.values(),
                        key=lambda q: q.create_time_ms, reverse=True)
        if (not wanted_group or wanted_group in q.log_groups) and (not wanted_status or q.status == wanted_status)
    ]
    return Response.json({"queries": queries[: int(call.params.get("maxResults", 1000))]})


def _query(call: AwsCall) -> InsightsQuery | None:
    return insights_queries[call.account_id][call.region].queries.get(call.params.get("queryId", ""))

