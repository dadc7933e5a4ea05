"""What Athena refuses before it runs or stores anything: output locations that are no S3 path, work
groups that do not exist, the account's `primary` work group made or deleted (docs/aws-behaviour.md,
"Input validation", "Account defaults"; tests/data/bad_inputs.jsonl). Glue's CreateDatabase says which
database exists already."""

from __future__ import annotations

import re

from moto.backends import get_backend

from ..wire import AwsCall, AwsError

_S3_PATH = re.compile(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?")


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidRequestException", message, fields={"AthenaErrorCode": "INVALID_INPUT",
                                                                 "ErrorCode": "INVALID_INPUT"})


def _output_location(configuration: dict | None) -> None:
    location = ((configuration or {}).get("ResultConfiguration") or {}).get("OutputLocation")
    if location is not None and not _S3_PATH.fullmatch(location):
        raise _invalid("outputLocation is not a valid S3 path.")


def _work_group(call: AwsCall, name: str | None) -> None:
    if name is not None and name not in get_backend("athena")[call.account_id][call.region].work_groups:
        raise _invalid("WorkGroup is not found.")


def start_query_execution(call: AwsCall) -> None:
    _output_location(call.params)
    _work_group(call, call.params.get("WorkGroup"))


PRIMARY_WORK_GROUP = "primary"


def create_work_group(call: AwsCall) -> None:
    if call.params.get("Name") == PRIMARY_WORK_GROUP:
        raise _invalid("primary workGroup could not be created")
    _output_location(call.params.get("Configuration"))


def delete_work_group(call: AwsCall) -> None:
    if call.params.get("WorkGroup") == PRIMARY_WORK_GROUP:
        raise _invalid("primary workGroup could not be deleted")


def work_group_call(call: AwsCall) -> None:
    """GetWorkGroup, ListQueryExecutions: the work group must exist."""
    _work_group(call, call.params.get("WorkGroup"))


def create_database(call: AwsCall) -> None:
    name = (call.params.get("DatabaseInput") or {}).get("Name", "").lower()  # Glue keeps names in lower case
    if name in get_backend("glue")[call.account_id][call.region].databases:
        raise AwsError("AlreadyExistsException", f"Database {name} already exists.")


CHECKS = {
    ("athena", "StartQueryExecution"): start_query_execution,
    ("athena", "CreateWorkGroup"): create_work_group,
    ("athena", "DeleteWorkGroup"): delete_work_group,
    ("athena", "GetWorkGroup"): work_group_call,
    ("athena", "ListQueryExecutions"): work_group_call,
    ("glue", "CreateDatabase"): create_database,
}
