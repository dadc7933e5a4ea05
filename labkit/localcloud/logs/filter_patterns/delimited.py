"""Space-delimited patterns: `[version, account, ..., dstport="22" || dstport=3389, ..., action=REJECT, status]`.

A message is split into fields on runs of whitespace; `"..."` and `[...]` make one field without their
delimiters (unclosed ones are literal). Slots bind to fields from the left; slots after `...` bind
from the right and `...` covers whatever is in between. Without `...` the last slot absorbs the rest of
the line verbatim whenever more than one field is left. Extracted values are keyed `$name`, or `$N`
(the 1-based field position) for unnamed slots and fields under `...`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from .errors import INVALID_PATTERN, InvalidFilterPattern, invalid_term
from .lexer import Kind, Token, tokenize
from .logic import AllOf, AnyOf
from .regex import compile_regex
from .values import Literal, NumberLiteral, Operator, RegexLiteral, TextLiteral, number_literal, token_number

ELLIPSIS = "..."
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# A closed "..." or [...] at the start of a field is one field; anything else runs to the next whitespace.
_FIELD_TOKEN = re.compile(r'"([^"]*)"|\[([^\]]*)\]|[^ \t\n\r\f\v]+')


def split_fields(message: str) -> list[tuple[str, int]]:
    """The message's fields, each with the offset where it starts (its opening quote or bracket)."""
    fields = []
    for found in _FIELD_TOKEN.finditer(message):
        quoted, bracketed = found.groups()
        value = quoted if quoted is not None else bracketed if bracketed is not None else found.group()
        fields.append((value, found.start()))
    return fields


class FieldCondition(Protocol):
    def holds(self, value: str) -> bool: ...


@dataclass(frozen=True)
class FieldTest:
    op: Operator
    literal: Literal

    def holds(self, value: str) -> bool:
        if isinstance(self.literal, NumberLiteral):
            number = token_number(value)
            if number is None:
                return self.op is Operator.NE  # not a number, so not equal to one
            return self.literal.compare_number(self.op, number)
        return self.literal.matches(value) == (self.op is Operator.EQ)


@dataclass(frozen=True)
class Slot:
    name: str | None  # None for an empty slot, whose value is keyed by position
    condition: FieldCondition | None = None

    def key(self, position: int) -> str:
        return f"${self.name}" if self.name else f"${position}"


_UNDER_ELLIPSIS = Slot(None)


@dataclass(frozen=True)
class DelimitedPattern:
    leading: tuple[Slot, ...]  # all slots when there is no `...`
    trailing: tuple[Slot, ...]  # slots after `...`
    has_ellipsis: bool
    regex_count: int

    def match(self, message: str) -> dict[str, str] | None:
        """The extracted values if the message matches, else None."""
        fields = split_fields(message)
        if len(fields) < len(self.leading) + len(self.trailing):
            return None
        values = [value for value, _ in fields]
        if self.has_ellipsis:
            gap = len(fields) - len(self.leading) - len(self.trailing)
            slots = [*self.leading, *[_UNDER_ELLIPSIS] * gap, *self.trailing]
        else:
            slots = list(self.leading)
            last = len(slots) - 1
            if len(fields) > len(slots):
                values[last] = message[fields[last][1] :]  # the last slot absorbs the rest verbatim
        extracted: dict[str, str] = {}
        for position, (slot, value) in enumerate(zip(slots, values), 1):
            if slot.condition is not None and not slot.condition.holds(value):
                return None
            extracted[slot.key(position)] = value
        return extracted


def parse_delimited_pattern(body: str) -> DelimitedPattern:
    """Parse the text between the outer brackets."""
    tokens = tokenize(body, selectors=False)[:-1]
    if not tokens:
        return DelimitedPattern((), (), True, 0)  # `[]` exposes every field, like `[...]`
    groups: list[list[Token]] = [[]]
    for token in tokens:
        if token.kind is Kind.COMMA:
            groups.append([])
        else:
            groups[-1].append(token)
    leading: list[Slot] = []
    trailing: list[Slot] = []
    has_ellipsis = False
    names: set[str] = set()
    regex_count = 0
    for group in groups:
        if len(group) == 1 and group[0].text == ELLIPSIS:
            if has_ellipsis:
                raise InvalidFilterPattern(f"Duplicate field '{ELLIPSIS}'")
            has_ellipsis = True
            continue
        parser = _SlotParser(group)
        slot = parser.parse()
        regex_count += parser.regex_count
        if slot.name in names:
            raise InvalidFilterPattern(f"Duplicate field '{slot.name}'")
        if slot.name:
            names.add(slot.name)
        (trailing if has_ellipsis else leading).append(slot)
    return DelimitedPattern(tuple(leading), tuple(trailing), has_ellipsis, regex_count)


class _SlotParser:
    """One slot: empty, a name, or tests on that one name joined by `&&` (binding tighter) and `||`."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0
        self.name: str | None = None
        self.regex_count = 0

    def take(self) -> Token:
        if self.position >= len(self.tokens):
            raise InvalidFilterPattern(INVALID_PATTERN)
        self.position += 1
        return self.tokens[self.position - 1]

    def at(self, kind: Kind) -> bool:
        return self.position < len(self.tokens) and self.tokens[self.position].kind is kind

    def parse(self) -> Slot:
        if not self.tokens:
            return Slot(None)
        if len(self.tokens) == 1:
            return Slot(self.parse_name())
        condition = self.parse_or()
        if self.position != len(self.tokens):
            raise InvalidFilterPattern(INVALID_PATTERN)
        return Slot(self.name, condition)

    def parse_or(self) -> FieldCondition:
        parts = [self.parse_and()]
        while self.at(Kind.OR):
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def parse_and(self) -> FieldCondition:
        parts = [self.parse_test()]
        while self.at(Kind.AND):
            self.take()
            parts.append(self.parse_test())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def parse_test(self) -> FieldTest:
        name = self.parse_name()
        if self.name is None:
            self.name = name
        elif name != self.name:
            raise InvalidFilterPattern(f"Multiple variables used in a single filter. Var1 : {self.name}, Var2 : {name}")
        op_token = self.take()
        if op_token.kind is not Kind.OPERATOR:
            raise InvalidFilterPattern(INVALID_PATTERN)
        op = Operator(op_token.text)
        return FieldTest(op, self.parse_value(op))

    def parse_name(self) -> str:
        token = self.take()
        if token.kind is not Kind.WORD:
            raise InvalidFilterPattern(INVALID_PATTERN)
        if not _FIELD_NAME.fullmatch(token.text):
            raise invalid_term(token.text)
        return token.text

    def parse_value(self, op: Operator) -> Literal:
        token = self.take()
        number = number_literal(token.text) if token.kind is Kind.WORD else None
        if number is not None:
            return number
        if op.is_ordering:
            raise InvalidFilterPattern(INVALID_PATTERN)  # only numbers can be ordered
        if token.kind is Kind.WORD:
            return TextLiteral.of(token.text)
        if token.kind is Kind.STRING:
            return TextLiteral.of(token.string)
        if token.kind is Kind.REGEX:
            self.regex_count += 1
            return RegexLiteral(token.string, compile_regex(token.string))
        raise InvalidFilterPattern(INVALID_PATTERN)

