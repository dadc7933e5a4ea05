"""What CloudWatch Logs refuses beyond its model, checked before moto acts (each check raises AWS's
error, and nothing is done): the limits of PutLogEvents, the retention periods there are, the rules of
a Logs Insights time range, and the answers moto words differently (docs/aws-behaviour.md, "Input
validation"; tests/data/bad_inputs.jsonl).
"""

from __future__ import annotations

import time
from typing import Any

from moto.core.utils import unix_time_millis

from .. import backends
from ..wire import AwsCall, AwsError

RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                  3288, 3653)
# PutLogEvents: an event counts its UTF-8 message and 26 bytes; one event, and the batch, at most 1 MiB.
EVENT_OVERHEAD_BYTES = 26
MAX_EVENT_BYTES = 1_048_576
MAX_BATCH_BYTES = 1_048_576
MAX_BATCH_SPAN_MS = 24 * 3600 * 1000
DAY_S = 24 * 3600


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def put_retention_policy(call: AwsCall) -> None:
    days = call.params.get("retentionInDays")
    if days not in RETENTION_DAYS:
        raise _invalid(f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy "
                       f"constraint: Member must satisfy enum value set: [{', '.join(map(str, RETENTION_DAYS))}]")


def put_log_events(call: AwsCall) -> None:
    events = call.params.get("logEvents") or []
    timestamps = [event["timestamp"] for event in events]
    if timestamps != sorted(timestamps):
        raise _invalid("Log events in a single PutLogEvents request must be in chronological order.")
    if timestamps and timestamps[-1] - timestamps[0] > MAX_BATCH_SPAN_MS:
        raise _invalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
    # (a JSON "\\udcff" escape is a lone surrogate: counted as the bytes it would take)
    sizes = [len(event["message"].encode("utf-8", "surrogatepass")) + EVENT_OVERHEAD_BYTES for event in events]
    for size in sizes:
        if size > MAX_EVENT_BYTES:
            raise _invalid(f"Log event too large: {size} bytes exceeds limit of {MAX_EVENT_BYTES}")
    if sum(sizes) > MAX_BATCH_BYTES:
        raise _invalid(f"Upload too large: {sum(sizes)} bytes exceeds limit of {MAX_BATCH_BYTES}")


def create_log_stream(call: AwsCall) -> None:
    group = backends.logs(call.account_id, call.region).groups.get(call.params["logGroupName"])
    if group is not None and call.params["logStreamName"] in group.streams:  # moto says "log group"
        raise AwsError("ResourceAlreadyExistsException", "The specified log stream already exists")


def get_log_events(call: AwsCall) -> None:
    group = backends.logs(call.account_id, call.region).groups.get(call.params.get("logGroupName"))
    if group is not None and call.params["logStreamName"] not in group.streams:  # moto says "log group"
        raise AwsError("ResourceNotFoundException", "The specified log stream does not exist.")


def filter_log_events(call: AwsCall) -> None:
    params = call.params
    if params.get("logGroupName") and params.get("logGroupIdentifier"):
        raise AwsError("ValidationException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    token = params.get("nextToken")
    # A token the local cloud gave out names the group it pages through: group@stream@event.
    if token is not None and (token.count("@") < 2 or token.rsplit("@", 2)[0] != params.get("logGroupName")):
        raise _invalid("The specified nextToken is invalid.")


def start_query(call: AwsCall) -> None:
    params = call.params
    if params["endTime"] < params["startTime"]:
        raise _invalid("The end time of the query must be later than or equal to its start time (endTime >= "
                       "startTime).")
    logs = backends.logs(call.account_id, call.region)
    for name in log_group_names(params):
        group = logs.groups.get(name)
        if group is None:
            continue  # the handler says which is missing, as AWS says it
        created_s = int(unix_time_millis(group.creation_time) // 1000)  # the API's times are in seconds
        kept_since_s = int(time.time() - group.retention_in_days * DAY_S) if group.retention_in_days else 0
        if params["endTime"] < max(created_s, kept_since_s):
            raise AwsError("MalformedQueryException", "Query's end date and time is either before the log groups "
                           "creation time or exceeds the log groups log retention settings")


def describe_queries(call: AwsCall) -> None:
    name = call.params.get("logGroupName")
    if name and name not in backends.logs(call.account_id, call.region).groups:
        raise AwsError("ResourceNotFoundException", "The specified log group does not exist.")


def log_group_names(params: dict[str, Any]) -> list[str]:
    """The log groups a Logs Insights call names (by name, names or identifiers)."""
    if params.get("logGroupName"):
        return [params["logGroupName"]]
    names = params.get("logGroupNames") or params.get("logGroupIdentifiers") or []
    # An identifier may be a log group ARN: arn:aws:logs:region:account:log-group:NAME[:*]
    return [n.split(":log-group:", 1)[1].removesuffix(":*") if ":log-group:" in n else n for n in names]


CHECKS = {
    "PutRetentionPolicy": put_retention_policy,
    "PutLogEvents": put_log_events,
    "CreateLogStream": create_log_stream,
    "GetLogEvents": get_log_events,
    "FilterLogEvents": filter_log_events,
    "StartQuery": start_query,
    "DescribeQueries": describe_queries,
}
