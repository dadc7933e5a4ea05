"""Athena through pyathena against the local cloud: the AWS documentation's flow-log tables and queries
(docs/aws-behaviour.md, "Athena"), the awslabs bootstrap query forms
(docs/aws-behaviour.md, "Flow-log queries") and the walkthrough's query, compared with the same answers
computed in plain Python over the generated records; plus Athena's failures.
"""

from __future__ import annotations

import gzip
from pathlib import Path
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from ipaddress import ip_address, ip_network

import boto3
import pyarrow as pa
import pytest
from pyathena import connect
from pyathena.error import DatabaseError, OperationalError
from pyathena.pandas.cursor import PandasCursor

from labkit.localcloud.flowlogs.background import NetworkInterface, generate_background_traffic
from labkit.localcloud.flowlogs.records import FIELD_CATALOG, FlowRecord, LogFormat, records_to_table
from labkit.localcloud.flowlogs.s3_files import DeliveryOptions, S3Destination, S3FlowLog, S3FlowLogWriter, window_start

from ..clouds import as_owner

ACCOUNT, REGION, BUCKET, RESULTS = "123456789012", "us-east-1", "flow-logs", "athena-results"
# The column order of docs/aws-behaviour.md, "Tables for flow logs".
V5_FIELDS = tuple(name for name, spec in FIELD_CATALOG.items() if spec.version <= 5)
NOW = datetime.now(timezone.utc)
START = int((NOW - timedelta(days=2)).replace(hour=22, minute=0, second=0, microsecond=0).timestamp())

COLUMNS = """version int, account_id string, interface_id string, srcaddr string, dstaddr string, srcport int,
  dstport int, protocol bigint, packets bigint, bytes bigint, start bigint, `end` bigint, action string,
  log_status string, vpc_id string, subnet_id string, instance_id string, tcp_flags int, type string,
  pkt_srcaddr string, pkt_dstaddr string, {region} az_id string, sublocation_type string, sublocation_id string,
  pkt_src_aws_service string, pkt_dst_aws_service string, flow_direction string, traffic_path int"""


def _records() -> pa.Table:
    interfaces = [NetworkInterface(f"eni-0{i}a1b2c3d4e5f6a7b", f"10.0.1.{14 + i}", ACCOUNT, "vpc-0a1b2c3d4e5f60718",
                                   "subnet-0a1b2c3d4e5f60718", f"i-0{i}a1b2c3d4e5f6a7b", REGION, "use1-az1")
                  for i in range(3)]
    generated = pa.concat_tables(generate_background_traffic(interfaces, seed=11, start=START, end=START + 4 * 3600,
                                                             records=3000, aggregation_interval=600))
    brute_force = [FlowRecord(account_id=ACCOUNT, interface_id=interfaces[0].interface_id, srcaddr="10.117.1.22",
                              dstaddr="10.0.1.14", srcport=40000 + n, dstport=22, protocol=6, packets=1, bytes=60,
                              start=START + 60 * n, end=START + 60 * n + 5, action="REJECT", region=REGION)
                   for n in range(12)]
    ipv6 = [FlowRecord(account_id=ACCOUNT, interface_id=interfaces[1].interface_id,
                       srcaddr="2001:db8:1234:a100:8d6e:3477:df66:f105", dstaddr="2001:db8:1234:a102:3304:8879:34cf:4071",
                       srcport=34892, dstport=22, protocol=6, packets=54, bytes=8855, start=START + 900,
                       end=START + 1000, action="ACCEPT", region=REGION)]
    extra = records_to_table(brute_force + ipv6).select(generated.column_names).cast(generated.schema)
    return pa.concat_tables([generated, extra])


RECORDS = _records()


def _rows() -> list[dict]:
    """The records as a Hive text table reads them: `-` strings stay `-`, numbers missing are None."""
    rows = []
    for record in RECORDS.to_pylist():
        row = {name: ("-" if value is None and RECORDS.schema.field(name).type == pa.string() else value)
               for name, value in record.items()}
        window = window_start(record["end"])
        row["date"] = datetime.fromtimestamp(window, timezone.utc).date()
        row["day"] = row["date"].strftime("%Y/%m/%d")
        row["hour"] = datetime.fromtimestamp(window, timezone.utc).strftime("%H")
        rows.append(row)
    return rows


ROWS = _rows()
DAYS = sorted({row["date"] for row in ROWS})


