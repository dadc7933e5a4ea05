"""The S3 objects of a flow log.

AWS publishes a file every 5 minutes holding the records whose `end` falls in that window, under
`prefix/AWSLogs/{account}/vpcflowlogs/{region}/YYYY/MM/DD/` (or the Hive-compatible and per-hour
variants), named `{account}_vpcflowlogs_{region}_{flow-log-id}_{YYYYMMDDTHHmmZ}_{hash}.log.gz`. A
text file is one gzip member whose first line is the header; a Parquet file ends in `.log.parquet`.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa

from .records import LogFormat, format_lines, to_parquet

FILE_WINDOW_SECONDS = 300
# AWS starts a new file when one reaches 75 MB within the window. Applied to the uncompressed text
# (Parquet: the rows' in-memory size), so every file written is below it.
MAX_FILE_BYTES = 75_000_000

Sink = Callable[[str, bytes], None]  # receives (object key, object body)

_S3_ARN = re.compile(r"arn:(aws[a-z-]*):s3:::([^/]+)(?:/(.*))?")


@dataclass(frozen=True)
class S3Destination:
    """Where an S3 flow log delivers: a bucket, and a folder in it."""

    bucket: str
    prefix: str = ""  # "" or a folder ending in "/"
    partition: str = "aws"

    @classmethod
    def from_arn(cls, arn: str) -> S3Destination:
        """From a LogDestination such as `arn:aws:s3:::bucket/optional/prefix/`."""
        match = _S3_ARN.fullmatch(arn)
        if not match:
            raise ValueError(f"not an S3 bucket ARN: {arn}")
        folder = (match.group(3) or "").strip("/")
        return cls(match.group(2), f"{folder}/" if folder else "", match.group(1))

    @property
    def bucket_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.bucket}"


@dataclass(frozen=True)
class DeliveryOptions:
    """DestinationOptions of an S3 flow log, with AWS's defaults."""

    file_format: str = "plain-text"  # or "parquet"
    hive_compatible_partitions: bool = False
    per_hour_partition: bool = False

    @classmethod
    def from_api(cls, options: Mapping[str, object] | None) -> DeliveryOptions:
        """From the DestinationOptions structure of CreateFlowLogs / DescribeFlowLogs."""
        options = options or {}
        return cls(str(options.get("FileFormat", "plain-text")),
                   bool(options.get("HiveCompatiblePartitions", False)),
                   bool(options.get("PerHourPartition", False)))

    def as_api(self) -> dict[str, object]:
        return {"FileFormat": self.file_format, "HiveCompatiblePartitions": self.hive_compatible_partitions,
                "PerHourPartition": self.per_hour_partition}


@dataclass(frozen=True)
class S3FlowLog:
    """What S3 delivery needs to know about one flow log."""

    flow_log_id: str
    account_id: str
    region: str
    destination: S3Destination
    log_format: LogFormat = LogFormat()
    options: DeliveryOptions = DeliveryOptions()


def window_start(epoch_seconds: int) -> int:
    """Start of the 5-minute file window holding a record whose `end` is `epoch_seconds`."""
    return epoch_seconds - epoch_seconds % FILE_WINDOW_SECONDS


def folder(flow_log: S3FlowLog, window: int) -> str:
    """The key prefix (ending in "/") of the files of one window."""
    t = datetime.fromtimestamp(window, timezone.utc)
    if flow_log.options.hive_compatible_partitions:
        parts = [f"aws-account-id={flow_log.account_id}", "aws-service=vpcflowlogs", f"aws-region={flow_log.region}",
                 f"year={t:%Y}", f"month={t:%m}", f"day={t:%d}"]
        if flow_log.options.per_hour_partition:
            parts.append(f"hour={t:%H}")
    else:
        parts = [flow_log.account_id, "vpcflowlogs", flow_log.region, f"{t:%Y}", f"{t:%m}", f"{t:%d}"]
        if flow_log.options.per_hour_partition:
            parts.append(f"{t:%H}")
    return f"{flow_log.destination.prefix}AWSLogs/{'/'.join(parts)}/"


