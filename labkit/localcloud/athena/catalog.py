"""Athena's AwsDataCatalog: databases, tables and partitions kept in moto's Glue backend.

Athena DDL writes the same Glue objects AWS writes (TableInput with StorageDescriptor, SerdeInfo,
PartitionKeys and Parameters), so Glue's GetTable/GetPartitions show them, and a table created
through Glue directly is queryable from Athena.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from moto.backends import get_backend

from .ddl import JSON_SERDES, ORC_SERDE, PARQUET_SERDE, Column, CreateTable, Storage


class CatalogError(Exception):
    """A DDL or query failure; `message` is Athena's StateChangeReason."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Table:
    """A Glue table as the query engine needs it."""

    database: str
    name: str
    columns: tuple[Column, ...]
    partition_keys: tuple[Column, ...]
    location: str
    serde: str
    serde_parameters: dict[str, str]
    parameters: dict[str, str]

    @classmethod
    def from_glue(cls, table: dict[str, Any]) -> Table:
        descriptor = table.get("StorageDescriptor", {})
        serde = descriptor.get("SerdeInfo", {})
        return cls(database=table["DatabaseName"], name=table["Name"],
                   columns=tuple(Column(c["Name"].lower(), c["Type"].lower()) for c in descriptor.get("Columns", [])),
                   partition_keys=tuple(Column(c["Name"].lower(), c["Type"].lower())
                                        for c in table.get("PartitionKeys", [])),
                   location=descriptor.get("Location", ""), serde=serde.get("SerializationLibrary", ""),
                   serde_parameters=dict(serde.get("Parameters", {})), parameters=dict(table.get("Parameters", {})),
                   input_format=descriptor.get("InputFormat", ""), output_format=descriptor.get("OutputFormat", ""),
                   table_type=table.get("TableType", "EXTERNAL_TABLE"),
                   view_original_text=table.get("ViewOriginalText", ""))

    @property
    def qualified_name(self) -> str:
        return f"awsdatacatalog.{self.database}.{self.name}"

    @property
    def column_types(self) -> dict[str, str]:
        """Hive type by column name, data columns then partition keys."""
        return {c.name: c.type for c in (*self.columns, *self.partition_keys)}

    input_format: str = ""
    output_format: str = ""
    table_type: str = "EXTERNAL_TABLE"
    view_original_text: str = ""

    @property
    def is_columnar(self) -> bool:
        """Parquet, or ORC: the ORC tables the local cloud writes hold Parquet files (see `files`)."""
        return self.serde in (PARQUET_SERDE, ORC_SERDE)

    @property
    def is_json(self) -> bool:
        return self.serde in JSON_SERDES

    @property
    def is_view(self) -> bool:
        return self.table_type == "VIRTUAL_VIEW"

    @property
    def field_delimiter(self) -> str:
        """Hive's LazyUtils.getByte: a number is the delimiter's byte value (`serialization.format` `1`
        is \\x01), anything else its first character."""
        text = self.serde_parameters.get("field.delim", self.serde_parameters.get("serialization.format", "\x01"))
        return chr(int(text)) if text.isdigit() else text[:1] or "\x01"

    @property
    def view_sql(self) -> str:
        """A view's SELECT, from the `/* Presto View: base64(JSON) */` text Athena stores in Glue."""
        encoded = self.view_original_text.removeprefix("/* Presto View: ").removesuffix(" */")
        return json.loads(base64.b64decode(encoded))["originalSql"]

    @property
    def header_lines(self) -> int:
        return int(self.parameters.get("skip.header.line.count", "0") or 0)

    @property
    def projected(self) -> bool:
        return self.parameters.get("projection.enabled", "").lower() == "true"

    def column(self, name: str) -> Column | None:
        return next((c for c in (*self.columns, *self.partition_keys) if c.name == name), None)


@dataclass(frozen=True)
class Partition:
    values: tuple[str, ...]  # in the order of the table's partition keys
    location: str

    def name(self, table: Table) -> str:
        """As SHOW PARTITIONS prints it: `key=value/key=value`, with Hive's escaping of `/`, `:`, `=`..."""
        return "/".join(f"{key.name}={escape_path_name(value)}"
                        for key, value in zip(table.partition_keys, self.values))


