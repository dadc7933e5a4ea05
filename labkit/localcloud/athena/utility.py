"""DDL and utility statements: what each does to the Glue catalog, and the rows it answers with.

Result shapes follow Athena: DDL answers no rows; SHOW TABLES one `tab_name` per row; SHOW
DATABASES `database_name`; SHOW PARTITIONS `partition` as `key=value/key=value`; DESCRIBE declares
col_name/data_type/comment but, as Athena does, returns each line as one tab-separated value
(Hive's 20-character columns, and a `# Partition Information` section for partitioned tables).
"""

from __future__ import annotations

import re

from .catalog import CatalogError, GlueCatalog, Table
from .ddl import (AddPartitions, CreateDatabase, CreateTable, Describe, DropDatabase, DropPartitions, DropTable,
                  PartitionSpec, RepairTable, ShowColumns, ShowCreateTable, ShowDatabases, ShowPartitions, ShowTables,
                  Statement, TableRef)
from .query import Outcome
from .results import ResultColumn
from .scan import S3Listing, split_s3_url


def run_utility(statement: Statement, catalog: GlueCatalog, database: str, listing: S3Listing) -> Outcome:
    if isinstance(statement, CreateDatabase):
        catalog.create_database(statement.name, statement.if_not_exists, statement.comment, statement.location)
    elif isinstance(statement, DropDatabase):
        catalog.drop_database(statement.name, statement.if_exists, statement.cascade)
    elif isinstance(statement, CreateTable):
        _check_location(statement.location)
        catalog.create_table(statement, statement.table.database or database)
    elif isinstance(statement, DropTable):
        catalog.drop_table(statement.table.database or database, statement.table.name, statement.if_exists)
    elif isinstance(statement, AddPartitions):
        table = _table(catalog, statement.table, database)
        for spec in statement.partitions:
            location = spec.location or _default_location(table, spec)
            _check_location(location)
            catalog.add_partition(table, _values(table, spec), location, statement.if_not_exists)
    elif isinstance(statement, DropPartitions):
        table = _table(catalog, statement.table, database)
        for spec in statement.partitions:
            catalog.drop_partition(table, _values(table, spec), statement.if_exists)
    elif isinstance(statement, RepairTable):
        return _repair(_table(catalog, statement.table, database), catalog, listing)
    elif isinstance(statement, ShowTables):
        names = catalog.tables(statement.database or database)
        return _single_column("tab_name", _matching(names, statement.pattern))
    elif isinstance(statement, ShowDatabases):
        return _single_column("database_name", _matching(catalog.databases(), statement.pattern))
    elif isinstance(statement, ShowPartitions):
        table = _table(catalog, statement.table, database)
        return _single_column("partition", sorted(p.name(table) for p in catalog.partitions(table)))
    elif isinstance(statement, Describe):
        return _describe(_table(catalog, statement.table, database), statement.formatted)
    elif isinstance(statement, ShowColumns):
        table = _table(catalog, statement.table, database)
        return _single_column("field", [c.name for c in (*table.columns, *table.partition_keys)])
    elif isinstance(statement, ShowCreateTable):
        return _single_column("createtab_stmt", show_create(_table(catalog, statement.table, database),
                                                            statement.view))
    return Outcome()


def _table(catalog: GlueCatalog, ref: TableRef, database: str) -> Table:
    return catalog.require_table(ref.database or database, ref.name)


def _values(table: Table, spec: PartitionSpec) -> tuple[str, ...]:
    keys = [k.name for k in table.partition_keys]
    if set(spec.values) != set(keys):
        raise CatalogError(f"FAILED: SemanticException [Error 10098]: Partition spec {spec.values} is not valid "
                           f"for table {table.database}.{table.name}, whose partition columns are {', '.join(keys)}")
    return tuple(spec.values[k] for k in keys)


def _default_location(table: Table, spec: PartitionSpec) -> str:
    return table.location.rstrip("/") + "/" + "".join(f"{k.name}={spec.values[k.name]}/" for k in table.partition_keys)


def _check_location(location: str) -> None:
    try:
        split_s3_url(location)
    except ValueError:
        raise CatalogError(f"FAILED: Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
                           f"MetaException(message:Invalid S3 location: {location})") from None


def _repair(table: Table, catalog: GlueCatalog, listing: S3Listing) -> Outcome:
    """MSCK REPAIR TABLE: add the partitions found as Hive-style `key=value/` folders under LOCATION."""
    keys = [k.name for k in table.partition_keys]
    base = table.location.rstrip("/") + "/"
    _, base_prefix = split_s3_url(base)
    known = {p.values for p in catalog.partitions(table)}
    found: dict[tuple[str, ...], str] = {}
    for obj in listing.objects_under(base):
        folders = obj.key[len(base_prefix):].split("/")[:-1]
        pairs = [re.fullmatch(r"([^=]+)=(.*)", folder) for folder in folders[:len(keys)]]
        if len(pairs) == len(keys) and all(p and p.group(1).lower() == k for p, k in zip(pairs, keys)):
            values = tuple(p.group(2) for p in pairs)
            found.setdefault(values, base + "/".join(folders[:len(keys)]) + "/")
    missing = sorted(v for v in found if v not in known)
    rows = []
    if missing:
        names = [f"{table.name}:" + "/".join(f"{k}={v}" for k, v in zip(keys, values)) for values in missing]
        rows.append(["Partitions not in metastore:\t" + "\t".join(names)])
        for values, name in zip(missing, names):
            catalog.add_partition(table, values, found[values], if_not_exists=True)
            rows.append([f"Repair: Added partition to metastore {name}"])
    return Outcome([ResultColumn.varchar("result")] if rows else [], rows)


