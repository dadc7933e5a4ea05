"""Generate background flow records and write them in AWS's S3 layout, and report the throughput.

Target (issue): 10 million records as 5-minute gzip text files with a header at >= 0.3 M records/s
on the 2-core machine. The sink writes each object to a temporary directory at its S3 key.

    .venv/bin/python benchmarks/bench_background_traffic.py --records 1000000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from labkit.localcloud.flowlogs.background import NetworkInterface, generate_background_traffic
from labkit.localcloud.flowlogs.records import LogFormat
from labkit.localcloud.flowlogs.s3_files import DeliveryOptions, S3Destination, S3FlowLog, S3FlowLogWriter

TARGET_RECORDS_PER_SECOND = 300_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--hours", type=float, default=24.0, help="time range the records are spread over")
    parser.add_argument("--enis", type=int, default=8)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    interfaces = [NetworkInterface(f"eni-{i:017x}", f"10.0.{i // 250}.{i % 250 + 4}", "123456789012",
                                   "vpc-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60718", f"i-{i:017x}",
                                   "us-east-1", "use1-az1") for i in range(args.enis)]
    flow_log = S3FlowLog("fl-0123456789abcdef0", "123456789012", "us-east-1",
                         S3Destination("flow-log-bucket", "bench/"), LogFormat(), DeliveryOptions())
    start = 1_735_689_600  # 2025-01-01T00:00:00Z
    end = start + int(args.hours * 3600)

    with tempfile.TemporaryDirectory(prefix="bench-flow-logs-") as root:
        def write_file(key: str, body: bytes) -> None:
            path = Path(root, flow_log.destination.bucket, key)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)

        began = time.perf_counter()
        writer = S3FlowLogWriter(flow_log, write_file)
        for table in generate_background_traffic(interfaces, seed=args.seed, start=start, end=end,
                                                 records=args.records):
            writer.add(table)
        report = writer.flush()
        seconds = time.perf_counter() - began

    rate = report.records / seconds
    print(f"records written   {report.records:,} (asked {args.records:,})")
    print(f"files written     {report.files:,}")
    print(f"bytes written     {report.bytes:,} ({report.bytes / max(report.records, 1):.1f} bytes/record gzip)")
    print(f"seconds           {seconds:.2f}")
    print(f"records/s         {rate:,.0f}")
    print(f"vs target         {rate / TARGET_RECORDS_PER_SECOND:.2f}x of {TARGET_RECORDS_PER_SECOND:,}/s")


if __name__ == "__main__":
    main()