def file_name(flow_log: S3FlowLog, window: int, file_hash: str) -> str:
    stamp = datetime.fromtimestamp(window, timezone.utc).strftime("%Y%m%dT%H%MZ")
    suffix = ".log.parquet" if flow_log.options.file_format == "parquet" else ".log.gz"
    return f"{flow_log.account_id}_vpcflowlogs_{flow_log.region}_{flow_log.flow_log_id}_{stamp}_{file_hash}{suffix}"


def object_key(flow_log: S3FlowLog, window: int, file_hash: str) -> str:
    return folder(flow_log, window) + file_name(flow_log, window, file_hash)


@dataclass
class DeliveryReport:
    records: int = 0
    files: int = 0
    bytes: int = 0
    keys: list[str] = field(default_factory=list)


class S3FlowLogWriter:
    """Turns record tables into the S3 objects of one flow log, handed to `sink(key, body)`.

    Records are held per 5-minute window until the input has moved past that window (a batch
    arrives whose earliest window is later) or `flush()` is called, so time-ordered input gives one
    file per window. Out-of-order input is still delivered whole, in extra files, as AWS may do too.
    `publish()` writes the windows still open without closing them: their files are written again,
    under the same keys, as records arrive, which is how a long-lived writer delivers at once and
    still leaves one file per window. Text is formatted per batch and then cut by window, which
    keeps the columns in place: only the formatted lines are reordered.
    """

    def __init__(self, flow_log: S3FlowLog, sink: Sink, *, compresslevel: int = 1,
                 max_file_bytes: int = MAX_FILE_BYTES, salt: str | None = None):
        self.flow_log = flow_log
        self.report = DeliveryReport()
        self._sink = sink
        self._parquet = flow_log.options.file_format == "parquet"
        self._compresslevel = compresslevel
        self._max_file_bytes = max_file_bytes
        # Makes file hashes differ between writers, so a later delivery never overwrites an earlier one.
        self._salt = salt if salt is not None else os.urandom(8).hex()
        self._pending: dict[int, list[bytes | pa.Table]] = {}  # text lines or Parquet rows, per window
        self._pending_rows: dict[int, int] = {}
        self._unpublished: set[int] = set()  # open windows with records not yet in a file
        self._written: dict[int, list[tuple[str, int]]] = {}  # key and size of the files last written, per window
        self._closed: dict[int, int] = {}  # windows closed so far: a late record of one starts a new file

    def add(self, batch: pa.Table | pa.RecordBatch) -> None:
        table = pa.table(batch) if isinstance(batch, pa.RecordBatch) else batch
        if table.num_rows == 0:
            return
        windows = _file_windows(table)
        order = None if np.all(windows[:-1] <= windows[1:]) else np.argsort(windows, kind="stable")
        if self._parquet:
            rows = table if order is None else table.take(order)
            cut = rows.slice
        else:
            lines = _line_array(format_lines(table, self.flow_log.log_format))
            cut = _text_cutter(lines if order is None else lines.take(order))
        if order is not None:
            windows = windows[order]
        bounds = [0, *(np.flatnonzero(np.diff(windows)) + 1), len(windows)]
        for window in sorted(w for w in self._pending if w < windows[0]):
            self._close_window(window)
        for start, stop in zip(bounds, bounds[1:]):
            window = int(windows[start])
            self._pending.setdefault(window, []).append(cut(start, stop - start))
            self._pending_rows[window] = self._pending_rows.get(window, 0) + stop - start
            self._unpublished.add(window)

    def publish(self) -> None:
        """Write the files of the open windows that got records since they were last written."""
        for window in sorted(self._unpublished):
            self._write_files(window)
        self._unpublished.clear()

    def close_windows_before(self, epoch_seconds: float) -> None:
        """Close the windows that ended before this time: a later record of one goes to a new file."""
        for window in sorted(w for w in self._pending if w + FILE_WINDOW_SECONDS <= epoch_seconds):
            self._close_window(window)

    def flush(self) -> DeliveryReport:
        for window in sorted(self._pending):
            self._close_window(window)
        return self.report

    def _close_window(self, window: int) -> None:
        if window in self._unpublished:
            self._write_files(window)
            self._unpublished.discard(window)
        files = self._written.pop(window)
        del self._pending[window]
        self.report.files += len(files)
        self.report.bytes += sum(size for _, size in files)
        self.report.keys.extend(key for key, _ in files)
        self.report.records += self._pending_rows.pop(window)
        self._closed[window] = self._closed.get(window, 0) + 1

    def _write_files(self, window: int) -> None:
        """Write (or write again, under the same keys) the files of a window."""
        pieces = self._pending[window]
        if self._parquet:
            table = pa.concat_tables(pieces)
            bodies = [to_parquet(part, self.flow_log.log_format) for part in self._parquet_parts(table)]
        else:
            bodies = [gzip.compress(text, self._compresslevel, mtime=0) for text in self._text_files(b"".join(pieces))]
        files = []
        for part, body in enumerate(bodies):
            key = object_key(self.flow_log, window, self._file_hash(window, part))
            self._sink(key, body)
            files.append((key, len(body)))
        self._written[window] = files

    def _text_files(self, lines: bytes) -> list[bytes]:
        """Header plus lines, cut at line ends so that no file is larger than the limit."""
        header = (self.flow_log.log_format.header + "\n").encode()
        room = max(self._max_file_bytes - len(header), 1)
        files, at = [], 0
        while at < len(lines):
            cut = len(lines) if len(lines) - at <= room else lines.rfind(b"\n", at, at + room) + 1
            if cut <= at:  # a single line longer than the limit still goes out whole
                cut = lines.index(b"\n", at) + 1
            files.append(header + lines[at:cut])
            at = cut
        return files

    def _parquet_parts(self, table: pa.Table) -> list[pa.Table]:
        """Row slices whose in-memory size stays under the file limit."""
        rows = max(1, self._max_file_bytes * table.num_rows // max(table.nbytes, 1))
        return [table.slice(at, rows) for at in range(0, table.num_rows, rows)]

    def _file_hash(self, window: int, part: int) -> str:
        seed = f"{self.flow_log.flow_log_id}/{window}/{self._closed.get(window, 0)}/{part}/{self._salt}"
        return hashlib.sha1(seed.encode()).hexdigest()[:8]


def deliver_to_s3(flow_log: S3FlowLog, batches: Iterable[pa.Table | pa.RecordBatch], sink: Sink, *,
                  compresslevel: int = 1, max_file_bytes: int = MAX_FILE_BYTES,
                  salt: str | None = None) -> DeliveryReport:
    """Write all `batches` as the S3 objects of `flow_log`; the report counts every record given."""
    writer = S3FlowLogWriter(flow_log, sink, compresslevel=compresslevel, max_file_bytes=max_file_bytes, salt=salt)
    for batch in batches:
        writer.add(batch)
    return writer.flush()


def _file_windows(table: pa.Table) -> np.ndarray:
    """The file window of every record, from its `end`."""
    if table.column("end").null_count:
        raise ValueError("every flow record needs an `end` time to be placed in a file")
    ends = table.column("end").to_numpy()
    return ends - ends % FILE_WINDOW_SECONDS


def _line_array(text: bytes) -> pa.LargeStringArray:
    """Newline-terminated text as an array of its lines (each keeping its newline), without copying."""
    line_ends = np.flatnonzero(np.frombuffer(text, np.uint8) == ord("\n")) + 1
    offsets = np.concatenate([[0], line_ends]).astype(np.int64)
    return pa.LargeStringArray.from_buffers(len(line_ends), pa.py_buffer(offsets), pa.py_buffer(text))


def _text_cutter(lines: pa.LargeStringArray) -> Callable[[int, int], bytes]:
    """`cut(start, count)`: the text of `count` consecutive lines from `start`."""
    offsets = np.frombuffer(lines.buffers()[1], np.int64)[lines.offset:]
    data = lines.buffers()[2]

    def cut(start: int, count: int) -> bytes:
        return data[offsets[start]:offsets[start + count]].to_pybytes()
    return cut
