"""JSON patterns: `{ $.a.b = "x" && ($.c > 1 || $.d IS NULL) }`, evaluated against a JSON object event.

Semantics follow what live AWS answered (see tests/data/conformance/cloudwatch-logs):
* `=`/`!=` need a present string or number; `<`…`>=` need a finite number. Booleans, null, objects and
  arrays never compare, and `!=` never matches a missing field.
* A number literal compares numerically with numbers and, as written, with strings (`= 1` matches
  `"1"` but not `"01"`); text literals and regexes compare with a number's Java text (`1.0`, `1.0E308`).
* A wildcard step (`[*]` or `.*`) takes every element of an array or value of an object; the condition
  holds if any of them satisfies it, and `!=` holds if none equals the value and the path before the
  wildcard is present.
* `IS NULL` on a selector without wildcard also holds for an array with a null element (`[null, 2]`);
  `NOT EXISTS` holds only if nothing is selected.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import (
    INVALID_PATTERN,
    TOO_MANY_PATTERN_WILDCARDS,
    TOO_MANY_SELECTOR_WILDCARDS,
    InvalidFilterPattern,
    invalid_term,
)
from .lexer import WILDCARD, Kind, PathStep, Token, tokenize
from .logic import AllOf, AnyOf
from .regex import compile_regex
from .values import (
    Literal,
    NumberLiteral,
    Operator,
    RegexLiteral,
    TextLiteral,
    json_number,
    json_number_text,
    number_literal,
)

MAX_WILDCARDS_PER_PATTERN = 3
_MISSING = object()


def parse_event(message: str) -> dict[str, Any] | None:
    """The event as a JSON object, or None if it is not exactly one (arrays, trailing text, NaN)."""
    try:
        document = json.loads(message, parse_constant=_reject_constant)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True)
class Selector:
    path: tuple[PathStep, ...]

    def select(self, document: Any) -> list[Any]:
        """Every value the path reaches (a wildcard can reach several)."""
        values = [document]
        for step in self.path:
            values = [child for value in values for child in _children(value, step)]
        return values

    def prefix_present(self, document: Any) -> bool:
        """Whether the path up to its wildcard reaches anything."""
        prefix = Selector(self.path[: self.path.index(WILDCARD)])
        return bool(prefix.select(document))

    @property
    def has_wildcard(self) -> bool:
        return WILDCARD in self.path


def _children(value: Any, step: PathStep) -> list[Any]:
    if step is WILDCARD:
        if isinstance(value, list):
            return value
        return list(value.values()) if isinstance(value, dict) else []
    if isinstance(step, int):
        return [value[step]] if isinstance(value, list) and step < len(value) else []
    child = value.get(step, _MISSING) if isinstance(value, dict) else _MISSING
    return [] if child is _MISSING else [child]


class Condition(Protocol):
    def holds(self, document: Any) -> bool: ...


@dataclass(frozen=True)
class Comparison:
    selector: Selector
    op: Operator
    literal: Literal

    def holds(self, document: Any) -> bool:
        values = self.selector.select(document)
        if self.op is Operator.NE and self.selector.has_wildcard:
            return self.selector.prefix_present(document) and not any(
                _compare(value, Operator.EQ, self.literal) for value in values
            )
        return any(_compare(value, self.op, self.literal) for value in values)


def _compare(value: Any, op: Operator, literal: Literal) -> bool:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (is_number or isinstance(value, str)):
        return False
    if isinstance(literal, NumberLiteral):
        if isinstance(value, str):
            return op in (Operator.EQ, Operator.NE) and (value == literal.text) == (op is Operator.EQ)
        number = json_number(value)
        return number is not None and literal.compare_number(op, number)
    text = value if isinstance(value, str) else json_number_text(value)
    return literal.matches(text) == (op is Operator.EQ)


class Check(enum.Enum):
    IS_NULL = "IS NULL"
    IS_TRUE = "IS TRUE"
    IS_FALSE = "IS FALSE"
    NOT_EXISTS = "NOT EXISTS"


@dataclass(frozen=True)
class KeywordCheck:
    selector: Selector
    check: Check

    def holds(self, document: Any) -> bool:
        values = self.selector.select(document)
        if self.check is Check.NOT_EXISTS:
            return not values
        if self.check is Check.IS_NULL:
            if not self.selector.has_wildcard:  # AWS also looks one level into an array here
                values += [element for value in values if isinstance(value, list) for element in value]
            return None in values
        wanted = self.check is Check.IS_TRUE
        return any(value is wanted for value in values)


@dataclass(frozen=True)
class JsonPattern:
    condition: Condition
    regex_count: int

    def match(self, message: str) -> dict[str, Any] | None:
        """The parsed event if it matches, else None."""
        document = parse_event(message)
        return document if document is not None and self.condition.holds(document) else None


def parse_json_pattern(body: str) -> JsonPattern:
    """Parse the text between the outer braces."""
    parser = _Parser(tokenize(body, selectors=True))
    condition = parser.parse_or()
    parser.expect(Kind.END)
    if parser.wildcard_count > MAX_WILDCARDS_PER_PATTERN:
        raise InvalidFilterPattern(TOO_MANY_PATTERN_WILDCARDS)
    return JsonPattern(condition, parser.regex_count)


_KEYWORD_CHECKS = {
    "IS": {"NULL": Check.IS_NULL, "TRUE": Check.IS_TRUE, "FALSE": Check.IS_FALSE},
    "NOT": {"EXISTS": Check.NOT_EXISTS},
}


class _Parser:
    """Recursive descent; `&&` binds tighter than `||`, parentheses group."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0
        self.regex_count = 0
        self.wildcard_count = 0

    def peek(self) -> Token:
        return self.tokens[self.position]

    def take(self) -> Token:
        token = self.tokens[self.position]
        if token.kind is not Kind.END:
            self.position += 1
        return token

    def expect(self, kind: Kind) -> Token:
        token = self.take()
        if token.kind is not kind:
            raise InvalidFilterPattern(INVALID_PATTERN)
        return token

    def parse_or(self) -> Condition:
        parts = [self.parse_and()]
        while self.peek().kind is Kind.OR:
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def parse_and(self) -> Condition:
        parts = [self.parse_primary()]
        while self.peek().kind is Kind.AND:
            self.take()
            parts.append(self.parse_primary())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def parse_primary(self) -> Condition:
        if self.peek().kind is Kind.LPAREN:
            self.take()
            condition = self.parse_or()
            self.expect(Kind.RPAREN)
            return condition
        selector = self.parse_selector()
        token = self.take()
        if token.kind is Kind.OPERATOR:
            op = Operator(token.text)
            return Comparison(selector, op, self.parse_value(op))
        if token.kind is Kind.WORD and token.text.upper() in _KEYWORD_CHECKS:
            checks = _KEYWORD_CHECKS[token.text.upper()]
            keyword = self.take()
            if keyword.kind is not Kind.WORD:
                raise InvalidFilterPattern(INVALID_PATTERN)
            if keyword.text.upper() not in checks:
                raise invalid_term(keyword.text)
            return KeywordCheck(selector, checks[keyword.text.upper()])
        raise InvalidFilterPattern(INVALID_PATTERN)

    def parse_selector(self) -> Selector:
        token = self.expect(Kind.SELECTOR)
        wildcards = token.path.count(WILDCARD)
        if wildcards > 1:
            raise InvalidFilterPattern(TOO_MANY_SELECTOR_WILDCARDS)
        self.wildcard_count += wildcards
        return Selector(token.path)

    def parse_value(self, op: Operator) -> Literal:
        token = self.take()
        if token.kind is Kind.WORD:
            if token.text.lower() == "null":
                raise InvalidFilterPattern(INVALID_PATTERN)
            number = number_literal(token.text)
            if number is not None:
                return number
        if op.is_ordering and token.kind in (Kind.WORD, Kind.STRING, Kind.REGEX):
            raise invalid_term(token.text)  # ordering needs a number, e.g. `> "0"` is rejected
        if token.kind is Kind.WORD:
            return TextLiteral.of(token.text)
        if token.kind is Kind.STRING:
            return TextLiteral.of(token.string)
        if token.kind is Kind.REGEX:
            self.regex_count += 1
            return RegexLiteral(token.string, compile_regex(token.string))
        raise InvalidFilterPattern(INVALID_PATTERN)
