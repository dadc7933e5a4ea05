"""A SELECT planned and run on DuckDB, as Athena runs it on Trino.

1. Every table the query names is found in the Glue catalog (TABLE_NOT_FOUND otherwise); a view is
   replaced by its SELECT.
2. Its partitions (registered, or projected) are pruned with the WHERE conditions that only involve
   partition columns, evaluated by DuckDB over the partition values, so only those objects are read.
3. Bytes scanned are what Athena bills: the objects read (text), or the column chunks of the columns
   the query uses (Parquet). Over the work group's cutoff, the query is cancelled before it runs.
4. Each table becomes a temporary view over its objects (`scan`), the query is transpiled (`dialect`)
   and run, and the rows formatted as Athena prints them (`results`).
DuckDB's errors are reported in Athena's words (COLUMN_NOT_FOUND, FUNCTION_NOT_FOUND, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from . import dialect
from .catalog import GlueCatalog, Partition, Table
from .ddl import Query
from . import projection
from .results import ResultColumn, value_text
from .scan import PartitionFiles, S3Listing, absent_parquet_columns, duckdb_type, parquet_column_sizes, quote, \
    relation_sql, table_files

FETCH_ROWS = 10_000
# The result rows the local cloud keeps for GetQueryResults (Athena keeps them in S3; the lab's are small).
MAX_RESULT_CHARACTERS = 128 * 1024 * 1024
EXHAUSTED = "EXCEEDED_MEMORY_LIMIT: Query exhausted resources at this scale factor"


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
    written: list[str] | None = None  # the S3 URLs of the data files written (CTAS, INSERT INTO, UNLOAD)


@dataclass
class _TableScan:
    table: Table
    view: str
    files: list[PartitionFiles]


@dataclass
class PreparedQuery:
    """A query ready to run on its cursor: the DuckDB SQL over temporary views of its tables."""

    sql: str
    scanned: int
    scans: list[_TableScan] = field(default_factory=list)
    limit: int | None = None  # prepared `in_lots` for a query that any LIMIT rows answer (its views not made)


def prepare_query(query: Query, *, catalog: GlueCatalog, database: str, cursor: Any, listing: S3Listing,
                  cutoff: int | None, in_lots: bool = False) -> PreparedQuery:
    """Steps 1 to 4 of the module's plan, up to the DuckDB SQL (not run yet). `in_lots`: the caller reads
    the partitions of a query that needs only its LIMIT's rows a few at a time, making their views itself."""
    if unknown := dialect.unknown_function(query.tree, query.text):
        name, where = unknown
        raise QueryFailed(f"FUNCTION_NOT_FOUND: {where}: Function '{name}' not registered")
    tree = query.tree.copy()
    _expand_views(tree, catalog, database, query.text)
    scans = _resolve_tables(tree, catalog, database, query.text)
    for scan in scans.values():
        scan.files = _files(scan.table, tree, catalog, cursor, listing, len(scans))
    scanned = sum(_bytes_scanned(scan, tree, cursor) for scan in scans.values())
    if cutoff is not None and scanned > cutoff:
        raise ScanLimitExceeded(cutoff)
    limit = rows_enough(tree) if in_lots and len(scans) == 1 else None
    if limit is None:
        for scan in scans.values():
            _create_view(cursor, scan, scan.files)
    with athena_errors(query):
        sql = dialect.to_duckdb(tree, {scan.view: scan.table.column_types for scan in scans.values()})
    return PreparedQuery(sql, scanned, list(scans.values()), limit)


def _create_view(cursor: Any, scan: _TableScan, files: list[PartitionFiles]) -> None:
    absent = absent_parquet_columns(cursor, scan.table, files)
    cursor.execute(f"CREATE OR REPLACE TEMP VIEW {quote(scan.view)} AS {relation_sql(scan.table, files, absent)}")


def rows_enough(tree: exp.Expression) -> int | None:
    """The LIMIT of a query that only filters and projects the rows of its one table (no ORDER BY,
    GROUP BY, aggregate, DISTINCT, window, join, subquery or OFFSET): any that many rows are its answer."""
    limit = tree.args.get("limit") if isinstance(tree, exp.Select) else None
    if limit is None or not isinstance(limit.expression, exp.Literal) or limit.expression.is_string:
        return None
    if any(tree.args.get(part) for part in ("order", "group", "having", "distinct", "joins", "with", "offset",
                                             "qualify", "laterals")):
        return None
    if tree.find(exp.AggFunc, exp.Window, exp.Subquery, exp.Unnest) or len(list(tree.find_all(exp.Table))) != 1:
        return None
    return int(limit.expression.this)


