"""The fields every event has without being asked for: system fields and discovered VPC flow-log fields.

The base stage of every query exposes the input event columns as `__group`, `__stream`, `__ts`,
`__ingest` and `__msg`, plus `__parts` (a flow-log record split on spaces) when a flow-log field is used.
"""
from __future__ import annotations

from .functions import Typed, sql_string

# System fields, in the order a query without `fields`/`display` returns them.
SYSTEM_FIELDS = ("@timestamp", "@message", "@logStream", "@log", "@ingestionTime")

# Discovered for default-format (v2) flow-log records: (name, numeric?) in record order.
FLOW_LOG_FIELDS: tuple[tuple[str, bool], ...] = (
    ("version", True), ("accountId", False), ("interfaceId", False), ("srcAddr", False),
    ("dstAddr", False), ("srcPort", True), ("dstPort", True), ("protocol", True), ("packets", True),
    ("bytes", True), ("startTime", True), ("endTime", True), ("action", False), ("logStatus", False),
)
_FLOW_POSITION = {name: (index + 1, numeric) for index, (name, numeric) in enumerate(FLOW_LOG_FIELDS)}

# Default-format records start with version 2; others get no `__parts` and so no flow-log fields.
# Splitting once per event and indexing the list is about three times faster than cutting each
# field out with split_part; the version test goes inside the list expression because DuckDB
# copies that expression into every filter it pushes down to the scan.
FLOW_PARTS_SQL = "CASE WHEN starts_with(message, '2 ') THEN string_split(message, ' ') END"


def system_field(name: str, account_id: str) -> Typed | None:
    return {
        "@timestamp": Typed("__ts", "time"),
        "@ingestionTime": Typed("__ingest", "time"),
        "@message": Typed("__msg", "str"),
        "@logStream": Typed("__stream", "str"),
        "@log": Typed(f"({sql_string(account_id + ':')} || __group)", "str"),
    }.get(name)


def is_flow_field(name: str) -> bool:
    return name in _FLOW_POSITION


def flow_field(name: str) -> Typed:
    """A flow-log field; `-` (no data) in a numeric field means the field is absent."""
    position, numeric = _FLOW_POSITION[name]
    value = f"__parts[{position}]"
    if numeric:
        return Typed(f"TRY_CAST({value} AS BIGINT)", "num")
    return Typed(value, "str")
