"""CloudWatch Logs Insights behind its API: StartQuery, GetQueryResults, StopQuery, DescribeQueries.

moto answers these with raw events and ignores filter/stats; here the query runs on the real
engine (`logs_insights`) over the log groups' events held by moto's logs backend. Queries over a
lab's log groups finish in well under a second, so a query is run when it starts and is Complete
by the first GetQueryResults.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from . import backends
from .app import AwsCall, LocalCloudApp, Response
from .logs_insights import EVENT_SCHEMA, MalformedQueryError, QueryResult, events_relation, run_query

MAX_LIMIT = 10_000


@dataclass
class InsightsQuery:
    query_id: str
    query_string: str
    log_groups: list[str]
    create_time_ms: int
    result: QueryResult | None = None
    status: str = "Scheduled"


@dataclass
class LogsInsights:
    queries: dict[str, InsightsQuery] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start_query(self, call: AwsCall) -> Response:
        params = call.params
        groups = _log_group_names(params)
        logs = backends.logs(call.account_id, call.region)
        if not groups:
            return Response.aws_json_error("InvalidParameterException",
                                           "Either logGroupName, logGroupNames or logGroupIdentifiers must be specified")
        missing = [g for g in groups if g not in logs.groups]
        if missing:
            return Response.aws_json_error("ResourceNotFoundException", f"Log group '{missing[0]}' does not exist for "
                                           f"account ID '{call.account_id}'")
        limit = params.get("limit")
        if limit is not None and not 1 <= int(limit) <= MAX_LIMIT:
            return Response.aws_json_error("InvalidParameterException",
                                           f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
                                           f"constraint: Member must have value less than or equal to {MAX_LIMIT}")
        query = InsightsQuery(str(uuid.uuid4()), params.get("queryString", ""), groups, int(time.time() * 1000))
        try:
            query.result = run_query(query.query_string, events_relation(_events(logs, groups)),
                                     int(params["startTime"]), int(params["endTime"]), limit=limit,
                                     log_groups=groups, account_id=call.account_id)
        except MalformedQueryError as error:
            return Response.json(error.to_aws(), "400 Bad Request", "application/x-amz-json-1.1")
        query.status = query.result.status
        with self.lock:
            self.queries[query.query_id] = query
        return Response.json({"queryId": query.query_id})

    def get_query_results(self, call: AwsCall) -> Response:
        query = self.queries.get(call.params.get("queryId", ""))
        if query is None:
            return Response.aws_json_error("ResourceNotFoundException", "Query does not exist.")
        if query.result is None:
            return Response.json({"status": query.status, "results": [], "statistics": {}})
        return Response.json({**query.result.to_aws(), "status": query.status})

    def stop_query(self, call: AwsCall) -> Response:
        query = self.queries.get(call.params.get("queryId", ""))
        if query is None:
            return Response.aws_json_error("ResourceNotFoundException", "Query does not exist.")
        # A query can only be stopped while it runs; these finish when they start.
        return Response.json({"success": False})

    def describe_queries(self, call: AwsCall) -> Response:
        wanted_group = call.params.get("logGroupName")
        wanted_status = call.params.get("status")
        queries = [
            {"queryId": q.query_id, "queryString": q.query_string, "status": q.status,
             "createTime": q.create_time_ms, "logGroupName": q.log_groups[0]}
            for q in sorted(self.queries.values(), key=lambda q: q.create_time_ms, reverse=True)
            if (not wanted_group or wanted_group in q.log_groups) and (not wanted_status or q.status == wanted_status)
        ]
        return Response.json({"queries": queries[: int(call.params.get("maxResults", 1000))]})


def _log_group_names(params: dict[str, Any]) -> list[str]:
    if params.get("logGroupName"):
        return [params["logGroupName"]]
    names = params.get("logGroupNames") or params.get("logGroupIdentifiers") or []
    # An identifier may be a log group ARN: arn:aws:logs:region:account:log-group:NAME[:*]
    return [n.split(":log-group:", 1)[1].removesuffix(":*") if ":log-group:" in n else n for n in names]


def _events(logs: Any, groups: list[str]) -> pa.Table:
    columns: dict[str, list[Any]] = {name: [] for name in EVENT_SCHEMA.names}
    for group in groups:
        for stream_name, stream in list(logs.groups[group].streams.items()):
            for event in list(stream.events):
                columns["log_group"].append(group)
                columns["log_stream"].append(stream_name)
                columns["timestamp_ms"].append(event.timestamp)
                columns["ingestion_time_ms"].append(event.ingestion_time)
                columns["message"].append(event.message)
    return pa.table(columns, schema=EVENT_SCHEMA)


def register(app: LocalCloudApp) -> None:
    insights = LogsInsights()
    app.handle("logs", "StartQuery", insights.start_query)
    app.handle("logs", "GetQueryResults", insights.get_query_results)
    app.handle("logs", "StopQuery", insights.stop_query)
    app.handle("logs", "DescribeQueries", insights.describe_queries)