# Partitions read at a time by a query that needs only its LIMIT's rows: growing, so that a LIMIT met
# by the first files reads no more, and one that needs many partitions makes few passes.
FIRST_PARTITIONS, GROWTH = 1, 4


def run_query(query: Query, *, catalog: GlueCatalog, database: str, cursor: Any, listing: S3Listing,
              cutoff: int | None) -> Outcome:
    prepared = prepare_query(query, catalog=catalog, database=database, cursor=cursor, listing=listing, cutoff=cutoff,
                             in_lots=True)
    if prepared.limit is None:
        columns, rows = _rows(cursor, prepared.sql, query)
        return Outcome(columns, rows, prepared.scanned)
    # LIMIT stops reading once it has its rows: the partitions a few at a time, the view over each lot
    scan, rows, read, at, lot = prepared.scans[0], [], [], 0, FIRST_PARTITIONS
    while True:  # once at least, for the columns
        files = scan.files[at:at + lot]
        _create_view(cursor, scan, files)
        columns, found = _rows(cursor, prepared.sql, query)
        rows += found[:prepared.limit - len(rows)]
        read += files
        at, lot = at + lot, lot * GROWTH
        if at >= len(scan.files) or len(rows) >= prepared.limit:
            break
    return Outcome(columns, rows, _bytes_scanned(_TableScan(scan.table, scan.view, read), query.tree, cursor))


def _rows(cursor: Any, sql: str, query: Query) -> tuple[list[ResultColumn], list[list[str | None]]]:
    """The query's columns and its rows as Athena prints them."""
    with athena_errors(query):
        result = cursor.execute(sql)
        columns = [ResultColumn.from_duckdb(name, kind) for name, kind, *_ in result.description]
        rows, size = [], 0
        while batch := result.fetchmany(FETCH_ROWS):
            texts = [[value_text(v) for v in row] for row in batch]
            size += sum(len(text) for row in texts for text in row if text)
            if size > MAX_RESULT_CHARACTERS:  # the rows are held for GetQueryResults: bounded, as the engine is
                raise QueryFailed(EXHAUSTED)
            rows.extend(texts)
    return columns, rows


@contextmanager
def athena_errors(query: Query) -> Iterator[None]:
    """DuckDB's errors, and SQL the local cloud does not translate, as Athena's failures."""
    try:
        yield
    except duckdb.InterruptException:
        raise
    except duckdb.Error as error:
        raise QueryFailed(athena_error(error, query)) from None
    except dialect.UnsupportedSql as error:
        raise QueryFailed(f"NOT_SUPPORTED: The local cloud does not support {error}") from None


MAX_VIEW_DEPTH = 32  # views of views: deeper is a cycle (Athena refuses a view that reads itself)


def _expand_views(tree: exp.Expression, catalog: GlueCatalog, database: str, text: str, depth: int = 0) -> None:
    """Each Glue view the query names replaced by its SELECT, as a subquery with the view's name as alias;
    the tables in that SELECT are in the view's database unless it names another."""
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for node in list(tree.find_all(exp.Table)):
        if not isinstance(node.this, exp.Identifier) or (not node.db and node.name.lower() in cte_names):
            continue
        database_name = (node.db or database).lower()
        table = catalog.table(database_name, node.name.lower()) if catalog.has_database(database_name) else None
        if table is None or not table.is_view:
            continue
        if depth >= MAX_VIEW_DEPTH:
            raise QueryFailed(f"VIEW_IS_RECURSIVE: {_position(text, node)}: View is recursive: "
                              f"'{table.qualified_name}'")
        body = parse_view_sql(table.view_sql)
        _expand_views(body, catalog, database_name, text, depth + 1)
        body_ctes = {cte.alias_or_name.lower() for cte in body.find_all(exp.CTE)}
        for inner in body.find_all(exp.Table):
            if isinstance(inner.this, exp.Identifier) and not inner.db and inner.name.lower() not in body_ctes:
                inner.set("db", exp.to_identifier(database_name))
        alias = node.alias or node.name
        node.replace(exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier(alias.lower(), quoted=True))))


def parse_view_sql(sql: str) -> exp.Expression:
    """A view's SELECT (it parsed when the view was created)."""
    return sqlglot.parse_one(sql, read="athena")


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


