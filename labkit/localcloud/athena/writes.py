"""Statements that write: CTAS, INSERT INTO and UNLOAD put a query's rows into S3 as data files (made in
memory by `files`, put through moto: SQL in the sandbox writes no file), and CTAS and CREATE VIEW
write Glue tables (docs/aws-behaviour.md, "Writing tables").

Each runs its query as `query` does (same tables, pruning, bytes scanned and errors), reads the result
as Arrow batches sorted by partition and bucket, and answers one row, `rows`, the number written
(Trino's answer). The S3 URLs of the files written are the execution's data manifest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import ddl
from .catalog import GlueCatalog, Table, escape_path_name
from .ddl import CreateTableAs, CreateView, DropView, InsertInto, PropertyValue, Query, Statement, Unload
from .files import COMPRESSIONS, DEFAULT_COMPRESSION, FORMATS, FileFormat, data_files
from .query import Outcome, PreparedQuery, QueryFailed, athena_errors, prepare_query
from .results import ResultColumn
from .scan import S3Listing, duckdb_type, quote, split_s3_url

BATCH_ROWS = 100_000
MAX_PARTITIONS = 100  # partitions (or buckets) one CTAS, INSERT INTO or UNLOAD may write
CTAS_PROPERTIES = {"external_location", "format", "partitioned_by", "bucketed_by", "bucket_count",
                   "write_compression", "field_delimiter"}
UNLOAD_PROPERTIES = {"format", "compression", "field_delimiter", "partitioned_by"}
_STORAGE = {"PARQUET": (ddl.PARQUET_SERDE, ddl.PARQUET_INPUT_FORMAT, ddl.PARQUET_OUTPUT_FORMAT),
            "ORC": (ddl.ORC_SERDE, ddl.ORC_INPUT_FORMAT, ddl.ORC_OUTPUT_FORMAT),
            "TEXTFILE": (ddl.TEXT_SERDE, ddl.TEXT_INPUT_FORMAT, ddl.TEXT_OUTPUT_FORMAT),
            "JSON": (ddl.JSON_SERDES[0], ddl.TEXT_INPUT_FORMAT, ddl.TEXT_OUTPUT_FORMAT)}
# DuckDB's result types as the Hive types Glue keeps, and the DuckDB type the column is written as
_HIVE_TYPES = {"BOOLEAN": "boolean", "TINYINT": "tinyint", "SMALLINT": "smallint", "INTEGER": "int",
               "BIGINT": "bigint", "HUGEINT": "bigint", "UTINYINT": "smallint", "USMALLINT": "int",
               "UINTEGER": "bigint", "UBIGINT": "bigint", "UHUGEINT": "bigint", "FLOAT": "float", "DOUBLE": "double",
               "VARCHAR": "string", "DATE": "date", "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamp",
               "BLOB": "binary"}

Put = Callable[[str, bytes], None]  # an S3 URL and the object's body


@dataclass(frozen=True)
class Layout:
    """Where and how a write lays out its files."""

    location: str  # ends with /
    file_format: FileFormat
    partitioned_by: tuple[str, ...] = ()
    bucketed_by: tuple[str, ...] = ()
    bucket_count: int = 0


@dataclass
class Writer:
    """What a writing statement needs of the engine."""

    catalog: GlueCatalog
    database: str
    cursor: Any
    listing: S3Listing
    put: Put
    execution_id: str
    output_base: str  # the query result location, without the trailing /
    cutoff: int | None

    def run(self, statement: Statement) -> Outcome:
        if isinstance(statement, CreateTableAs):
            return self._create_table_as(statement)
        if isinstance(statement, InsertInto):
            return self._insert(statement)
        if isinstance(statement, Unload):
            return self._unload(statement)
        if isinstance(statement, CreateView):
            return self._create_view(statement)
        if isinstance(statement, DropView):
            self.catalog.drop_view(statement.view.database or self.database, statement.view.name, statement.if_exists)
            return Outcome()
        raise TypeError(f"not a writing statement: {statement}")

    # --- the statements -------------------------------------------------------------------------

    def _create_table_as(self, statement: CreateTableAs) -> Outcome:
        database, name = statement.table.database or self.database, statement.table.name
        self._require_schema(database)
        if self.catalog.table(database, name) is not None:
            if statement.if_not_exists:
                return Outcome()
            raise QueryFailed(f"TABLE_ALREADY_EXISTS: line 1:1: Destination table 'awsdatacatalog.{database}.{name}' "
                              f"already exists")
        properties = statement.properties
        _check_properties(properties, CTAS_PROPERTIES, "table")
        file_format = _file_format(properties, "write_compression")
        default_location = f"{self.output_base}/tables/{self.execution_id}"
        location = _s3_folder(_text(properties, "external_location") or default_location, "external_location")
        self._require_empty(location, f"Target directory for table '{database}.{name}' already exists: {location}")
        layout = Layout(location, file_format, _names(properties, "partitioned_by"), _names(properties, "bucketed_by"),
                        _bucket_count(properties))
        prepared, columns = self._prepared(statement.query)
        _check_column_names(columns)
        data_columns = _check_layout(columns, layout)
        written = self._write(statement.query, prepared, columns, layout) if statement.with_data else _Written()
        table_input = _table_input(name, data_columns, [c for c in columns if c[0] in layout.partitioned_by], layout)
        self.catalog.create_glue_table(database, table_input)
        self._add_partitions(self.catalog.require_table(database, name), written.partitions)
        return _rows_outcome(written, prepared.scanned)

    def _insert(self, statement: InsertInto) -> Outcome:
        database, name = statement.table.database or self.database, statement.table.name
        self._require_schema(database)
        table = self.catalog.table(database, name)
        if table is None:
            raise QueryFailed(f"TABLE_NOT_FOUND: line 1:13: Table 'awsdatacatalog.{database}.{name}' does not exist")
        if table.is_view:
            raise QueryFailed(f"NOT_SUPPORTED: Inserting into views is not supported: '{table.qualified_name}'")
        prepared, columns = self._prepared(statement.query)
        targets = [(c.name, c.type) for c in (*table.columns, *table.partition_keys)]
        named = statement.columns or tuple(n for n, _ in targets)
        if unknown := [n for n in named if n not in dict(targets)]:
            raise QueryFailed(f"COLUMN_NOT_FOUND: line 1:1: Insert column name does not exist in target table: "
                              f"{unknown[0]}")
        if len(named) != len(columns):
            raise QueryFailed(f"TYPE_MISMATCH: line 1:1: Insert query has mismatched column types: "
                              f"Table: [{', '.join(dict(targets)[n] for n in named)}], "
                              f"Query: [{', '.join(t for _, t in columns)}]")
        # The query's columns, by position, in the table's order and types; columns left out are NULL
        positions = {n: f"c{i}" for i, n in enumerate(named)}
        select = ", ".join(f"CAST({positions.get(n, 'NULL')} AS {duckdb_type(t)}) AS {quote(n)}" for n, t in targets)
        reordered = PreparedQuery(f"SELECT {select} FROM ({prepared.sql}) AS query({', '.join(positions.values())})",
                                  prepared.scanned)
        layout = Layout(_folder(table.location), _table_format(table), tuple(k.name for k in table.partition_keys))
        written = self._write(statement.query, reordered, targets, layout, known=self.catalog.partitions(table))
        self._add_partitions(table, written.partitions)
        return _rows_outcome(written, prepared.scanned)

    def _unload(self, statement: Unload) -> Outcome:
        properties = statement.properties
        _check_properties(properties, UNLOAD_PROPERTIES, "UNLOAD")
        if "format" not in properties:
            raise QueryFailed("INVALID_TABLE_PROPERTY: line 1:1: UNLOAD needs the 'format' property")
        location = _s3_folder(statement.location, "UNLOAD location")
        self._require_empty(location, f"Target directory for unload already exists: {location}")
        layout = Layout(location, _file_format(properties, "compression"), _names(properties, "partitioned_by"))
        prepared, columns = self._prepared(statement.query)
        _check_column_names(columns)
        _check_layout(columns, layout)
        return _rows_outcome(self._write(statement.query, prepared, columns, layout), prepared.scanned)

    def _create_view(self, statement: CreateView) -> Outcome:
        database = statement.view.database or self.database
        self._require_schema(database)
        _, columns = self._prepared(statement.query)  # the view must run: its tables and columns exist
        _check_column_names(columns)
        self.catalog.create_view(database, statement.view.name, statement.sql, columns, statement.replace)
        return Outcome()

    # --- running and writing ---------------------------------------------------------------------

    def _prepared(self, query: Query) -> tuple[PreparedQuery, list[tuple[str, str]]]:
        """The query ready to run, with its output columns as (name, Hive type)."""
        prepared = prepare_query(query, catalog=self.catalog, database=self.database, cursor=self.cursor,
                                 listing=self.listing, cutoff=self.cutoff)
        with athena_errors(query):
            relation = self.cursor.sql(prepared.sql)  # planned, not run: its columns and types
        return prepared, [(name, _hive_type(str(kind))) for name, kind in zip(relation.columns, relation.types)]

    def _write(self, query: Query, prepared: PreparedQuery, columns: list[tuple[str, str]], layout: Layout,
               known: list[Any] = ()) -> _Written:
        """Run the query and put its files under the layout's location."""
        data = [(n, t) for n, t in columns if n not in layout.partitioned_by]
        keys = [(n, t) for n, t in columns if n in layout.partitioned_by]
        select = [f"CAST({quote(n)} AS {duckdb_type(t)}) AS {quote(n)}" for n, t in (*data, *keys)]
        order = [quote(n) for n, _ in keys]
        if layout.bucket_count:
            # Rows go to buckets by a hash of the bucketing columns (DuckDB's hash, not Hive's)
            select.append(f"hash({', '.join(quote(n) for n in layout.bucketed_by)}) % {layout.bucket_count}")
            order.append(str(len(select)))
        sql = f"SELECT {', '.join(select)} FROM ({prepared.sql})" + (f" ORDER BY {', '.join(order)}" if order else "")
        locations = {tuple(p.values): p.location for p in known}
        written, seen = _Written(), set()
        with athena_errors(query):
            reader = self.cursor.sql(sql).to_arrow_reader(BATCH_ROWS)
            for number, file in enumerate(data_files(reader, [n for n, _ in data], len(keys), layout.bucket_count > 0,
                                                     layout.file_format)):
                seen.add((file.partition, file.bucket))
                if len(seen) > MAX_PARTITIONS:
                    raise QueryFailed(f"HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of {MAX_PARTITIONS} open "
                                      f"writers for partitions/buckets")
                folder = locations.get(file.partition) or layout.location + "".join(
                    f"{n}={escape_path_name(v)}/" for (n, _), v in zip(keys, file.partition))
                bucket = f"_bucket-{file.bucket:05d}" if file.bucket is not None else ""
                url = f"{_folder(folder)}{self.execution_id}_{number:05d}{bucket}{layout.file_format.suffix}"
                self.put(url, file.body)
                written.urls.append(url)
                written.rows += file.rows
                if keys:
                    written.partitions.setdefault(file.partition, _folder(folder))
        return written

    def _add_partitions(self, table: Table, partitions: dict[tuple[str, ...], str]) -> None:
        for values, location in partitions.items():
            self.catalog.add_partition(table, values, location, if_not_exists=True)

    def _require_schema(self, database: str) -> None:
        if not self.catalog.has_database(database):
            raise QueryFailed(f"SCHEMA_NOT_FOUND: line 1:1: Schema '{database}' does not exist")

    def _require_empty(self, location: str, message: str) -> None:
        """CTAS and UNLOAD never write where there is data already (Athena checks the prefix)."""
        if self.listing.objects_under(location):
            raise QueryFailed(f"HIVE_PATH_ALREADY_EXISTS: {message}")


