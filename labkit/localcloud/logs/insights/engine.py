"""Run a Logs Insights query over log events and shape the answer like GetQueryResults."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import accumulate
from typing import Iterable, Mapping

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .fields import json_fields
from .functions import MAX_TIME_MS, MIN_TIME_MS, ValueKind
from .parser import parse_query
from .translate import EVENTS_TABLE, Plan, TimeRange, translate

DEFAULT_ACCOUNT_ID = "123456789012"  # moto's account
EVENT_SCHEMA = pa.schema([
    ("log_group", pa.string()), ("log_stream", pa.string()), ("timestamp_ms", pa.int64()),
    ("ingestion_time_ms", pa.int64()), ("message", pa.string()),
])
# The column events_relation adds: each JSON event's discovered fields, by name (others: null).
JSON_FIELDS_COLUMN = pa.field("json_fields", pa.map_(pa.string(), pa.string()))
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

ResultRow = list[dict[str, str]]


@dataclass(frozen=True)
class QueryResult:
    """What GetQueryResults returns once the query is Complete."""
    status: str
    results: list[ResultRow]
    statistics: dict[str, float]

    def to_aws(self) -> dict:
        return {"status": self.status, "results": self.results, "statistics": self.statistics}


@dataclass(frozen=True)
class RecordPointer:
    """What an `@ptr` value points at, for GetLogRecord."""
    log_group: str
    log_stream: str
    timestamp_ms: int
    message_md5: str


def events_relation(events: Iterable[Mapping] | pa.Table,
                    connection: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyRelation:
    """Log events (mappings with the EVENT_SCHEMA keys, or an Arrow table) as a DuckDB relation, with
    the fields of its JSON events discovered, as AWS discovers them when it ingests an event."""
    table = events if isinstance(events, pa.Table) else pa.Table.from_pylist(list(events), schema=EVENT_SCHEMA)
    return (connection or duckdb.connect()).from_arrow(table.append_column(JSON_FIELDS_COLUMN, _json_fields(table)))


def _json_fields(table: pa.Table) -> pa.Array:
    """Parsed in Python: DuckDB's json_tree takes time quadratic in the nesting depth (a minute for one
    deeply nested 256 KB event), rewrites numbers (1.50 as 1.5) and names keys by paths to re-parse.
    The map is built from flat arrays of names and values: a list of pairs per event converts slowly."""
    messages = table.column("message")
    maybe_json = pc.fill_null(pc.starts_with(pc.utf8_ltrim_whitespace(messages), "{"), False)
    names, values = [], []
    counts, no_fields = [0] * len(table), [True] * len(table)
    for index, message in zip(pc.indices_nonzero(maybe_json).to_pylist(), pc.filter(messages, maybe_json).to_pylist()):
        fields = json_fields(message)
        if fields:
            names.extend(name for name, _ in fields)
            values.extend(value for _, value in fields)
            counts[index], no_fields[index] = len(fields), False
    if not names:
        return pa.nulls(len(table), JSON_FIELDS_COLUMN.type)
    offsets = pa.array(list(accumulate(counts, initial=0)), pa.int32())
    return pa.MapArray.from_arrays(offsets, pa.array(names, pa.string()), pa.array(values, pa.string()),
                                   type=JSON_FIELDS_COLUMN.type, mask=pa.array(no_fields, pa.bool_()))


def run_query(query: str, events: duckdb.DuckDBPyRelation, start_time: int, end_time: int,
              limit: int | None = None, log_groups: list[str] | None = None,
              account_id: str = DEFAULT_ACCOUNT_ID) -> QueryResult:
    """Run `query` over `events` (from events_relation) like StartQuery + GetQueryResults.

    `start_time`/`end_time` are epoch seconds, both included; `limit` is StartQuery's limit;
    `log_groups` restricts the events to those groups (None: all). Raises MalformedQueryError.
    """
    time_range = TimeRange(start_time * 1000, end_time * 1000)
    plan = translate(parse_query(query), time_range, log_groups, limit, account_id)
    rows = events.query(EVENTS_TABLE, plan.sql).fetchall()
    scanned, scanned_bytes = events.query(EVENTS_TABLE, plan.scanned_sql).fetchall()[0]
    if plan.matched_in_rows and rows:
        matched = rows[0][-1]
    else:
        matched = events.query(EVENTS_TABLE, plan.matched_sql).fetchall()[0][0]
    return QueryResult(
        status="Complete",
        results=[_shape_row(plan, row) for row in rows],
        statistics={"recordsMatched": float(matched), "recordsScanned": float(scanned),
                    "bytesScanned": float(scanned_bytes)},
    )


def encode_ptr(log_group: str, log_stream: str, timestamp_ms: int, message_md5: str) -> str:
    raw = "\n".join((log_group, log_stream, str(timestamp_ms), message_md5))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_ptr(ptr: str) -> RecordPointer:
    log_group, log_stream, timestamp_ms, message_md5 = base64.urlsafe_b64decode(ptr.encode()).decode().split("\n")
    return RecordPointer(log_group, log_stream, int(timestamp_ms), message_md5)


def _shape_row(plan: Plan, row: tuple) -> ResultRow:
    """Fields without a value are left out of the row, as AWS does; every value is a string."""
    cells = [(column.name, format_value(value, column.kind)) for column, value in zip(plan.columns, row)]
    hidden = row[len(plan.columns):]
    if plan.json_fields_at is not None:
        named = {column.name for column in plan.columns}  # a parsed or flow-log field of that name shows already
        discovered = [(name, text) for name, text in (hidden[0] or {}).items() if name not in named]
        cells[plan.json_fields_at:plan.json_fields_at] = discovered
        hidden = hidden[1:]
    shaped = [{"field": name, "value": text} for name, text in cells if text is not None]
    if plan.with_ptr:
        shaped.append({"field": "@ptr", "value": encode_ptr(*hidden)})
    return shaped


def format_value(value: object, kind: ValueKind) -> str | None:
    if value is None:
        return None
    if kind == "time":
        if not MIN_TIME_MS <= value <= MAX_TIME_MS:  # a period's ceiling can pass year 9999
            return None
        moment = _EPOCH + timedelta(milliseconds=int(value))
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{int(value) % 1000:03d}"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, Decimal)):
        return format_number(value)
    return str(value)


def format_number(value: int | float | Decimal) -> str | None:
    """Integers without a trailing `.0`, other numbers in their shortest exact form."""
    if isinstance(value, int):
        return str(value)
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        return None
    if number.is_integer() and abs(number) < 2 ** 63:
        return str(int(number))
    return repr(number)