def _files(table: Table, tree: exp.Expression, catalog: GlueCatalog, cursor: Any, listing: S3Listing,
           table_count: int) -> list[PartitionFiles]:
    """The objects the query reads: all of LOCATION for a table without partitions; else those of the
    partitions (registered, or projected) that have objects and that the WHERE conditions on partition
    columns allow."""
    if not table.partition_keys:
        return table_files(table, None, listing)
    conditions = _partition_conditions(tree, table) if table_count == 1 else []
    if table.projected:
        values = projection.column_values(table, _projection_conditions(conditions, table, cursor))
        possible = math.prod(len(v) for v in values)
        stored, urls = listing.urls_under(projection.fixed_start(projection.location_template(table)))
        # Few objects among many possible partitions (most of them empty): the partitions are found from
        # the objects, at the cost of the listing, not of the partitions
        candidates: Iterable[Partition] = (projection.partitions_in(table, values, urls) if stored < possible
                                           else projection.partitions(table, values))
    else:
        candidates = catalog.partitions(table)
    files = table_files(table, candidates, listing)
    return _pruned(files, conditions, table, cursor) if conditions and files else files


def _pruned(files: list[PartitionFiles], conditions: list[exp.Expression], table: Table,
            cursor: Any) -> list[PartitionFiles]:
    """The partitions whose values meet the conditions, decided by DuckDB over their typed values."""
    keys = table.partition_keys
    cursor.execute("CREATE OR REPLACE TEMP TABLE athena_partitions ("
                   + ", ".join(f"{quote(k.name)} {duckdb_type(k.type)}" for k in keys) + ", athena_index INTEGER)")
    cursor.executemany(f"INSERT INTO athena_partitions VALUES ({', '.join('?' * (len(keys) + 1))})",
                       [[*f.partition.values, i] for i, f in enumerate(files)])
    # Transpiled as a query over typed partition columns, so that the conditions mean what they mean
    # in the query itself (`hour / 2` of an int partition column divides as integers).
    pruning = exp.select("athena_index").from_("athena_partitions").where(exp.and_(*conditions))
    try:
        sql = dialect.to_duckdb(pruning, {"athena_partitions": {k.name: k.type for k in keys}})
        chosen = cursor.execute(sql).fetchall()
    except (duckdb.Error, dialect.UnsupportedSql):  # the query itself will report the problem
        return files
    return [files[i] for (i,) in sorted(chosen)]


_COMPARISONS = {exp.EQ: "=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
_MIRRORED = {"=": "=", ">": "<", ">=": "<=", "<": ">", "<=": ">="}


def _projection_conditions(conditions: list[exp.Expression], table: Table, cursor: Any) -> list[projection.Condition]:
    """The conditions that narrow a projected column's values: the column compared (=, <, <=, >, >=, IN,
    BETWEEN) with values that need no column, worked out by DuckDB (`date_format(current_date, ...)`)."""
    types = {k.name: k.type for k in table.partition_keys}
    found = []
    for condition in conditions:
        if isinstance(condition, exp.Between) and isinstance(condition.this, exp.Column):
            found += [(condition.this, ">=", [condition.args["low"]]), (condition.this, "<=", [condition.args["high"]])]
        elif isinstance(condition, exp.In) and isinstance(condition.this, exp.Column) and condition.expressions:
            found.append((condition.this, "=", condition.expressions))
        elif type(condition) in _COMPARISONS:
            op = _COMPARISONS[type(condition)]
            if isinstance(condition.this, exp.Column):
                found.append((condition.this, op, [condition.expression]))
            elif isinstance(condition.expression, exp.Column):
                found.append((condition.expression, _MIRRORED[op], [condition.this]))
    narrowing = []
    for column, op, values in found:
        texts = [_constant_text(value, types[column.name], cursor) for value in values]
        if all(text is not None for text in texts):
            narrowing.append(projection.Condition(column.name, op, tuple(texts)))  # type: ignore[arg-type]
    return narrowing


def _constant_text(value: exp.Expression, hive_type: str, cursor: Any) -> str | None:
    """A value without columns as the partition column's text (None: not a constant, or not workable)."""
    if value.find(exp.Column):
        return None
    if isinstance(value, exp.Literal):
        return value.this
    try:
        sql = dialect.to_duckdb(exp.select(exp.cast(value.copy(), exp.DataType.build(duckdb_type(hive_type)))))
        (answer,), = cursor.execute(sql).fetchall()
    except (duckdb.Error, dialect.UnsupportedSql, ValueError):
        return None
    return None if answer is None else str(answer)


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
    if not scan.table.is_columnar or not paths:
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
        where = dialect.line_column(query.text, found.start()) if found else "line 1:1"
        return f"FUNCTION_NOT_FOUND: {where}: Function '{name}' not registered"
    if isinstance(error, duckdb.OutOfMemoryException):  # over the query's memory and spill limits
        return EXHAUSTED
    if "Recursion depth limit exceeded" in first_line:  # raised by the dialect's unrolled recursion
        return "NOT_SUPPORTED: " + first_line.split(": ", 1)[-1]
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
    return dialect.line_column(text, min(starts)) if starts else "line 1:1"