@dataclass
class _Written:
    rows: int = 0
    urls: list[str] = field(default_factory=list)
    partitions: dict[tuple[str, ...], str] = field(default_factory=dict)  # values -> folder


def _rows_outcome(written: _Written, scanned: int) -> Outcome:
    return Outcome([ResultColumn("rows", "bigint", 19)], [[str(written.rows)]], scanned, written.urls)


# --- properties, columns and the Glue table (pure) ------------------------------------------------

def _check_properties(properties: dict[str, PropertyValue], allowed: set[str], what: str) -> None:
    for name in properties:
        if name not in allowed:
            raise QueryFailed(f"INVALID_TABLE_PROPERTY: line 1:1: Catalog 'awsdatacatalog' {what} property "
                              f"'{name}' does not exist")


def _text(properties: dict[str, PropertyValue], name: str) -> str | None:
    value = properties.get(name)
    if isinstance(value, tuple):
        raise QueryFailed(f"INVALID_TABLE_PROPERTY: line 1:1: Property '{name}' takes a value, not an array")
    return value


def _names(properties: dict[str, PropertyValue], name: str) -> tuple[str, ...]:
    value = properties.get(name, ())
    if not isinstance(value, tuple):
        raise QueryFailed(f"INVALID_TABLE_PROPERTY: line 1:1: Property '{name}' takes an ARRAY['column', ...]")
    return tuple(v.lower() for v in value)


