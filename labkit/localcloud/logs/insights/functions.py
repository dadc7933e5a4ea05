"""The Insights functions, each as a DuckDB SQL expression over typed arguments.

Insights values are dynamically typed; here every SQL expression carries a kind so that the
translator can coerce the way Insights does (a parsed "200" compares as a number against 200).
Timestamps are epoch milliseconds (BIGINT) of kind "time".
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Callable, Literal

from .nodes import Call, Expr, NumberLit, PeriodLit, Star, StringLit

ValueKind = Literal["num", "str", "time", "bool", "null"]


@dataclass(frozen=True)
class Typed:
    sql: str
    kind: ValueKind


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def as_number(value: Typed) -> str:
    if value.kind in ("num", "time"):
        return value.sql
    if value.kind == "bool":
        return f"CAST({value.sql} AS INTEGER)"
    return f"TRY_CAST({value.sql} AS DOUBLE)"


def as_text(value: Typed) -> str:
    if value.kind == "str":
        return value.sql
    if value.kind == "num":  # as results write numbers: a whole number without DuckDB's `.0`, no inf or nan
        whole = f"TRY_CAST({value.sql} AS BIGINT)"
        return (f"(CASE WHEN {whole} = {value.sql} THEN CAST({whole} AS VARCHAR) "
                f"WHEN isfinite({value.sql}) THEN CAST({value.sql} AS VARCHAR) END)")
    return f"CAST({value.sql} AS VARCHAR)"


def as_condition(value: Typed) -> str:
    """Truthiness in `filter`: booleans as they are, numbers when non-zero, others when present."""
    if value.kind == "bool":
        return value.sql
    if value.kind in ("num", "time"):
        return f"({value.sql} <> 0)"
    return f"({value.sql} IS NOT NULL)"


# --- time periods -----------------------------------------------------------------------------

_PERIOD_UNITS: dict[str, tuple[str, int]] = {}
for _names, _unit in (
    (("ms", "msec", "msecs", "millisecond", "milliseconds"), ("ms", 1)),
    (("s", "sec", "secs", "second", "seconds"), ("ms", 1000)),
    (("m", "min", "mins", "minute", "minutes"), ("ms", 60_000)),
    (("h", "hr", "hrs", "hour", "hours"), ("ms", 3_600_000)),
    (("d", "day", "days"), ("ms", 86_400_000)),
    (("w", "week", "weeks"), ("week", 604_800_000)),
    (("mo", "month", "months"), ("month", 1)),
    (("q", "qtr", "quarter", "quarters"), ("month", 3)),
    (("y", "yr", "year", "years"), ("month", 12)),
):
    for _name in _names:
        _PERIOD_UNITS[_name] = _unit

# The times results can write (yyyy-MM-dd HH:mm:ss.SSS): 0001-01-01 to 9999-12-31, in epoch milliseconds.
MIN_TIME_MS, MAX_TIME_MS = -62_135_596_800_000, 253_402_300_799_999
_MONDAY_1970_MS = 4 * 86_400_000  # weeks start on Monday; 1970-01-01 was a Thursday


def _period(expr: Expr) -> tuple[str, int]:
    """`5m` -> ("ms", 300000); `1mo` -> ("month", 1); `2w` -> ("week", 1209600000)."""
    if not isinstance(expr, PeriodLit) or expr.unit.lower() not in _PERIOD_UNITS or expr.amount <= 0:
        raise expr.token.error()
    base, size = _PERIOD_UNITS[expr.unit.lower()]
    if base != "ms" and expr.amount != int(expr.amount):
        raise expr.token.error()
    return base, int(expr.amount * size)


def _months_to_ms(months_sql: str) -> str:
    return f"epoch_ms(CAST(make_date(CAST(({months_sql}) // 12 AS BIGINT), CAST(({months_sql}) % 12 + 1 AS BIGINT), 1) AS TIMESTAMP))"


def floor_time(ts: str, period: Expr) -> str:
    base, size = _period(period)
    if base == "ms":
        return f"(({ts}) // {size} * {size})"
    if base == "week":
        return f"((({ts}) - {_MONDAY_1970_MS}) // {size} * {size} + {_MONDAY_1970_MS})"
    months = f"(year(epoch_ms({ts})) * 12 + month(epoch_ms({ts})) - 1)"
    return _months_to_ms(f"{months} - {months} % {size}")


def ceil_time(ts: str, period: Expr) -> str:
    base, size = _period(period)
    if base == "ms":
        return f"((({ts}) + {size - 1}) // {size} * {size})"
    if base == "week":
        return f"((({ts}) - {_MONDAY_1970_MS} + {size - 1}) // {size} * {size} + {_MONDAY_1970_MS})"
    floor = floor_time(ts, period)
    months = f"(year(epoch_ms({floor})) * 12 + month(epoch_ms({floor})) - 1 + {size})"
    return f"(CASE WHEN {floor} = ({ts}) THEN {floor} ELSE {_months_to_ms(months)} END)"


# --- IP addresses -----------------------------------------------------------------------------

_IPV4_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_IPV4_OCTET}\.{_IPV4_OCTET}\.{_IPV4_OCTET}\.{_IPV4_OCTET}"


_H = "[0-9a-fA-F]{1,4}"
_IPV6 = "|".join((
    rf"({_H}:){{7}}{_H}", rf"({_H}:){{1,7}}:", rf"({_H}:){{1,6}}:{_H}", rf"({_H}:){{1,5}}(:{_H}){{1,2}}",
    rf"({_H}:){{1,4}}(:{_H}){{1,3}}", rf"({_H}:){{1,3}}(:{_H}){{1,4}}", rf"({_H}:){{1,2}}(:{_H}){{1,5}}",
    rf"{_H}:(:{_H}){{1,6}}", rf":((:{_H}){{1,7}}|:)", rf"::(ffff(:0{{1,4}})?:)?{_IPV4}", rf"({_H}:){{1,4}}:{_IPV4}",
))


def is_ipv4(text_sql: str) -> str:
    return f"coalesce(regexp_full_match({text_sql}, {sql_string(_IPV4)}), false)"


def is_ipv6(text_sql: str) -> str:
    return f"coalesce(regexp_full_match({text_sql}, {sql_string(_IPV6)}), false)"


def _ipv4_number(text_sql: str) -> str:
    # TRY_CAST to octets: DuckDB evaluates this for rows the IPv4 test rejects too. Then to BIGINT,
    # because an octet times 16777216 overflows DuckDB's 32-bit products.
    parts = [f"CAST(TRY_CAST(split_part({text_sql}, '.', {i}) AS UTINYINT) AS BIGINT)" for i in range(1, 5)]
    return f"({parts[0]} * 16777216 + {parts[1]} * 65536 + {parts[2]} * 256 + {parts[3]})"


def _ipv6_groups(text_sql: str) -> str:
    """The eight 16-bit groups of an IPv6 address as a list of hex strings, `::` expanded."""
    def groups(part: str) -> str:
        return f"(CASE WHEN {part} = '' THEN [] ELSE string_split({part}, ':') END)"
    left, right = groups(f"split_part({text_sql}, '::', 1)"), groups(f"split_part({text_sql}, '::', 2)")
    zeros = f"list_transform(range(8 - len({left}) - len({right})), lambda i: '0')"
    return (f"(CASE WHEN contains({text_sql}, '::') THEN list_concat({left}, {zeros}, {right}) "
            f"ELSE string_split({text_sql}, ':') END)")


def _in_ipv6_network(text_sql: str, network: ipaddress.IPv6Network) -> str:
    groups = _ipv6_groups(text_sql)
    wanted = [int(network.network_address) >> (16 * (7 - i)) & 0xFFFF for i in range(8)]
    tests = []
    for index in range(8):
        bits = min(16, max(0, network.prefixlen - 16 * index))
        if bits:
            shift = 16 - bits
            group = f"TRY_CAST('0x' || {groups}[{index + 1}] AS INTEGER)"
            tests.append(f"({group} >> {shift}) = {wanted[index] >> shift}")
    embedded_ipv4 = f"contains({text_sql}, '.')"  # ::ffff:1.2.3.4 forms are not matched against v6 nets
    return f"coalesce({is_ipv6(text_sql)} AND NOT {embedded_ipv4} AND {' AND '.join(tests) or 'true'}, false)"


def _subnet(expr: Expr, version: int | None) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if not isinstance(expr, StringLit):
        raise expr.token.error()
    try:
        network = ipaddress.ip_network(expr.value, strict=False)
    except ValueError:
        raise expr.token.error() from None
    if version is not None and network.version != version:
        raise expr.token.error()
    return network


def in_subnet(address: Typed, subnet: Expr, version: int | None) -> str:
    network = _subnet(subnet, version)
    text = as_text(address)
    if network.version == 4:
        low, high = int(network.network_address), int(network.broadcast_address)
        return f"({is_ipv4(text)} AND {_ipv4_number(text)} BETWEEN {low} AND {high})"
    return _in_ipv6_network(text, network)


# --- the catalogue ----------------------------------------------------------------------------

Builder = Callable[[list[Typed], Call, str], Typed]


@dataclass(frozen=True)
class Function:
    min_args: int
    max_args: int | None   # None: any number
    build: Builder         # (typed arguments, the call, SQL of @timestamp) -> result
    aggregate: bool = False


def _num(name: str) -> Builder:
    return lambda args, call, ts: Typed(f"{name}({', '.join(as_number(a) for a in args)})", "num")


def _text(name: str) -> Builder:
    return lambda args, call, ts: Typed(f"{name}({', '.join(as_text(a) for a in args)})", "str")


def _round(args: list[Typed], call: Call, ts: str) -> Typed:
    digits = f", TRY_CAST({as_number(args[1])} AS INTEGER)" if len(args) > 1 else ""
    return Typed(f"round(CAST({as_number(args[0])} AS DOUBLE){digits})", "num")


def _coalesce(args: list[Typed], call: Call, ts: str) -> Typed:
    kinds = {a.kind for a in args} - {"null"}
    if len(kinds) == 1:
        return Typed(f"coalesce({', '.join(a.sql for a in args)})", kinds.pop())
    return Typed(f"coalesce({', '.join(as_text(a) for a in args)})", "str")


def _trim(name: str) -> Builder:
    def build(args: list[Typed], call: Call, ts: str) -> Typed:
        chars = f", {as_text(args[1])}" if len(args) > 1 else ""
        return Typed(f"{name}({as_text(args[0])}{chars})", "str")
    return build


def _substr(args: list[Typed], call: Call, ts: str) -> Typed:
    # Insights counts from 0: substr("xyZfooxyZ", 3, 3) is "foo". Positions past 32 bits give no value.
    start = f"TRY_CAST({as_number(args[1])} AS INTEGER) + 1"
    length = f", TRY_CAST({as_number(args[2])} AS INTEGER)" if len(args) > 2 else ""
    return Typed(f"substr({as_text(args[0])}, {start}{length})", "str")


def _if(args: list[Typed], call: Call, ts: str) -> Typed:
    then, otherwise = args[1], args[2]
    if then.kind == otherwise.kind or "null" in (then.kind, otherwise.kind):
        kind = otherwise.kind if then.kind == "null" else then.kind
        return Typed(f"(CASE WHEN {as_condition(args[0])} THEN {then.sql} ELSE {otherwise.sql} END)", kind)
    return Typed(f"(CASE WHEN {as_condition(args[0])} THEN {as_text(then)} ELSE {as_text(otherwise)} END)", "str")


def _time_arg(value: Typed) -> str:
    """Epoch milliseconds as a BIGINT, or null outside the years results can write (1 to 9999): DuckDB
    refuses dates beyond its range, and a month or year period turns the value into a date."""
    if value.kind == "time":
        return value.sql
    millis = f"TRY_CAST({as_number(value)} AS BIGINT)"
    return f"(CASE WHEN {millis} BETWEEN {MIN_TIME_MS} AND {MAX_TIME_MS} THEN {millis} END)"


def _aggregate_number(name: str) -> Builder:
    return lambda args, call, ts: Typed(f"{name}({as_number(args[0])})", "num")


def _count(args: list[Typed], call: Call, ts: str) -> Typed:
    if not call.args or isinstance(call.args[0], Star):
        return Typed("count(*)", "num")
    return Typed(f"count({args[0].sql})", "num")


def _pct(args: list[Typed], call: Call, ts: str) -> Typed:
    percent = call.args[1]
    if not isinstance(percent, NumberLit) or not 0 <= percent.value <= 100:
        raise percent.token.error()
    return Typed(f"quantile_disc({as_number(args[0])}, {percent.value / 100})", "num")


def _extreme(name: str) -> Builder:
    """min/max are numeric; over @timestamp they give epoch milliseconds."""
    return lambda args, call, ts: Typed(f"{name}({as_number(args[0])})", "num")


def _sorts(name: str) -> Builder:
    def build(args: list[Typed], call: Call, ts: str) -> Typed:
        kind = "num" if args[0].kind == "time" else args[0].kind
        return Typed(f"{name}({args[0].sql})", kind)
    return build


def _by_time(name: str) -> Builder:
    """earliest/latest: the value from the first/last event; @timestamp comes out in milliseconds."""
    def build(args: list[Typed], call: Call, ts: str) -> Typed:
        kind = "num" if args[0].kind == "time" else args[0].kind
        return Typed(f"{name}({args[0].sql}, {ts})", kind)
    return build


def _bool(template: Callable[[list[Typed], Call], str]) -> Builder:
    return lambda args, call, ts: Typed(template(args, call), "bool")


FUNCTIONS: dict[str, Function] = {
    # numeric
    "abs": Function(1, 1, lambda a, c, ts: Typed(f"abs(CAST({as_number(a[0])} AS DOUBLE))", "num")),  # |min BIGINT|
    "ceil": Function(1, 1, _num("ceil")),
    "floor": Function(1, 1, _num("floor")),
    "greatest": Function(1, None, _num("greatest")),
    "least": Function(1, None, _num("least")),
    "log": Function(1, 1, _num("ln")),
    "sqrt": Function(1, 1, _num("sqrt")),
    "round": Function(1, 2, _round),
    # general
    "ispresent": Function(1, 1, _bool(lambda a, c: f"({a[0].sql} IS NOT NULL)")),
    "coalesce": Function(1, None, _coalesce),
    "if": Function(3, 3, _if),
    # strings
    "isempty": Function(1, 1, _bool(lambda a, c: f"coalesce({as_text(a[0])} = '', true)")),
    "isblank": Function(1, 1, _bool(lambda a, c: f"coalesce(trim({as_text(a[0])}) = '', true)")),
    "concat": Function(1, None, _text("concat")),
    "ltrim": Function(1, 2, _trim("ltrim")),
    "rtrim": Function(1, 2, _trim("rtrim")),
    "trim": Function(1, 2, _trim("trim")),
    "strlen": Function(1, 1, lambda a, c, ts: Typed(f"length({as_text(a[0])})", "num")),
    "toupper": Function(1, 1, _text("upper")),
    "tolower": Function(1, 1, _text("lower")),
    "substr": Function(2, 3, _substr),
    "replace": Function(3, 3, _text("replace")),
    "strcontains": Function(2, 2, lambda a, c, ts: Typed(
        f"CAST(contains({as_text(a[0])}, {as_text(a[1])}) AS INTEGER)", "num")),
    # time
    "bin": Function(1, 1, lambda a, c, ts: Typed(floor_time(ts, c.args[0]), "time")),
    "datefloor": Function(2, 2, lambda a, c, ts: Typed(floor_time(_time_arg(a[0]), c.args[1]), "time")),
    "dateceil": Function(2, 2, lambda a, c, ts: Typed(ceil_time(_time_arg(a[0]), c.args[1]), "time")),
    "frommillis": Function(1, 1, lambda a, c, ts: Typed(_time_arg(a[0]), "time")),
    "tomillis": Function(1, 1, lambda a, c, ts: Typed(_time_arg(a[0]), "num")),
    # IP addresses
    "isvalidip": Function(1, 1, _bool(lambda a, c: f"({is_ipv4(as_text(a[0]))} OR {is_ipv6(as_text(a[0]))})")),
    "isvalidipv4": Function(1, 1, _bool(lambda a, c: is_ipv4(as_text(a[0])))),
    "isvalidipv6": Function(1, 1, _bool(lambda a, c: is_ipv6(as_text(a[0])))),
    "isipinsubnet": Function(2, 2, _bool(lambda a, c: in_subnet(a[0], c.args[1], None))),
    "isipv4insubnet": Function(2, 2, _bool(lambda a, c: in_subnet(a[0], c.args[1], 4))),
    "isipv6insubnet": Function(2, 2, _bool(lambda a, c: in_subnet(a[0], c.args[1], 6))),
    # aggregations (stats only)
    "count": Function(0, 1, _count, aggregate=True),
    "count_distinct": Function(1, 1, lambda a, c, ts: Typed(f"count(DISTINCT {a[0].sql})", "num"), aggregate=True),
    "sum": Function(1, 1, _aggregate_number("sum"), aggregate=True),
    "avg": Function(1, 1, _aggregate_number("avg"), aggregate=True),
    "min": Function(1, 1, _extreme("min"), aggregate=True),
    "max": Function(1, 1, _extreme("max"), aggregate=True),
    "stddev": Function(1, 1, _aggregate_number("stddev_samp"), aggregate=True),
    "pct": Function(2, 2, _pct, aggregate=True),
    "earliest": Function(1, 1, _by_time("arg_min"), aggregate=True),
    "latest": Function(1, 1, _by_time("arg_max"), aggregate=True),
    "sortsfirst": Function(1, 1, _sorts("min"), aggregate=True),
    "sortslast": Function(1, 1, _sorts("max"), aggregate=True),
}

# Arguments that must be written literally: a period, a subnet, a percentile.
LITERAL_ARGUMENTS: dict[str, tuple[int, type]] = {
    "bin": (0, PeriodLit), "datefloor": (1, PeriodLit), "dateceil": (1, PeriodLit),
    "isipinsubnet": (1, StringLit), "isipv4insubnet": (1, StringLit), "isipv6insubnet": (1, StringLit),
    "pct": (1, NumberLit),
}


def check_call(call: Call) -> None:
    """Reject what AWS's grammar rejects: wrong arity, non-literal periods, subnets, percentiles."""
    function = FUNCTIONS[call.name]
    count = len(call.args)
    if count < function.min_args or (function.max_args is not None and count > function.max_args):
        raise call.token.error()
    literal = LITERAL_ARGUMENTS.get(call.name)
    if literal and not isinstance(call.args[literal[0]], literal[1]):
        raise call.args[literal[0]].token.error()
    for position, argument in enumerate(call.args):
        if isinstance(argument, Star) and call.name != "count":
            raise argument.token.error()
        if isinstance(argument, PeriodLit) and not (literal and literal[0] == position):
            raise argument.token.error()
