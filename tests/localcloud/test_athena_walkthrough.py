"""The walkthrough's own Athena statements, verbatim, through pyathena with no schema given (pyathena's
default schema is `default`, which every account has: docs/aws-behaviour.md, "Account defaults"), over
flow-log files delivered in AWS's default S3 layout: the table, one partition per day, and the
`day_of_week` query of rejected TCP, compared with the same answer computed from the records."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pyarrow as pa
import pytest
from pyathena import connect

from labkit.localcloud.flowlogs.background import NetworkInterface, generate_background_traffic
from labkit.localcloud.flowlogs.records import FlowRecord, LogFormat, records_to_table
from labkit.localcloud.flowlogs.s3_files import DeliveryOptions, S3Destination, S3FlowLog, S3FlowLogWriter, window_start

from ..clouds import as_owner

ACCOUNT, REGION, BUCKET, RESULTS = "123456789012", "us-east-1", "walkthrough-flow-logs", "walkthrough-results"
START = int(datetime(2024, 5, 6, 20, tzinfo=timezone.utc).timestamp())  # a Monday evening into Tuesday

CREATE = """CREATE EXTERNAL TABLE IF NOT EXISTS default.vpc_flow_logs (version int, account string, interfaceid string, sourceaddress string, destinationaddress string, sourceport int, destinationport int, protocol int, numpackets int, numbytes bigint, starttime int, endtime int, action string, logstatus string) PARTITIONED BY (dt string) ROW FORMAT DELIMITED FIELDS TERMINATED BY ' ' LOCATION 's3://{bucket}/AWSLogs/{account_id}/vpcflowlogs/us-east-1/' TBLPROPERTIES ("skip.header.line.count"="1");"""
ADD_PARTITION = """ALTER TABLE default.vpc_flow_logs ADD PARTITION (dt='{Year}-{Month}-{Day}') location 's3://{bucket}/AWSLogs/{account_id}/vpcflowlogs/us-east-1/{Year}/{Month}/{Day}';"""
QUERY = """SELECT day_of_week(from_iso8601_timestamp(dt)) AS day, dt, interfaceid, sourceaddress, destinationport, action, protocol FROM vpc_flow_logs WHERE action = 'REJECT' AND protocol = 6 order by sourceaddress LIMIT 100;"""


def _records() -> pa.Table:
    interfaces = [NetworkInterface(f"eni-0{i}a1b2c3d4e5f6a7b", f"172.31.{i}.10", ACCOUNT, "vpc-0a1b2c3d4e5f60718",
                                   "subnet-0a1b2c3d4e5f60718", f"i-0{i}a1b2c3d4e5f6a7b", REGION, "use1-az1")
                  for i in range(2)]
    noise = pa.concat_tables(generate_background_traffic(interfaces, seed=7, start=START, end=START + 8 * 3600,
                                                         records=1500, aggregation_interval=60))
    ssh = records_to_table([FlowRecord(account_id=ACCOUNT, interface_id=interfaces[0].interface_id,
                                       srcaddr="203.0.113.10", dstaddr="172.31.0.10", srcport=50000 + n, dstport=22,
                                       protocol=6, packets=2, bytes=120, start=START + 600 * n,
                                       end=START + 600 * n + 30, action="REJECT") for n in range(30)])
    return pa.concat_tables([noise, ssh.select(noise.column_names).cast(noise.schema)])


RECORDS = _records().to_pylist()


@pytest.fixture(scope="module")
def cursor(local_cloud):
    with pytest.MonkeyPatch.context() as patch:
        as_owner(patch, local_cloud, REGION)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket=RESULTS)
        writer = S3FlowLogWriter(S3FlowLog("fl-0123456789abcdef0", ACCOUNT, REGION, S3Destination(BUCKET),
                                           LogFormat(), DeliveryOptions()),
                                 lambda key, body: s3.put_object(Bucket=BUCKET, Key=key, Body=body))
        writer.add(pa.Table.from_pylist(RECORDS))
        writer.flush()
        yield connect(s3_staging_dir=f"s3://{RESULTS}/", region_name=REGION, poll_interval=0.02).cursor()


@pytest.fixture(autouse=True)
def endpoint(local_env):
    return local_env


def _day(record: dict) -> datetime:
    return datetime.fromtimestamp(window_start(record["end"]), timezone.utc)


def test_the_walkthroughs_table_partitions_and_query_run_verbatim(cursor):
    days = sorted({_day(r).date() for r in RECORDS})
    assert len(days) == 2
    cursor.execute(CREATE.format(bucket=BUCKET, account_id=ACCOUNT))
    for day in days:
        cursor.execute(ADD_PARTITION.format(bucket=BUCKET, account_id=ACCOUNT, Year=f"{day:%Y}", Month=f"{day:%m}",
                                            Day=f"{day:%d}"))
    rows = cursor.execute(QUERY).fetchall()

    rejected = [r for r in RECORDS if r["action"] == "REJECT" and r["protocol"] == 6]
    expected = sorted(((_day(r).isoweekday(), f"{_day(r):%Y-%m-%d}", r["interface_id"], r["srcaddr"], r["dstport"],
                        "REJECT", 6) for r in rejected), key=lambda row: row[3])
    assert len(rows) == min(100, len(expected)) == 100
    assert [row[3] for row in rows] == [row[3] for row in expected[:100]]  # ordered by source address
    assert set(rows) <= set(expected)
    assert {row[:2] for row in rows} <= {(1, f"{days[0]:%Y-%m-%d}"), (2, f"{days[1]:%Y-%m-%d}")}  # Monday, Tuesday
    assert [d[:2] for d in cursor.description] == [("day", "bigint"), ("dt", "varchar"), ("interfaceid", "varchar"),
                                                   ("sourceaddress", "varchar"), ("destinationport", "integer"),
                                                   ("action", "varchar"), ("protocol", "integer")]


def test_the_table_is_in_glues_default_database(cursor):
    glue = boto3.client("glue", region_name=REGION)
    table = glue.get_table(DatabaseName="default", Name="vpc_flow_logs")["Table"]
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert len(glue.get_partitions(DatabaseName="default", TableName="vpc_flow_logs")["Partitions"]) == 2


def test_the_tables_definition_reads_back_as_glue_takes_it(cursor):
    """A client that reads the table and writes it back (labkit claims its tables this way; so do
    Terraform and awswrangler) sends only what Glue accepts: TBLPROPERTIES and EXTERNAL, no empty keys."""
    glue = boto3.client("glue", region_name=REGION)
    table = glue.get_table(DatabaseName="default", Name="vpc_flow_logs")["Table"]
    assert table["Parameters"] == {"EXTERNAL": "TRUE", "skip.header.line.count": "1"}
    kept = ("Name", "StorageDescriptor", "PartitionKeys", "TableType", "Parameters")
    glue.update_table(DatabaseName="default", TableInput={key: table[key] for key in kept})