def _bucket_count(properties: dict[str, PropertyValue]) -> int:
    text, columns = _text(properties, "bucket_count"), properties.get("bucketed_by")
    if (text is None) != (columns is None):
        raise QueryFailed("INVALID_TABLE_PROPERTY: line 1:1: bucketed_by and bucket_count must be specified together")
    if text is None:
        return 0
    if not text.isdigit() or not 0 < int(text) <= MAX_PARTITIONS:
        raise QueryFailed(f"INVALID_TABLE_PROPERTY: line 1:1: bucket_count must be between 1 and {MAX_PARTITIONS}: "
                          f"{text}")
    return int(text)


def _file_format(properties: dict[str, PropertyValue], compression_property: str) -> FileFormat:
    """The format (PARQUET unless told), its compression (each format's default unless told) and,
    for TEXTFILE, the field delimiter (\\x01 unless told)."""
    name = (_text(properties, "format") or "PARQUET").upper()
    if name not in FORMATS:
        raise QueryFailed(f"NOT_SUPPORTED: line 1:1: The local cloud writes {', '.join(FORMATS)}, not {name}")
    compression = (_text(properties, compression_property) or DEFAULT_COMPRESSION[name]).upper()
    if compression == "UNCOMPRESSED":
        compression = "NONE"
    if compression not in COMPRESSIONS[name]:
        raise QueryFailed(f"INVALID_TABLE_PROPERTY: line 1:1: Compression {compression} is not supported for {name}")
    delimiter = _text(properties, "field_delimiter")
    if delimiter is not None and name != "TEXTFILE":
        raise QueryFailed(f"INVALID_TABLE_PROPERTY: line 1:1: field_delimiter is only for TEXTFILE, not {name}")
    return FileFormat(name, compression, delimiter or "\x01")


