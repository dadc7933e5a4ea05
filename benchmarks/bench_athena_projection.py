"""Partition projection in the local cloud's Athena: a table over 2 accounts x 23 regions x 365 days
(16,790 possible partitions, the awslabs aws-security-analytics-bootstrap VPC flow-log layout), of which
only a few hold files, against a plain table holding only one day's files.

Targets (issue 10): a one-day filtered query and a `LIMIT 10` preview over the projection table each
within 2x of the same query over the plain table; the local cloud's memory (RSS) during them under
100 MiB above its idle RSS.

Files: background traffic of 8 ENIs for one day in one account and region (`--records`), and small days
(1% of that each) in the other account and another region for the 30 days before, so that the preview
has 31 partitions with files to choose from; the other 16,759 are empty. pyathena polls every 20 ms.

    .venv/bin/python benchmarks/bench_athena_projection.py --records 200000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime, timedelta, timezone

import boto3
from pyathena import connect

from bench_athena import LocalCloudProcess, PeakRss, best_of
from labkit.localcloud.flowlogs.background import NetworkInterface, generate_background_traffic
from labkit.localcloud.flowlogs.records import LogFormat
from labkit.localcloud.flowlogs.s3_files import DeliveryOptions, S3Destination, S3FlowLog, S3FlowLogWriter

TARGET_RATIO, TARGET_EXTRA_MIB = 2.0, 100
BUCKET, RESULTS, REGION, OTHER_ACCOUNT = "bench-projection-logs", "bench-projection-results", "us-east-1", "210987654321"
REGIONS = ("us-east-2,us-east-1,us-west-1,us-west-2,af-south-1,ap-east-1,ap-south-1,ap-northeast-3,ap-northeast-2,"
           "ap-southeast-1,ap-southeast-2,ap-northeast-1,ca-central-1,cn-north-1,cn-northwest-1,eu-central-1,eu-west-1,"
           "eu-west-2,eu-south-1,eu-west-3,eu-north-1,me-south-1,sa-east-1")
COLUMNS = """version INT, account STRING, interfaceid STRING, sourceaddress STRING, destinationaddress STRING,
  sourceport INT, destinationport INT, protocol INT, numpackets INT, numbytes BIGINT, starttime INT, endtime INT,
  action STRING, logstatus STRING"""
PROJECTED = """CREATE EXTERNAL TABLE IF NOT EXISTS vpcflow ({columns})
PARTITIONED BY (date_partition STRING, region_partition STRING, account_partition STRING)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ' '
LOCATION 's3://{bucket}/AWSLogs/'
TBLPROPERTIES ("skip.header.line.count"="1", "projection.enabled" = "true",
 "projection.date_partition.type" = "date", "projection.date_partition.range" = "{first_day},NOW",
 "projection.date_partition.format" = "yyyy/MM/dd", "projection.date_partition.interval" = "1",
 "projection.date_partition.interval.unit" = "DAYS",
 "projection.region_partition.type" = "enum", "projection.region_partition.values" = "{regions}",
 "projection.account_partition.type" = "enum", "projection.account_partition.values" = "{accounts}",
 "storage.location.template" = "s3://{bucket}/AWSLogs/${{account_partition}}/vpcflowlogs/${{region_partition}}/${{date_partition}}")"""
PLAIN = """CREATE EXTERNAL TABLE IF NOT EXISTS one_day ({columns}) ROW FORMAT DELIMITED FIELDS TERMINATED BY ' '
LOCATION '{location}' TBLPROPERTIES ("skip.header.line.count"="1")"""
QUERIES = {
    "one-day filtered": ("SELECT action, count(*) AS records, sum(numbytes) AS bytes FROM {table} {where} "
                         "GROUP BY action ORDER BY action"),
    "LIMIT 10 preview": "SELECT * FROM {table} LIMIT 10",
}


def deliver(account: str, region: str, day: datetime, records: int) -> str:
    """Background traffic of one day in AWS's S3 layout; the day's folder."""
    s3 = boto3.client("s3", region_name=REGION)
    interfaces = [NetworkInterface(f"eni-{i:017x}", f"10.0.1.{i + 4}", account, "vpc-0a1b2c3d4e5f60718",
                                   "subnet-0a1b2c3d4e5f60718", f"i-{i:017x}", region, "use1-az1") for i in range(8)]
    writer = S3FlowLogWriter(S3FlowLog("fl-0123456789abcdef0", account, region, S3Destination(BUCKET), LogFormat(),
                                       DeliveryOptions()),
                             lambda key, body: s3.put_object(Bucket=BUCKET, Key=key, Body=body))
    start = int(day.timestamp()) + 3600
    for table in generate_background_traffic(interfaces, seed=7, start=start, end=start + 6 * 3600, records=records,
                                             aggregation_interval=60):
        writer.add(table)
    writer.flush()
    return f"s3://{BUCKET}/AWSLogs/{account}/vpcflowlogs/{region}/{day:%Y/%m/%d}/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3, help="runs per query; the best is reported")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-projection-home-") as home:
        cloud = LocalCloudProcess(home)
        try:
            account = boto3.client("sts").get_caller_identity()["Account"]
            s3 = boto3.client("s3", region_name=REGION)
            for bucket in (BUCKET, RESULTS):
                s3.create_bucket(Bucket=bucket)
            today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
            began = time.perf_counter()
            location = deliver(account, REGION, today, args.records)
            small = max(args.records // 100, 100)
            for days_before in range(1, 31):
                deliver(OTHER_ACCOUNT, "eu-west-1", today - timedelta(days=days_before), small)
            print(f"records delivered            {args.records:,} in one day of {account}/{REGION}, and "
                  f"{small:,} a day for the 30 days before in {OTHER_ACCOUNT}/eu-west-1 "
                  f"({time.perf_counter() - began:.1f} s)")
            cursor = connect(s3_staging_dir=f"s3://{RESULTS}/", region_name=REGION, poll_interval=0.02).cursor()
            cursor.execute(PROJECTED.format(columns=COLUMNS, bucket=BUCKET, regions=REGIONS,
                                            accounts=f"{account},{OTHER_ACCOUNT}",
                                            first_day=f"{today - timedelta(days=364):%Y/%m/%d}"))
            cursor.execute(PLAIN.format(columns=COLUMNS, location=location))
            print("projection table             2 accounts x 23 regions x 365 days = 16,790 possible partitions, 31 "
                  "with files")
            idle = cloud.rss_mib()
            where = f"WHERE date_partition = '{today:%Y/%m/%d}'"
            with PeakRss(cloud) as peak:
                for name, template in QUERIES.items():
                    projected_s, projected_rows = best_of(args.runs, lambda: cursor.execute(
                        template.format(table="vpcflow", where=where)).fetchall())
                    scanned = cursor.data_scanned_in_bytes
                    plain_s, plain_rows = best_of(args.runs, lambda: cursor.execute(
                        template.format(table="one_day", where="")).fetchall())
                    if name.startswith("one-day"):
                        assert projected_rows == plain_rows, "different answers"
                    else:
                        assert len(projected_rows) == len(plain_rows) == 10
                    print(f"{name:28} projection {projected_s:6.3f} s   plain table {plain_s:6.3f} s   ratio "
                          f"{projected_s / plain_s:.2f} (target <= {TARGET_RATIO})   scanned "
                          f"{scanned / 2**20:.1f} MiB")
            print(f"local cloud RSS              idle {idle:.0f} MiB, peak {peak.peak:.0f} MiB during those queries: "
                  f"{peak.peak - idle:.0f} MiB above idle (target < {TARGET_EXTRA_MIB})")
            print(f"measured at {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, "
                  f"load average {os.getloadavg()[0]:.2f}")
        finally:
            cloud.stop()


if __name__ == "__main__":
    main()
