"""Athena statements parsed into what they ask for.

SELECT / WITH and CREATE EXTERNAL TABLE are parsed by sqlglot's athena dialect (Trino for queries,
Hive for DDL). The Hive utility statements sqlglot only keeps as raw commands (ALTER TABLE ... ADD
PARTITION, MSCK REPAIR TABLE, SHOW ...) are matched here with small regular expressions.
Names are lower-cased as Athena stores them. A statement that does not parse raises
`AthenaSyntaxError`, which StartQueryExecution answers with InvalidRequestException.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.tokens import TokenType

from . import dialect

TEXT_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
TEXT_INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"


class AthenaSyntaxError(ValueError):
    """A statement Athena refuses at StartQueryExecution (InvalidRequestException)."""


@dataclass(frozen=True)
class TableRef:
    database: str | None  # None: the query execution context's database
    name: str


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # the Hive type as Glue stores it: int, string, decimal(10,2), ...


@dataclass(frozen=True)
class Storage:
    serde: str
    input_format: str
    output_format: str
    serde_parameters: dict[str, str] = field(default_factory=dict)


class Statement:
    statement_type: ClassVar[str]  # QueryExecution.StatementType
    substatement_type: ClassVar[str]  # QueryExecution.SubstatementType


@dataclass(frozen=True)
class CreateDatabase(Statement):
    statement_type = "DDL"
    substatement_type = "CREATE_DATABASE"
    name: str
    if_not_exists: bool
    comment: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class DropDatabase(Statement):
    statement_type = "DDL"
    substatement_type = "DROP_DATABASE"
    name: str
    if_exists: bool
    cascade: bool


@dataclass(frozen=True)
class CreateTable(Statement):
    statement_type = "DDL"
    substatement_type = "CREATE_TABLE"
    table: TableRef
    if_not_exists: bool
    columns: tuple[Column, ...]
    partition_keys: tuple[Column, ...]
    location: str
    storage: Storage
    properties: dict[str, str]


@dataclass(frozen=True)
class DropTable(Statement):
    statement_type = "DDL"
    substatement_type = "DROP_TABLE"
    table: TableRef
    if_exists: bool


@dataclass(frozen=True)
class PartitionSpec:
    values: dict[str, str]  # partition column -> value, as written
    location: str | None = None


@dataclass(frozen=True)
class AddPartitions(Statement):
    statement_type = "DDL"
    substatement_type = "ALTER_TABLE_ADD_PARTITION"
    table: TableRef
    if_not_exists: bool
    partitions: tuple[PartitionSpec, ...]


@dataclass(frozen=True)
class DropPartitions(Statement):
    statement_type = "DDL"
    substatement_type = "ALTER_TABLE_DROP_PARTITION"
    table: TableRef
    if_exists: bool
    partitions: tuple[PartitionSpec, ...]


@dataclass(frozen=True)
class RepairTable(Statement):
    statement_type = "DDL"
    substatement_type = "MSCK_REPAIR_TABLE"
    table: TableRef


@dataclass(frozen=True)
class ShowDatabases(Statement):
    statement_type = "UTILITY"
    substatement_type = "SHOW_DATABASES"
    pattern: str | None


@dataclass(frozen=True)
class ShowTables(Statement):
    statement_type = "UTILITY"
    substatement_type = "SHOW_TABLES"
    database: str | None
    pattern: str | None


@dataclass(frozen=True)
class ShowPartitions(Statement):
    statement_type = "UTILITY"
    substatement_type = "SHOW_PARTITIONS"
    table: TableRef


@dataclass(frozen=True)
class Describe(Statement):
    statement_type = "UTILITY"
    substatement_type = "DESCRIBE_TABLE"
    table: TableRef


@dataclass(frozen=True)
class Query(Statement):
    statement_type = "DML"
    substatement_type = "SELECT"
    tree: exp.Expression
    text: str


# --- the Hive utility statements ------------------------------------------------------------

_NAME = r"(?:`[^`]+`|\"[^\"]+\"|[\w-]+)"
_TABLE = rf"(?P<table>{_NAME}(?:\s*\.\s*{_NAME}){{0,2}})"
_STRING = r"(?:'(?:[^']|'')*'|\"[^\"]*\")"
_SPEC = rf"\((?:[^()']|{_STRING})*\)"
_FLAGS = re.IGNORECASE | re.DOTALL

_CREATE_DATABASE_START = re.compile(rf"CREATE\s+(?:DATABASE|SCHEMA)\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}", _FLAGS)
_CREATE_DATABASE = re.compile(
    rf"CREATE\s+(?:DATABASE|SCHEMA)\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?(?P<name>{_NAME})"
    rf"(?:\s+COMMENT\s+(?P<comment>{_STRING}))?(?:\s+LOCATION\s+(?P<location>{_STRING}))?"
    rf"(?:\s+WITH\s+DBPROPERTIES\s*{_SPEC})?", _FLAGS)
_DROP_DATABASE = re.compile(
    rf"DROP\s+(?:DATABASE|SCHEMA)\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{_NAME})(?:\s+(?P<mode>RESTRICT|CASCADE))?",
    _FLAGS)
_DROP_TABLE = re.compile(rf"DROP\s+TABLE\s+(?P<exists>IF\s+EXISTS\s+)?{_TABLE}", _FLAGS)
_ADD_PARTITIONS = re.compile(rf"ALTER\s+TABLE\s+{_TABLE}\s+ADD\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?(?P<rest>PARTITION.*)",
                             _FLAGS)
_DROP_PARTITIONS = re.compile(rf"ALTER\s+TABLE\s+{_TABLE}\s+DROP\s+(?P<exists>IF\s+EXISTS\s+)?(?P<rest>PARTITION.*)",
                              _FLAGS)
_PARTITION = re.compile(rf"\s*,?\s*PARTITION\s*(?P<spec>{_SPEC})(?:\s*LOCATION\s+(?P<location>{_STRING}))?\s*",
                        _FLAGS)
_SPEC_ITEM = re.compile(rf"\s*(?P<key>{_NAME})\s*=\s*(?:DATE\s+|TIMESTAMP\s+)?(?P<value>{_STRING}|[-\w.]+)\s*(?:,|$)",
                        _FLAGS)
_REPAIR = re.compile(rf"MSCK\s+REPAIR\s+TABLE\s+{_TABLE}", _FLAGS)
_SHOW_DATABASES = re.compile(rf"SHOW\s+(?:DATABASES|SCHEMAS)(?:\s+LIKE\s+(?P<pattern>{_STRING}))?", _FLAGS)
_SHOW_TABLES = re.compile(rf"SHOW\s+TABLES(?:\s+IN\s+(?P<name>{_NAME}))?(?:\s+(?P<pattern>{_STRING}))?", _FLAGS)
_SHOW_PARTITIONS = re.compile(rf"SHOW\s+PARTITIONS\s+{_TABLE}", _FLAGS)
_DESCRIBE = re.compile(rf"(?:DESCRIBE|DESC)\s+(?:EXTENDED\s+|FORMATTED\s+)?{_TABLE}", _FLAGS)


# What Athena's parser (Trino's) expects where a statement starts (recorded answer).
STATEMENT_STARTS = ("'ALTER', 'ANALYZE', 'CALL', 'COMMENT', 'COMMIT', 'CREATE', 'DEALLOCATE', 'DELETE', 'DENY', "
                    "'DESC', 'DESCRIBE', 'DROP', 'EXECUTE', 'EXPLAIN', 'GRANT', 'INSERT', 'MERGE', 'PREPARE', "
                    "'REFRESH', 'RESET', 'REVOKE', 'ROLLBACK', 'SET', 'SHOW', 'START', 'TRUNCATE', 'UNLOAD', "
                    "'UPDATE', 'USE', <query>")
# Statements Trino parses that Athena does not run (recorded for START TRANSACTION): transactions,
# procedures and privileges.
UNSUPPORTED_STATEMENTS = {"START", "COMMIT", "ROLLBACK", "CALL", "GRANT", "DENY", "REVOKE"}


def parse_statement(text: str) -> Statement:
    """The one statement in `text` (a trailing `;` and comments are fine)."""
    if _statement_count(text) > 1:
        raise AthenaSyntaxError(f"Only one sql statement is allowed. Got: {text.strip()}")
    sql = _strip(text)
    if not sql:
        raise AthenaSyntaxError(f"line 1:1: mismatched input '<EOF>'. Expecting: {STATEMENT_STARTS}")
    keyword = sql.split(None, 1)[0].upper()
    if keyword in UNSUPPORTED_STATEMENTS:
        raise AthenaSyntaxError("Queries of this type are not supported")
    if keyword in ("SELECT", "WITH", "(", "VALUES") or sql.startswith("("):
        return Query(_parse_query(text), text)
    if keyword == "CREATE":
        if match := _CREATE_DATABASE.fullmatch(sql):
            return CreateDatabase(_name(match["name"]), bool(match["exists"]), _unquote(match["comment"]),
                                  _unquote(match["location"]))
        if match := _CREATE_DATABASE_START.match(sql):  # a name, then what cannot follow it
            rest = sql[match.end():]
            token = rest.split(None, 1)[0]
            column = match.end() + len(rest) - len(rest.lstrip()) + 1
            raise AthenaSyntaxError(f"line 1:{column}: mismatched input '{token}'. Expecting: 'COMMENT', 'LOCATION', "
                                    f"'WITH', <EOF>")
        return _create_table(sql)
    for pattern, build in _UTILITY:
        if match := pattern.fullmatch(sql):
            return build(match)
    raise AthenaSyntaxError(f"line 1:1: mismatched input '{sql.split(None, 1)[0]}'. Expecting: {STATEMENT_STARTS}")


def _statement_count(text: str) -> int:
    try:
        tokens = sqlglot.tokenize(text, read="athena")
    except SqlglotError:
        return 1
    return sum(1 for token, after in zip(tokens, tokens[1:]) if token.token_type == TokenType.SEMICOLON) + 1


def table_ref(text: str) -> TableRef:
    """`db.table`, `table` or `awsdatacatalog.db.table`, quoted or not."""
    parts = [_name(p) for p in re.findall(_NAME, text)]
    return TableRef(parts[-2] if len(parts) > 1 else None, parts[-1])


def _partition_specs(rest: str) -> tuple[PartitionSpec, ...]:
    specs, at = [], 0
    while at < len(rest):
        match = _PARTITION.match(rest, at)
        if not match or match.end() == at:
            raise AthenaSyntaxError(f"line 1:1: mismatched input near '{rest[at:at + 20].strip()}'")
        values = {_name(item["key"]): _unquote(item["value"]) for item in _SPEC_ITEM.finditer(match["spec"][1:-1])}
        specs.append(PartitionSpec(values, _unquote(match["location"])))
        at = match.end()
    return tuple(specs)


_UTILITY = [
    (_DROP_DATABASE, lambda m: DropDatabase(_name(m["name"]), bool(m["exists"]), (m["mode"] or "").upper() == "CASCADE")),
    (_DROP_TABLE, lambda m: DropTable(table_ref(m["table"]), bool(m["exists"]))),
    (_ADD_PARTITIONS, lambda m: AddPartitions(table_ref(m["table"]), bool(m["exists"]), _partition_specs(m["rest"]))),
    (_DROP_PARTITIONS, lambda m: DropPartitions(table_ref(m["table"]), bool(m["exists"]), _partition_specs(m["rest"]))),
    (_REPAIR, lambda m: RepairTable(table_ref(m["table"]))),
    (_SHOW_DATABASES, lambda m: ShowDatabases(_unquote(m["pattern"]))),
    (_SHOW_TABLES, lambda m: ShowTables(_name(m["name"]) if m["name"] else None, _unquote(m["pattern"]))),
    (_SHOW_PARTITIONS, lambda m: ShowPartitions(table_ref(m["table"]))),
    (_DESCRIBE, lambda m: Describe(table_ref(m["table"]))),
]


# --- CREATE EXTERNAL TABLE and SELECT, through sqlglot -----------------------------------------

def _create_table(sql: str) -> CreateTable:
    tree = _parse(sql)
    if not isinstance(tree, exp.Create) or tree.kind != "TABLE" or not isinstance(tree.this, exp.Schema):
        raise AthenaSyntaxError("line 1:1: only CREATE DATABASE and CREATE EXTERNAL TABLE are supported here")
    table = tree.this.this
    ref = TableRef(_name(table.db) if table.db else None, _name(table.name))
    properties = tree.args["properties"].expressions if tree.args.get("properties") else []
    location, partition_keys, table_properties = None, (), {}
    storage = Storage(TEXT_SERDE, TEXT_INPUT_FORMAT, TEXT_OUTPUT_FORMAT, {"serialization.format": "1"})
    for prop in properties:
        if isinstance(prop, exp.LocationProperty):
            location = prop.this.name
        elif isinstance(prop, exp.PartitionedByProperty):
            partition_keys = _columns(prop.this.expressions)
        elif isinstance(prop, exp.RowFormatDelimitedProperty):
            delimiter = prop.args["fields"].name if prop.args.get("fields") else "\x01"
            storage = Storage(TEXT_SERDE, TEXT_INPUT_FORMAT, TEXT_OUTPUT_FORMAT,
                              {"field.delim": delimiter, "serialization.format": delimiter})
        elif isinstance(prop, exp.RowFormatSerdeProperty):
            storage = _storage_for_serde(prop.this.name, storage)
        elif isinstance(prop, exp.FileFormatProperty) and prop.this.name.upper() == "PARQUET":
            storage = Storage(PARQUET_SERDE, PARQUET_INPUT_FORMAT, PARQUET_OUTPUT_FORMAT, {"serialization.format": "1"})
        elif type(prop) is exp.Property:  # TBLPROPERTIES' key=value pairs; the keyword EXTERNAL is a subclass
            table_properties[prop.name] = prop.text("value")
    if location is None:
        raise AthenaSyntaxError("line 1:1: CREATE EXTERNAL TABLE needs a LOCATION 's3://bucket/prefix/'")
    return CreateTable(ref, bool(tree.args.get("exists")), _columns(tree.this.expressions), partition_keys,
                       location, storage, table_properties)


def _storage_for_serde(serde: str, current: Storage) -> Storage:
    if serde == PARQUET_SERDE:
        return Storage(PARQUET_SERDE, PARQUET_INPUT_FORMAT, PARQUET_OUTPUT_FORMAT, {"serialization.format": "1"})
    if serde == TEXT_SERDE:
        return current
    raise AthenaSyntaxError(f"line 1:1: SerDe {serde} is not supported by the local cloud "
                            f"(text with ROW FORMAT DELIMITED, or Parquet)")


def _columns(definitions: list[exp.Expression]) -> tuple[Column, ...]:
    return tuple(Column(_name(d.name), _hive_type(d.args["kind"])) for d in definitions)


def _hive_type(kind: exp.DataType) -> str:
    return re.sub(r",\s+", ",", kind.sql("hive")).lower()


def _parse_query(text: str) -> exp.Expression:
    tree = _parse(text, keep_positions=True)
    if not isinstance(tree, exp.Query):
        raise AthenaSyntaxError("line 1:1: mismatched input. Expecting: <query>")
    if refusal := dialect.trino_syntax_error(tree, text):
        raise AthenaSyntaxError(refusal)
    return tree


def _parse(text: str, keep_positions: bool = False) -> exp.Expression:
    """sqlglot's tree; with `keep_positions` it is parsed from `text` as given, so that node
    positions (for error messages) count from the start of the query string."""
    try:
        return sqlglot.parse_one(text if keep_positions else _strip(text), read="athena")
    except ParseError as error:
        raise AthenaSyntaxError(_syntax_message(error)) from None


def _syntax_message(error: ParseError) -> str:
    """Trino's `line L:C: mismatched input 'X'` with the column where the offending token starts."""
    if not error.errors:
        return f"line 1:1: {error}"
    first = error.errors[0]
    token = first.get("highlight") or "<EOF>"
    column = max(1, int(first.get("col") or 1) - len(token) + 1)
    detail = first.get("description") or ""
    detail = f". {detail}" if detail and "<Token" not in detail else ""
    return f"line {first.get('line') or 1}:{column}: mismatched input '{token}'{detail}"


def _strip(text: str) -> str:
    without_comments = re.sub(r"--[^\n]*", "", text)
    return without_comments.strip().rstrip(";").strip()


def _name(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "`\"":
        text = text[1:-1]
    return text.lower()


def _unquote(text: str | None) -> str | None:
    if text is None:
        return None
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].replace(text[0] * 2, text[0])
    return text
