"""Athena in the local cloud against plain DuckDB over the same flow-log files, and its memory.

Targets (issue 5): over 10 million records delivered in AWS's S3 text layout, the walkthrough's Athena
query and the top-20 rejected sources query through pyathena within 1.25x of the same queries as plain
DuckDB `read_csv` over the same files; the local cloud's peak memory (RSS) under 512 MiB during those
queries. Issue 10: the top-20 query over the Parquet delivery within 1.25x of plain DuckDB
`read_parquet` over the same files (the earlier target, Parquet at least 20x faster than text, is
withdrawn: AWS delivers Gzip Parquet, whose decompression is most of what the query costs; the
text/Parquet ratios and the snappy re-encoding are still printed, for reference).

The local cloud runs as its own process (`python -m labkit.localcloud serve`). Background traffic of
8 ENIs over six hours of one day is written in AWS's S3 layout twice (default-format gzip text, and
Parquet) and put into the local cloud's S3, where each object is a file in the local cloud's data
directory. Plain DuckDB reads those very files. pyathena polls every 50 ms.

    .venv/bin/python benchmarks/bench_athena.py --records 1000000
"""

from __future__ import annotations

import argparse
import glob
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import boto3
import duckdb
import pyarrow.parquet as pq
from pyathena import connect

from labkit.localcloud.flowlogs.background import NetworkInterface, generate_background_traffic
from labkit.localcloud.flowlogs.records import LogFormat
from labkit.localcloud.flowlogs.s3_files import DeliveryOptions, S3Destination, S3FlowLog, S3FlowLogWriter
from labkit.localcloud.home import credentials
from labkit.localcloud.lifecycle import healthy

TARGET_RATIO, TARGET_RSS_MIB = 1.25, 512
BUCKET, RESULTS, REGION = "bench-flow-logs", "bench-athena-results", "us-east-1"

COLUMNS = """version int, account_id string, interface_id string, srcaddr string, dstaddr string, srcport int,
  dstport int, protocol bigint, packets bigint, bytes bigint, start bigint, `end` bigint, action string,
  log_status string, vpc_id string, subnet_id string, instance_id string, tcp_flags int, type string,
  pkt_srcaddr string, pkt_dstaddr string, region string, az_id string, sublocation_type string, sublocation_id string,
  pkt_src_aws_service string, pkt_dst_aws_service string, flow_direction string, traffic_path int"""
WALKTHROUGH = ("SELECT day_of_week(date) AS day, date, interface_id, srcaddr, action, protocol FROM {table} "
               "WHERE action = 'REJECT' AND protocol = 6 LIMIT 100")
TOP_20 = ("SELECT srcaddr, count(*) AS rejects FROM {table} WHERE action = 'REJECT' "
          "GROUP BY srcaddr ORDER BY rejects DESC LIMIT 20")


class LocalCloudProcess:
    """The local cloud as its own process, with a LABKIT_HOME of its own; this process then uses that
    home (its credentials sign every request) through AWS_ENDPOINT_URL."""

    def __init__(self, home: str):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.home = home
        os.environ["LABKIT_HOME"] = home
        self.process = subprocess.Popen([sys.executable, "-m", "labkit.localcloud", "serve", "--port", str(self.port)],
                                        env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while not healthy(self.endpoint):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the local cloud did not start")
            time.sleep(0.2)
        os.environ.update(AWS_ENDPOINT_URL=self.endpoint, AWS_DEFAULT_REGION=REGION, **credentials().environment())

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def object_files(self, magic: bytes) -> list[str]:
        """The local cloud's S3 object bodies that start with `magic` (gzip text or Parquet)."""
        files = []
        for path in glob.glob(f"{self.home}/s3-objects/{self.process.pid}/object-*"):
            with open(path, "rb") as body:
                if body.read(len(magic)) == magic:
                    files.append(path)
        return files

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


class PeakRss:
    """Samples the local cloud's RSS every 10 ms while active."""

    def __init__(self, cloud: LocalCloudProcess):
        self.cloud, self.peak, self._stop = cloud, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.cloud.rss_mib())
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def deliver(records: int, account: str) -> None:
    """Background traffic in AWS's S3 layout, text and Parquet, put into the local cloud's S3."""
    s3 = boto3.client("s3", region_name=REGION)
    for bucket in (BUCKET, RESULTS):
        s3.create_bucket(Bucket=bucket)
    interfaces = [NetworkInterface(f"eni-{i:017x}", f"10.0.1.{i + 4}", account, "vpc-0a1b2c3d4e5f60718",
                                   "subnet-0a1b2c3d4e5f60718", f"i-{i:017x}", REGION, "use1-az1") for i in range(8)]
    writers = [S3FlowLogWriter(S3FlowLog(f"fl-{n:017x}", account, REGION, S3Destination(BUCKET, prefix), LogFormat(),
                                         DeliveryOptions(file_format)),
                               lambda key, body: s3.put_object(Bucket=BUCKET, Key=key, Body=body))
               for n, (prefix, file_format) in enumerate((("text/", "plain-text"), ("parquet/", "parquet")))]
    start = int(time.time()) // 86400 * 86400 + 3600  # 01:00 UTC today: one day of files
    for table in generate_background_traffic(interfaces, seed=42, start=start, end=start + 6 * 3600, records=records,
                                             aggregation_interval=60):
        for writer in writers:
            writer.add(table)
    for writer in writers:
        writer.flush()