def _describe(table: Table, formatted: bool) -> Outcome:
    def line(*fields: str) -> list[str | None]:
        return ["\t".join(f"{f:<20}" for f in fields)]

    rows = [line("# col_name", "data_type", "comment"), line("", "", "")] if formatted else []
    rows += [line(c.name, c.type, "") for c in (*table.columns, *table.partition_keys)]
    if table.partition_keys:
        rows += [line("", "", ""), line("# Partition Information", "", ""), line("# col_name", "data_type", "comment"),
                 line("", "", ""), *(line(k.name, k.type, "") for k in table.partition_keys)]
    if formatted:  # Hive's detailed sections, from the Glue table
        rows += [line("", "", ""), line("# Detailed Table Information", "", ""),
                 line("Database:", table.database, ""), line("Location:", table.location, ""),
                 line("Table Type:", table.table_type, ""), line("Table Parameters:", "", ""),
                 *(line("", key, value) for key, value in sorted(table.parameters.items())),
                 line("", "", ""), line("# Storage Information", "", ""),
                 line("SerDe Library:", table.serde, ""), line("InputFormat:", table.input_format, ""),
                 line("OutputFormat:", table.output_format, ""), line("Storage Desc Params:", "", ""),
                 *(line("", key, value) for key, value in sorted(table.serde_parameters.items()))]
    columns = [ResultColumn.varchar("col_name"), ResultColumn.varchar("data_type"), ResultColumn.varchar("comment")]
    return Outcome(columns, rows)


def show_create(table: Table, view: bool) -> list[str]:
    """SHOW CREATE TABLE as Hive prints it (one row a line, DDL that creates the same table again), or
    SHOW CREATE VIEW as Trino prints it; each refuses the other kind."""
    if view != table.is_view:
        kind, other = ("view", "table") if table.is_view else ("table", "view")
        raise CatalogError(f"NOT_SUPPORTED: line 1:1: Relation '{table.qualified_name}' is a {kind}, not a {other}")
    if view:
        return [f'CREATE VIEW "awsdatacatalog"."{table.database}"."{table.name}" SECURITY DEFINER AS', table.view_sql]

    def columns(listed: tuple) -> list[str]:
        return [f"  `{c.name}` {c.type}{',' if i < len(listed) - 1 else ')'}" for i, c in enumerate(listed)]

    lines = [f"CREATE EXTERNAL TABLE `{table.database}`.`{table.name}`(", *columns(table.columns)]
    if table.partition_keys:
        lines += ["PARTITIONED BY (", *columns(table.partition_keys)]
    lines += ["ROW FORMAT SERDE", f"  '{table.serde}'"]
    if table.serde_parameters:
        lines += ["WITH SERDEPROPERTIES (", *_pairs(table.serde_parameters)]
    lines += ["STORED AS INPUTFORMAT", f"  '{table.input_format}'", "OUTPUTFORMAT", f"  '{table.output_format}'",
              "LOCATION", f"  '{table.location}'"]
    shown = {k: v for k, v in table.parameters.items() if k != "EXTERNAL"}
    if shown:
        lines += ["TBLPROPERTIES (", *_pairs(shown)]
    return lines


def _pairs(parameters: dict[str, str]) -> list[str]:
    items = sorted(parameters.items())
    return [f"  '{_quoted(k)}'='{_quoted(v)}'{',' if i < len(items) - 1 else ')'}" for i, (k, v) in enumerate(items)]


def _quoted(text: str) -> str:
    """Inside '...' in Hive DDL: `\\` and `'` escaped, control characters as \\uXXXX (Hive's escapeSQLString)."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    return "".join(c if c.isprintable() else f"\\u{ord(c):04X}" for c in escaped)


def _single_column(name: str, values: list[str]) -> Outcome:
    return Outcome([ResultColumn.varchar(name)], [[v] for v in values])


def _matching(names: list[str], pattern: str | None) -> list[str]:
    """Hive's SHOW pattern: `*` is any text, `|` separates alternatives, case-insensitive."""
    if not pattern:
        return names
    regex = "|".join(re.escape(p.strip()).replace(r"\*", ".*") for p in pattern.split("|"))
    return [n for n in names if re.fullmatch(regex, n, re.IGNORECASE)]
