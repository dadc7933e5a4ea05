"""VPC flow-log records: the field catalog, log formats, and records written as AWS writes them.

Two ways to hold records, one output path:
- `FlowRecord`, a typed dataclass for a single connection (attribute names are the AWS field names
  with `_`), used when simulating one SSH attempt;
- a `pyarrow.Table` whose columns follow `RECORD_SCHEMA`, used for bulk traffic. A column that is
  absent or null prints as `-`.
`FlowRecord`s become a table with `records_to_table`, and every output (text lines, Parquet) is made
from tables, so a record looks the same however it was built.

`version` is not a property of a record: it is the version of the log format (the highest version
among the chosen fields), so the formatters fill it in.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.csv as pa_csv

# Parquet physical types AWS uses; in text files every value is a string.
INT32, INT64, STRING = pa.int32(), pa.int64(), pa.string()


@dataclass(frozen=True)
class FieldSpec:
    name: str  # as written in a log format and the text header, e.g. "log-status"
    version: int
    arrow_type: pa.DataType

    @property
    def column(self) -> str:
        """The Parquet column / `FlowRecord` attribute name, e.g. "log_status"."""
        return self.name.replace("-", "_")


def _fields(version: int, *specs: tuple[str, pa.DataType] | str) -> list[FieldSpec]:
    return [FieldSpec(s, version, STRING) if isinstance(s, str) else FieldSpec(s[0], version, s[1])
            for s in specs]


# Versions 2-5 are produced in full. Later fields (Transit Gateway, ECS, reject reason, NAT, encryption,
# tags, next hop) are accepted in a format and carried as opaque strings.
FIELD_CATALOG: dict[str, FieldSpec] = {spec.name: spec for spec in [
    *_fields(2, ("version", INT32), "account-id", "interface-id", "srcaddr", "dstaddr", ("srcport", INT32),
             ("dstport", INT32), ("protocol", INT32), ("packets", INT64), ("bytes", INT64), ("start", INT64),
             ("end", INT64), "action", "log-status"),
    *_fields(3, "vpc-id", "subnet-id", "instance-id", ("tcp-flags", INT32), "type", "pkt-srcaddr", "pkt-dstaddr"),
    *_fields(4, "region", "az-id", "sublocation-type", "sublocation-id"),
    *_fields(5, "pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", ("traffic-path", INT32)),
    *_fields(6, "resource-type", "tgw-id", "tgw-attachment-id", "tgw-src-vpc-account-id", "tgw-dst-vpc-account-id",
             "tgw-src-vpc-id", "tgw-dst-vpc-id", "tgw-src-subnet-id", "tgw-dst-subnet-id", "tgw-src-eni",
             "tgw-dst-eni", "tgw-src-az-id", "tgw-dst-az-id", "tgw-pair-attachment-id", "packets-lost-no-route",
             "packets-lost-blackhole", "packets-lost-mtu-exceeded", "packets-lost-ttl-expired"),
    *_fields(7, "ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn", "ecs-container-instance-id",
             "ecs-container-id", "ecs-second-container-id", "ecs-service-name", "ecs-task-definition-arn",
             "ecs-task-arn", "ecs-task-id"),
    *_fields(8, "reject-reason"),
    *_fields(9, "resource-id"),
    *_fields(10, "encryption-status"),
    *_fields(11, "instance-tag", "instance-tag-2", "interface-tag", "interface-tag-2", "asg-tag", "asg-tag-2",
             "interface-type", "next-hop-interface-id", "next-hop-subnet-id", "next-hop-vpc-id", "next-hop-az-id",
             "next-hop-interface-type"),
]}

DEFAULT_FIELDS = tuple(name for name, spec in FIELD_CATALOG.items() if spec.version == 2)
DEFAULT_LOG_FORMAT_TEXT = " ".join(f"${{{name}}}" for name in DEFAULT_FIELDS)

# Columns of a record table: every fully supported field (v2-v5) except `version`.
RECORD_SCHEMA = pa.schema([pa.field(spec.column, spec.arrow_type) for spec in FIELD_CATALOG.values()
                           if 2 <= spec.version <= 5 and spec.name != "version"])


class FlowLogFormatError(ValueError):
    """A LogFormat that CreateFlowLogs rejects; `code` and `message` are AWS's error: InvalidParameter
    for an unknown field (documented), InvalidParameterValue for text that is no format (recorded, as is
    the message: aws-cloudformation/rain#288, cloud-custodian#2944). A field named twice is no format
    either (its records could not be read). No recording of the unknown-field message exists, so it
    gets the same."""

    def __init__(self, log_format: str, unknown_fields: tuple[str, ...] = ()):
        self.code = "InvalidParameter" if unknown_fields else "InvalidParameterValue"
        self.message = f"1 validation error detected: Value '{log_format}' at 'logFormat' has an invalid format"
        self.unknown_fields = unknown_fields
        super().__init__(self.message)


_FORMAT_FIELD = r"\$\{([^${}\s]+)\}"
_FORMAT_SYNTAX = re.compile(f"{_FORMAT_FIELD}(?: {_FORMAT_FIELD})*")  # fields separated by single spaces


@dataclass(frozen=True)
class LogFormat:
    """The fields of a flow log, in order, as chosen with `${field} ${field} ...`."""

    fields: tuple[str, ...] = DEFAULT_FIELDS

    def __post_init__(self) -> None:
        unknown = tuple(name for name in self.fields if name not in FIELD_CATALOG)
        if unknown or not self.fields or len(set(self.fields)) < len(self.fields):
            raise FlowLogFormatError(self.text, unknown)

    @property
    def specs(self) -> tuple[FieldSpec, ...]:
        return tuple(FIELD_CATALOG[name] for name in self.fields)

    @property
    def version(self) -> int:
        return max(spec.version for spec in self.specs)

    @property
    def text(self) -> str:
        return " ".join(f"${{{name}}}" for name in self.fields)

    @property
    def header(self) -> str:
        """The first line of a text file: the field names as written in the format, with hyphens."""
        return " ".join(self.fields)

    @property
    def columns(self) -> tuple[str, ...]:
        """Parquet column names: the field names with `_`."""
        return tuple(spec.column for spec in self.specs)


def parse_log_format(text: str | None) -> LogFormat:
    """The LogFormat of CreateFlowLogs; None (parameter absent) is the default v2 format."""
    if text is None:
        return LogFormat()
    if not _FORMAT_SYNTAX.fullmatch(text):
        raise FlowLogFormatError(text)
    return LogFormat(tuple(re.findall(_FORMAT_FIELD, text)))


@dataclass(frozen=True, kw_only=True)
class FlowRecord:
    """One flow (a 5-tuple on one ENI within one aggregation interval). None prints as `-`."""

    account_id: str
    interface_id: str
    start: int  # Unix seconds of the first packet
    end: int  # Unix seconds of the last packet
    srcaddr: str | None = None
    dstaddr: str | None = None
    srcport: int | None = None
    dstport: int | None = None
    protocol: int | None = None
    packets: int | None = None
    bytes: int | None = None
    action: str | None = None
    log_status: str = "OK"
    vpc_id: str | None = None
    subnet_id: str | None = None
    instance_id: str | None = None
    tcp_flags: int | None = None
    type: str | None = None
    pkt_srcaddr: str | None = None
    pkt_dstaddr: str | None = None
    region: str | None = None
    az_id: str | None = None
    sublocation_type: str | None = None
    sublocation_id: str | None = None
    pkt_src_aws_service: str | None = None
    pkt_dst_aws_service: str | None = None
    flow_direction: str | None = None
    traffic_path: int | None = None
    # Fields of versions after 5, by column name (e.g. "reject_reason"), as opaque strings.
    later_fields: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def no_data(cls, account_id: str, interface_id: str, start: int, end: int) -> FlowRecord:
        """The record for an ENI that saw no traffic in the capture window."""
        return cls(account_id=account_id, interface_id=interface_id, start=start, end=end, log_status="NODATA")

    @classmethod
    def skip_data(cls, account_id: str, interface_id: str, start: int, end: int) -> FlowRecord:
        """The record AWS writes when flow records were skipped (capacity or internal error)."""
        return cls(account_id=account_id, interface_id=interface_id, start=start, end=end, log_status="SKIPDATA")


def records_to_table(records: Iterable[FlowRecord]) -> pa.Table:
    """A record table (RECORD_SCHEMA, plus a string column per later field used) from `FlowRecord`s."""
    rows = list(records)
    columns = {f.name: pa.array([getattr(r, f.name) for r in rows], f.type) for f in RECORD_SCHEMA}
    later = sorted({name for r in rows for name in r.later_fields})
    for name in later:
        columns[name] = pa.array([r.later_fields.get(name) for r in rows], STRING)
    return pa.table(columns)


def format_table(table: pa.Table, log_format: LogFormat) -> pa.Table:
    """The columns of `log_format`, in order and with AWS's Parquet types; `version` filled in.

    Columns the table lacks are all null (they print as `-`).
    """
    columns = []
    for spec in log_format.specs:
        if spec.name == "version":
            columns.append(pa.repeat(pa.scalar(log_format.version, INT32), table.num_rows))
        elif spec.column in table.column_names:
            columns.append(table.column(spec.column).cast(spec.arrow_type))
        else:
            columns.append(pa.nulls(table.num_rows, spec.arrow_type))
    return pa.table(columns, names=list(log_format.columns))


_TEXT_OPTIONS = pa_csv.WriteOptions(include_header=False, delimiter=" ", null_string="-", quoting_style="none",
                                    batch_size=65536)


def format_lines(table: pa.Table, log_format: LogFormat) -> bytes:
    """The records as text lines, one per record, each ending in a newline; no header."""
    out = pa.BufferOutputStream()
    pa_csv.write_csv(format_table(table, log_format), out, _TEXT_OPTIONS)
    return out.getvalue().to_pybytes()


def format_record(record: FlowRecord, log_format: LogFormat) -> str:
    """One record as AWS writes it, without the newline."""
    return format_lines(records_to_table([record]), log_format).decode().rstrip("\n")


def to_parquet(table: pa.Table, log_format: LogFormat) -> bytes:
    """A Parquet file as AWS delivers it: `_` column names, AWS's physical types, gzip compression."""
    import pyarrow.parquet as pq  # here: it maps 15 MiB of libraries that a lab with text flow logs never uses

    out = io.BytesIO()
    pq.write_table(format_table(table, log_format), out, compression="gzip")
    return out.getvalue()