def _table_format(table: Table) -> FileFormat:
    """How INSERT INTO writes into an existing table: in the table's own format."""
    if table.serde == ddl.PARQUET_SERDE:
        return FileFormat("PARQUET", table.parameters.get("parquet.compression", "GZIP").upper())
    if table.serde == ddl.ORC_SERDE:
        return FileFormat("ORC", table.parameters.get("orc.compress", "ZLIB").upper())
    compression = "GZIP" if table.parameters.get("write.compression", "GZIP").upper() == "GZIP" else "NONE"
    if table.is_json:
        return FileFormat("JSON", compression)
    return FileFormat("TEXTFILE", compression, table.field_delimiter)


def _check_column_names(columns: list[tuple[str, str]]) -> None:
    """A table's or view's columns need names (an expression without an alias is `_colN`), each once."""
    seen = set()
    for position, (name, _) in enumerate(columns):
        if name == f"_col{position}":
            raise QueryFailed(f"COLUMN_NAME_NOT_SPECIFIED: line 1:1: Column name not specified at position "
                              f"{position + 1}")
        if name in seen:
            raise QueryFailed(f"DUPLICATE_COLUMN_NAME: line 1:1: Column name '{name}' specified more than once")
        seen.add(name)


def _check_layout(columns: list[tuple[str, str]], layout: Layout) -> list[tuple[str, str]]:
    """Partition columns are the query's last ones, in the property's order; bucketing columns are data
    columns. The data columns."""
    names = [n for n, _ in columns]
    count = len(layout.partitioned_by)
    if count and (names[-count:] != list(layout.partitioned_by) or count == len(names)):
        raise QueryFailed(f"HIVE_COLUMN_ORDER_MISMATCH: Partition keys must be the last columns in the table and in "
                          f"the same order as the table properties: [{', '.join(layout.partitioned_by)}]")
    data = columns[:len(columns) - count]
    if missing := [b for b in layout.bucketed_by if b not in [n for n, _ in data]]:
        raise QueryFailed(f"INVALID_TABLE_PROPERTY: line 1:1: Bucketing columns [{', '.join(missing)}] not present "
                          f"in schema")
    return data


