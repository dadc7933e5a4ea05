"""Part 4: analyse the flow logs with CloudWatch Logs Insights and with Athena, as pandas DataFrames.

Logs Insights: start a query, wait for it, and read its rows (strings on the wire) into typed columns.
Athena: a work group with a bytes-scanned cutoff that writes its results under the lab's bucket, a
Glue database for the tables, and a pyathena connection whose PandasCursor returns DataFrames.
Both targets make the same calls; only the local target adds simulated internet noise, because on
AWS the internet provides it.
"""

from __future__ import annotations

import json
import re
import time
from datetime import date
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from . import records, traffic
from .config import ConfigError
from .session import Lab
from .waiting import wait_for

RESULTS_PREFIX = "athena-results/"

# Local target: yesterday's seeded internet noise against the server (scanners and web clients). A whole
# UTC day, so that its daily rhythm (and every count Part 4 shows) is the same whenever the lab runs.
NOISE_RECORDS = 10_000
NOISE_MINUTES = 24 * 60
NOISE_SEED = 5
NOISE_MARKER = "labkit/background-noise.json"  # in the lab's bucket: the noise was delivered

INSIGHTS_FINISHED = ("Complete", "Failed", "Cancelled", "Timeout", "Unknown")
_INSIGHTS_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$")
_DAY_FOLDER = re.compile(r"/vpcflowlogs/[^/]+/(\d{4})/(\d{2})/(\d{2})/")


def results_location(lab: Lab) -> str:
    return f"s3://{lab.bucket}/{RESULTS_PREFIX}"


# --- the records to analyse ---------------------------------------------------------------------

def ensure_internet_noise(lab: Lab, server: traffic.Server) -> dict[str, Any] | None:
    """Local target: deliver yesterday's seeded internet noise against the server's network interface,
    once (a marker object in the lab's bucket remembers it). On AWS the internet does this by itself.
    Returns what the local cloud delivered, or None when nothing was added now."""
    if lab.config.target != "local":
        return None
    s3 = lab.client("s3")
    if s3.list_objects_v2(Bucket=lab.bucket, Prefix=NOISE_MARKER).get("KeyCount"):
        return None
    delivered = traffic.local_cloud_request(lab, "background-traffic", {
        "records": NOISE_RECORDS, "minutes": NOISE_MINUTES, "end": int(time.time()) // 86400 * 86400,
        "seed": NOISE_SEED, "region": lab.region,
        "interface_ids": [server.interface_id]})
    s3.put_object(Bucket=lab.bucket, Key=NOISE_MARKER, Body=json.dumps(delivered).encode())
    return delivered


def flow_log_days(lab: Lab, bucket: str, prefix: str = "AWSLogs/") -> list[date]:
    """The days that have flow-log files, from the `.../vpcflowlogs/<region>/YYYY/MM/DD/` folders."""
    days = {date(*map(int, m.groups())) for key in records.s3_objects(lab, bucket, prefix)["Key"]
            if (m := _DAY_FOLDER.search(key))}
    return sorted(days)


# --- CloudWatch Logs Insights -------------------------------------------------------------------

def insights_query(lab: Lab, query: str, log_groups: list[str] | None = None, hours: float = 48,
                   limit: int | None = None, timeout_s: float = 600, poll_s: float = 1.0) -> pd.DataFrame:
    """Run a Logs Insights query over the last `hours` and return its rows as a typed DataFrame.

    The query's statistics (recordsMatched, recordsScanned, bytesScanned) are in `frame.attrs`."""
    logs = lab.client("logs")
    now = int(time.time())
    # The end lies a little ahead: records can carry times up to a few minutes past the call.
    params: dict[str, Any] = {"logGroupNames": log_groups or [lab.config.log_group], "queryString": query,
                              "startTime": now - int(hours * 3600), "endTime": now + 900}
    if limit is not None:
        params["limit"] = limit
    query_id = logs.start_query(**params)["queryId"]
    try:
        response = wait_for(lambda: logs.get_query_results(queryId=query_id),
                            lambda answer: answer["status"] in INSIGHTS_FINISHED, timeout_s=timeout_s, poll_s=poll_s,
                            what="The Logs Insights query did not finish")
    except TimeoutError:
        logs.stop_query(queryId=query_id)
        raise
    if response["status"] != "Complete":
        raise RuntimeError(f"The Logs Insights query ended {response['status']}: {query}")
    frame = insights_frame(response["results"])
    frame.attrs["statistics"] = response.get("statistics", {})
    return frame


