"""The fields every event has without being asked for: system fields, and the fields discovered in
VPC flow-log records and in JSON events (docs/aws-behaviour.md, "Discovered fields").

The base stage of every query exposes the input event columns as `__group`, `__stream`, `__ts`,
`__ingest`, `__msg` and `__json` (the event's JSON fields, a map from name to text), plus `__parts`
(the flow-log fields of the event, in record order) when a flow-log field is used. A log group may
hold both kinds of event: a flow-log record's parts are its record split on spaces, any other event's
are its JSON fields of those names.
"""
from __future__ import annotations

import json
from collections.abc import Iterator

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

# Default-format records start with version 2. Splitting once per event and indexing the list is
# about three times faster than cutting each field out with split_part; the version test and the
# JSON fields of other events go inside the one list expression because DuckDB copies that
# expression into every filter it pushes down to the scan (a test per field doubled query times).
FLOW_PARTS_SQL = (
    "CASE WHEN starts_with(message, '2 ') THEN string_split(message, ' ') "
    f"ELSE [{', '.join(f'json_fields[{sql_string(name)}]' for name, _ in FLOW_LOG_FIELDS)}] END"
)

# Logs Insights extracts at most this many fields from a JSON event (docs/aws-behaviour.md, "Discovered fields").
MAX_JSON_FIELDS = 200


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
    """A flow-log field, or the JSON field of that name in an event that is no flow-log record.

    `-` (no data) in a numeric field means the field is absent; a numeric field reads a JSON value as
    a number too, so that one field has one kind across both kinds of event.
    """
    position, numeric = _FLOW_POSITION[name]
    if numeric:
        return Typed(f"TRY_CAST(__parts[{position}] AS DOUBLE)", "num")
    return Typed(f"__parts[{position}]", "str")


def json_field(name: str) -> Typed:
    return Typed(f"__json[{sql_string(name)}]", "str")


def json_fields(message: str) -> list[tuple[str, str]]:
    """The fields discovered in a JSON event, in document order: nested names joined with `.`, array
    items named by their position, at most MAX_JSON_FIELDS of them. Not a JSON object: no fields.

    Values keep the text they were written as (numbers too); true and false read 1 and 0, and null is
    no value. A name that starts with `@` gets another `@`, so it never hides a system field.
    """
    try:
        document = json.loads(message, parse_int=str, parse_float=str, parse_constant=_not_json)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's parser goes
        return []
    if not isinstance(document, dict):
        return []
    fields: dict[str, str] = {}
    for name, value in _leaves(document):
        if len(fields) == MAX_JSON_FIELDS:
            break
        if name.startswith("@"):
            name = "@" + name
        # The first value of a name wins: `{"a.b": 1, "a": {"b": 2}}` names two values `a.b`.
        fields.setdefault(name, value)
    return list(fields.items())


def _leaves(document: dict) -> Iterator[tuple[str, str]]:
    """(dotted name, text) of every non-null scalar in document order, without recursion."""
    stack: list[tuple[str | None, Iterator]] = [(None, iter(document.items()))]
    while stack:
        prefix, items = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
            continue
        key, value = item
        name = key if prefix is None else f"{prefix}.{key}"
        if isinstance(value, dict):
            stack.append((name, iter(value.items())))
        elif isinstance(value, list):
            stack.append((name, ((str(index), entry) for index, entry in enumerate(value))))
        elif isinstance(value, bool):
            yield name, "1" if value else "0"
        elif value is not None:
            yield name, value


def _not_json(constant: str) -> None:
    """NaN and Infinity are not JSON, though Python's parser takes them."""
    raise ValueError(constant)
