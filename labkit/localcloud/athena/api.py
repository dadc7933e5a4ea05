"""The Athena API calls the local cloud answers itself (moto's Athena returns canned empty results).

Work groups (CreateWorkGroup, GetWorkGroup, ...) stay with moto, which keeps their configuration;
the engine reads the OutputLocation, EnforceWorkGroupConfiguration and BytesScannedCutoffPerQuery
from there. Tables and partitions live in moto's Glue backend, so Glue's own API answers for them.
The tags of work groups and data catalogs live in moto's Athena tagger, which CreateWorkGroup and
CreateDataCatalog fill; the calls on them are answered here, for the resources of the call's region
(moto tags any ARN, and fails ListTagsForResource on a resource without tags).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from moto.backends import get_backend

from ..wire import AwsCall, AwsError, Response
from .engine import CANCELLED, SUCCEEDED, AthenaEngine, InvalidRequest, athena_engines
from .results import result_rows

MAX_RESULTS = 1000
MAX_LISTED = 50
_TAGGABLE_ARN = re.compile(r"arn:aws[a-z-]*:athena:(?P<region>[^:]+):(?P<account>\d{12}):"
                           r"(?P<kind>workgroup|datacatalog)/(?P<name>.+)")


class AthenaApi:
    """StartQueryExecution and the calls that follow it, each on the engine of the call's account and region."""

    @staticmethod
    def engine(call: AwsCall) -> AthenaEngine:
        return athena_engines[call.account_id][call.region]

    def start_query_execution(self, call: AwsCall) -> dict[str, Any]:
        p = call.params
        if not p.get("ClientRequestToken"):  # boto3 fills it in; a raw request must send it
            raise InvalidRequest("clientRequestToken is null or empty")
        execution = self.engine(call).start(p["QueryString"],
                                            database=(p.get("QueryExecutionContext") or {}).get("Database"),
                                            work_group=p.get("WorkGroup"),
                                            output_location=(p.get("ResultConfiguration") or {}).get("OutputLocation"),
                                            client_request_token=p["ClientRequestToken"])
        return {"QueryExecutionId": execution.id}

    def get_query_execution(self, call: AwsCall) -> dict[str, Any]:
        return {"QueryExecution": self.engine(call).get(call.params["QueryExecutionId"]).as_api()}

    def batch_get_query_execution(self, call: AwsCall) -> dict[str, Any]:
        found, unprocessed = [], []
        for execution_id in call.params.get("QueryExecutionIds", []):
            try:
                found.append(self.engine(call).get(execution_id).as_api())
            except InvalidRequest as error:
                unprocessed.append({"QueryExecutionId": execution_id, "ErrorCode": "InvalidRequestException",
                                    "ErrorMessage": error.message})
        return {"QueryExecutions": found, "UnprocessedQueryExecutionIds": unprocessed}

    def get_query_results(self, call: AwsCall) -> dict[str, Any]:
        execution = self.engine(call).get(call.params["QueryExecutionId"])
        if not execution.finished:
            raise InvalidRequest(f"Query has not yet finished. Current state: {execution.state}",
                                 "INVALID_QUERY_EXECUTION_STATE")
        if execution.state == CANCELLED:
            raise InvalidRequest("Could not find results", "RESULT_NOT_FOUND")
        if execution.state != SUCCEEDED:
            raise InvalidRequest(f"Query did not finish successfully. Final query state: {execution.state}",
                                 "INVALID_QUERY_EXECUTION_STATE")
        count = min(int(call.params.get("MaxResults") or MAX_RESULTS), MAX_RESULTS)
        start = _page_start(call.params.get("NextToken"))
        columns, rows = execution.outcome.columns, execution.outcome.rows
        page = result_rows(columns, rows, header=execution.has_header_row, start=start, count=count)
        data_rows = len(page) - (1 if execution.has_header_row and start == 0 else 0)
        response: dict[str, Any] = {
            "UpdateCount": 0,
            "ResultSet": {"Rows": page, "ResultSetMetadata": {"ColumnInfo": [c.column_info() for c in columns]}},
        }
        if start + data_rows < len(rows):
            response["NextToken"] = str(start + data_rows)
        return response

    def stop_query_execution(self, call: AwsCall) -> dict[str, Any]:
        self.engine(call).stop(call.params["QueryExecutionId"])
        return {}

    def get_query_runtime_statistics(self, call: AwsCall) -> dict[str, Any]:
        return {"QueryRuntimeStatistics": self.engine(call).get(call.params["QueryExecutionId"]).runtime_statistics()}

    # --- tags of work groups and data catalogs ----------------------------------------------------

    def tag_resource(self, call: AwsCall) -> dict[str, Any]:
        backend, arn = _taggable(call)
        backend.tag_resource(arn, {tag["Key"]: tag["Value"] for tag in call.params["Tags"]})
        return {}

    def untag_resource(self, call: AwsCall) -> dict[str, Any]:
        backend, arn = _taggable(call)
        backend.untag_resource(arn, call.params["TagKeys"])
        return {}

    def list_tags_for_resource(self, call: AwsCall) -> dict[str, Any]:
        backend, arn = _taggable(call)
        return {"Tags": backend.tagger.list_tags_for_resource(arn)["Tags"]}

    def list_query_executions(self, call: AwsCall) -> dict[str, Any]:
        executions = self.engine(call).list(call.params.get("WorkGroup"))
        count = min(int(call.params.get("MaxResults") or MAX_LISTED), MAX_LISTED)
        start = _page_start(call.params.get("NextToken"))
        response: dict[str, Any] = {"QueryExecutionIds": [e.id for e in executions[start:start + count]]}
        if start + count < len(executions):
            response["NextToken"] = str(start + count)
        return response