def create_tables(cursor, account: str) -> list[str]:
    cursor.execute("CREATE DATABASE IF NOT EXISTS bench")
    days = sorted({"/".join(key.split("/")[-4:-1]) for key in _keys("text/")})
    for table, prefix, storage in (
            ("vpc_flow_logs", "text", "ROW FORMAT DELIMITED FIELDS TERMINATED BY ' '"),
            ("vpc_flow_logs_parquet", "parquet", "STORED AS PARQUET")):
        folder = f"s3://{BUCKET}/{prefix}/AWSLogs/{account}/vpcflowlogs/{REGION}/"
        cursor.execute(f"CREATE EXTERNAL TABLE IF NOT EXISTS {table} ({COLUMNS}) PARTITIONED BY (`date` date) "
                       f"{storage} LOCATION '{folder}' TBLPROPERTIES ('skip.header.line.count'='1')")
        for day in days:
            cursor.execute(f"ALTER TABLE {table} ADD IF NOT EXISTS PARTITION (`date`='{day.replace('/', '-')}') "
                           f"LOCATION '{folder}{day}'")
    return days


def _keys(prefix: str) -> list[str]:
    pages = boto3.client("s3", region_name=REGION).get_paginator("list_objects_v2").paginate(Bucket=BUCKET,
                                                                                             Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def snappy_copies(paths: list[str], folder: str) -> str:
    """The same Parquet rows re-encoded with snappy (not what AWS delivers), as a read_parquet source."""
    copies = []
    for n, path in enumerate(paths):
        copies.append(f"{folder}/snappy-{n}.parquet")
        pq.write_table(pq.read_table(path), copies[-1], compression="snappy")
    return "read_parquet([" + ", ".join(f"'{p}'" for p in copies) + "])"


def best_of(runs: int, run) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - began)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=2, help="runs per query; the best is reported")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-athena-home-") as home:
        cloud = LocalCloudProcess(home)
        try:
            began = time.perf_counter()
            account = boto3.client("sts").get_caller_identity()["Account"]
            deliver(args.records, account)
            print(f"records delivered            {args.records:,} (text and Parquet) in "
                  f"{time.perf_counter() - began:.1f} s")
            cursor = connect(s3_staging_dir=f"s3://{RESULTS}/bench/", region_name=REGION, schema_name="bench",
                             poll_interval=0.05).cursor()
            days = create_tables(cursor, account)
            text_files, parquet_files = cloud.object_files(b"\x1f\x8b"), cloud.object_files(b"PAR1")
            print(f"objects                      {len(text_files)} gzip text, {len(parquet_files)} Parquet "
                  f"({sum(map(os.path.getsize, text_files)) / 2**20:.0f} MiB text); days {', '.join(days)}")
            print(f"local cloud RSS before       {cloud.rss_mib():.0f} MiB")

            plain = duckdb.connect()
            source = ("read_csv([" + ", ".join(f"'{p}'" for p in text_files) + "], delim=' ', header=true, "
                      "compression='gzip')")
            day = days[0].replace("/", "-")
            plain_queries = {
                "walkthrough": f"SELECT isodow(DATE '{day}') AS day, DATE '{day}' AS date, \"interface-id\", srcaddr, "
                               f"action, protocol FROM {source} WHERE action = 'REJECT' AND protocol = 6 LIMIT 100",
                "top-20 rejected sources": f"SELECT srcaddr, count(*) AS rejects FROM {source} "
                                           f"WHERE action = 'REJECT' GROUP BY srcaddr ORDER BY rejects DESC LIMIT 20",
            }
            athena_queries = {"walkthrough": WALKTHROUGH, "top-20 rejected sources": TOP_20}

            ratios, athena_text_top20, text_engine_ms = [], 0.0, 0
            with PeakRss(cloud) as peak:
                for name, template in athena_queries.items():
                    athena_s, rows = best_of(args.runs, lambda: cursor.execute(
                        template.format(table="vpc_flow_logs")).fetchall())
                    plain_s, plain_rows = best_of(args.runs, lambda: plain.execute(plain_queries[name]).fetchall())
                    if name.startswith("top"):
                        athena_text_top20, text_engine_ms = athena_s, cursor.engine_execution_time_in_millis
                        assert [r[1] for r in rows] == [r[1] for r in plain_rows], "different answers"
                    ratios.append(athena_s / plain_s)
                    print(f"{name:28} Athena {athena_s:6.2f} s   plain DuckDB {plain_s:6.2f} s   "
                          f"ratio {athena_s / plain_s:.2f} (target <= {TARGET_RATIO})   "
                          f"scanned {cursor.data_scanned_in_bytes / 2**20:.0f} MiB")
            print(f"local cloud peak RSS         {peak.peak:.0f} MiB during those queries (target < {TARGET_RSS_MIB})")

            parquet_s, _ = best_of(args.runs, lambda: cursor.execute(
                TOP_20.format(table="vpc_flow_logs_parquet")).fetchall())
            speedup = athena_text_top20 / parquet_s
            parquet_engine_ms = max(cursor.engine_execution_time_in_millis, 1)
            plain_parquet = ("read_parquet([" + ", ".join(f"'{p}'" for p in parquet_files) + "])")
            plain_parquet_s, _ = best_of(args.runs, lambda: plain.execute(
                plain_queries["top-20 rejected sources"].replace(source, plain_parquet)).fetchall())
            print(f"top-20 over Parquet          Athena {parquet_s:6.2f} s   plain DuckDB {plain_parquet_s:6.2f} s   "
                  f"ratio {parquet_s / plain_parquet_s:.2f} (target <= {TARGET_RATIO})   scanned "
                  f"{cursor.data_scanned_in_bytes / 2**20:.1f} MiB   text/Parquet {speedup:.1f}x end to end")
            plain_text_s, _ = best_of(args.runs, lambda: plain.execute(
                plain_queries["top-20 rejected sources"]).fetchall())
            print(f"top-20, plain DuckDB         text {plain_text_s:6.2f} s   Parquet {plain_parquet_s:6.2f} s   "
                  f"text/Parquet {plain_text_s / plain_parquet_s:.1f}x (the same files, without Athena)")
            snappy = snappy_copies(parquet_files, home)
            snappy_s = best_of(args.runs, lambda: plain.execute(plain_queries["top-20 rejected sources"].replace(
                source, snappy)).fetchall())[0]
            print(f"top-20, plain DuckDB         Parquet re-encoded with snappy {snappy_s:6.2f} s   "
                  f"text/Parquet {plain_text_s / snappy_s:.1f}x (AWS writes Gzip: this shows what the codec costs)")
            # Athena's own EngineExecutionTimeInMillis leaves out the API round trips and the polling.
            print(f"top-20 engine time           text {text_engine_ms} ms   Parquet {parquet_engine_ms} ms   "
                  f"text/Parquet {text_engine_ms / parquet_engine_ms:.1f}x")
            print(f"measured at {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, "
                  f"load average {os.getloadavg()[0]:.2f}; median ratio {statistics.median(ratios):.2f}")
        finally:
            cloud.stop()


if __name__ == "__main__":
    main()
