"""Unstructured term patterns: `ERROR "two words" -timeout ?WARN`.

Terms are case-sensitive substrings and all must appear; `-term` must not appear. `?term`s are
alternatives (any one must appear) but only when the pattern has nothing else: mixed with plain or
`-` terms they are ignored, as AWS does. A bare term holds letters, digits, `_` and `.`; a `-` or `?`
inside one starts a new term (`a-b` means `a -b`). Anything else must be quoted.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import INVALID_PATTERN, InvalidFilterPattern, invalid_term
from .lexer import WHITESPACE


def _is_term_char(char: str) -> bool:
    return char.isalnum() or char in "_."


@dataclass(frozen=True)
class TermPattern:
    required: tuple[str, ...]
    excluded: tuple[str, ...]
    alternatives: tuple[str, ...]

    def matches(self, message: str) -> bool:
        if self.required or self.excluded:
            return all(term in message for term in self.required) and not any(
                term in message for term in self.excluded
            )
        return not self.alternatives or any(term in message for term in self.alternatives)


def parse_term_pattern(text: str) -> TermPattern:
    groups: dict[str, list[str]] = {"": [], "-": [], "?": []}
    index = 0
    while index < len(text):
        char = text[index]
        if char in WHITESPACE:
            index += 1
            continue
        prefix = ""
        if char in "-?":
            prefix = char
            index += 1
        term, index = _lex_term(text, index)
        groups[prefix].append(term)
    return TermPattern(tuple(groups[""]), tuple(groups["-"]), tuple(groups["?"]))


def _lex_term(text: str, start: int) -> tuple[str, int]:
    """One bare or quoted term starting at `start`; returns it and the index after it."""
    if start >= len(text) or text[start] in WHITESPACE:
        raise InvalidFilterPattern(INVALID_PATTERN)  # a lone `-` or `?`
    if text[start] == '"':
        close = text.find('"', start + 1)
        if close < 0:
            raise invalid_term(text[start:])
        if close == start + 1:
            raise invalid_term('""')
        if close + 1 < len(text) and text[close + 1] not in WHITESPACE:
            raise InvalidFilterPattern(INVALID_PATTERN)  # e.g. `"ERROR"WARN`
        return text[start + 1 : close], close + 1
    end = start
    while end < len(text) and _is_term_char(text[end]):
        end += 1
    follower = text[end] if end < len(text) else " "
    if end == start and follower in "-?":
        raise InvalidFilterPattern(INVALID_PATTERN)  # e.g. `--a`
    if follower == '"':
        raise InvalidFilterPattern(INVALID_PATTERN)
    if follower not in WHITESPACE and follower not in "-?":
        raise invalid_term(follower)
    return text[start:end], end