def _hive_type(duckdb_type_text: str) -> str:
    if duckdb_type_text.endswith("[]"):
        return f"array<{_hive_type(duckdb_type_text[:-2])}>"
    if duckdb_type_text.startswith("DECIMAL"):
        return duckdb_type_text.lower()
    if duckdb_type_text not in _HIVE_TYPES:
        raise QueryFailed(f"NOT_SUPPORTED: Unsupported Hive type: {duckdb_type_text.lower()}")
    return _HIVE_TYPES[duckdb_type_text]


def _table_input(name: str, data: list[tuple[str, str]], keys: list[tuple[str, str]], layout: Layout) -> dict[str, Any]:
    """The Glue TableInput Athena writes for CTAS."""
    file_format = layout.file_format
    serde, input_format, output_format = _STORAGE[file_format.format]
    delimiter = file_format.field_delimiter
    serde_parameters = ({"field.delim": delimiter, "serialization.format": delimiter}
                        if file_format.format == "TEXTFILE" else {"serialization.format": "1"})
    compression_parameter = {"PARQUET": "parquet.compression", "ORC": "orc.compress"}.get(file_format.format,
                                                                                          "write.compression")
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"EXTERNAL": "TRUE", "has_encrypted_data": "false",
                       compression_parameter: file_format.compression},
        "PartitionKeys": [{"Name": n, "Type": t} for n, t in keys],
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in data],
            "Location": layout.location,
            "InputFormat": input_format,
            "OutputFormat": output_format,
            "Compressed": file_format.compression != "NONE",
            "NumberOfBuckets": layout.bucket_count or -1,
            "SerdeInfo": {"SerializationLibrary": serde, "Parameters": serde_parameters},
            "BucketColumns": list(layout.bucketed_by),
            "SortColumns": [],
            "StoredAsSubDirectories": False,
        },
    }


def _s3_folder(location: str, what: str) -> str:
    """A write's folder, which must be in S3 (writes go through moto, never to a file)."""
    try:
        split_s3_url(location)
    except ValueError:
        raise QueryFailed(f"INVALID_TABLE_PROPERTY: line 1:1: {what} is not an S3 location: {location}") from None
    return _folder(location)


def _folder(location: str) -> str:
    return location if location.endswith("/") else location + "/"

