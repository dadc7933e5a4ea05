"""A table's S3 objects as a DuckDB relation, read in place with the semantics of the table's SerDe.

Text (LazySimpleSerDe, ROW FORMAT DELIMITED): every field is read as a string, split on the table's
delimiter with no quoting, the first `skip.header.line.count` lines of each file skipped, gzip
recognised by the `.gz` extension. Then Hive's rules: a field that does not parse as the column's type
(`-` in an int column) is NULL, a string column keeps its text (`-` stays `-`), `\\N` is NULL, missing
trailing fields are NULL and extra fields are ignored.

Parquet (ParquetHiveSerDe): columns resolved by name (case-insensitively), absent ones NULL, values
cast to the declared types (a Parquet INT32 `protocol` reads as the DDL's bigint).

Partition columns come from the partition's catalog values (or the projection), never from the path,
so `aws-account-id` keeps its leading zeros and a `date` column is a DATE. Athena reads every object
under a location, recursively, except names starting with `_` or `.`.
"""

from __future__ import annotations

import os

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from moto.backends import get_backend

from ..s3 import storage
from .catalog import Partition, Table

# Hive types as DuckDB types (anything else, e.g. decimal(10,2), is spelled the same in both).
_DUCKDB_TYPES = {"string": "VARCHAR", "int": "INTEGER", "integer": "INTEGER", "bigint": "BIGINT",
                 "smallint": "SMALLINT", "tinyint": "TINYINT", "double": "DOUBLE", "float": "FLOAT",
                 "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP", "binary": "BLOB"}
_CODECS = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd"}


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int
    path: str  # the file holding the body, read by DuckDB in place


class S3Listing:
    """The objects of the account's buckets, listed once per query (sorted, for prefix lookups)."""

    def __init__(self, account_id: str):
        self._s3 = get_backend("s3")[account_id]["aws"]
        self._keys: dict[str, list[str]] = {}

    def objects_under(self, location: str) -> list[S3Object]:
        bucket_name, prefix = split_s3_url(location)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        bucket = self._s3.buckets.get(bucket_name)
        objects = []
        for name in self._names(bucket_name, prefix):
            key = bucket.keys.get(name)
            if key is None or not hasattr(key, "_value_buffer") or name.endswith("/"):
                continue  # deleted since listing, a delete marker, or a folder placeholder
            if any(part.startswith(("_", ".")) for part in name[len(prefix):].split("/")):
                continue
            if key.size == 0:
                continue  # Trino makes no split of an empty file: a zero-byte .gz holds no rows, it is no error
            objects.append(S3Object(bucket_name, name, key.size, storage.object_path(key)))
        return objects

    def urls_under(self, start: str) -> tuple[int, Iterator[str]]:
        """How many keys start with `start` (an S3 URL, not only a folder), and their URLs in key order."""
        bucket_name, prefix = split_s3_url(start)
        keys = self._sorted_keys(bucket_name)
        low = bisect.bisect_left(keys, prefix)
        high = bisect.bisect_left(keys, prefix + "\U0010ffff")
        return high - low, (f"s3://{bucket_name}/{keys[i]}" for i in range(low, high))

    def _names(self, bucket_name: str, prefix: str) -> Iterator[str]:
        keys = self._sorted_keys(bucket_name)
        for index in range(bisect.bisect_left(keys, prefix), len(keys)):  # no copy of the listing
            if not keys[index].startswith(prefix):
                return
            yield keys[index]

    def _sorted_keys(self, bucket_name: str) -> list[str]:
        keys = self._keys.get(bucket_name)
        if keys is None:
            bucket = self._s3.buckets.get(bucket_name)
            keys = self._keys[bucket_name] = sorted(bucket.keys.keys()) if bucket is not None else []
        return keys


@dataclass(frozen=True)
class PartitionFiles:
    partition: Partition | None  # None for an unpartitioned table
    objects: list[S3Object]


def table_files(table: Table, partitions: Iterable[Partition] | None, listing: S3Listing) -> list[PartitionFiles]:
    """The objects under LOCATION, or under each partition's location: the partitions with objects only
    (the partitions are looked at one at a time, so an iterator of millions costs no memory)."""
    if partitions is None:
        return [PartitionFiles(None, listing.objects_under(table.location))]
    found = (PartitionFiles(p, listing.objects_under(p.location)) for p in partitions)
    return [files for files in found if files.objects]


def relation_sql(table: Table, files: list[PartitionFiles], absent: frozenset[str] = frozenset()) -> str:
    """A SELECT giving the table's rows: data columns, then partition columns, as declared.

    `absent`: Parquet columns that no file has (see `absent_parquet_columns`); they read as NULL.
    """
    branches = [_branch(table, f, absent) for f in files if f.objects]
    if not branches:
        columns = ", ".join(f"CAST(NULL AS {duckdb_type(c.type)}) AS {quote(c.name)}"
                            for c in (*table.columns, *table.partition_keys))
        return f"SELECT {columns} WHERE false"
    return "\nUNION ALL\n".join(branches)


