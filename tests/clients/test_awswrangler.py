"""awswrangler (AWS SDK for pandas) against the local cloud, over the lab's own records: a whole Athena
table read with `read_sql_table` (by CTAS, its default, and plainly), and Logs Insights through
`cloudwatch.run_query` and `read_logs`, each matching what the S3 files hold. `read_sql_query`'s three
approaches are tested in tests/localcloud/test_athena_writes.py."""

from __future__ import annotations

import pytest

from labkit import analysis, records
from labkit.config import LabConfig
from labkit.session import connect

from ..clouds import as_owner
from ..labs import flow_log_table, ssh_accepted_then_rejected

wr = pytest.importorskip("awswrangler")  # a client tool: installed by `make venv-clients`

REGION, RESULTS = "us-east-1", "wrangler-athena-results"


@pytest.fixture(scope="module")
def lab(local_cloud):
    """Parts 1 and 2 (SSH accepted, then rejected after the swap) and the table over the S3 files, its
    day's partition added, made through awswrangler as its user would."""
    with pytest.MonkeyPatch.context() as patch:
        as_owner(patch, local_cloud, REGION)
        lab = connect(LabConfig.resolve(run_id="wrangler"))
        ssh_accepted_then_rejected(lab)
        lab.client("s3").create_bucket(Bucket=RESULTS)
        (day,) = analysis.flow_log_days(lab, lab.bucket)
        for sql in flow_log_table("wr_flow_logs", lab.bucket, day.strftime("%Y/%m/%d")):
            wr.athena.start_query_execution(sql, database="default", s3_output=f"s3://{RESULTS}/", wait=True)
        yield lab


@pytest.fixture(autouse=True)
def _boto3_on_the_local_cloud(local_env):
    """awswrangler's boto3 calls and the checks' own go to this module's local cloud."""


def _s3_rows(lab) -> list[tuple]:
    """The records in the S3 files (the truth both destinations hold), as tuples of text."""
    frame = records.read_s3_records(lab, lab.bucket)[list(records.DEFAULT_FIELDS)]
    return sorted(tuple(str(value) for value in row) for row in frame.itertuples(index=False))


def test_read_sql_table_by_ctas_and_plainly_gives_the_records_in_s3(lab):
    by_ctas = wr.athena.read_sql_table("wr_flow_logs", "default", s3_output=f"s3://{RESULTS}/")  # ctas_approach=True
    plain = wr.athena.read_sql_table("wr_flow_logs", "default", ctas_approach=False, s3_output=f"s3://{RESULTS}/")
    assert list(by_ctas.columns) == list(plain.columns) == [
        "version", "account_id", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets",
        "bytes", "start", "end", "action", "log_status", "day"]
    order = ["start", "srcaddr", "srcport", "dstport"]
    assert by_ctas.sort_values(order, ignore_index=True).equals(plain.sort_values(order, ignore_index=True))
    assert str(plain["dstport"].dtype) == "Int32" and str(plain["bytes"].dtype) == "Int64"
    rows = sorted(tuple(str(value) for value in row) for row in plain.drop(columns="day").itertuples(index=False))
    assert rows == _s3_rows(lab)
    tables = wr.catalog.tables(database="default")["Table"].tolist()
    assert not [name for name in tables if name.startswith("temp_table_")]  # awswrangler dropped its CTAS table


def test_cloudwatch_run_query_and_read_logs_give_the_records_of_cloudwatch_logs(lab):
    # With its defaults (1970 to now), as its own tests on AWS call it: awswrangler sends StartQuery its times
    # in milliseconds where AWS reads seconds (docs/aws-behaviour.md, "Query language"), so the
    # range it asks for runs from 1970 far into the future, and a start_time of this hour would ask for none.
    rows = wr.cloudwatch.run_query("fields srcAddr, dstPort, action | filter dstPort = 22 | sort startTime asc",
                                   log_group_names=[lab.config.log_group])
    in_s3 = records.read_s3_records(lab, lab.bucket)
    ssh = in_s3.query("dstport == 22").sort_values("start", kind="stable")
    assert set(ssh["action"]) == {"ACCEPT", "REJECT"}  # the lab made both
    answered = [{f["field"]: f["value"] for f in row} for row in rows]
    assert [(row["srcAddr"], row["dstPort"], row["action"]) for row in answered] == [
        (source, str(port), action) for source, port, action in ssh[["srcaddr", "dstport", "action"]].values]
    assert all("@ptr" in row for row in answered)  # Logs Insights' pointer to each event

    frame = wr.cloudwatch.read_logs("stats count(*) as records by action | sort action",
                                    log_group_names=[lab.config.log_group])
    assert frame[["action", "records"]].values.tolist() == [
        [action, str(count)] for action, count in sorted(in_s3.groupby("action").size().items())]
