"""The data files CTAS, INSERT INTO and UNLOAD write, made in memory from a query's Arrow batches (pure:
no I/O; the engine puts them into S3 through moto, since the sandbox lets SQL write no file).

Formats (docs/aws-behaviour.md, "Writing tables"): PARQUET (GZIP unless told), ORC (written as Parquet
with the ORC SerDe in the catalog: DuckDB has no ORC writer, and the local cloud reads these files back
as Parquet), TEXTFILE (fields joined by the delimiter, `\\N` for NULL, values as Hive prints them) and
JSON (one object per line), both GZIP unless told. Rows arrive sorted by partition and bucket; each
(partition, bucket) run becomes one file, split when it grows past MAX_FILE_BYTES.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .results import value_text

MAX_FILE_BYTES = 64 * 1024 * 1024  # of Arrow data per file before it is split
FORMATS = ("PARQUET", "ORC", "TEXTFILE", "JSON")
COMPRESSIONS = {"PARQUET": ("GZIP", "SNAPPY", "ZSTD", "LZ4", "NONE"), "ORC": ("ZLIB", "SNAPPY", "ZSTD", "LZ4", "NONE"),
                "TEXTFILE": ("GZIP", "NONE"), "JSON": ("GZIP", "NONE")}
DEFAULT_COMPRESSION = {"PARQUET": "GZIP", "ORC": "ZLIB", "TEXTFILE": "GZIP", "JSON": "GZIP"}
# ORC's codecs for the Parquet files that stand in for ORC ones
_PARQUET_CODEC = {"GZIP": "gzip", "ZLIB": "gzip", "SNAPPY": "snappy", "ZSTD": "zstd", "LZ4": "lz4", "NONE": "none"}


@dataclass(frozen=True)
class FileFormat:
    format: str  # one of FORMATS
    compression: str  # one of COMPRESSIONS[format]
    field_delimiter: str = "\x01"

    @property
    def suffix(self) -> str:
        """Text is decompressed by its extension (as Athena picks the codec), so gzip text ends `.gz`."""
        return ".gz" if self.format in ("TEXTFILE", "JSON") and self.compression == "GZIP" else ""


@dataclass(frozen=True)
class DataFile:
    partition: tuple[str, ...]  # the partition values, as text; () for an unpartitioned write
    bucket: int | None
    body: bytes
    rows: int


def data_files(batches: Iterable[pa.RecordBatch], columns: list[str], partition_count: int, bucketed: bool,
               file_format: FileFormat) -> Iterator[DataFile]:
    """The files for rows whose last `partition_count` columns (then a bucket number, if `bucketed`)
    are the partition values: one run of equal values is one file (or more, past MAX_FILE_BYTES)."""
    data_width = len(columns)
    group: tuple[tuple[str, ...], int | None] | None = None
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        for key, piece in _runs(batch, data_width, partition_count, bucketed):
            if pending and (key != group or size > MAX_FILE_BYTES):
                yield _file(group, pending, columns, file_format)  # type: ignore[arg-type]
                pending, size = [], 0
            group = key
            pending.append(piece)
            size += piece.nbytes
    if pending:
        yield _file(group, pending, columns, file_format)  # type: ignore[arg-type]


def _runs(batch: pa.RecordBatch, data_width: int, partition_count: int,
          bucketed: bool) -> Iterator[tuple[tuple[tuple[str, ...], int | None], pa.RecordBatch]]:
    """The batch cut where its partition values or bucket change, each piece with only the data columns
    (the cuts found by Arrow, not row by row in Python)."""
    if not batch.num_rows:
        return
    if not partition_count and not bucketed:
        yield ((), None), batch.select(range(data_width))
        return
    keys = [batch.column(i) for i in range(data_width, batch.num_columns)]
    changed = pa.array([False] * (batch.num_rows - 1), pa.bool_())
    for key in keys:
        after, before = key.slice(1), key.slice(0, len(key) - 1)
        differs = pc.fill_null(pc.not_equal(after, before), False)
        one_null = pc.not_equal(pc.is_null(after), pc.is_null(before))
        changed = pc.or_(changed, pc.or_(differs, one_null))
    starts = [0, *(i + 1 for i in pc.indices_nonzero(changed).to_pylist()), batch.num_rows]
    for start, end in zip(starts, starts[1:]):
        values = [key[start].as_py() for key in keys]
        partition = tuple(value_text(v) or "__HIVE_DEFAULT_PARTITION__" for v in values[:partition_count])
        bucket = values[partition_count] if bucketed else None
        yield (partition, bucket), batch.slice(start, end - start).select(range(data_width))


def _file(group: tuple[tuple[str, ...], int | None], batches: list[pa.RecordBatch], columns: list[str],
          file_format: FileFormat) -> DataFile:
    table = pa.Table.from_batches(batches).rename_columns(columns)
    return DataFile(group[0], group[1], encode(table, file_format), table.num_rows)


def encode(table: pa.Table, file_format: FileFormat) -> bytes:
    if file_format.format in ("PARQUET", "ORC"):
        sink = io.BytesIO()
        pq.write_table(table, sink, compression=_PARQUET_CODEC[file_format.compression])
        return sink.getvalue()
    if file_format.format == "TEXTFILE":
        lines = (file_format.field_delimiter.join(_hive_text(v) for v in row.values()) for row in table.to_pylist())
    else:
        lines = (json.dumps({k: _json_value(v) for k, v in row.items()}, separators=(",", ":"))
                 for row in table.to_pylist())
    text = "".join(line + "\n" for line in lines).encode()
    return gzip.compress(text) if file_format.compression == "GZIP" else text


def _hive_text(value: object) -> str:
    """LazySimpleSerDe's text: `\\N` for NULL, values as Hive prints them (Trino's printing, here)."""
    text = value_text(value)
    return "\\N" if text is None else text


def _json_value(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value_text(value)