def absent_parquet_columns(connection: Any, table: Table, files: list[PartitionFiles]) -> frozenset[str]:
    """Declared columns that no Parquet file of the table has (Athena reads them as NULL)."""
    paths = [o.path for f in files for o in f.objects]
    if not table.is_columnar or not paths:
        return frozenset()
    present = set().union(*(footer.keys() for footer in parquet_column_sizes(connection, paths).values()))
    return frozenset(c.name for c in table.columns if c.name not in present)


# An object body's file never changes once written (a new PUT writes a new file), so each footer is
# read once: queries over many Parquet files would otherwise re-read every footer twice per query.
_FOOTERS: dict[tuple[str, int], dict[str, int]] = {}


def parquet_column_sizes(connection: Any, paths: list[str]) -> dict[str, dict[str, int]]:
    """For each Parquet file: its columns (lower case) and their compressed sizes in bytes."""
    keys = {path: (path, os.stat(path).st_mtime_ns) for path in paths}
    unread = [path for path, key in keys.items() if key not in _FOOTERS]
    if unread:
        sizes: dict[str, dict[str, int]] = {path: {} for path in unread}
        for path, column, size in connection.execute(
                "SELECT file_name, lower(path_in_schema), sum(total_compressed_size) FROM parquet_metadata(?) "
                "GROUP BY ALL", [unread]).fetchall():
            sizes[path][column] = int(size)
        for path in unread:
            _FOOTERS[keys[path]] = sizes[path]
    return {path: _FOOTERS[key] for path, key in keys.items()}


def _branch(table: Table, files: PartitionFiles, absent: frozenset[str]) -> str:
    values = files.partition.values if files.partition else ()
    partition = [f"CAST({literal(v)} AS {duckdb_type(k.type)}) AS {quote(k.name)}"
                 for k, v in zip(table.partition_keys, values)]
    if table.is_columnar:
        data = [f"CAST({'NULL' if c.name in absent else quote(c.name)} AS {duckdb_type(c.type)}) AS {quote(c.name)}"
                for c in table.columns]
        sources = [f"read_parquet({_paths(files.objects)}, union_by_name=true, hive_partitioning=false)"]
    else:
        data = [_text_column(c.name, c.type) for c in table.columns]
        by_codec: dict[str, list[S3Object]] = {}
        for obj in files.objects:
            by_codec.setdefault(_codec(obj.key), []).append(obj)
        read = _read_json if table.is_json else _read_text
        sources = [read(table, _paths(objects), codec) for codec, objects in sorted(by_codec.items())]
    return "\nUNION ALL\n".join(f"SELECT {', '.join(data + partition)} FROM {source}" for source in sources)


def _codec(key: str) -> str:
    """Athena picks the decompressor by the object's extension (the body files have none)."""
    return next((codec for suffix, codec in _CODECS.items() if key.endswith(suffix)), "none")


def _paths(objects: list[S3Object]) -> str:
    return "[" + ", ".join(literal(o.path) for o in objects) + "]"


def _read_text(table: Table, paths: str, codec: str) -> str:
    columns = "{" + ", ".join(f"{literal(c.name)}: 'VARCHAR'" for c in table.columns) + "}"
    return (f"read_csv({paths}, columns={columns}, delim={literal(table.field_delimiter)}, "
            f"skip={table.header_lines}, header=false, auto_detect=false, quote='', escape='', nullstr='\\N', "
            f"null_padding=true, strict_mode=false, compression='{codec}')")


def _read_json(table: Table, paths: str, codec: str) -> str:
    """One JSON object per line; each field read as text, then cast like a text field (Hive's JSON
    SerDes give NULL for a value that does not parse as the column's type)."""
    columns = "{" + ", ".join(f"{literal(c.name)}: 'VARCHAR'" for c in table.columns) + "}"
    return (f"read_json({paths}, columns={columns}, format='newline_delimited', compression='{codec}', "
            f"ignore_errors=false)")


def _text_column(name: str, hive_type: str) -> str:
    target = duckdb_type(hive_type)
    if target == "VARCHAR":
        return quote(name)
    return f"TRY_CAST({quote(name)} AS {target}) AS {quote(name)}"


def duckdb_type(hive_type: str) -> str:
    base = hive_type.split("(", 1)[0]
    if base in ("varchar", "char"):
        return "VARCHAR"
    return _DUCKDB_TYPES.get(hive_type, hive_type.upper())


def split_s3_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise ValueError(f"not an S3 location: {url}")
    bucket, _, prefix = url[len("s3://"):].partition("/")
    return bucket, prefix


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