def _taggable(call: AwsCall) -> tuple[Any, str]:
    """moto's Athena backend of the call's region, and the ARN of the work group or data catalog the
    call names; ResourceNotFoundException if it names none of this account and region."""
    arn = call.params["ResourceARN"]
    backend = get_backend("athena")[call.account_id][call.region]
    match = _TAGGABLE_ARN.fullmatch(arn)
    resources = {"workgroup": backend.work_groups, "datacatalog": backend.data_catalogs}
    resource = (resources[match["kind"]].get(match["name"])
                if match and (match["region"], match["account"]) == (call.region, call.account_id) else None)
    if resource is None:
        raise AwsError("ResourceNotFoundException", f"Resource {arn} does not exist.",
                       fields={"ResourceName": arn})
    return backend, resource.arn


def _page_start(token: str | None) -> int:
    """Where a page starts: a NextToken the local cloud gave out is the index of the next row."""
    if token is None:
        return 0
    if not token.isdigit():
        raise InvalidRequest(f"Malformed nextPageToken {token}")
    return int(token)


def handlers() -> dict[str, Callable[[AwsCall], Response]]:
    """The Athena actions the local cloud answers, by action name."""
    api = AthenaApi()
    return {action: json_handler(method) for action, method in {
        "StartQueryExecution": api.start_query_execution,
        "GetQueryExecution": api.get_query_execution,
        "BatchGetQueryExecution": api.batch_get_query_execution,
        "GetQueryResults": api.get_query_results,
        "StopQueryExecution": api.stop_query_execution,
        "ListQueryExecutions": api.list_query_executions,
        "GetQueryRuntimeStatistics": api.get_query_runtime_statistics,
        "TagResource": api.tag_resource,
        "UntagResource": api.untag_resource,
        "ListTagsForResource": api.list_tags_for_resource}.items()}


def json_handler(method: Callable[[AwsCall], dict[str, Any]]) -> Callable[[AwsCall], Response]:
    """The answer of `method`, or Athena's error (with its AthenaErrorCode) for an InvalidRequest."""
    def handle(call: AwsCall) -> Response:
        try:
            return Response.json(method(call), content_type="application/x-amz-json-1.1")
        except InvalidRequest as error:
            code = error.athena_error_code
            raise AwsError("InvalidRequestException", error.message,
                           fields={"AthenaErrorCode": code, "ErrorCode": code}) from None
    return handle
