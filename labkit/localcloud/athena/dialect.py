"""Everything that differs between Athena's SQL (Trino) and DuckDB, in one place.

sqlglot transpiles most of it (`day_of_week` -> ISODOW, `from_unixtime` -> TO_TIMESTAMP,
`date_add('day', n, ts)`, `date_format`, `approx_distinct`, `DATE('...')`, intervals...). What it gets
wrong or leaves out is rewritten here, each in a named function:
- `name_output_columns`: Trino names an unaliased expression `_col0`, `_col1`, ... and lower-cases
  every column label;
- `divide_integers_like_trino`: `/` of two integers is integer division in Trino (`5/2` is 2), a
  double in DuckDB;
- `cast_text_to_integers_like_trino`: text becomes an integer only if it is digits (DuckDB would round
  `1.5` to 2); both take the operand types from sqlglot's annotation over the tables' columns
  (`typed_twins`);
- `rewrite_joda_formats`: `format_datetime` and `parse_datetime` take Joda-Time patterns
  (`yyyy-MM-dd HH:mm`), which DuckDB's strftime/strptime codes replace;
- `unroll_recursion_like_trino`: a recursive WITH stops at Trino's depth limit of 10, with its error;
- `rewrite_ip_addresses`: `CAST(x AS IPADDRESS)`, `IPADDRESS '10.0.0.0'` and `contains(cidr, ip)` (which
  sqlglot turns into ARRAY_CONTAINS) become comparisons of 128-bit numbers (IPv4 as IPv4-mapped IPv6,
  as Trino stores them), through the `ip_number`/`ip_in_cidr` macros; text that is no address fails
  the query as in Trino;
- `install`: DuckDB macros and functions for what DuckDB lacks (`to_iso8601`, the IP functions), and
  the session settings Athena implies (UTC).
What DuckDB runs but Trino refuses never reaches DuckDB: `trino_syntax_error` (a table function or a
file name where Trino takes a table) and `unknown_function` (a name Trino has no function for, such as
DuckDB's read_csv or current_setting).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from .trino_functions import TRINO_FUNCTIONS

# IPv4 a.b.c.d is ::ffff:a.b.c.d in Trino's IPADDRESS type.
_IPV4_MAPPED_BASE = 0xFFFF_0000_0000
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}"

_MACROS = [
    # Athena's text for a date, a timestamp, and a timestamp with time zone in UTC
    # (from_unixtime gives one): 2014-12-14T04:06:50.000Z
    """CREATE OR REPLACE MACRO to_iso8601(x) AS CASE
         WHEN typeof(x) = 'DATE' THEN CAST(x AS VARCHAR)
         WHEN typeof(x) = 'TIMESTAMP WITH TIME ZONE' THEN strftime(x, '%Y-%m-%dT%H:%M:%S.%gZ')
         ELSE strftime(x, '%Y-%m-%dT%H:%M:%S.%g') END""",
    # Trino refuses text that is no address, such as the `-` of a NODATA record's srcaddr
    # (hence AWS's advice to filter on log_status = 'OK' first).
    """CREATE OR REPLACE MACRO invalid_ip(x) AS error('Cannot cast value to IPADDRESS: ' || x)""",
    f"""CREATE OR REPLACE MACRO ip_number(x) AS CASE
         WHEN x IS NULL THEN NULL
         WHEN x LIKE '%:%' THEN coalesce(ipv6_number(x), invalid_ip(x))
         WHEN regexp_full_match(x, '{_IPV4}') THEN CAST(
             CAST(split_part(x, '.', 1) AS UBIGINT) * 16777216 + CAST(split_part(x, '.', 2) AS UBIGINT) * 65536
           + CAST(split_part(x, '.', 3) AS UBIGINT) * 256 + CAST(split_part(x, '.', 4) AS UBIGINT)
           + {_IPV4_MAPPED_BASE} AS UHUGEINT)
         ELSE invalid_ip(x)
         END""",
    # Trino's text-to-integer cast (Java's parseLong): digits with an optional sign, nothing else.
    """CREATE OR REPLACE MACRO try_text_to_integer(x) AS
         CASE WHEN regexp_full_match(x, '[+-]?[0-9]+') THEN TRY_CAST(x AS HUGEINT) END""",
    # `value` (x converted), or Trino's cast error when x is not NULL but the conversion gave NULL.
    """CREATE OR REPLACE MACRO checked_cast(x, value, kind) AS CASE
         WHEN x IS NULL THEN NULL
         ELSE coalesce(value, error('Cannot cast ''' || x || ''' to ' || kind)) END""",
    # An IPADDRESS shown as text, once checked: as Trino prints it (2001:db8::1, an IPv4-mapped address as IPv4).
    """CREATE OR REPLACE MACRO ip_text(x) AS CASE WHEN ip_number(x) IS NOT NULL THEN canonical_ip(x) END""",
    # The prefix length of a CIDR in 128-bit terms (an IPv4 /n is /n+96 of its mapped form).
    """CREATE OR REPLACE MACRO cidr_bits(cidr) AS CAST(
         CAST(split_part(cidr, '/', 2) AS INTEGER) + CASE WHEN cidr LIKE '%:%' THEN 0 ELSE 96 END AS UHUGEINT)""",
    """CREATE OR REPLACE MACRO ip_in_cidr(cidr, ip) AS CASE
         WHEN cidr_bits(cidr) = 0 THEN ip_number(ip) IS NOT NULL
         ELSE ip_number(ip) >> (128 - cidr_bits(cidr)) = ip_number(split_part(cidr, '/', 1)) >> (128 - cidr_bits(cidr))
         END""",
]


# Joda-Time pattern letters, by how many times the letter is repeated, as DuckDB strftime/strptime codes.
# A letter with text forms (month, weekday) uses its longest form for longer runs, as Joda does.
_JODA_CODES = {
    "y": {1: "%Y", 2: "%y", 3: "%Y", 4: "%Y"},
    "M": {1: "%-m", 2: "%m", 3: "%b", 4: "%B"},
    "d": {1: "%-d", 2: "%d"},
    "H": {1: "%-H", 2: "%H"},
    "h": {1: "%-I", 2: "%I"},
    "m": {1: "%-M", 2: "%M"},
    "s": {1: "%-S", 2: "%S"},
    "S": {3: "%g"},
    "E": {1: "%a", 2: "%a", 3: "%a", 4: "%A"},
    "a": {1: "%p"},
}


# Trino's names for the integer types, as its cast errors spell them.
_TRINO_INTEGER_NAMES = {exp.DataType.Type.TINYINT: "TINYINT", exp.DataType.Type.SMALLINT: "SMALLINT",
                        exp.DataType.Type.INT: "INT", exp.DataType.Type.BIGINT: "BIGINT"}


class UnsupportedSql(ValueError):
    """Valid Athena SQL that the local cloud does not translate (Athena's NOT_SUPPORTED)."""


def install(connection: Any) -> None:
    """Make `connection`'s database answer like Athena: UTC session, and the functions DuckDB lacks."""
    connection.execute("SET GLOBAL TimeZone = 'UTC'")
    connection.create_function("ipv6_number", _ipv6_number, ["VARCHAR"], "UHUGEINT", null_handling="special")
    connection.create_function("canonical_ip", _canonical_ip, ["VARCHAR"], "VARCHAR")
    for macro in _MACROS:
        connection.execute(macro)


def trino_syntax_error(tree: exp.Expression, text: str) -> str | None:
    """Trino's syntax error for what DuckDB reads in FROM but Trino does not: a function call
    (`read_text('/etc/passwd')`, `duckdb_settings()`) or a quoted file name (`'data.csv'`)."""
    for table in tree.find_all(exp.Table):
        source = table.this
        if isinstance(source, exp.Identifier) and text[source.meta.get("start", 0):][:1] != "'":
            continue
        if isinstance(source, exp.Func):
            name = source.name if isinstance(source, exp.Anonymous) else source.sql_names()[0]
            at = text.find("(", max(0, text.lower().find(name.lower())))
            return f"{line_column(text, at)}: mismatched input '('. Expecting: ',', 'JOIN', 'WHERE', <EOF>"
        start = source.meta.get("start", 0)
        token = text[start:source.meta.get("end", start) + 1]
        return f"{line_column(text, start)}: mismatched input '{token}'. Expecting: '(', 'LATERAL', 'UNNEST', <identifier>"
    return None


def unknown_function(tree: exp.Expression, text: str) -> tuple[str, str] | None:
    """The first function the query calls that Trino does not have, and where (`line 1:8`), if any."""
    aliases = {alias.name.lower() for alias in tree.find_all(exp.TableAlias)}
    aliases |= {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    try:
        tokens = sqlglot.tokenize(text, read="athena")
    except SqlglotError:
        return None
    for before, token, after in zip([None, *tokens], tokens, tokens[1:]):
        if token.token_type != TokenType.VAR or after.token_type != TokenType.L_PAREN:
            continue
        if before is not None and before.token_type in (TokenType.DOT, TokenType.ALIAS, TokenType.INTO):
            continue  # a qualified name, an alias's column list, or INSERT INTO t (columns)
        name = token.text.lower()
        if name not in TRINO_FUNCTIONS and name not in aliases:
            return token.text, line_column(text, token.start)
    return None


def line_column(text: str, offset: int) -> str:
    """`line L:C` of an offset in the query text (Trino counts from 1)."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}:{column}"


def _canonical_ip(text: str) -> str:
    address = ipaddress.ip_address(text)
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def _ipv6_number(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(ipaddress.IPv6Address(text))
    except ValueError:
        return None


def to_duckdb(tree: exp.Expression, tables: dict[str, dict[str, str]] | None = None) -> str:
    """DuckDB SQL for a Trino query or expression (the tree is not changed).

    `tables`: the Hive column types (`{"bigint", "string", ...}`) of each table the query reads, by the
    name it has in the tree; without them only literals' types are known.
    """
    tree = tree.copy()
    twins = typed_twins(tree, tables or {}, (exp.Div, exp.Cast))
    tree = divide_integers_like_trino(tree, twins)
    tree = cast_text_to_integers_like_trino(tree, twins)
    tree = rewrite_joda_formats(tree)
    tree = rewrite_ip_addresses(tree)
    tree = unroll_recursion_like_trino(tree)
    if isinstance(tree, exp.Query):
        name_output_columns(tree)
    return tree.sql(dialect="duckdb")


def name_output_columns(query: exp.Query) -> None:
    """Trino's result labels: lower-case names, `_colN` for an expression without an alias."""
    select = _output_select(query)
    if select is None:
        return
    for position, projection in enumerate(select.expressions):
        if isinstance(projection, exp.Star) or (isinstance(projection, exp.Column) and projection.is_star):
            continue
        if isinstance(projection, exp.Alias):
            projection.set("alias", exp.to_identifier(projection.alias.lower(), quoted=True))
        elif isinstance(projection, exp.Column):
            projection.replace(exp.alias_(projection.copy(), projection.name.lower(), quoted=True))
        else:
            projection.replace(exp.alias_(projection.copy(), f"_col{position}", quoted=True))


def _output_select(query: exp.Expression) -> exp.Select | None:
    """The SELECT whose projections name the result (the first of a UNION, the body of a WITH)."""
    while isinstance(query, (exp.SetOperation, exp.Subquery)):
        query = query.left if isinstance(query, exp.SetOperation) else query.this
    return query if isinstance(query, exp.Select) else None


def typed_twins(tree: exp.Expression, tables: dict[str, dict[str, str]],
                kinds: tuple[type[exp.Expression], ...]) -> dict[int, exp.Expression]:
    """Each node of these kinds in `tree` (by `id`), as it is in a type-annotated copy of the query.

    The copy is qualified against the tables' columns (Hive types) and annotated by sqlglot; nodes
    are matched back by their place in the tree. A query sqlglot cannot qualify gets no twins (its
    nodes are left as they are, and DuckDB reports the problem, if any).
    """
    nodes = list(tree.find_all(*kinds))
    if not nodes:
        return {}
    for number, node in enumerate(nodes):
        node.meta["twin"] = number
    try:
        schema = MappingSchema(tables, dialect="hive")
        typed = annotate_types(qualify(tree.copy(), schema=schema, dialect="athena", validate_qualify_columns=False,
                                       quote_identifiers=False), schema=schema)
        by_number = {twin.meta["twin"]: twin for twin in typed.find_all(*kinds) if "twin" in twin.meta}
    except SqlglotError:
        by_number = {}
    twins = {id(node): by_number[node.meta["twin"]] for node in nodes if node.meta["twin"] in by_number}
    for node in nodes:
        del node.meta["twin"]
    return twins


def divide_integers_like_trino(tree: exp.Expression, twins: dict[int, exp.Expression]) -> exp.Expression:
    """`a / b` of two integer types (columns, literals, count(*), sum of integers...) as DuckDB's `//`."""
    for division in list(tree.find_all(exp.Div)):
        twin = twins.get(id(division))
        if twin is not None and _is_integer(twin.this) and _is_integer(twin.expression):
            division.replace(exp.IntDiv(this=division.this, expression=division.expression))
    return tree


def cast_text_to_integers_like_trino(tree: exp.Expression, twins: dict[int, exp.Expression]) -> exp.Expression:
    """Text to an integer type only when it is digits with an optional sign (Java's parseLong): DuckDB
    would also take `1.5` (as 2), `1e3` or ` 12 `. CAST fails on anything else; TRY_CAST gives NULL."""
    for cast in list(tree.find_all(exp.Cast)):
        twin, target = twins.get(id(cast)), _TRINO_INTEGER_NAMES.get(cast.to.this)
        if twin is None or target is None or not _is_text(twin.this):
            continue
        digits = exp.Anonymous(this="try_text_to_integer", expressions=[cast.this.copy()])
        converted = exp.TryCast(this=digits, to=cast.to.copy())  # NULL when out of the type's range
        cast.replace(converted if isinstance(cast, exp.TryCast) else exp.Anonymous(
            this="checked_cast", expressions=[cast.this.copy(), converted, exp.Literal.string(target)]))
    return tree


def _is_integer(node: exp.Expression) -> bool:
    return node.type is not None and node.type.is_type(*exp.DataType.INTEGER_TYPES)


def _is_text(node: exp.Expression) -> bool:
    return node.type is not None and node.type.is_type(*exp.DataType.TEXT_TYPES)


def rewrite_joda_formats(tree: exp.Expression) -> exp.Expression:
    """`format_datetime(t, 'yyyy-MM-dd')` as strftime; `parse_datetime(s, 'yyyy-MM-dd')` as strptime,
    a timestamp with time zone as in Trino."""
    for node in list(tree.find_all(exp.Anonymous)):
        if node.name.lower() == "format_datetime" and len(node.expressions) == 2:
            value, pattern = node.expressions
            node.replace(exp.Anonymous(this="strftime", expressions=[value.copy(), _strftime_pattern(pattern)]))
    for node in list(tree.find_all(exp.ParseDatetime)):
        parsed = exp.Anonymous(this="strptime", expressions=[node.this.copy(), _strftime_pattern(node.args["format"])])
        node.replace(exp.cast(parsed, exp.DataType.build("TIMESTAMPTZ")))
    return tree


def _strftime_pattern(pattern: exp.Expression) -> exp.Literal:
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        raise UnsupportedSql("a Joda-Time pattern must be a string literal here")
    return exp.Literal.string(joda_to_strftime(pattern.this))


def joda_to_strftime(pattern: str) -> str:
    """A Joda-Time pattern (`yyyy-MM-dd'T'HH:mm`) as DuckDB strftime codes (`%Y-%m-%dT%H:%M`)."""
    codes, at = [], 0
    while at < len(pattern):
        char = pattern[at]
        if char == "'":  # quoted text; '' is a quote
            end = pattern.find("'", at + 1)
            if end == -1:
                raise UnsupportedSql(f"unterminated quote in the pattern {pattern!r}")
            codes.append(pattern[at + 1:end].replace("%", "%%") if end > at + 1 else "'")
            at = end + 1
        elif char.isalpha():
            run = len(pattern[at:]) - len(pattern[at:].lstrip(char))
            forms = _JODA_CODES.get(char, {})
            code = forms.get(run) or (forms[max(forms)] if forms and run > max(forms) and char in "yME" else None)
            if code is None:
                raise UnsupportedSql(f"the pattern letters {char * run!r} in {pattern!r}")
            codes.append(code)
            at += run
        else:
            codes.append("%%" if char == "%" else char)
            at += 1
    return "".join(codes)


# Trino's max_recursion_depth, which Athena keeps at its default.
MAX_RECURSION_DEPTH = 10


def unroll_recursion_like_trino(tree: exp.Expression) -> exp.Expression:
    """`WITH RECURSIVE t AS (anchor UNION ALL step)` as Trino runs it: unrolled to its recursion limit,
    10 levels, and failing if an 11th level would have rows ("Recursion depth limit exceeded"), where
    DuckDB would recurse until its memory runs out."""
    for with_ in list(tree.find_all(exp.With)):
        if not with_.args.get("recursive"):
            continue
        unrolled = []
        for cte in with_.expressions:
            name = cte.alias_or_name
            body = cte.this
            if not (isinstance(body, exp.Union) and _reads(body.expression, name)):
                unrolled.append(cte)
                continue
            columns = [column.copy() for column in cte.args["alias"].columns]
            levels = [f"{name}__{level}" for level in range(1, MAX_RECURSION_DEPTH + 2)]
            unrolled.append(_cte(levels[0], columns, body.this.copy()))
            for previous, level in zip(levels, levels[1:]):
                step = body.expression.copy()
                for table in step.find_all(exp.Table):
                    if table.name == name and not table.db:
                        table.set("this", exp.to_identifier(previous))
                unrolled.append(_cte(level, columns, step))
            too_deep = exp.select("*").from_(levels[-1]).where(exp.Is(this=exp.Anonymous(this="error", expressions=[
                exp.Literal.string(f"Recursion depth limit exceeded ({MAX_RECURSION_DEPTH}). Use 'max_recursion_depth' "
                                   f"session property to modify the limit.")]), expression=exp.Null()))
            union: exp.Expression = exp.select("*").from_(levels[0])
            for level in levels[1:-1]:
                union = exp.union(union, exp.select("*").from_(level), distinct=False)
            unrolled.append(_cte(name, columns, exp.union(union, too_deep, distinct=False)))
        with_.set("expressions", unrolled)
        with_.set("recursive", False)
    return tree


def _reads(query: exp.Expression, name: str) -> bool:
    return any(table.name == name and not table.db for table in query.find_all(exp.Table))


def _cte(name: str, columns: list[exp.Identifier], query: exp.Expression) -> exp.CTE:
    return exp.CTE(this=query, alias=exp.TableAlias(this=exp.to_identifier(name),
                                                     columns=[column.copy() for column in columns]))


def rewrite_ip_addresses(tree: exp.Expression) -> exp.Expression:
    """IPADDRESS values as comparable numbers; `contains(cidr, ip)` as a prefix test."""
    for node in list(tree.find_all(exp.ArrayContains)):
        if _is_ip(node.expression):
            node.replace(exp.Anonymous(this="ip_in_cidr", expressions=[node.this.copy(), _ip_text(node.expression)]))
    comparisons = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.In)
    for node in list(tree.find_all(*comparisons)):
        operands = [node.this, *(node.expressions if isinstance(node, exp.In) else
                                 [node.args.get(k) for k in ("expression", "low", "high") if node.args.get(k)])]
        if any(_is_ip(operand) for operand in operands):
            for operand in operands:
                operand.replace(exp.Anonymous(this="ip_number", expressions=[_ip_text(operand)]))
    for cast in list(tree.find_all(exp.Cast)):
        if _is_ip(cast):  # anywhere else (e.g. selected): the address text
            cast.replace(exp.Anonymous(this="ip_text", expressions=[cast.this.copy()]))
    return tree


def _is_ip(node: exp.Expression | None) -> bool:
    return isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.IPADDRESS


def _ip_text(node: exp.Expression) -> exp.Expression:
    return node.this.copy() if _is_ip(node) else node.copy()