@pytest.fixture(scope="module")
def athena_env(local_cloud):
    with pytest.MonkeyPatch.context() as patch:
        as_owner(patch, local_cloud, REGION)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket=RESULTS)
        for prefix, fields, options in [("doc/", V5_FIELDS, DeliveryOptions()),
                                        ("projection/", tuple(f for f in V5_FIELDS if f != "region"), DeliveryOptions()),
                                        ("parquet/", V5_FIELDS, DeliveryOptions("parquet", True, True))]:
            flow_log = S3FlowLog("fl-0123456789abcdef0", ACCOUNT, REGION, S3Destination(BUCKET, prefix),
                                 LogFormat(fields), options)
            writer = S3FlowLogWriter(flow_log, lambda key, body: s3.put_object(Bucket=BUCKET, Key=key, Body=body))
            writer.add(RECORDS)
            writer.flush()
        yield s3


@pytest.fixture(autouse=True)
def endpoint(local_env):
    """Every test's boto3 clients (pyathena's S3 reads too) reach the module's local cloud."""
    return local_env


@pytest.fixture(scope="module")
def cursor(athena_env):
    connection = connect(s3_staging_dir=f"s3://{RESULTS}/queries/", region_name=REGION, schema_name="lab",
                         poll_interval=0.02)
    cursor = connection.cursor()
    cursor.execute("CREATE DATABASE IF NOT EXISTS lab")
    day_folder = f"s3://{BUCKET}/doc/AWSLogs/{ACCOUNT}/vpcflowlogs/{REGION}/"
    cursor.execute(f"""CREATE EXTERNAL TABLE IF NOT EXISTS `vpc_flow_logs` ({COLUMNS.format(region='region string,')})
        PARTITIONED BY (`date` date) ROW FORMAT DELIMITED FIELDS TERMINATED BY ' '
        LOCATION '{day_folder}' TBLPROPERTIES ("skip.header.line.count"="1")""")
    for day in DAYS:
        cursor.execute(f"ALTER TABLE vpc_flow_logs ADD PARTITION (`date`='{day}') "
                       f"LOCATION '{day_folder}{day:%Y/%m/%d}'")
    cursor.execute(f"""CREATE EXTERNAL TABLE IF NOT EXISTS test_table_vpclogs ({COLUMNS.format(region='')})
        PARTITIONED BY (region string, day string) ROW FORMAT DELIMITED FIELDS TERMINATED BY ' '
        LOCATION 's3://{BUCKET}/projection/AWSLogs/{ACCOUNT}/vpcflowlogs/'
        TBLPROPERTIES ("skip.header.line.count"="1", "projection.enabled" = "true",
          "projection.region.type" = "enum", "projection.region.values" = "us-east-1,us-west-2,ap-south-1,eu-west-1",
          "projection.day.type" = "date", "projection.day.range" = "{DAYS[0] - timedelta(days=30):%Y/%m/%d},NOW",
          "projection.day.format" = "yyyy/MM/dd",
          "storage.location.template" = "s3://{BUCKET}/projection/AWSLogs/{ACCOUNT}/vpcflowlogs/${{region}}/${{day}}")""")
    cursor.execute(f"""CREATE EXTERNAL TABLE IF NOT EXISTS vpc_flow_logs_parquet ({COLUMNS.format(region='region string,')})
        PARTITIONED BY (`aws-account-id` string, `aws-service` string, `aws-region` string, `year` string,
          `month` string, `day` string, `hour` string)
        ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
        STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
        OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
        LOCATION 's3://{BUCKET}/parquet/AWSLogs/' TBLPROPERTIES ('EXTERNAL'='true', 'skip.header.line.count'='1')""")
    cursor.execute("MSCK REPAIR TABLE vpc_flow_logs_parquet")
    return cursor


def _all(cursor, sql: str) -> list[tuple]:
    cursor.execute(sql)
    return cursor.fetchall()


# --- the walkthrough's table, partitioned by date with ADD PARTITION (docs/aws-behaviour.md, "Partitions") ---

def test_select_star_for_one_day(cursor):
    day = DAYS[-1]
    rows = _all(cursor, f"SELECT * FROM vpc_flow_logs WHERE date = DATE('{day}') LIMIT 100")
    assert len(rows) == min(100, sum(r["date"] == day for r in ROWS))
    assert {row[-1] for row in rows} == {day}
    assert [d[0] for d in cursor.description][:3] == ["version", "account_id", "interface_id"]
    assert cursor.description[-1][:2] == ("date", "date")


def test_walkthrough_day_of_week_query_for_rejected_tcp(cursor):
    rows = _all(cursor, "SELECT day_of_week(date) AS day, date, interface_id, srcaddr, action, protocol "
                        "FROM vpc_flow_logs WHERE action = 'REJECT' AND protocol = 6 LIMIT 100")
    expected = [r for r in ROWS if r["action"] == "REJECT" and r["protocol"] == 6]
    assert len(rows) == min(100, len(expected))
    for day_number, day, _eni, _source, action, protocol in rows:
        assert (day_number, action, protocol) == (day.isoweekday(), "REJECT", 6)


