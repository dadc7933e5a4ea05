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


class NoFlowLogDelivers(LookupError):
    """No flow log delivers to the log group: waiting for its records would wait in vain."""


def require_a_flow_log_delivering_to(lab: Lab, log_group: str) -> None:
    """NoFlowLogDelivers at once, rather than after minutes of waiting, when no flow log writes to
    `log_group` and nothing ever wrote there (a learner who skipped Part 1's `CW-logs`)."""
    delivering = lab.client("ec2").describe_flow_logs(
        Filters=[{"Name": "log-group-name", "Values": [log_group]}])["FlowLogs"]
    written = delivering or lab.client("logs").describe_log_streams(logGroupName=log_group, limit=1)["logStreams"]
    if not written:
        raise NoFlowLogDelivers(f"No flow log delivers to the log group {log_group}, so no record will arrive there: "
                                f"create the CloudWatch Logs flow log {lab.config.cw_flow_log_name!r} first "
                                "(Part 1, Exercise 1.3).")


# How much earlier than the learner's clock says an attempt began its records may start (the two clocks differ).
CLOCK_SKEW_S = 60


def of_attempts(records: pd.DataFrame, attempts: list[Any], server: Any) -> pd.DataFrame:
    """The records of these connection attempts, both directions, sorted: each attempt's flow by its source
    and ephemeral port (when known) and a start no earlier than the attempt, whatever the windows and
    files AWS put them in (an attempt across two capture windows has two records per direction)."""
    chosen = pd.Series(False, index=records.index)
    for attempt in attempts:
        recent = records["start"] >= attempt.at - CLOCK_SKEW_S
        inbound = ((records["srcaddr"] == attempt.source) & (records["dstaddr"] == server.private_ip)
                   & (records["dstport"] == attempt.port))
        outbound = ((records["srcaddr"] == server.private_ip) & (records["dstaddr"] == attempt.source)
                    & (records["srcport"] == attempt.port))
        if attempt.source_port is not None:
            inbound &= records["srcport"] == attempt.source_port
            outbound &= records["dstport"] == attempt.source_port
        chosen |= recent & (inbound | outbound)
    return records[chosen.fillna(False)].sort_values(["start", "end"], ignore_index=True)


def attempt_actions(records: pd.DataFrame, attempts: list[Any], server: Any) -> list[str | None]:
    """What the server's flow log decided about each attempt's inbound packets: ACCEPT when any of its
    records accepted them, REJECT when all rejected them, None while none has arrived."""
    actions = []
    for attempt in attempts:
        mine = of_attempts(records, [attempt], server)
        inbound = mine[mine["srcaddr"] == attempt.source]["action"]
        actions.append(None if inbound.empty else "ACCEPT" if (inbound == "ACCEPT").any() else "REJECT")
    return actions


def wait_for_attempt_records(lab: Lab, attempts: list[Any], server: Any, *, bucket: str | None = None,
                             log_group: str | None = None, timeout_s: float = 900) -> pd.DataFrame:
    """The records of these attempts in the S3 bucket or the log group, once every attempt's inbound record
    has arrived and, where its SYN was accepted, the server's answer too (on AWS they take 5 to 10 minutes,
    and a late file may bring the rest); TimeoutError naming the attempts still missing."""
    if (bucket is None) == (log_group is None):
        raise ValueError("give the bucket or the log group the records are delivered to")
    if log_group is not None:
        require_a_flow_log_delivering_to(lab, log_group)
    where = f"s3://{bucket}/" if bucket else f"the log group {log_group}"
    def look() -> pd.DataFrame:
        return of_attempts(read_s3_records(lab, bucket) if bucket else read_log_events(lab, log_group),
                           attempts, server)
    def missing(found: pd.DataFrame) -> list[Any]:
        late = []
        for attempt in attempts:
            mine = of_attempts(found, [attempt], server)
            inbound = mine[mine["srcaddr"] == attempt.source]
            answered = (mine["srcaddr"] == server.private_ip).any()
            if inbound.empty or ((inbound["action"] == "ACCEPT").any() and not answered):
                late.append(attempt)
        return late
    def hint(found: pd.DataFrame) -> str:
        late = ", ".join(f"port {a.source_port} at {a.at}" for a in missing(found))
        return (f"still missing: the attempts from {late}. On AWS records take about 5 minutes to CloudWatch "
                "Logs and 10 to S3: is the flow log ACTIVE (DescribeFlowLogs), and was it created a few minutes "
                "before the attempts? If your network translates ports (NAT), the records carry another "
                "source port than your machine's.")
    return wait_for(look, lambda found: not missing(found), timeout_s=timeout_s, poll_s=5, hint=hint,
                    what=f"The records of this run's {len(attempts)} attempt(s) have not all arrived in {where}")


def attempt_records(lab: Lab, log_group: str, attempt: Any, server: Any, timeout_s: float = 900) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The records of one connection attempt in the log group, once they have arrived (on AWS they take
    minutes): (inbound: the learner's packets to the server, outbound: the server's replies)."""
    found = wait_for_attempt_records(lab, [attempt], server, log_group=log_group, timeout_s=timeout_s)
    return found[found["srcaddr"] == attempt.source], found[found["srcaddr"] == server.private_ip]
