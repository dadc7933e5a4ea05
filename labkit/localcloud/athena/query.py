"""A SELECT planned and run on DuckDB, as Athena runs it on Trino.

1. Every table the query names is found in the Glue catalog (TABLE_NOT_FOUND otherwise).
2. Its partitions (registered, or projected) are pruned with the WHERE conditions that only involve
   partition columns, evaluated by DuckDB over the partition values, so only those objects are read.
3. Bytes scanned are what Athena bills: the objects read (text), or the column chunks of the columns
   the query uses (Parquet). Over the work group's cutoff, the query is cancelled before it runs.
4. Each table becomes a temporary view over its objects (`scan`), the query is transpiled (`dialect`)
   and run, and the rows formatted as Athena prints them (`results`).
DuckDB's errors are reported in Athena's words (COLUMN_NOT_FOUND, FUNCTION_NOT_FOUND, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import duckdb
from sqlglot import exp

from . import dialect
from .catalog import GlueCatalog, Partition, Table
from .ddl import Query
from .projection import projected_partitions
from .results import ResultColumn, value_text
from .scan import PartitionFiles, S3Listing, absent_parquet_columns, duckdb_type, parquet_column_sizes, quote, \
    relation_sql, table_files

FETCH_ROWS = 10_000


class QueryFailed(Exception):
    """The query goes to FAILED; `message` is the StateChangeReason."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ScanLimitExceeded(Exception):
    """More bytes to scan than the work group's BytesScannedCutoffPerQuery allows."""

    def __init__(self, cutoff: int):
        super().__init__(f"over the cutoff of {cutoff} bytes")
        self.cutoff = cutoff


@dataclass
class Outcome:
    """What a statement produced: typed columns and rows of text (None is NULL)."""

    columns: list[ResultColumn] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    data_scanned: int = 0


@dataclass
class _TableScan:
    table: Table
    view: str
    files: list[PartitionFiles]


def run_query(query: Query, *, catalog: GlueCatalog, database: str, cursor: Any, listing: S3Listing,
              cutoff: int | None) -> Outcome:
    tree = query.tree.copy()
    scans = _resolve_tables(tree, catalog, database, query.text)
    for scan in scans.values():
        scan.files = table_files(scan.table, _chosen_partitions(scan.table, tree, catalog, cursor, len(scans)),
                                 listing)
    scanned = sum(_bytes_scanned(scan, tree, cursor) for scan in scans.values())
    if cutoff is not None and scanned > cutoff:
        raise ScanLimitExceeded(cutoff)
    for scan in scans.values():
        absent = absent_parquet_columns(cursor, scan.table, scan.files)
        cursor.execute(f"CREATE OR REPLACE TEMP VIEW {quote(scan.view)} AS {relation_sql(scan.table, scan.files, absent)}")
    try:
        result = cursor.execute(dialect.to_duckdb(tree, {scan.view: scan.table.column_types for scan in scans.values()}))
        columns = [ResultColumn.from_duckdb(name, kind) for name, kind, *_ in result.description]
        rows = []
        while batch := result.fetchmany(FETCH_ROWS):
            rows.extend([value_text(v) for v in row] for row in batch)
    except duckdb.InterruptException:
        raise
    except duckdb.Error as error:
        raise QueryFailed(athena_error(error, query)) from None
    except dialect.UnsupportedSql as error:
        raise QueryFailed(f"NOT_SUPPORTED: The local cloud does not support {error}") from None
    return Outcome(columns, rows, scanned)


def _resolve_tables(tree: exp.Expression, catalog: GlueCatalog, database: str, text: str) -> dict[str, _TableScan]:
    """Replace each catalog table in the tree by a view name; the scans by qualified table name."""
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    scans: dict[str, _TableScan] = {}
    for node in list(tree.find_all(exp.Table)):
        if not isinstance(node.this, exp.Identifier) or (not node.db and node.name.lower() in cte_names):
            continue
        database_name = (node.db or database).lower()
        name = node.name.lower()
        if not catalog.has_database(database_name):
            raise QueryFailed(f"SCHEMA_NOT_FOUND: {_position(text, node)}: Schema '{database_name}' does not exist")
        table = catalog.table(database_name, name)
        if table is None:
            raise QueryFailed(f"TABLE_NOT_FOUND: {_position(text, node)}: "
                              f"Table 'awsdatacatalog.{database_name}.{name}' does not exist")
        scan = scans.setdefault(table.qualified_name, _TableScan(table, f"athena_table_{len(scans)}", []))
        alias = node.alias or name
        node.replace(exp.Table(this=exp.to_identifier(scan.view, quoted=True),
                               alias=exp.TableAlias(this=exp.to_identifier(alias.lower(), quoted=True))))
    return scans


