"""The CloudWatch Logs events of a flow log: one stream per ENI, one event per record (no header),
timestamped with the record's `start`."""

from __future__ import annotations

import pyarrow as pa

from .records import LogFormat, format_lines


def log_stream_name(interface_id: str) -> str:
    """The stream a flow log (traffic type ALL) writes an ENI's records to."""
    return f"{interface_id}-all"


def log_events(table: pa.Table, log_format: LogFormat) -> dict[str, list[dict[str, object]]]:
    """PutLogEvents input per log stream: one event per record, in time order, no header line.

    The event timestamp is the record's `start` in milliseconds.
    """
    lines = format_lines(table, log_format).decode().splitlines()
    starts = table.column("start").to_pylist()
    streams: dict[str, list[dict[str, object]]] = {}
    for interface_id, start, line in zip(table.column("interface_id").to_pylist(), starts, lines):
        streams.setdefault(log_stream_name(interface_id), []).append({"timestamp": start * 1000, "message": line})
    for events in streams.values():
        events.sort(key=lambda event: event["timestamp"])
    return streams