class GlueCatalog:
    """The Glue Data Catalog of one account and region."""

    def __init__(self, account_id: str, region: str):
        self.account_id = account_id
        self.region = region

    @property
    def _glue(self) -> Any:
        return get_backend("glue")[self.account_id][self.region]

    # --- databases ----------------------------------------------------------------------------

    def databases(self) -> list[str]:
        return sorted(self._glue.databases)

    def has_database(self, name: str) -> bool:
        return name in self._glue.databases

    def create_database(self, name: str, if_not_exists: bool, comment: str | None = None,
                        location: str | None = None) -> None:
        if self.has_database(name):
            if if_not_exists:
                return
            raise CatalogError(f"FAILED: SemanticException [Error 10072]: Database {name} already exists")
        database_input = {"Name": name, **({"Description": comment} if comment else {}),
                          **({"LocationUri": location} if location else {})}
        self._glue.create_database(name, database_input)

    def drop_database(self, name: str, if_exists: bool, cascade: bool) -> None:
        if not self.has_database(name):
            if if_exists:
                return
            raise CatalogError(f"FAILED: SemanticException [Error 10072]: Database does not exist: {name}")
        tables = self._glue.databases[name].tables
        if tables and not cascade:
            raise CatalogError(f"FAILED: Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
                               f"InvalidOperationException(message:Database {name} is not empty. One or more tables exist.)")
        self._glue.delete_database(name)

    # --- tables -------------------------------------------------------------------------------

    def tables(self, database: str) -> list[str]:
        self._require_database(database)
        return sorted(self._glue.databases[database].tables)

    def table(self, database: str, name: str) -> Table | None:
        found = self._glue.databases.get(database)
        table = found.tables.get(name) if found else None
        return Table.from_glue(table.as_dict()) if table else None

    def create_table(self, create: CreateTable, database: str) -> None:
        self._require_database(database)
        name = create.table.name
        if name in self._glue.databases[database].tables:
            if create.if_not_exists:
                return
            raise CatalogError(f"FAILED: SemanticException [Error 10001]: Table already exists: {database}.{name}")
        self._glue.create_table(database, name, table_input(create, name))

    def drop_table(self, database: str, name: str, if_exists: bool) -> None:
        self._require_database(database)
        if name not in self._glue.databases[database].tables:
            if if_exists:
                return
            raise CatalogError(f"FAILED: SemanticException [Error 10001]: Table not found {database}.{name}")
        self._glue.delete_table(database, name)

    def create_view(self, database: str, name: str, sql: str, columns: list[tuple[str, str]], replace: bool) -> None:
        """A Glue VIRTUAL_VIEW as Athena writes it; `columns` are (name, Hive type)."""
        self._require_database(database)
        existing = self.table(database, name)
        if existing is not None and not (replace and existing.is_view):
            kind = "View" if existing.is_view else "Table"
            raise CatalogError(f"TABLE_ALREADY_EXISTS: line 1:1: {kind} already exists: "
                               f"'awsdatacatalog.{database}.{name}'")
        view = {"originalSql": sql, "catalog": "awsdatacatalog", "schema": database,
                "columns": [{"name": n, "type": _trino_type_of(t)} for n, t in columns], "owner": "",
                "runAsInvoker": False}
        encoded = base64.b64encode(json.dumps(view, separators=(",", ":")).encode()).decode()
        table_input = {
            "Name": name, "TableType": "VIRTUAL_VIEW", "Parameters": {"presto_view": "true", "comment": "Presto View"},
            "ViewOriginalText": f"/* Presto View: {encoded} */", "ViewExpandedText": "/* Presto View */",
            "PartitionKeys": [],
            "StorageDescriptor": {"Columns": [{"Name": n, "Type": t} for n, t in columns],
                                  "Location": "", "SerdeInfo": {}, "Compressed": False, "NumberOfBuckets": 0,
                                  "BucketColumns": [], "SortColumns": [], "StoredAsSubDirectories": False}}
        if existing is not None:
            self._glue.update_table(database, name, table_input)
        else:
            self._glue.create_table(database, name, table_input)

    def drop_view(self, database: str, name: str, if_exists: bool) -> None:
        table = self.table(database, name) if self.has_database(database) else None
        if table is None or not table.is_view:
            if if_exists and table is None:
                return
            raise CatalogError(f"TABLE_NOT_FOUND: line 1:1: View 'awsdatacatalog.{database}.{name}' does not exist")
        self._glue.delete_table(database, name)

    def create_glue_table(self, database: str, table_input: dict[str, Any]) -> None:
        """A table as CTAS makes it (the caller checked that there is none of that name)."""
        self._glue.create_table(database, table_input["Name"], table_input)

    def require_table(self, database: str, name: str) -> Table:
        self._require_database(database)
        table = self.table(database, name)
        if table is None:
            raise CatalogError(f"FAILED: SemanticException [Error 10001]: Table not found {database}.{name}")
        return table

    # --- partitions ---------------------------------------------------------------------------

    def partitions(self, table: Table) -> list[Partition]:
        glue_table = self._glue.get_table(table.database, table.name)
        return [Partition(tuple(p.values), p.partition_input.get("StorageDescriptor", {}).get("Location", ""))
                for p in glue_table.partitions.values()]

    def add_partition(self, table: Table, values: tuple[str, ...], location: str, if_not_exists: bool) -> bool:
        """Add a partition; False if it was there already (and IF NOT EXISTS allowed that)."""
        glue_table = self._glue.get_table(table.database, table.name)
        if str(list(values)) in glue_table.partitions:
            if if_not_exists:
                return False
            raise CatalogError("FAILED: Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
                               "AlreadyExistsException(message:Partition already exists)")
        descriptor = self._glue.get_table(table.database, table.name).as_dict()["StorageDescriptor"]
        glue_table.create_partition({"Values": list(values), "StorageDescriptor": {**descriptor, "Location": location}})
        return True

    def drop_partition(self, table: Table, values: tuple[str, ...], if_exists: bool) -> None:
        glue_table = self._glue.get_table(table.database, table.name)
        if str(list(values)) not in glue_table.partitions:
            if if_exists:
                return
            raise CatalogError("FAILED: SemanticException [Error 10006]: Partition not found")
        glue_table.delete_partition(list(values))

    def _require_database(self, name: str) -> None:
        if not self.has_database(name):
            raise CatalogError(f"FAILED: SemanticException [Error 10072]: Database does not exist: {name}")


