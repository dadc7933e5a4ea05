"""`nodes.Query` -> one DuckDB SQL query (a chain of CTEs, one per command).

Stage `s0` reads the events relation (named `__events`) inside the time range and log groups;
every command adds a stage that selects from the previous one. Fields live in a scope that maps
an Insights field name (case-sensitive) to a SQL expression over the current stage and its kind.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .fields import (FLOW_LOG_FIELDS, FLOW_PARTS_SQL, SYSTEM_FIELDS, flow_field, is_flow_field, json_field,
                     system_field)
from .functions import FUNCTIONS, Typed, ValueKind, as_condition, as_number, as_text, sql_string
from .nodes import (Binary, Call, Command, Dedup, Display, Expr, FieldRef, Fields, Filter, InList, Like, Limit,
                    NumberLit, Parse, PeriodLit, Query, RegexLit, Sort, Star, Stats, StringLit, Unary)
from .patterns import to_re2

EVENTS_TABLE = "__events"
DEFAULT_RESULT_LIMIT = 1000
# Hidden columns the final select adds for non-aggregated rows, to build each row's @ptr.
PTR_COLUMNS = ("__group", "__stream", "__ts", "md5(__msg)")


@dataclass(frozen=True)
class OutputColumn:
    name: str
    kind: ValueKind


@dataclass(frozen=True)
class Plan:
    ctes: str                      # "s0 AS (...), s1 AS (...)"
    select: str                    # the final SELECT over the last stage
    columns: list[OutputColumn]    # the visible result columns, in order
    json_fields_at: int | None     # rows show every field: an event's JSON fields go here among the
                                   # columns, and the select carries `__json` after them
    with_ptr: bool                 # rows are events: the select ends with PTR_COLUMNS
    matched_in_rows: bool          # the select ends with `recordsMatched` (aggregated queries)
    matched_stage: str             # the stage whose row count is `recordsMatched`

    @property
    def sql(self) -> str:
        return f"WITH {self.ctes} {self.select}"

    @property
    def scanned_sql(self) -> str:
        """Events and message bytes in the time range and log groups."""
        return f"WITH {self.ctes} SELECT count(*), coalesce(sum(strlen(__msg)), 0) FROM s0"

    @property
    def matched_sql(self) -> str:
        return f"WITH {self.ctes} SELECT count(*) FROM {self.matched_stage}"


@dataclass(frozen=True)
class TimeRange:
    start_ms: int
    end_ms: int


def translate(query: Query, time_range: TimeRange, log_groups: list[str] | None,
              limit: int | None, account_id: str) -> Plan:
    return _Translator(time_range, log_groups, account_id).run(query, limit)


@dataclass
class _Translator:
    time_range: TimeRange
    log_groups: list[str] | None
    account_id: str
    stages: list[str] = field(default_factory=list)
    scope: dict[str, Typed] = field(default_factory=dict)
    events: bool = True                 # rows are still events (no stats yet)
    visible: list[str] | None = None    # None: every field of the event
    parsed: list[str] = field(default_factory=list)
    display: list[str] | None = None
    order: list[tuple[str, bool]] | None = None  # (sql, descending) from the last `sort`
    group_keys: list[str] = field(default_factory=list)
    matched_stage: str | None = None
    limited: bool = False
    uses_flow_fields: bool = False
    stats_seen: bool = False
    matched_column: bool = False  # stats stages carry "__matched", the number of events they read
    columns_made: int = 0

    def run(self, query: Query, limit: int | None) -> Plan:
        self.stages.append("")  # s0 is written last, once we know whether flow fields are used
        for command in query.commands:
            self.command(command)
        matched = self.matched_stage or self.current
        columns = [OutputColumn(name, self.resolve(name).kind) for name in self.output_names()]
        values = [self.resolve(column.name).sql for column in columns]
        self.stages[0] = self.base_stage()
        json_fields_at = len(SYSTEM_FIELDS) + len(FLOW_LOG_FIELDS) if self.shows_every_field() else None
        hidden = ["__json"] if json_fields_at is not None else []
        hidden += list(PTR_COLUMNS) if self.events else ['"__matched"'] if self.matched_column else []
        select_list = ", ".join(values + hidden) or "NULL"
        result_limit = limit if limit is not None else (None if self.limited else DEFAULT_RESULT_LIMIT)
        select = f"SELECT {select_list} FROM {self.current} ORDER BY {self.order_sql()}"
        if result_limit is not None:
            select += f" LIMIT {result_limit}"
        ctes = ", ".join(f"s{index} AS ({body})" for index, body in enumerate(self.stages))
        return Plan(ctes, select, columns, json_fields_at, self.events, self.matched_column, matched)

    # --- stages ----------------------------------------------------------------------------

    @property
    def current(self) -> str:
        return f"s{len(self.stages) - 1}"

    def add_stage(self, body: str) -> None:
        self.stages.append(body)

    def new_column(self) -> str:
        self.columns_made += 1
        return f'"c{self.columns_made}"'

    def base_stage(self) -> str:
        conditions = [f"timestamp_ms BETWEEN {self.time_range.start_ms} AND {self.time_range.end_ms}"]
        if self.log_groups is not None:
            groups = ", ".join(sql_string(group) for group in self.log_groups) or "NULL"
            conditions.append(f"log_group IN ({groups})")
        parts = f", {FLOW_PARTS_SQL} AS __parts" if self.uses_flow_fields else ""
        return (f"SELECT log_group AS __group, log_stream AS __stream, timestamp_ms AS __ts, "
                f"ingestion_time_ms AS __ingest, message AS __msg, json_fields AS __json{parts} "
                f"FROM {EVENTS_TABLE} WHERE {' AND '.join(conditions)}")

    # --- commands --------------------------------------------------------------------------

    def command(self, command: Command) -> None:
        if isinstance(command, (Stats, Dedup, Limit)) and self.matched_stage is None:
            self.matched_stage = self.current
        handler = {
            Fields: self.fields, Display: self.display_command, Filter: self.filter, Stats: self.stats,
            Sort: self.sort, Limit: self.limit, Parse: self.parse, Dedup: self.dedup,
        }[type(command)]
        handler(command)

    def fields(self, command: Fields) -> None:
        if self.visible is None:
            self.visible = []
        added, new_scope = [], {}
        for item in command.items:
            if not (isinstance(item.expr, FieldRef) and item.alias is None):
                value = self.typed(item.expr)
                column = self.new_column()
                added.append(f"{value.sql} AS {column}")
                new_scope[item.name] = Typed(column, value.kind)
            self.show(item.name)
        if added:
            self.add_stage(f"SELECT *, {', '.join(added)} FROM {self.current}")
            self.scope.update(new_scope)

    def display_command(self, command: Display) -> None:
        self.display = list(command.names)

    def filter(self, command: Filter) -> None:
        condition = as_condition(self.typed(command.condition))
        self.add_stage(f"SELECT * FROM {self.current} WHERE {condition}")

    def parse(self, command: Parse) -> None:
        source = as_text(self.typed(command.source))
        pattern = sql_string(to_re2(command.regex))
        groups = "[" + ", ".join(sql_string(f"g{i}") for i in range(len(command.names))) + "]"
        column = self.new_column()
        self.add_stage(f"SELECT *, CASE WHEN regexp_matches({source}, {pattern}) "
                       f"THEN regexp_extract({source}, {pattern}, {groups}) END AS {column} FROM {self.current}")
        for index, name in enumerate(command.names):
            self.scope[name] = Typed(f"struct_extract({column}, 'g{index}')", "str")
            self.parsed.append(name)
            if self.visible is not None:
                self.show(name)

    def stats(self, command: Stats) -> None:
        groups = [(item, self.typed(item.expr)) for item in command.groups]
        aggregates = []
        for item in command.aggregates:
            if not _has_aggregate(item.expr):
                raise item.expr.token.error()
            aggregates.append((item, self.typed(item.expr, aggregates_allowed=True)))
        select, scope = [], {}
        for index, (item, value) in enumerate(groups):
            select.append(f'{value.sql} AS "k{index}"')
            scope[item.name] = Typed(f'"k{index}"', value.kind)
        for index, (item, value) in enumerate(aggregates):
            select.append(f'{value.sql} AS "a{index}"')
            scope[item.name] = Typed(f'"a{index}"', value.kind)
        # Counting the events that reach the first stats here saves a second pass over them.
        if not self.stats_seen and self.matched_stage == self.current:
            select.append('sum(count(*)) OVER () AS "__matched"')
            self.matched_column = True
        elif self.matched_column:
            select.append('max("__matched") AS "__matched"')
        self.stats_seen = True
        grouping = (" GROUP BY " + ", ".join(str(i + 1) for i in range(len(groups)))) if groups \
            else " HAVING count(*) > 0"  # AWS returns no row when no event matched
        self.add_stage(f"SELECT {', '.join(select)} FROM {self.current}{grouping}")
        self.scope = scope
        self.events, self.display, self.order, self.parsed = False, None, None, []
        self.visible = [item.name for item, _ in groups] + [item.name for item, _ in aggregates]
        self.group_keys = [f'"k{index}"' for index in range(len(groups))]

    def sort(self, command: Sort) -> None:
        self.order = [term for key in command.keys for term in _sort_terms(self.resolve(key.name), key.descending)]

    def limit(self, command: Limit) -> None:
        self.add_stage(f"SELECT * FROM {self.current} ORDER BY {self.order_sql()} LIMIT {command.count}")
        self.limited = True

    def dedup(self, command: Dedup) -> None:
        keys = [self.resolve(name).sql for name in command.names]
        any_null = " OR ".join(f"{key} IS NULL" for key in keys)
        self.add_stage(f"SELECT * FROM {self.current} QUALIFY row_number() OVER "
                       f"(PARTITION BY {', '.join(keys)} ORDER BY {self.order_sql()}) = 1 OR {any_null}")

    # --- fields and order ------------------------------------------------------------------

    def show(self, name: str) -> None:
        if name not in self.visible:
            self.visible.append(name)

    def shows_every_field(self) -> bool:
        """No `fields`, `display` or `stats`: each event comes with every field it has."""
        return self.events and self.display is None and self.visible is None

    def output_names(self) -> list[str]:
        if self.display is not None:
            return self.display
        if self.visible is not None:
            return self.visible
        flow = [name for name, _ in FLOW_LOG_FIELDS]
        return list(SYSTEM_FIELDS) + flow + [name for name in self.parsed if name not in flow]

    def resolve(self, name: str) -> Typed:
        """A field no event has is null wherever it appears, as is any field after `stats` but its own."""
        if name in self.scope:
            return self.scope[name]
        if not self.events:
            return Typed("NULL", "null")
        system = system_field(name, self.account_id)
        if system is not None:
            return system
        if is_flow_field(name):
            self.uses_flow_fields = True
            return flow_field(name)
        return json_field(name)

    def order_sql(self) -> str:
        if self.events:
            default = [("__ts", True), ("__stream", False), ("__msg", False)]
        else:
            default = [(key, False) for key in self.group_keys]
        terms = (self.order or []) + default
        return ", ".join(f"{sql} {'DESC' if descending else 'ASC'} NULLS LAST" for sql, descending in terms) or "1"

    # --- expressions -----------------------------------------------------------------------

    def typed(self, expr: Expr, aggregates_allowed: bool = False) -> Typed:
        if isinstance(expr, FieldRef):
            return self.resolve(expr.name)
        if isinstance(expr, StringLit):
            return Typed(sql_string(expr.value), "str")
        if isinstance(expr, NumberLit):
            return Typed(repr(expr.value), "num")
        if isinstance(expr, Unary):
            operand = self.typed(expr.operand, aggregates_allowed)
            if expr.op == "not":
                return Typed(f"(NOT {as_condition(operand)})", "bool")
            return Typed(f"(-CAST({as_number(operand)} AS DOUBLE))", "num")
        if isinstance(expr, Binary):
            left = self.typed(expr.left, aggregates_allowed)
            right = self.typed(expr.right, aggregates_allowed)
            return _binary(expr.op, left, right)
        if isinstance(expr, Like):
            return self.like(expr, aggregates_allowed)
        if isinstance(expr, InList):
            return self.in_list(expr, aggregates_allowed)
        if isinstance(expr, Call):
            return self.call(expr, aggregates_allowed)
        raise expr.token.error()  # regexes, periods and `*` outside the places that take them

    def like(self, expr: Like, aggregates_allowed: bool) -> Typed:
        subject = as_text(self.typed(expr.subject, aggregates_allowed))
        if isinstance(expr.pattern, RegexLit):
            test = f"regexp_matches({subject}, {sql_string(to_re2(expr.pattern.pattern))})"
        else:
            test = f"contains({subject}, {sql_string(expr.pattern.value)})"
        return Typed(f"(NOT {test})" if expr.negated else test, "bool")

    def in_list(self, expr: InList, aggregates_allowed: bool) -> Typed:
        subject = self.typed(expr.subject, aggregates_allowed)
        items = [self.typed(item, aggregates_allowed) for item in expr.items]
        if subject.kind == "num" and all(item.kind == "num" for item in items):
            test = f"{subject.sql} IN ({', '.join(item.sql for item in items)})"
        else:  # `in` compares whole strings
            texts = [_literal_text(item_expr) if isinstance(item_expr, (NumberLit, StringLit)) else as_text(item)
                     for item_expr, item in zip(expr.items, items)]
            test = f"{as_text(subject)} IN ({', '.join(texts)})"
        return Typed(f"(NOT {test})" if expr.negated else f"({test})", "bool")

    def call(self, expr: Call, aggregates_allowed: bool) -> Typed:
        function = FUNCTIONS[expr.name]
        if function.aggregate and not aggregates_allowed:
            raise expr.token.error()
        inner_allowed = aggregates_allowed and not function.aggregate
        args = [self.typed(arg, inner_allowed) if _is_value(arg) else Typed("NULL", "null") for arg in expr.args]
        if function.aggregate and expr.name in ("earliest", "latest") and not self.events:
            raise expr.token.error()
        return function.build(args, expr, self.resolve("@timestamp").sql)


def _sort_terms(value: Typed, descending: bool) -> list[tuple[str, bool]]:
    if value.kind == "null":  # orders nothing (and DuckDB refuses to order by a constant)
        return []
    if value.kind == "str":  # text that reads as a number sorts as that number, before other text
        return [(f"TRY_CAST({value.sql} AS DOUBLE)", descending), (value.sql, descending)]
    return [(value.sql, descending)]


def _is_value(expr: Expr) -> bool:
    """Periods and `*` are read by the function itself from the syntax tree."""
    return not isinstance(expr, (PeriodLit, Star))


def _has_aggregate(expr: Expr) -> bool:
    if isinstance(expr, Call):
        return FUNCTIONS[expr.name].aggregate or any(_has_aggregate(arg) for arg in expr.args)
    if isinstance(expr, Binary):
        return _has_aggregate(expr.left) or _has_aggregate(expr.right)
    if isinstance(expr, Unary):
        return _has_aggregate(expr.operand)
    return False


def _literal_text(expr: NumberLit | StringLit) -> str:
    if isinstance(expr, StringLit):
        return sql_string(expr.value)
    value = expr.value
    return sql_string(str(int(value)) if float(value).is_integer() else repr(value))


_ARITHMETIC = ("+", "-", "*")
_COMPARISON = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _binary(op: str, left: Typed, right: Typed) -> Typed:
    if op in ("and", "or"):
        return Typed(f"({as_condition(left)} {op.upper()} {as_condition(right)})", "bool")
    if op == "^":
        return Typed(f"pow({as_number(left)}, {as_number(right)})", "num")
    if op in ("/", "%"):  # dividing by zero gives no value
        return Typed(f"(CAST({as_number(left)} AS DOUBLE) {op} NULLIF({as_number(right)}, 0))", "num")
    if op in _ARITHMETIC:  # in doubles, which overflow to infinity (no value) rather than fail
        return Typed(f"(CAST({as_number(left)} AS DOUBLE) {op} {as_number(right)})", "num")
    sql_op = _COMPARISON[op]
    if left.kind == "str" and right.kind == "str":
        return Typed(f"({left.sql} {sql_op} {right.sql})", "bool")
    if "null" in (left.kind, right.kind):
        return Typed(f"({left.sql} {sql_op} {right.sql})", "bool")
    # Any number on either side makes it a numeric comparison: `protocol = "6"`, `latency > 100`.
    return Typed(f"({as_number(left)} {sql_op} {as_number(right)})", "bool")

