"""Values on the right of a comparison, shared by JSON and space-delimited patterns.

A value is written as a number (`1`, `-0.5`, `1e3`), as text (a bare word or a "quoted string", where
`*` is a wildcard) or as a `%regex%`. Numbers compare numerically with numbers and as written with
text; text and regexes compare with the text of the field.
"""

from __future__ import annotations

import enum
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import re2

from .errors import INVALID_PATTERN, InvalidFilterPattern

NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_INT32 = range(-(2**31), 2**31)


class Operator(enum.Enum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="

    @property
    def is_ordering(self) -> bool:
        return self not in (Operator.EQ, Operator.NE)


_NUMERIC_TESTS: dict[Operator, Callable[[Decimal, Decimal], bool]] = {
    Operator.EQ: operator.eq,
    Operator.NE: operator.ne,
    Operator.LT: operator.lt,
    Operator.LE: operator.le,
    Operator.GT: operator.gt,
    Operator.GE: operator.ge,
}


@dataclass(frozen=True)
class NumberLiteral:
    text: str
    number: Decimal

    def compare_number(self, op: Operator, number: Decimal) -> bool:
        return _NUMERIC_TESTS[op](number, self.number)


@dataclass(frozen=True)
class TextLiteral:
    """A bare word or quoted string; `*` matches any run of characters."""

    text: str
    _glob: re2._Regexp | None = field(default=None, compare=False)

    @classmethod
    def of(cls, text: str) -> TextLiteral:
        if "*" not in text:
            return cls(text)
        glob = ".*".join(re2.escape(part) for part in text.split("*"))  # RE2: linear, however many `*`
        return cls(text, re2.compile("(?s)" + glob))

    def matches(self, value: str) -> bool:
        return value == self.text if self._glob is None else self._glob.fullmatch(value) is not None


@dataclass(frozen=True)
class RegexLiteral:
    body: str
    pattern: re2._Regexp = field(compare=False)

    def matches(self, value: str) -> bool:
        return self.pattern.search(value) is not None


Literal = NumberLiteral | TextLiteral | RegexLiteral


def number_literal(text: str) -> NumberLiteral | None:
    """The literal as a number if it is written as one, else None (it is then text)."""
    if not NUMBER.fullmatch(text):
        return None
    mantissa, _, exponent = text.lower().partition("e")
    exponent_value = int(exponent or "0")
    fraction_digits = len(mantissa.partition(".")[2])
    # AWS parses literals as Java BigDecimal: exponent and scale must fit in 32 bits.
    if exponent_value not in _INT32 or fraction_digits - exponent_value not in _INT32:
        raise InvalidFilterPattern(INVALID_PATTERN)
    return NumberLiteral(text, Decimal(text))


def token_number(text: str) -> Decimal | None:
    """A space-delimited field read as a number, or None if it is not written as one."""
    return Decimal(text) if NUMBER.fullmatch(text) else None


def json_number(value: int | float) -> Decimal | None:
    """A JSON number for numeric comparison; integers are exact, others are doubles (None if infinite)."""
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(value)) if math.isfinite(value) else None


def json_number_text(value: int | float) -> str:
    """The text AWS compares a JSON number against text with (Java's rendering of long/double)."""
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    shortest = Decimal(repr(value)).normalize()  # the shortest digits that round-trip, as Java prints
    sign = "-" if shortest < 0 else ""
    if 1e-3 <= abs(value) < 1e7:
        plain = f"{abs(shortest):f}"
        return sign + (plain if "." in plain else plain + ".0")
    _, digits, exponent = shortest.as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, digits))
    return f"{sign}{mantissa[0]}.{mantissa[1:] or '0'}E{len(mantissa) - 1 + exponent}"
