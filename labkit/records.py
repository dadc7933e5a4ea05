"""Read flow records back from where AWS delivers them, as pandas tables a learner can inspect.

S3: gzip text files whose first line is the header (the log format's field names), one record per
line. CloudWatch Logs: one stream per ENI, one event per record, no header. In both, `-` means the
field does not apply; numeric fields read it as missing (<NA>), text fields keep the `-`.
"""

from __future__ import annotations

import gzip
import io
from typing import Any

import pandas as pd
import pyarrow as pa

from .localcloud.flowlogs.records import DEFAULT_FIELDS, FIELD_CATALOG
from .session import Lab
from .waiting import wait_for

# The fields AWS writes as numbers (integers in its Parquet files).
NUMERIC_FIELDS = {name for name, spec in FIELD_CATALOG.items() if pa.types.is_integer(spec.arrow_type)}


def s3_objects(lab: Lab, bucket: str, prefix: str = "AWSLogs/") -> pd.DataFrame:
    """The flow-log files in the bucket: key, size and last-modified time."""
    rows = [{"Key": o["Key"], "Size": o["Size"], "LastModified": o["LastModified"]}
            for page in lab.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])]
    return pd.DataFrame(rows, columns=["Key", "Size", "LastModified"])


def wait_for_s3_files(lab: Lab, bucket: str, prefix: str = "AWSLogs/", timeout_s: float = 900) -> pd.DataFrame:
    """The flow-log files in the bucket, once there is at least one (S3 delivery takes minutes on AWS)."""
    return wait_for(lambda: s3_objects(lab, bucket, prefix), lambda files: len(files) > 0, timeout_s=timeout_s,
                    what=f"No flow-log file under s3://{bucket}/{prefix}",
                    hint=lambda _: "S3 delivery takes about 10 minutes on AWS; is the S3-logs flow log ACTIVE?")


def read_s3_records(lab: Lab, bucket: str, prefix: str = "AWSLogs/") -> pd.DataFrame:
    """Every record in the text (`.log.gz`) files under `prefix`, with the header's column names."""
    s3 = lab.client("s3")
    frames = []
    for key in s3_objects(lab, bucket, prefix)["Key"]:
        if key.endswith(".log.gz"):
            body = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode()
            frames.append(parse_lines(body.splitlines()[1:], body.split("\n", 1)[0].split()))
    return _typed(pd.concat(frames, ignore_index=True)) if frames else _typed(parse_lines([], list(DEFAULT_FIELDS)))


def read_log_events(lab: Lab, log_group: str, fields: list[str] | None = None) -> pd.DataFrame:
    """Every event of every stream in the log group: stream, timestamp, and the record's fields."""
    logs = lab.client("logs")
    rows: list[dict[str, Any]] = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=log_group):
        rows.extend({"logStream": e["logStreamName"], "timestamp": e["timestamp"], "message": e["message"]}
                    for e in page["events"])
    events = pd.DataFrame(rows, columns=["logStream", "timestamp", "message"])
    records = parse_lines(events["message"].tolist(), fields or list(DEFAULT_FIELDS))
    events = events.drop(columns="message")
    events["timestamp"] = pd.to_datetime(events["timestamp"], unit="ms", utc=True)
    return _typed(pd.concat([events, records], axis=1))


def parse_lines(lines: list[str], fields: list[str]) -> pd.DataFrame:
    if not lines:
        return pd.DataFrame(columns=fields, dtype="string")
    text = io.StringIO("\n".join(lines))
    return pd.read_csv(text, sep=" ", names=fields, header=None, dtype="string", keep_default_na=False)


def _typed(records: pd.DataFrame) -> pd.DataFrame:
    for column in records.columns.intersection(sorted(NUMERIC_FIELDS)):
        records[column] = pd.to_numeric(records[column].replace("-", pd.NA), errors="coerce").astype("Int64")
    return records


def attempt_records(lab: Lab, log_group: str, attempt: Any, server: Any, timeout_s: float = 900) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The records of one connection attempt in the log group, once both directions have arrived (on AWS
    they take minutes): (inbound: the learner's packets to the server, outbound: the server's replies)."""
    def both() -> tuple[pd.DataFrame, pd.DataFrame]:
        events = read_log_events(lab, log_group)
        events = events[events["start"] >= attempt.at]
        inbound = events[(events["srcaddr"] == attempt.source) & (events["dstaddr"] == server.private_ip)
                         & (events["dstport"] == attempt.port)]
        outbound = events[(events["srcaddr"] == server.private_ip) & (events["dstaddr"] == attempt.source)
                          & (events["srcport"] == attempt.port)]
        return inbound, outbound
    return wait_for(both, lambda found: len(found[0]) > 0 and len(found[1]) > 0, timeout_s=timeout_s, poll_s=5,
                    what=f"The records of the attempt at {attempt.at} have not arrived in {log_group}")