def insights_frame(results: list[list[dict[str, str]]]) -> pd.DataFrame:
    """GetQueryResults rows (lists of {field, value} strings) as a DataFrame: numbers as numbers,
    times as UTC timestamps, and without the `@ptr` record pointers."""
    rows = [{cell["field"]: cell.get("value") for cell in row if cell["field"] != "@ptr"} for row in results]
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        frame[column] = _typed_column(column, frame[column])
    return frame


def _typed_column(name: str, values: pd.Series) -> pd.Series:
    present = values.dropna()
    if name == "@timestamp" or (len(present) and present.map(lambda v: bool(_INSIGHTS_TIME.match(v))).all()):
        return pd.to_datetime(values, format="%Y-%m-%d %H:%M:%S.%f", utc=True)
    numbers = pd.to_numeric(values, errors="coerce")
    if len(present) == 0 or numbers[values.notna()].isna().any():
        return values.astype("string")
    return numbers.astype("Int64") if (numbers.dropna() % 1 == 0).all() else numbers


# --- Athena -------------------------------------------------------------------------------------

def ensure_work_group(lab: Lab, Name: str, **create_work_group: Any) -> str:
    """The Athena work group `Name`, created with the lab's tags if missing (CreateWorkGroup's
    parameters as the notebook shows them); refuses a work group of the same name that is not the lab's."""
    athena = lab.client("athena")
    if Name in work_group_names(athena):
        if not _lab_owns_work_group(lab, Name):
            raise ConfigError(f"An Athena work group named {Name!r} exists but is not this lab run's: "
                              f"set name_prefix to use other names.")
        return Name
    lab.require_billable_ok(f"the Athena work group {Name}")
    athena.create_work_group(Name=Name, Tags=lab.config.tag_list(), **create_work_group)
    return Name


def work_group_names(athena: Any) -> list[str]:
    names, token = [], None
    while True:
        page = athena.list_work_groups(**({"NextToken": token} if token else {}))
        names += [group["Name"] for group in page["WorkGroups"]]
        if not (token := page.get("NextToken")):
            return names


def work_group_arn(lab: Lab, name: str) -> str:
    return f"arn:{_partition(lab)}:athena:{lab.region}:{lab.account_id}:workgroup/{name}"


def _lab_owns_work_group(lab: Lab, name: str) -> bool:
    try:
        tags = lab.client("athena").list_tags_for_resource(ResourceARN=work_group_arn(lab, name))["Tags"]
    except ClientError:
        return False  # untagged, or gone
    return lab.config.is_ours(tags)


def lab_work_group(lab: Lab) -> str | None:
    """The lab run's work group, if it exists."""
    name = lab.config.work_group_name
    return name if name in work_group_names(lab.client("athena")) and _lab_owns_work_group(lab, name) else None


def ensure_database(lab: Lab, Name: str, Description: str = "") -> str:
    """Glue CreateDatabase `Name` (it holds the lab's Athena tables) with the lab's tags, unless it exists."""
    glue = lab.client("glue")
    try:
        glue.get_database(Name=Name)
        if not lab_owns_database(lab, Name):
            raise ConfigError(f"A Glue database named {Name!r} exists but is not this lab run's: "
                              f"set name_prefix to use other names.")
        return Name
    except ClientError as error:
        if error.response["Error"]["Code"] != "EntityNotFoundException":
            raise
    glue.create_database(DatabaseInput={"Name": Name, "Description": Description}, Tags=lab.config.tags)
    return Name


def database_arn(lab: Lab, name: str) -> str:
    return f"arn:{_partition(lab)}:glue:{lab.region}:{lab.account_id}:database/{name}"