def test_packets_to_443_in_the_last_7_days(cursor):
    rows = _all(cursor, "SELECT SUM(packets) AS packetcount, dstaddr FROM vpc_flow_logs "
                        "WHERE dstport = 443 AND date > current_date - interval '7' day "
                        "GROUP BY dstaddr ORDER BY packetcount DESC LIMIT 10")
    totals = Counter()
    for r in ROWS:
        if r["dstport"] == 443 and r["date"] > date.today() - timedelta(days=7):
            totals[r["dstaddr"]] += r["packets"]
    assert [count for count, _ in rows] == sorted(totals.values(), reverse=True)[:10]
    assert all(totals[address] == count for count, address in rows)


def test_hive_text_semantics_for_dashes(cursor):
    rows = _all(cursor, "SELECT srcaddr, srcport, packets, log_status FROM vpc_flow_logs WHERE log_status = 'NODATA'")
    assert rows and len(rows) == sum(r["log_status"] == "NODATA" for r in ROWS)
    assert set(rows) == {("-", None, None, "NODATA")}


def test_top_20_rejected_sources_with_the_pandas_cursor(cursor):
    sql = ("SELECT srcaddr, count(*) AS rejects FROM vpc_flow_logs WHERE action = 'REJECT' "
           "GROUP BY srcaddr ORDER BY rejects DESC, srcaddr LIMIT 20")
    counts = Counter(r["srcaddr"] for r in ROWS if r["action"] == "REJECT")
    expected = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:20]
    assert _all(cursor, sql) == expected
    frame = cursor.connection.cursor(PandasCursor).execute(sql).as_pandas()
    assert list(frame.columns) == ["srcaddr", "rejects"]
    assert list(frame.itertuples(index=False, name=None)) == expected
    assert str(frame["rejects"].dtype) == "Int64"


# --- partition projection, non-Hive layout (docs/aws-behaviour.md, "Partition projection") ---------------

def _day_range(first: date, last: date) -> tuple[str, str]:
    return f"{first:%Y/%m/%d}", f"{last:%Y/%m/%d}"


def test_projection_needs_no_partitions_and_filters_on_day(cursor):
    low, high = _day_range(DAYS[0], DAYS[-1])
    rows = _all(cursor, f"SELECT * FROM test_table_vpclogs WHERE day >= '{low}' AND day < '{high}' "
                        f"ORDER BY day ASC LIMIT 100")
    assert len(rows) == min(100, sum(low <= r["day"] < high for r in ROWS))
    assert all(row[-2:] == ("us-east-1", low) for row in rows)
    assert cursor.description[-2][0] == "region" and cursor.description[-1][0] == "day"


def test_projection_sum_of_packets_to_443(cursor):
    low, high = _day_range(DAYS[0], DAYS[-1] + timedelta(days=1))
    rows = _all(cursor, f"SELECT SUM(packets) AS packetcount, dstaddr FROM test_table_vpclogs WHERE dstport = 443 "
                        f"AND day >= '{low}' AND day < '{high}' GROUP BY dstaddr ORDER BY packetcount DESC LIMIT 10")
    totals = Counter()
    for r in ROWS:
        if r["dstport"] == 443:
            totals[r["dstaddr"]] += r["packets"]
    assert [count for count, _ in rows] == sorted(totals.values(), reverse=True)[:10]


