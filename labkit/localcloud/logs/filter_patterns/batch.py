"""Fast matching for space-delimited patterns: one regular expression per pattern, run by `re` in C.

For an event without tabs, newlines, other control whitespace, `"` or `[`, the fields are simply the
runs of non-space characters, so the pattern can be compiled to one regex over the line whose field
tests `re` evaluates in its tightest loops. Conditions a regex cannot express exactly (numbers,
`%regex%` values, the last slot, which may absorb the rest of the line) are captured and checked with
the pattern's own conditions. Events with those special characters, and patterns with `...`, are
answered by `DelimitedPattern.match`, so every answer is the one `match` gives.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

from .delimited import AllTests, AnyTest, DelimitedPattern, FieldCondition, FieldTest
from .values import Operator, TextLiteral

SPECIAL_CHARACTERS = '\t\n\r\f\v"['  # any of these changes how an event splits into fields
_SPECIAL = re.compile(f"[{re.escape(SPECIAL_CHARACTERS)}]")
_FIELD = "[^ ]"
_SEPARATOR = " ++"  # possessive: a field boundary never gives back spaces
_NEVER = "(?!)"


class DelimitedScanner:
    """A space-delimited pattern with its line regex: `match` for one event, `match_flags` for many."""

    def __init__(self, pattern: DelimitedPattern) -> None:
        self.pattern = pattern
        self.residual: dict[str, FieldCondition] = {}  # regex group -> condition checked in Python
        self.regex = self._compile()

    def match(self, message: str) -> dict[str, str] | None:
        """`DelimitedPattern.match`, skipping the tokenizer for events the regex rules out."""
        if self.regex is not None and not _SPECIAL.search(message):
            found = self.regex.match(message)
            if found is None or not self._residual_holds(found):
                return None
        return self.pattern.match(message)

    def match_flags(self, messages: Sequence[str]) -> list[bool]:
        """For each message, whether the pattern matches it."""
        if self.regex is None:
            return [self.pattern.match(message) is not None for message in messages]
        match = self.regex.match
        if self.residual:
            holds = self._residual_holds
            flags = [found is not None and holds(found) for found in map(match, messages)]
        else:
            flags = [found is not None for found in map(match, messages)]
        for index in _indices_with_special_characters(messages):
            flags[index] = self.pattern.match(messages[index]) is not None
        return flags

    def _residual_holds(self, found: re.Match[str]) -> bool:
        for group, condition in self.residual.items():
            value = found.group(group)
            if group == "rest":
                single = value.rstrip(" ")
                if " " not in single:
                    value = single  # one field left: it is the value, without trailing spaces
            if not condition.holds(value):
                return False
        return True

    def _compile(self) -> re.Pattern[str] | None:
        slots = self.pattern.leading
        if self.pattern.has_ellipsis or not slots:
            return None
        pieces = [" *+"]
        for index, slot in enumerate(slots[:-1]):
            condition = slot.condition
            piece = _FIELD + "++" if condition is None else _field_regex(condition)
            if piece is None:
                group = f"f{index}"
                self.residual[group] = condition  # type: ignore[assignment]
                piece = f"(?P<{group}>{_FIELD}++)"
            pieces.append(piece + _SEPARATOR)
        last = slots[-1].condition
        if last is None:
            pieces.append(_FIELD)  # at least one more field; the rest of the line does not matter
        else:
            self.residual["rest"] = last
            pieces.append(f"(?P<rest>{_FIELD}.*)")
        return re.compile("".join(pieces), re.DOTALL)


def _field_regex(condition: FieldCondition) -> str | None:
    """A regex consuming exactly one plain field for which `condition` holds, or None if not expressible."""
    if isinstance(condition, FieldTest):
        if not isinstance(condition.literal, TextLiteral):
            return None
        equal = _text_regex(condition.literal)
        if condition.op is Operator.EQ:
            return equal
        return f"(?!{equal}(?: |$)){_FIELD}++"
    if isinstance(condition, (AnyTest, AllTests)):
        parts = [_field_regex(part) for part in condition.parts]
        if any(part is None for part in parts):
            return None
        if isinstance(condition, AnyTest):
            return "(?:" + "|".join(parts) + ")"  # type: ignore[arg-type]
        return "".join(f"(?={part}(?: |$))" for part in parts) + _FIELD + "++"
    return None


def _text_regex(literal: TextLiteral) -> str:
    """Exact text, `*` matching within the field; text a plain field cannot hold never matches."""
    if not literal.text or any(char in literal.text for char in " " + SPECIAL_CHARACTERS):
        return _NEVER
    return f"{_FIELD}*".join(re.escape(part) for part in literal.text.split("*"))


def _indices_with_special_characters(messages: Sequence[str]) -> set[int]:
    """Which messages hold a special character, found with C-speed searches over all of them at once."""
    joined = "".join(messages)
    positions = []
    for char in SPECIAL_CHARACTERS:
        position = joined.find(char)
        while position >= 0:
            positions.append(position)
            position = joined.find(char, position + 1)
    if not positions:
        return set()
    ends = list(accumulate(map(len, messages)))  # message i spans [ends[i-1], ends[i])
    return {bisect_right(ends, position) for position in positions}