def lab_owns_database(lab: Lab, name: str) -> bool:
    try:
        return lab.config.is_ours(lab.client("glue").get_tags(ResourceArn=database_arn(lab, name))["Tags"])
    except ClientError:
        return False


def _partition(lab: Lab) -> str:
    return lab.session.get_partition_for_region(lab.region)


def athena_connection(lab: Lab, work_group: str, database: str) -> Any:
    """A pyathena connection whose cursors return pandas DataFrames (PandasCursor); it runs in the
    work group (which decides where results go) with `database` as the default schema."""
    from pyathena import connect
    from pyathena.pandas.cursor import PandasCursor

    return connect(session=lab.session, region_name=lab.region, work_group=work_group, schema_name=database,
                   s3_staging_dir=results_location(lab), cursor_class=PandasCursor,
                   poll_interval=0.1 if lab.endpoint else 1.0)


def query(connection: Any, sql: str) -> pd.DataFrame:
    """Run one SQL statement; a query's rows come back as a DataFrame with Athena's column types."""
    return connection.cursor().execute(sql).as_pandas()


def execute(connection: Any, sql: str) -> dict[str, Any]:
    """Run a DDL or utility statement (CREATE, ALTER, DROP, MSCK); returns what Athena reports:
    state, data scanned, and the execution id."""
    cursor = connection.cursor().execute(sql)
    return {"state": cursor.state, "data_scanned_bytes": cursor.data_scanned_in_bytes,
            "query_id": cursor.query_id}


def ensure_table(lab: Lab, connection: Any, database: str, name: str, ddl: str) -> bool:
    """Create table `name` with `ddl` unless the Glue catalog has it already; True if created now."""
    try:
        lab.client("glue").get_table(DatabaseName=database, Name=name)
        return False
    except ClientError as error:
        if error.response["Error"]["Code"] != "EntityNotFoundException":
            raise
    execute(connection, ddl)
    return True


# Glue table parameters (table properties) that mark a table the lab created in a database not its own
# (the walkthrough's `default.vpc_flow_logs`): Glue tables take no tags, and teardown removes only these.
WALKTHROUGH_DATABASE = "default"


def claim_table(lab: Lab, database: str, name: str) -> None:
    """Mark the table as this lab run's, in its parameters (UpdateTable keeps the rest of its definition)."""
    glue = lab.client("glue")
    table = glue.get_table(DatabaseName=database, Name=name)["Table"]
    kept = ("Name", "Description", "Owner", "Retention", "StorageDescriptor", "PartitionKeys", "TableType",
            "Parameters", "ViewOriginalText", "ViewExpandedText")
    table_input = {key: table[key] for key in kept if key in table}
    table_input["Parameters"] = {**table.get("Parameters", {}), **lab.config.tags}
    glue.update_table(DatabaseName=database, TableInput=table_input)


def claimed_tables(lab: Lab, database: str) -> list[str]:
    """The tables of `database` this lab run has claimed (see `claim_table`)."""
    glue = lab.client("glue")
    try:
        pages = list(glue.get_paginator("get_tables").paginate(DatabaseName=database))
    except ClientError as error:
        if error.response["Error"]["Code"] == "EntityNotFoundException":
            return []
        raise
    return [table["Name"] for page in pages for table in page["TableList"]
            if lab.config.is_ours(table.get("Parameters", {}))]


def partition_exists(lab: Lab, database: str, table: str, values: list[str]) -> bool:
    try:
        lab.client("glue").get_partition(DatabaseName=database, TableName=table, PartitionValues=values)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] == "EntityNotFoundException":
            return False
        raise


def table_columns(lab: Lab, database: str, name: str) -> pd.DataFrame:
    """A table's columns and partition keys as the Glue catalog holds them."""
    table = lab.client("glue").get_table(DatabaseName=database, Name=name)["Table"]
    rows = [{"column": c["Name"], "type": c["Type"], "partition key": False}
            for c in table["StorageDescriptor"]["Columns"]]
    rows += [{"column": c["Name"], "type": c["Type"], "partition key": True} for c in table.get("PartitionKeys", [])]
    return pd.DataFrame(rows, columns=["column", "type", "partition key"])
