"""Compiling a filter pattern of any family, and matching events with it."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .batch import DelimitedScanner
from .delimited import parse_delimited_pattern
from .errors import TOO_MANY_REGEXES, InvalidFilterPattern, invalid_term, must_end_with
from .json_pattern import JsonPattern, parse_json_pattern
from .lexer import WHITESPACE
from .references import resolve_reference
from .regex import compile_regex, lex_regex
from .terms import TermPattern, parse_term_pattern
from .values import RegexLiteral

MAX_REGEXES_PER_PATTERN = 2


class PatternKind(enum.Enum):
    TERMS = "terms"
    REGEX = "regex"
    JSON = "json"
    DELIMITED = "space-delimited"


@dataclass(frozen=True)
class MatchResult:
    """One matching event: the values TestMetricFilter reports, and what references resolve against."""

    extracted_values: Mapping[str, str]
    event: Any = field(default=None, repr=False)  # the parsed JSON event, for `$.path` references

    def reference_value(self, reference: str) -> str | None:
        """A metricValue/dimension reference (`$.path` or `$field`) as text; None if missing or null."""
        return resolve_reference(reference, self.extracted_values, self.event)


_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class FilterPattern:
    text: str
    kind: PatternKind
    regex_count: int
    _matcher: TermPattern | RegexLiteral | JsonPattern | DelimitedScanner = field(repr=False, compare=False)

    @property
    def supports_dimensions(self) -> bool:
        """Metric filters may only have dimensions with JSON and space-delimited patterns."""
        return self.kind in (PatternKind.JSON, PatternKind.DELIMITED)

    def match(self, message: str) -> MatchResult | None:
        matcher = self._matcher
        if isinstance(matcher, DelimitedScanner):
            extracted = matcher.match(message)
            return None if extracted is None else MatchResult(extracted)
        if isinstance(matcher, JsonPattern):
            event = matcher.match(message)
            return None if event is None else MatchResult(_EMPTY, event)
        return MatchResult(_EMPTY) if matcher.matches(message) else None

    def match_many(self, messages: Sequence[str]) -> list[bool]:
        """`[self.match(m) is not None for m in messages]`, fast for space-delimited and term patterns."""
        if isinstance(self._matcher, DelimitedScanner):
            return self._matcher.match_flags(messages)
        if isinstance(self._matcher, (TermPattern, RegexLiteral)):
            matches = self._matcher.matches
            return [matches(message) for message in messages]
        return [self.match(message) is not None for message in messages]


def compile_filter_pattern(text: str) -> FilterPattern:
    """Compile a pattern as PutMetricFilter/TestMetricFilter would; raises InvalidFilterPattern."""
    stripped = text.strip(WHITESPACE)
    if stripped.startswith("{"):
        if not stripped.endswith("}"):
            raise must_end_with("{", "}")
        json_pattern = parse_json_pattern(stripped[1:-1])
        return _checked(FilterPattern(text, PatternKind.JSON, json_pattern.regex_count, json_pattern))
    if stripped.startswith("["):
        if not stripped.endswith("]"):
            raise must_end_with("[", "]")
        delimited = parse_delimited_pattern(stripped[1:-1])
        scanner = DelimitedScanner(delimited)
        return _checked(FilterPattern(text, PatternKind.DELIMITED, delimited.regex_count, scanner))
    if stripped.startswith("%"):
        if len(stripped) < 2 or not stripped.endswith("%"):
            raise must_end_with("%", "%")
        body, end = lex_regex(stripped, 0)
        if end < len(stripped):
            raise invalid_term(stripped[end])  # a standalone regex must be the whole pattern
        return FilterPattern(text, PatternKind.REGEX, 1, RegexLiteral(body, compile_regex(body)))
    return FilterPattern(text, PatternKind.TERMS, 0, parse_term_pattern(stripped))


def _checked(pattern: FilterPattern) -> FilterPattern:
    if pattern.regex_count > MAX_REGEXES_PER_PATTERN:
        raise InvalidFilterPattern(TOO_MANY_REGEXES)
    return pattern


def evaluate_test_metric_filter(filter_pattern: str, log_event_messages: Sequence[str]) -> dict[str, Any]:
    """The TestMetricFilter response body; raises InvalidFilterPattern for a pattern AWS rejects."""
    pattern = compile_filter_pattern(filter_pattern)
    matches = []
    for number, message in enumerate(log_event_messages, 1):
        result = pattern.match(message)
        if result is not None:
            matches.append(
                {"eventNumber": number, "eventMessage": message, "extractedValues": dict(result.extracted_values)}
            )
    return {"matches": matches}
