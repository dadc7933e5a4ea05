"""Partition projection as Athena does it (docs/aws-behaviour.md, "Partition projection"), over the
awslabs aws-security-analytics-bootstrap VPC flow-log table: its DDL as published (placeholders filled:
2 accounts x 23 regions x 365 days), flow-log files delivered in AWS's S3 layout for a few of those
partitions, and the forms of its preview and demo queries, each compared with the same answer computed
in plain Python over the records. Also: the two ways of finding partitions agree, LIMIT reads no more
partitions than it needs, and Athena's limits.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from ipaddress import ip_address, ip_network

import boto3
import pytest
from pyathena import connect
from pyathena.error import OperationalError

from labkit.localcloud.athena import projection
from labkit.localcloud.athena.catalog import Table
from labkit.localcloud.athena.ddl import Column
from labkit.localcloud.flowlogs.records import FIELD_CATALOG, FlowRecord, LogFormat, records_to_table
from labkit.localcloud.flowlogs.s3_files import DeliveryOptions, S3Destination, S3FlowLog, S3FlowLogWriter, window_start

from ..clouds import as_owner

REGION, BUCKET, RESULTS = "us-east-1", "central-logs", "projection-results"
ACCOUNTS = ("111122223333", "444455556666")
REGIONS = ("us-east-2,us-east-1,us-west-1,us-west-2,af-south-1,ap-east-1,ap-south-1,ap-northeast-3,ap-northeast-2,"
           "ap-southeast-1,ap-southeast-2,ap-northeast-1,ca-central-1,cn-north-1,cn-northwest-1,eu-central-1,eu-west-1,"
           "eu-west-2,eu-south-1,eu-west-3,eu-north-1,me-south-1,sa-east-1")
TODAY = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
FIRST_DAY = TODAY - timedelta(days=364)
V5_FIELDS = tuple(name for name, spec in FIELD_CATALOG.items() if spec.version <= 5)

# The bootstrap's DDL (sql/ddl/create_tables/create_vpcflowlog_table.sql), its comments left out
DDL = """CREATE EXTERNAL TABLE IF NOT EXISTS vpcflow (
  version INT, account STRING, interfaceid STRING, sourceaddress STRING, destinationaddress STRING,
  sourceport INT, destinationport INT, protocol INT, numpackets INT, numbytes BIGINT, starttime INT, endtime INT,
  action STRING, logstatus STRING, vpcid STRING, subnetid STRING, instanceid STRING, tcpflags SMALLINT,
  type STRING, pktsrcaddr STRING, pktdstaddr STRING, region STRING, azid STRING, sublocationtype STRING,
  sublocationid STRING, pktsrcawsservice STRING, pktdstawsservice STRING, flowdirection STRING, trafficpath STRING
)
PARTITIONED BY
(
 date_partition STRING,
 region_partition STRING,
 account_partition STRING
)
ROW FORMAT DELIMITED
FIELDS TERMINATED BY ' '
LOCATION 's3://{bucket}/AWSLogs/'
TBLPROPERTIES
(
 "skip.header.line.count"="1",
 "projection.enabled" = "true",
 "projection.date_partition.type" = "date",
 "projection.date_partition.range" = "{first_day},NOW",
 "projection.date_partition.format" = "yyyy/MM/dd",
 "projection.date_partition.interval" = "1",
 "projection.date_partition.interval.unit" = "DAYS",
 "projection.region_partition.type" = "enum",
 "projection.region_partition.values" = "{regions}",
 "projection.account_partition.type" = "enum",
 "projection.account_partition.values" = "{accounts}",
 "storage.location.template" = "s3://{bucket}/AWSLogs/${{account_partition}}/vpcflowlogs/${{region_partition}}/${{date_partition}}"
);"""


def _records() -> list[dict]:
    """Flows of two instances in each (account, region, day) that has files; some are on port 443, some
    between 192.0.2.1 and 203.0.113.2, some internal (172.16/12) and some rejected."""
    records = []
    for account, region, days_ago in ((ACCOUNTS[0], "us-east-1", 1), (ACCOUNTS[0], "us-east-1", 2),
                                      (ACCOUNTS[0], "us-west-2", 2), (ACCOUNTS[1], "us-east-1", 1),
                                      (ACCOUNTS[0], "eu-west-1", 200)):
        start = int((TODAY - timedelta(days=days_ago)).timestamp()) + 3600
        for n in range(60):
            instance = f"i-0{n % 2}a1b2c3d4e5f6a7b"
            source, destination = [("192.0.2.1", "203.0.113.2"), ("203.0.113.2", "192.0.2.1"),
                                   ("172.16.0.5", "172.31.9.9"), ("172.16.0.5", f"198.51.100.{n}")][n % 4]
            records.append(FlowRecord(
                account_id=account, interface_id=f"eni-0{n % 2}a1b2c3d4e5f6a7b", srcaddr=source, dstaddr=destination,
                srcport=443 if n % 3 == 0 else 40000 + n, dstport=443 if n % 3 == 1 else 1000 + n * 500, protocol=6,
                packets=n + 1, bytes=100 * (n + 1), start=start + 60 * n, end=start + 60 * n + 30,
                action="REJECT" if n % 5 == 0 else "ACCEPT", vpc_id="vpc-0a1b2c3d4e5f60718",
                subnet_id="subnet-0a1b2c3d4e5f60718", instance_id=instance, tcp_flags=2, type="IPv4",
                pkt_srcaddr=source, pkt_dstaddr=destination, region=region, az_id="use1-az1",
                flow_direction="ingress" if n % 2 else "egress", traffic_path=None))
    table = records_to_table(records)
    return [{**row, "day": f"{datetime.fromtimestamp(window_start(row['end']), timezone.utc):%Y/%m/%d}"}
            for row in table.to_pylist()]


RECORDS = _records()


@pytest.fixture(scope="module")
def cursor(local_cloud):
    with pytest.MonkeyPatch.context() as patch:
        as_owner(patch, local_cloud, REGION)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket=RESULTS)
        by_source = defaultdict(list)
        for record in RECORDS:
            by_source[(record["account_id"], record["region"])].append(record)
        for n, ((account, region), rows) in enumerate(sorted(by_source.items())):
            writer = S3FlowLogWriter(S3FlowLog(f"fl-0{n}23456789abcdef0", account, region, S3Destination(BUCKET),
                                               LogFormat(V5_FIELDS), DeliveryOptions()),
                                     lambda key, body: s3.put_object(Bucket=BUCKET, Key=key, Body=body))
            writer.add(records_to_table([FlowRecord(**{k: v for k, v in row.items() if k != "day"}) for row in rows]))
            writer.flush()
        cursor = connect(s3_staging_dir=f"s3://{RESULTS}/", region_name=REGION, poll_interval=0.02).cursor()
        cursor.execute(DDL.format(bucket=BUCKET, first_day=f"{FIRST_DAY:%Y/%m/%d}", regions=REGIONS,
                                  accounts=",".join(ACCOUNTS)))
        yield cursor


def _where(rows: list[dict], first: str, last: str, account: str = ACCOUNTS[0],
           regions: tuple[str, ...] = ("us-east-1", "us-east-2", "us-west-2")) -> list[dict]:
    return [r for r in rows if first <= r["day"] <= last and r["account_id"] == account and r["region"] in regions]


FIRST, LAST = f"{TODAY - timedelta(days=30):%Y/%m/%d}", f"{TODAY:%Y/%m/%d}"
PARTITIONS = (f"date_partition >= '{FIRST}' AND date_partition <= '{LAST}' AND account_partition = '{ACCOUNTS[0]}' "
              f"AND region_partition in ('us-east-1','us-east-2','us-west-2', 'us-west-2')")


@pytest.mark.parametrize(("where", "keep"), [
    ("", lambda r: True),
    (f"WHERE account_partition = '{ACCOUNTS[0]}'", lambda r: r["account_id"] == ACCOUNTS[0]),
    (f"WHERE account_partition in ('{ACCOUNTS[0]}','{ACCOUNTS[1]}','123456789012')", lambda r: True),
    ("WHERE region_partition = 'us-east-1'", lambda r: r["region"] == "us-east-1"),
    ("WHERE region_partition in ('us-east-1','us-east-2','us-west-2')", lambda r: r["region"] != "eu-west-1"),
    (f"WHERE date_partition >= '{FIRST}' AND date_partition <= '{LAST}'", lambda r: FIRST <= r["day"] <= LAST),
    ("WHERE date_partition >= date_format(date_add('day',-30,current_timestamp), '%Y/%m/%d')",
     lambda r: r["day"] >= f"{datetime.now(timezone.utc) - timedelta(days=30):%Y/%m/%d}"),
    (f"WHERE {PARTITIONS}", lambda r: bool(_where([r], FIRST, LAST))),
])
def test_the_preview_queries_give_ten_rows_of_the_partitions_asked_for(cursor, where, keep):
    rows = cursor.execute(f"SELECT * from vpcflow\n{where}\nLIMIT 10;").fetchall()
    names = [d[0] for d in cursor.description]
    allowed = {(r["srcaddr"], r["start"], r["account_id"], r["region"]) for r in RECORDS if keep(r)}
    assert len(rows) == 10
    for row in map(dict, (zip(names, row) for row in rows)):
        assert (row["sourceaddress"], row["starttime"], row["account_partition"], row["region_partition"]) in allowed
        assert row["account"] == row["account_partition"] and row["region"] == row["region_partition"]


def test_pairs_by_record_count(cursor):
    rows = cursor.execute(f"SELECT region, instanceid, sourceaddress, destinationaddress, count(*) as record_count "
                          f"FROM vpcflow WHERE {PARTITIONS} GROUP BY region, instanceid, sourceaddress, "
                          f"destinationaddress ORDER BY record_count DESC").fetchall()
    expected = Counter((r["region"], r["instance_id"], r["srcaddr"], r["dstaddr"])
                       for r in _where(RECORDS, FIRST, LAST))
    assert {row[:4]: row[4] for row in rows} == dict(expected)
    assert [row[4] for row in rows] == sorted(expected.values(), reverse=True)


def test_bytes_between_a_pair_and_from_port_443(cursor):
    rows = cursor.execute(f"SELECT region, instanceid, sourceaddress, destinationaddress, sum(numbytes) as byte_count "
                          f"FROM vpcflow WHERE (sourceaddress = '192.0.2.1' OR destinationaddress = '192.0.2.1') "
                          f"AND (sourceaddress = '203.0.113.2' OR destinationaddress = '203.0.113.2') AND {PARTITIONS} "
                          f"GROUP BY region, instanceid, sourceaddress, destinationaddress ORDER BY byte_count DESC"
                          ).fetchall()
    expected = Counter()
    for r in _where(RECORDS, FIRST, LAST):
        if {r["srcaddr"], r["dstaddr"]} == {"192.0.2.1", "203.0.113.2"}:
            expected[(r["region"], r["instance_id"], r["srcaddr"], r["dstaddr"])] += r["bytes"]
    assert {row[:4]: row[4] for row in rows} == dict(expected) and expected
    rows = cursor.execute(f"SELECT region, instanceid, sourceaddress, sourceport, destinationaddress, sum(numbytes) as "
                          f"byte_count FROM vpcflow WHERE instanceid = 'i-00a1b2c3d4e5f6a7b' AND sourceport = 443 AND "
                          f"{PARTITIONS} GROUP BY region, instanceid, sourceaddress, sourceport, destinationaddress "
                          f"ORDER BY byte_count DESC").fetchall()
    expected = Counter()
    for r in _where(RECORDS, FIRST, LAST):
        if r["instance_id"] == "i-00a1b2c3d4e5f6a7b" and r["srcport"] == 443:
            expected[(r["region"], r["instance_id"], r["srcaddr"], 443, r["dstaddr"])] += r["bytes"]
    assert {row[:5]: row[5] for row in rows} == dict(expected) and expected


def test_first_and_last_seen_per_source(cursor):
    rows = cursor.execute(f"SELECT sourceaddress, min(starttime) AS first_seen, max(endtime) AS last_seen, "
                          f"array_agg(DISTINCT(destinationaddress)), array_agg(DISTINCT(instanceid)), "
                          f"array_agg(DISTINCT(destinationport)) FROM vpcflow WHERE destinationport < 32768 AND "
                          f"{PARTITIONS} GROUP BY sourceaddress ORDER by first_seen ASC").fetchall()
    kept = [r for r in _where(RECORDS, FIRST, LAST) if r["dstport"] < 32768]
    sources = sorted({r["srcaddr"] for r in kept}, key=lambda s: min(r["start"] for r in kept if r["srcaddr"] == s))
    assert [row[0] for row in rows] == sources
    for row in rows:
        mine = [r for r in kept if r["srcaddr"] == row[0]]
        assert (row[1], row[2]) == (min(r["start"] for r in mine), max(r["end"] for r in mine))
        assert sorted(row[3]) == sorted({r["dstaddr"] for r in mine})


def test_internal_and_external_traffic_with_ipaddress(cursor):
    private = [ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
    internal = ip_network("172.16.0.0/12")

    def is_private(text: str) -> bool:
        return any(ip_address(text) in n for n in private)

    kept = _where(RECORDS, FIRST, LAST)
    rows = cursor.execute(f"SELECT sourceaddress, destinationaddress FROM vpcflow WHERE logstatus = 'OK' "
                          f"AND contains('172.16.0.0/12', cast(sourceaddress as IPADDRESS)) "
                          f"AND contains('172.16.0.0/12', cast(destinationaddress as IPADDRESS)) AND {PARTITIONS}"
                          ).fetchall()
    assert sorted(rows) == sorted((r["srcaddr"], r["dstaddr"]) for r in kept
                                  if ip_address(r["srcaddr"]) in internal and ip_address(r["dstaddr"]) in internal)
    rows = cursor.execute(f"SELECT sourceaddress, destinationaddress FROM vpcflow WHERE logstatus = 'OK' AND ("
                          f"(NOT (CAST(sourceaddress AS IPADDRESS) > IPADDRESS '172.16.0.0' AND "
                          f"CAST(sourceaddress AS IPADDRESS) < IPADDRESS '172.31.255.255') AND "
                          f"(CAST(destinationaddress AS IPADDRESS) > IPADDRESS '172.16.0.0' AND "
                          f"CAST(destinationaddress AS IPADDRESS) < IPADDRESS '172.31.255.255')) OR "
                          f"(NOT (CAST(destinationaddress AS IPADDRESS) > IPADDRESS '172.16.0.0' AND "
                          f"CAST(destinationaddress AS IPADDRESS) < IPADDRESS '172.31.255.255') AND "
                          f"(CAST(sourceaddress AS IPADDRESS) > IPADDRESS '172.16.0.0' AND "
                          f"CAST(sourceaddress AS IPADDRESS) < IPADDRESS '172.31.255.255'))) AND {PARTITIONS}"
                          ).fetchall()
    assert sorted(rows) == sorted((r["srcaddr"], r["dstaddr"]) for r in kept
                                  if is_private(r["srcaddr"]) != is_private(r["dstaddr"]))


@pytest.mark.parametrize(("sql", "column"), [
    ("SELECT flow_direction FROM vpcflow WHERE sourceaddress = '192.0.2.1'", "flow_direction"),
    (f"SELECT vpcflow.event_date FROM vpcflow WHERE {PARTITIONS}", "vpcflow.event_date"),
])
def test_the_demo_queries_that_name_no_column_of_the_ddl_fail_as_in_athena(cursor, sql, column):
    """Two demo queries name columns the bootstrap DDL does not have (`flowdirection` is its name)."""
    with pytest.raises(OperationalError, match="COLUMN_NOT_FOUND"):
        cursor.execute(sql)


def test_limit_reads_no_more_partitions_than_it_needs(cursor):
    cursor.execute("SELECT count(*) FROM vpcflow")
    everything = cursor.data_scanned_in_bytes
    assert cursor.fetchall() == [(len(RECORDS),)]
    cursor.execute("SELECT * FROM vpcflow LIMIT 10")
    assert len(cursor.fetchall()) == 10
    assert 0 < cursor.data_scanned_in_bytes < everything
    cursor.execute("SELECT sourceaddress FROM vpcflow WHERE destinationport = 443 LIMIT 1000")  # more than there are
    assert len(cursor.fetchall()) == sum(1 for r in RECORDS if r["dstport"] == 443)
    assert cursor.data_scanned_in_bytes == everything


def test_more_partitions_than_athena_reads_fail_the_query(cursor):
    cursor.execute("CREATE EXTERNAL TABLE wide (a int) PARTITIONED BY (n int, day string) LOCATION "
                   f"'s3://{BUCKET}/wide/' TBLPROPERTIES ('projection.enabled'='true', 'projection.n.type'='integer', "
                   "'projection.n.range'='0,9999', 'projection.day.type'='date', 'projection.day.format'='yyyy-MM-dd', "
                   "'projection.day.range'='2020-01-01,2020-12-31')")
    with pytest.raises(OperationalError, match="HIVE_EXCEEDED_PARTITION_LIMIT: Query over table 'default.wide' can "
                                               "potentially read more than 1000000 partitions"):
        cursor.execute("SELECT count(*) FROM wide")
    cursor.execute("SELECT count(*) FROM wide WHERE n BETWEEN 10 AND 20 AND day = '2020-05-04'")
    assert cursor.fetchall() == [(0,)]


PROJECTED = Table("default", "t", (Column("a", "int"),),
                  (Column("day", "string"), Column("hour", "int"), Column("zone", "string")), "s3://b/logs/", "", {}, {
                      "projection.enabled": "true", "projection.day.type": "date",
                      "projection.day.format": "yyyy/MM/dd", "projection.day.range": "2024/01/01,2024/12/31",
                      "projection.hour.type": "integer", "projection.hour.range": "0,23", "projection.hour.digits": "2",
                      "projection.zone.type": "enum", "projection.zone.values": "a,b,a-b"})


@pytest.mark.parametrize("template", [None, "s3://b/logs/${zone}/${day}/${hour}"])
def test_partitions_found_from_the_objects_are_those_made_and_looked_under(template):
    parameters = dict(PROJECTED.parameters)
    if template:
        parameters["storage.location.template"] = template
    table = Table(*[getattr(PROJECTED, f) for f in ("database", "name", "columns", "partition_keys", "location",
                                                    "serde", "serde_parameters")], parameters)
    values = projection.column_values(table, [projection.Condition("hour", ">=", ("22",))])
    made = {p.location: p for p in projection.partitions(table, values)}
    chosen = list(made)[::997]
    objects = sorted([f"{location.rstrip('/')}/file.gz" for location in chosen]
                     + [f"s3://b/logs/{'zone=c/' if not template else 'c/'}2024/01/01/22/x.gz",  # not a zone
                        "s3://b/logs/a/2025/01/01/22/x.gz", "s3://b/logs/a/2024/01/01/05/x.gz",  # outside the values
                        "s3://b/logs/stray.gz"])
    assert {p.location: p for p in projection.partitions_in(table, values, objects)} == {l: made[l] for l in chosen}
