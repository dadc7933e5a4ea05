"""The parsed form of a Logs Insights query: a list of commands over expressions.

Every expression keeps the text it was written as, because AWS names an unaliased result
column after it (`count(*)`, `avg(bytes)`, `bin(1h)`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .lexer import Token


@dataclass(frozen=True)
class Expr:
    text: str = field(compare=False)
    token: Token = field(compare=False, repr=False)


@dataclass(frozen=True)
class FieldRef(Expr):
    name: str = ""


@dataclass(frozen=True)
class StringLit(Expr):
    value: str = ""


@dataclass(frozen=True)
class NumberLit(Expr):
    value: int | float = 0


@dataclass(frozen=True)
class RegexLit(Expr):
    pattern: str = ""


@dataclass(frozen=True)
class PeriodLit(Expr):
    """A time period such as `5m`, only valid as an argument of the time functions."""
    amount: int | float = 0
    unit: str = ""


@dataclass(frozen=True)
class Star(Expr):
    """The `*` of `count(*)`."""


@dataclass(frozen=True)
class Unary(Expr):
    op: str = ""          # "-" or "not"
    operand: Expr | None = None


@dataclass(frozen=True)
class Binary(Expr):
    op: str = ""          # arithmetic, comparison, "and", "or"
    left: Expr | None = None
    right: Expr | None = None


@dataclass(frozen=True)
class Like(Expr):
    """`like "substring"`, `like /regex/`, `=~ /regex/`, optionally negated."""
    subject: Expr | None = None
    pattern: StringLit | RegexLit | None = None
    negated: bool = False


@dataclass(frozen=True)
class InList(Expr):
    subject: Expr | None = None
    items: tuple[Expr, ...] = ()
    negated: bool = False


@dataclass(frozen=True)
class Call(Expr):
    name: str = ""        # lower-cased
    args: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class Projection:
    """One item of `fields`/`stats`/`by`: an expression and the name of its result column."""
    expr: Expr
    alias: str | None

    @property
    def name(self) -> str:
        if self.alias is not None:
            return self.alias
        if isinstance(self.expr, FieldRef):
            return self.expr.name
        return self.expr.text


@dataclass(frozen=True)
class SortKey:
    name: str
    descending: bool
    token: Token = field(compare=False, repr=False)


@dataclass(frozen=True)
class Command:
    token: Token = field(compare=False, repr=False)


@dataclass(frozen=True)
class Fields(Command):
    items: tuple[Projection, ...] = ()


@dataclass(frozen=True)
class Display(Command):
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Filter(Command):
    condition: Expr | None = None


@dataclass(frozen=True)
class Stats(Command):
    aggregates: tuple[Projection, ...] = ()
    groups: tuple[Projection, ...] = ()


@dataclass(frozen=True)
class Sort(Command):
    keys: tuple[SortKey, ...] = ()


@dataclass(frozen=True)
class Limit(Command):
    count: int = 0


@dataclass(frozen=True)
class Parse(Command):
    """`parse field "glob * pattern" as a, b` or `parse field /(?<a>..)(?<b>..)/`."""
    source: Expr | None = None
    regex: str = ""              # the pattern as a regex with one capturing group per name
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dedup(Command):
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Query:
    commands: tuple[Command, ...]