def test_projection_iso8601_times(cursor):
    low, high = _day_range(DAYS[0], DAYS[-1] + timedelta(days=1))
    rows = _all(cursor, f"""SELECT interface_id, srcaddr, action, protocol, to_iso8601(from_unixtime(start)) AS start_time,
        to_iso8601(from_unixtime("end")) AS end_time FROM test_table_vpclogs WHERE DAY >= '{low}' AND DAY < '{high}'""")
    expected = Counter((r["interface_id"], r["srcaddr"], r["action"], r["protocol"],
                        datetime.fromtimestamp(r["start"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        datetime.fromtimestamp(r["end"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
                       for r in ROWS)
    assert Counter(rows) == expected


def test_projection_source_and_split_part_queries(cursor):
    low, high = _day_range(DAYS[0], DAYS[-1] + timedelta(days=1))
    by_source = _all(cursor, f"SELECT * FROM test_table_vpclogs WHERE srcaddr = '10.117.1.22' "
                             f"AND day >= '{low}' AND day < '{high}'")
    by_octets = _all(cursor, "SELECT * FROM test_table_vpclogs WHERE split_part(srcaddr,'.', 1)='10' "
                             "AND split_part(srcaddr,'.', 2) ='117'")
    assert len(by_source) == len(by_octets) == 12
    rejected = _all(cursor, f"SELECT day, interface_id, srcaddr, action, protocol FROM test_table_vpclogs "
                            f"WHERE action = 'REJECT' AND protocol = 6 AND day >= '{low}' AND day < '{high}' LIMIT 10")
    assert len(rejected) == 10 and all(row[3] == "REJECT" for row in rejected)
    to_server = _all(cursor, f"SELECT * FROM test_table_vpclogs WHERE dstaddr = '10.0.1.14' "
                             f"AND day >= '{low}' AND day < '{high}'")
    assert len(to_server) == sum(r["dstaddr"] == "10.0.1.14" for r in ROWS)


# --- Parquet, Hive-compatible hourly folders, MSCK REPAIR TABLE (docs/aws-behaviour.md, "Partitions") ---

def test_msck_repair_finds_the_hive_partitions(cursor):
    partitions = [p for (p,) in _all(cursor, "SHOW PARTITIONS vpc_flow_logs_parquet")]
    hours = {(r["date"], r["hour"]) for r in ROWS}
    assert len(partitions) == len(hours)
    first_day, first_hour = min(hours)
    assert (f"aws-account-id={ACCOUNT}/aws-service=vpcflowlogs/aws-region={REGION}/year={first_day:%Y}/"
            f"month={first_day:%m}/day={first_day:%d}/hour={first_hour}") in partitions


def test_parquet_table_answers_like_the_records(cursor):
    rows = _all(cursor, 'SELECT action, count(*), sum(bytes), "aws-account-id" FROM vpc_flow_logs_parquet '
                        'GROUP BY action, "aws-account-id" ORDER BY action')
    counts, sums = Counter(r["action"] for r in ROWS), defaultdict(int)
    for r in ROWS:
        sums[r["action"]] += r["bytes"] or 0
    # Parquet keeps a missing value as NULL, where text has `-`.
    expected = {(None if a == "-" else a, n, sums[a] or None, ACCOUNT) for a, n in counts.items()}
    assert set(rows) == expected
    assert cursor.description[2][1] == "bigint"


def test_parquet_scans_fewer_bytes_than_text(cursor):
    cursor.execute("SELECT sum(bytes) FROM vpc_flow_logs_parquet")
    parquet = cursor.data_scanned_in_bytes
    cursor.execute("SELECT sum(bytes) FROM vpc_flow_logs")
    assert 0 < parquet < cursor.data_scanned_in_bytes


def test_records_per_hour_with_format_datetime(cursor):
    rows = _all(cursor, "SELECT format_datetime(from_unixtime(start), 'yyyy-MM-dd HH:00') AS hour, count(*) "
                        "FROM vpc_flow_logs WHERE log_status = 'OK' GROUP BY 1 ORDER BY 1")
    hours = Counter(datetime.fromtimestamp(r["start"], timezone.utc).strftime("%Y-%m-%d %H:00")
                    for r in ROWS if r["log_status"] == "OK")
    assert rows == sorted(hours.items())
    with pytest.raises(OperationalError, match="^NOT_SUPPORTED: .*'ww'"):
        cursor.execute("SELECT format_datetime(from_unixtime(start), 'ww') FROM vpc_flow_logs")


def test_first_octets_with_try_cast_and_a_failing_cast(cursor):
    rows = _all(cursor, "SELECT TRY_CAST(split_part(srcaddr, '.', 1) AS integer) AS octet, count(*) FROM vpc_flow_logs "
                        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3")
    octets = Counter(int(r["srcaddr"].split(".")[0]) if r["srcaddr"].split(".")[0].isdigit() else None for r in ROWS)
    assert rows == sorted(octets.items(), key=lambda item: (-item[1], item[0] is None, item[0] or 0))[:3]
    with pytest.raises(OperationalError, match="^INVALID_CAST_ARGUMENT: Cannot cast '[A-Z]+' to INT$"):
        cursor.execute("SELECT CAST(log_status AS integer) FROM vpc_flow_logs")


def test_partition_pruning_divides_integers_like_the_query(cursor):
    """An int partition column in `hour / 2 = 11`: pruning must keep hour 23 (23 / 2 is 11 in Trino)."""
    cursor.execute(f"""CREATE EXTERNAL TABLE IF NOT EXISTS parquet_by_int_hour ({COLUMNS.format(region='region string,')})
        PARTITIONED BY (`aws-account-id` string, `aws-service` string, `aws-region` string, `year` string,
          `month` string, `day` string, `hour` int)
        STORED AS PARQUET LOCATION 's3://{BUCKET}/parquet/AWSLogs/'""")
    try:
        cursor.execute("MSCK REPAIR TABLE parquet_by_int_hour")
        rows = _all(cursor, "SELECT count(*) FROM parquet_by_int_hour WHERE hour / 2 = 11")
    finally:
        cursor.execute("DROP TABLE parquet_by_int_hour")
    assert rows == [(sum(int(r["hour"]) // 2 == 11 for r in ROWS),)]
    assert {int(r["hour"]) for r in ROWS} >= {22, 23}


def test_integer_division_truncates_like_trino(cursor):
    """Average bytes per packet: bigint / bigint is a bigint in Athena, not a fraction."""
    rows = _all(cursor, "SELECT sum(bytes) / sum(packets), max(bytes / packets), max(bytes * 1.0 / packets) "
                        "FROM vpc_flow_logs WHERE log_status = 'OK'")
    ok = [r for r in ROWS if r["log_status"] == "OK"]
    total_bytes, total_packets = sum(r["bytes"] for r in ok), sum(r["packets"] for r in ok)
    assert rows[0][:2] == (total_bytes // total_packets, max(r["bytes"] // r["packets"] for r in ok))
    assert float(rows[0][2]) == pytest.approx(max(r["bytes"] / r["packets"] for r in ok))

# --- the awslabs bootstrap query forms (docs/aws-behaviour.md, "Flow-log queries") ------------------------

def test_pairs_by_record_count(cursor):
    rows = _all(cursor, "SELECT region, instance_id, srcaddr, dstaddr, count(*) as record_count FROM vpc_flow_logs "
                        "WHERE log_status = 'OK' GROUP BY region, instance_id, srcaddr, dstaddr "
                        "ORDER BY record_count DESC LIMIT 5")
    counts = Counter((r["region"], r["instance_id"], r["srcaddr"], r["dstaddr"]) for r in ROWS if r["log_status"] == "OK")
    assert [row[-1] for row in rows] == sorted(counts.values(), reverse=True)[:5]
    assert all(counts[row[:4]] == row[4] for row in rows)


def test_first_and_last_seen_with_array_agg(cursor):
    rows = _all(cursor, "SELECT srcaddr, min(start) AS first_seen, max(\"end\") AS last_seen, "
                        "array_agg(DISTINCT(dstport)) FROM vpc_flow_logs WHERE srcaddr = '10.117.1.22' "
                        "AND dstport < 32768 GROUP BY srcaddr ORDER by first_seen ASC")
    assert rows == [("10.117.1.22", START, START + 11 * 60 + 5, [22])]  # pyathena parses Athena's "[22]"


def test_internal_to_internal_with_ipaddress_and_contains(cursor):
    rows = _all(cursor, "SELECT count(*) FROM vpc_flow_logs WHERE log_status = 'OK' "
                        "AND contains('10.0.0.0/8', cast(srcaddr as IPADDRESS)) "
                        "AND contains('10.0.0.0/8', cast(dstaddr as IPADDRESS))")
    private = ip_network("10.0.0.0/8")

    def internal(address: str) -> bool:
        parsed = ip_address(address)
        return parsed.version == 4 and parsed in private
    assert rows == [(sum(r["log_status"] == "OK" and internal(r["srcaddr"]) and internal(r["dstaddr"]) for r in ROWS),)]


def test_a_dash_is_no_ipaddress_so_nodata_records_must_be_filtered_out_first(cursor):
    """The bootstrap's caveat: NODATA records hold `-` in srcaddr, which Trino refuses to cast."""
    assert any(r["log_status"] == "NODATA" for r in ROWS)
    with pytest.raises(OperationalError, match="^INVALID_CAST_ARGUMENT: Cannot cast value to IPADDRESS: -$"):
        cursor.execute("SELECT count(*) FROM vpc_flow_logs WHERE contains('10.0.0.0/8', cast(srcaddr as IPADDRESS))")


def test_ipaddress_range_comparison(cursor):
    rows = _all(cursor, "SELECT count(*) FROM vpc_flow_logs WHERE log_status = 'OK' AND srcaddr NOT LIKE '%:%' "
                        "AND cast(srcaddr as IPADDRESS) >= IPADDRESS '100.0.0.0' "
                        "AND cast(srcaddr as IPADDRESS) < IPADDRESS '200.0.0.0'")
    assert rows == [(sum(r["log_status"] == "OK" and ":" not in r["srcaddr"]
                         and ip_address("100.0.0.0") <= ip_address(r["srcaddr"]) < ip_address("200.0.0.0")
                         for r in ROWS),)]


def test_ssh_brute_force_detector(cursor):
    rows = _all(cursor, "SELECT srcaddr, date_trunc('hour', from_unixtime(start)) AS hr, count(*) AS rejects "
                        "FROM vpc_flow_logs WHERE action='REJECT' AND dstport=22 AND protocol=6 "
                        "GROUP BY 1,2 HAVING count(*) >= 10 ORDER BY rejects DESC")
    groups = Counter((r["srcaddr"], r["start"] - r["start"] % 3600) for r in ROWS
                     if r["action"] == "REJECT" and r["dstport"] == 22 and r["protocol"] == 6)
    expected = {(source, datetime.fromtimestamp(hour, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.000 UTC"), n)
                for (source, hour), n in groups.items() if n >= 10}
    assert expected and {(s, h.strftime("%Y-%m-%d %H:%M:%S.000 UTC"), n) for s, h, n in rows} == expected


def test_date_format_of_date_add_filters_projected_days(cursor):
    rows = _all(cursor, "SELECT count(*) FROM test_table_vpclogs "
                        "WHERE day > date_format(date_add('day', -30, current_timestamp), '%Y/%m/%d')")
    assert rows == [(len(ROWS),)]


# --- catalog, results and failures ----------------------------------------------------------

def test_glue_sees_the_tables_and_partitions(cursor):
    glue = boto3.client("glue", region_name=REGION)
    table = glue.get_table(DatabaseName="lab", Name="vpc_flow_logs")["Table"]
    assert table["PartitionKeys"] == [{"Name": "date", "Type": "date"}]
    assert table["Parameters"]["skip.header.line.count"] == "1"
    partitions = glue.get_partitions(DatabaseName="lab", TableName="vpc_flow_logs")["Partitions"]
    assert sorted(p["Values"][0] for p in partitions) == [str(d) for d in DAYS]
    assert sorted(_all(cursor, "SHOW TABLES")) == [("test_table_vpclogs",), ("vpc_flow_logs",),
                                                   ("vpc_flow_logs_parquet",)]


def test_results_are_written_as_athena_writes_them(cursor, athena_env):
    cursor.execute("SELECT 'a\"b' AS s, CAST(NULL AS varchar) AS n, 2.5 AS d")
    athena = boto3.client("athena", region_name=REGION)
    execution = athena.get_query_execution(QueryExecutionId=cursor.query_id)["QueryExecution"]
    location = execution["ResultConfiguration"]["OutputLocation"]
    assert location == f"s3://{RESULTS}/queries/{cursor.query_id}.csv"
    assert execution["StatementType"] == "DML" and execution["Status"]["State"] == "SUCCEEDED"
    body = athena_env.get_object(Bucket=RESULTS, Key=f"queries/{cursor.query_id}.csv")["Body"].read()
    assert body == b'"s","n","d"\n"a""b",,"2.5"\n'
    athena_env.head_object(Bucket=RESULTS, Key=f"queries/{cursor.query_id}.csv.metadata")
    results = athena.get_query_results(QueryExecutionId=cursor.query_id)["ResultSet"]
    assert results["Rows"] == [{"Data": [{"VarCharValue": "s"}, {"VarCharValue": "n"}, {"VarCharValue": "d"}]},
                               {"Data": [{"VarCharValue": 'a"b'}, {}, {"VarCharValue": "2.5"}]}]
    assert [c["Type"] for c in results["ResultSetMetadata"]["ColumnInfo"]] == ["varchar", "varchar", "decimal"]


def test_get_query_results_pages_after_the_header_row(cursor):
    cursor.execute("SELECT srcaddr FROM vpc_flow_logs LIMIT 25")
    athena = boto3.client("athena", region_name=REGION)
    first = athena.get_query_results(QueryExecutionId=cursor.query_id, MaxResults=10)
    second = athena.get_query_results(QueryExecutionId=cursor.query_id, MaxResults=10, NextToken=first["NextToken"])
    rest = athena.get_query_results(QueryExecutionId=cursor.query_id, MaxResults=10, NextToken=second["NextToken"])
    assert first["ResultSet"]["Rows"][0] == {"Data": [{"VarCharValue": "srcaddr"}]}
    assert [len(page["ResultSet"]["Rows"]) for page in (first, second, rest)] == [10, 10, 6]
    assert "NextToken" not in rest


@pytest.mark.parametrize("sql, reason", [
    ("SELECT * FROM nope", "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.lab.nope' does not exist"),
    ("SELECT x FROM vpc_flow_logs", "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved or requester is "
                                    "not authorized to access requested resources"),
    ("SELECT nosuch(srcaddr) FROM vpc_flow_logs", "FUNCTION_NOT_FOUND: line 1:8: Function 'nosuch' not registered"),
    ("SELECT count(*) / 0 FROM vpc_flow_logs", "DIVISION_BY_ZERO: Division by zero"),
])
def test_sql_errors_fail_the_query_with_athenas_reason(cursor, sql, reason):
    with pytest.raises(OperationalError, match="^" + reason.replace("(", r"\(").replace(")", r"\)") + "$"):
        cursor.execute(sql)
    assert _all(cursor, "SELECT count(*) FROM vpc_flow_logs") == [(len(ROWS),)]  # the local cloud is still up


def test_a_syntax_error_is_refused_at_start(cursor):
    with pytest.raises(DatabaseError, match="InvalidRequestException.*line 1:1: mismatched input 'SELEC'"):
        cursor.execute("SELEC * FROM vpc_flow_logs")


def test_short_lines_read_nulls_and_a_truncated_gzip_fails(cursor, athena_env):
    header = "version account-id srcport action\n"
    athena_env.put_object(Bucket=BUCKET, Key="odd/ok/a.log.gz", Body=gzip.compress(
        (header + "2 123 22 ACCEPT\n2 123\n2 123 - REJECT extra\n").encode()))
    cursor.execute("CREATE EXTERNAL TABLE odd (version int, account_id string, srcport int, action string) "
                   f"ROW FORMAT DELIMITED FIELDS TERMINATED BY ' ' LOCATION 's3://{BUCKET}/odd/ok/' "
                   "TBLPROPERTIES ('skip.header.line.count'='1')")
    assert sorted(_all(cursor, "SELECT * FROM odd"), key=str) == sorted(
        [(2, "123", 22, "ACCEPT"), (2, "123", None, None), (2, "123", None, "REJECT")], key=str)
    athena_env.put_object(Bucket=BUCKET, Key="odd/ok/b.log.gz", Body=gzip.compress((header * 500).encode())[:60])
    with pytest.raises(OperationalError, match="HIVE_CURSOR_ERROR"):
        cursor.execute("SELECT * FROM odd")


def test_work_group_bytes_cutoff_cancels_the_query(cursor, athena_env):
    athena = boto3.client("athena", region_name=REGION)
    athena.create_work_group(Name="capped", Configuration={
        "BytesScannedCutoffPerQuery": 10_000_000,
        "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/capped/"}})
    capped = connect(region_name=REGION, work_group="capped", schema_name="lab", poll_interval=0.02).cursor()
    athena_env.put_object(Bucket=BUCKET, Key="big/data.log", Body=b"x y\n" * 3_000_000)
    capped.execute(f"CREATE EXTERNAL TABLE big (a string, b string) ROW FORMAT DELIMITED FIELDS TERMINATED BY ' ' "
                   f"LOCATION 's3://{BUCKET}/big/'")
    with pytest.raises(OperationalError, match="Bytes scanned limit was exceeded"):
        capped.execute("SELECT count(*) FROM big")
    status = athena.get_query_execution(QueryExecutionId=capped.query_id)["QueryExecution"]
    assert status["Status"]["State"] == "CANCELLED"
    assert status["Statistics"]["DataScannedInBytes"] == 10_000_000
    assert capped.execute("SELECT count(*) FROM vpc_flow_logs").fetchall() == [(len(ROWS),)]


def test_stop_query_execution_cancels_a_running_query(cursor):
    athena = boto3.client("athena", region_name=REGION)
    started = athena.start_query_execution(  # billions of rows: it runs until stopped
        QueryString="SELECT count(*) FROM vpc_flow_logs a CROSS JOIN vpc_flow_logs b CROSS JOIN vpc_flow_logs c",
        QueryExecutionContext={"Database": "lab"}, ResultConfiguration={"OutputLocation": f"s3://{RESULTS}/stopped/"})
    execution_id = started["QueryExecutionId"]
    deadline = time.monotonic() + 10
    while athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]["State"] != "RUNNING":
        assert time.monotonic() < deadline, "the query never ran"
        time.sleep(0.02)
    athena.stop_query_execution(QueryExecutionId=execution_id)
    status = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
    assert status["State"] == "CANCELLED" and "CompletionDateTime" in status
    with pytest.raises(athena.exceptions.InvalidRequestException):
        athena.get_query_results(QueryExecutionId=execution_id)
    athena.stop_query_execution(QueryExecutionId=execution_id)  # stopping a finished query changes nothing
    assert _all(cursor, "SELECT count(*) FROM vpc_flow_logs") == [(len(ROWS),)]


def test_list_query_executions_newest_first_in_pages_per_work_group(cursor):
    athena = boto3.client("athena", region_name=REGION)
    athena.create_work_group(Name="listed", Configuration={
        "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/listed/"}})
    listed = connect(region_name=REGION, work_group="listed", schema_name="lab", poll_interval=0.02).cursor()
    ids = []
    for n in range(3):
        listed.execute(f"SELECT {n}")
        ids.append(listed.query_id)
    first = athena.list_query_executions(WorkGroup="listed", MaxResults=2)
    rest = athena.list_query_executions(WorkGroup="listed", MaxResults=2, NextToken=first["NextToken"])
    assert first["QueryExecutionIds"] + rest["QueryExecutionIds"] == ids[::-1] and "NextToken" not in rest
    assert not set(ids) & set(athena.list_query_executions()["QueryExecutionIds"])  # the primary work group's


def test_describe_and_drop(cursor):
    cursor.execute("DESCRIBE vpc_flow_logs")
    lines = [row[0] for row in cursor.fetchall()]
    assert lines[0].split("\t")[:2] == ["version".ljust(20), "int".ljust(20)]
    assert "# Partition Information".ljust(20) in [line.split("\t")[0] for line in lines]
    cursor.execute(f"CREATE EXTERNAL TABLE dropped (a string) LOCATION 's3://{BUCKET}/doc/'")
    cursor.execute("DROP TABLE dropped")
    with pytest.raises(OperationalError, match="TABLE_NOT_FOUND"):
        cursor.execute("SELECT * FROM dropped")


# --- only what Athena runs: no way from the SQL to the file system or the engine's settings ----------------

SECRET_FILE = Path("/etc/hostname")


@pytest.mark.parametrize("sql, refusal", [
    (f"SELECT content FROM read_text('{SECRET_FILE}')", "mismatched input '('"),
    (f"SELECT * FROM read_csv('{SECRET_FILE}')", "mismatched input '('"),
    ("SELECT * FROM read_blob('/root/*')", "mismatched input '('"),
    ("SELECT * FROM duckdb_settings()", "mismatched input '('"),
    (f"SELECT * FROM '{SECRET_FILE}'", "mismatched input"),
    (f"SELECT read_csv('{SECRET_FILE}')", "FUNCTION_NOT_FOUND: line 1:8: Function 'read_csv' not registered"),
    ("SELECT current_setting('memory_limit')", "FUNCTION_NOT_FOUND: line 1:8: Function 'current_setting' not registered"),
    ("SELECT getenv('HOME')", "FUNCTION_NOT_FOUND: line 1:8: Function 'getenv' not registered"),
    ("SELECT count(*) FROM vpc_flow_logs WHERE srcaddr IN (SELECT content FROM read_text('/etc/passwd'))",
     "mismatched input '('"),
    ("COPY (SELECT 1) TO '/tmp/labkit-athena-copy.csv'", "mismatched input 'COPY'"),
    ("ATTACH '/tmp/labkit-athena.db'", "mismatched input 'ATTACH'"),
    ("INSTALL httpfs", "mismatched input 'INSTALL'"),
    ("LOAD httpfs", "mismatched input 'LOAD'"),
    ("SET memory_limit = '20GB'", "mismatched input 'SET'"),
    ("PRAGMA memory_limit = '20GB'", "mismatched input 'PRAGMA'"),
    ("SELECT 1; SELECT 2", "Only one sql statement is allowed"),
])
def test_duckdb_only_sql_fails_as_athena_fails_it(cursor, sql, refusal):
    with pytest.raises(DatabaseError) as raised:
        cursor.execute(sql)
    assert refusal in str(raised.value)
    assert not Path("/tmp/labkit-athena-copy.csv").exists() and not Path("/tmp/labkit-athena.db").exists()
    assert _all(cursor, "SELECT count(*) FROM vpc_flow_logs") == [(len(ROWS),)]


def test_the_engine_reads_no_file_but_the_tables_own(cursor, athena_env):
    """Even a table whose LOCATION holds S3 objects reads them as data, never a path of the machine."""
    athena_env.put_object(Bucket=BUCKET, Key="paths/p.log", Body=f"{SECRET_FILE}\n".encode())
    cursor.execute(f"CREATE EXTERNAL TABLE paths (p string) LOCATION 's3://{BUCKET}/paths/'")
    assert _all(cursor, "SELECT p FROM paths") == [(str(SECRET_FILE),)]