def table_input(create: CreateTable, name: str) -> dict[str, Any]:
    """The Glue TableInput Athena writes for CREATE EXTERNAL TABLE."""
    storage: Storage = create.storage
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"EXTERNAL": "TRUE", **create.properties},
        "PartitionKeys": [{"Name": c.name, "Type": c.type} for c in create.partition_keys],
        "StorageDescriptor": {
            "Columns": [{"Name": c.name, "Type": c.type} for c in create.columns],
            "Location": create.location,
            "InputFormat": storage.input_format,
            "OutputFormat": storage.output_format,
            "Compressed": False,
            "NumberOfBuckets": -1,
            "SerdeInfo": {"SerializationLibrary": storage.serde, "Parameters": dict(storage.serde_parameters)},
            "BucketColumns": [],
            "SortColumns": [],
            "StoredAsSubDirectories": False,
        },
    }


_TRINO_TYPES = {"string": "varchar", "int": "integer", "float": "real", "binary": "varbinary"}


def _trino_type_of(hive_type: str) -> str:
    """The Trino type a view's JSON gives for a column Glue shows with this Hive type."""
    if hive_type.startswith("array<") and hive_type.endswith(">"):
        return f"array({_trino_type_of(hive_type[6:-1])})"
    return _TRINO_TYPES.get(hive_type, hive_type)


def escape_path_name(value: str) -> str:
    """Hive's FileUtils.escapePathName for the characters flow-log partition values can hold."""
    return re.sub(r"[\"#%'*/:=?\\\x7f{}\[\]^]", lambda m: f"%{ord(m.group()):02X}", value)