def _chosen_partitions(table: Table, tree: exp.Expression, catalog: GlueCatalog, cursor: Any,
                       table_count: int) -> list[Partition] | None:
    """The partitions to read (None: the table is not partitioned, read all of LOCATION)."""
    if not table.partition_keys:
        return None
    partitions = projected_partitions(table) if table.projected else catalog.partitions(table)
    conditions = _partition_conditions(tree, table) if table_count == 1 else []
    if not conditions or not partitions:
        return partitions
    keys = table.partition_keys
    cursor.execute("CREATE OR REPLACE TEMP TABLE athena_partitions ("
                   + ", ".join(f"{quote(k.name)} {duckdb_type(k.type)}" for k in keys) + ", athena_index INTEGER)")
    cursor.executemany(f"INSERT INTO athena_partitions VALUES ({', '.join('?' * (len(keys) + 1))})",
                       [[*p.values, i] for i, p in enumerate(partitions)])
    # Transpiled as a query over typed partition columns, so that the conditions mean what they mean
    # in the query itself (`hour / 2` of an int partition column divides as integers).
    pruning = exp.select("athena_index").from_("athena_partitions").where(exp.and_(*conditions))
    try:
        sql = dialect.to_duckdb(pruning, {"athena_partitions": {k.name: k.type for k in keys}})
        chosen = cursor.execute(sql).fetchall()
    except (duckdb.Error, dialect.UnsupportedSql):  # the query itself will report the problem
        return partitions
    return [partitions[i] for (i,) in sorted(chosen)]


def _partition_conditions(tree: exp.Expression, table: Table) -> list[exp.Expression]:
    """The top-level AND-ed WHERE conditions that only use the table's partition columns."""
    where = tree.args.get("where") if isinstance(tree, exp.Select) else None
    if where is None:
        return []
    keys = {k.name for k in table.partition_keys}
    conditions = []
    for condition in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        columns = list(condition.find_all(exp.Column))
        if columns and all(c.name.lower() in keys for c in columns) and not condition.find(exp.Subquery):
            unqualified = condition.copy()
            for column in unqualified.find_all(exp.Column):
                column.replace(exp.column(column.name.lower(), quoted=True))
            conditions.append(unqualified)
    return conditions


def _bytes_scanned(scan: _TableScan, tree: exp.Expression, cursor: Any) -> int:
    paths = [o.path for f in scan.files for o in f.objects]
    if not scan.table.is_parquet or not paths:
        return sum(o.size for f in scan.files for o in f.objects)
    used = _used_columns(scan.table, tree)
    if not used:
        return 0
    return sum(size for footer in parquet_column_sizes(cursor, paths).values()
               for column, size in footer.items() if column in used)


def _used_columns(table: Table, tree: exp.Expression) -> set[str]:
    selects_everything = any(isinstance(p, exp.Star) or (isinstance(p, exp.Column) and p.is_star)
                             for select in tree.find_all(exp.Select) for p in select.expressions)
    if selects_everything:
        return {c.name for c in table.columns}
    named = {c.name.lower() for c in tree.find_all(exp.Column)}
    return {c.name for c in table.columns if c.name in named}


# --- DuckDB's errors in Athena's words -------------------------------------------------------

_MISSING_COLUMN = re.compile(r'Referenced column "([^"]+)" not found|does not have a column named "([^"]+)"'
                             r'|Column "([^"]+)" referenced that exists in the SELECT clause')
_MISSING_FUNCTION = re.compile(r"(?:Scalar|Aggregate|Table) Function with name (\w+) does not exist")


def athena_error(error: duckdb.Error, query: Query) -> str:
    message = str(error)
    first_line = message.splitlines()[0] if message else type(error).__name__
    if match := _MISSING_COLUMN.search(message):
        name = next(group for group in match.groups() if group)
        node = next((c for c in query.tree.find_all(exp.Column) if c.name.lower() == name.lower()), None)
        return (f"COLUMN_NOT_FOUND: {_position(query.text, node)}: Column '{name}' cannot be resolved or requester "
                f"is not authorized to access requested resources")
    if match := _MISSING_FUNCTION.search(message):
        name = match.group(1)
        found = re.search(rf"\b{re.escape(name)}\s*\(", query.text, re.IGNORECASE)
        where = _line_column(query.text, found.start()) if found else "line 1:1"
        return f"FUNCTION_NOT_FOUND: {where}: Function '{name}' not registered"
    if first_line.startswith("Invalid Input Error: Cannot cast "):  # raised by the dialect's casts
        return "INVALID_CAST_ARGUMENT: " + first_line.split(": ", 1)[-1]
    if "Division by zero" in first_line:
        return "DIVISION_BY_ZERO: Division by zero"
    if isinstance(error, duckdb.ConversionException):
        return "INVALID_CAST_ARGUMENT: " + first_line.split(": ", 1)[-1]
    if isinstance(error, duckdb.IOException) and "GZIP" in message.upper():
        return "HIVE_CURSOR_ERROR: Unexpected end of input stream"
    if isinstance(error, (duckdb.InvalidInputException, duckdb.IOException)):
        return "HIVE_BAD_DATA: " + first_line.split(": ", 1)[-1]
    return "GENERIC_INTERNAL_ERROR: " + first_line.split(": ", 1)[-1]


def _position(text: str, node: exp.Expression | None) -> str:
    """`line L:C` of a node's first identifier in the query text (Trino counts from 1)."""
    if node is None:
        return "line 1:1"
    starts = [i.meta["start"] for i in node.find_all(exp.Identifier) if "start" in i.meta]
    return _line_column(text, min(starts)) if starts else "line 1:1"


def _line_column(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}:{column}"
