"""Fast matching for space-delimited patterns: one RE2 regular expression per pattern, run over a whole
batch of events at once by pyarrow (RE2, in C++, in linear time).

For an event without tabs, newlines, other control whitespace, `"` or `[`, the fields are simply the
runs of non-space characters, so the pattern can be compiled to one regex over the line whose field
tests RE2 evaluates in its tightest loops. Conditions a regex without lookarounds cannot express
exactly (numbers, `!=`, `&&`, `%regex%` values, the last slot, which may absorb the rest of the line)
are captured and checked with the pattern's own conditions. Events with those special characters, and
patterns with `...`, are answered by `DelimitedPattern.match`, so every answer is the one `match` gives.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import re2

from .delimited import DelimitedPattern, FieldCondition, FieldTest
from .logic import AnyOf
from .values import Operator, TextLiteral

SPECIAL_CHARACTERS = '\t\n\r\f\v"['  # any of these changes how an event splits into fields
_SPECIAL = re.compile(f"[{re.escape(SPECIAL_CHARACTERS)}]")
_FIELD = "[^ ]"
_SEPARATOR = " +"  # a field holds no space, so a run of spaces always ends it: no backtracking
_NEVER = "[^\\s\\S]"  # matches no character


class DelimitedScanner:
    """A space-delimited pattern with its line regex: `match` for one event, `match_flags` for many."""

    def __init__(self, pattern: DelimitedPattern) -> None:
        self.pattern = pattern
        self.residual: dict[str, FieldCondition] = {}  # regex group -> condition checked in Python
        self.source = self._compile()
        self.regex = re2.compile(self.source) if self.source is not None else None

    def match(self, message: str) -> dict[str, str] | None:
        """`DelimitedPattern.match`, skipping the tokenizer for events the regex rules out."""
        if self.regex is not None and not _SPECIAL.search(message):
            found = self.regex.match(message)
            if found is None or not self._residual_holds(found.groupdict()):
                return None
        return self.pattern.match(message)

    def match_flags(self, messages: Sequence[str]) -> list[bool]:
        """For each message, whether the pattern matches it."""
        if self.source is None:
            return [self.pattern.match(message) is not None for message in messages]
        lines = pa.array(messages, pa.string())
        if self.residual:
            captured = pc.extract_regex(lines, self.source).to_pylist()  # a dict of the groups, or None
            flags = [groups is not None and self._residual_holds(groups) for groups in captured]
        else:
            flags = pc.match_substring_regex(lines, self.source).to_pylist()
        special = pc.match_substring_regex(lines, _SPECIAL.pattern).to_numpy(zero_copy_only=False)
        for index in np.flatnonzero(special).tolist():
            flags[index] = self.pattern.match(messages[index]) is not None
        return flags

    def _residual_holds(self, groups: dict[str, Any]) -> bool:
        for group, condition in self.residual.items():
            value = groups[group]
            if group == "rest":
                single = value.rstrip(" ")
                if " " not in single:
                    value = single  # one field left: it is the value, without trailing spaces
            if not condition.holds(value):
                return False
        return True

    def _compile(self) -> str | None:
        slots = self.pattern.leading
        if self.pattern.has_ellipsis or not slots:
            return None
        pieces = ["(?s)^ *"]
        for index, slot in enumerate(slots[:-1]):
            condition = slot.condition
            piece = _FIELD + "+" if condition is None else _field_regex(condition)
            if piece is None:
                group = f"f{index}"
                self.residual[group] = condition  # type: ignore[assignment]
                piece = f"(?P<{group}>{_FIELD}+)"
            pieces.append(piece + _SEPARATOR)
        last = slots[-1].condition
        if last is None:
            pieces.append(_FIELD)  # at least one more field; the rest of the line does not matter
        else:
            self.residual["rest"] = last
            pieces.append(f"(?P<rest>{_FIELD}.*)")
        return "".join(pieces)


def _field_regex(condition: FieldCondition) -> str | None:
    """A regex consuming exactly one plain field for which `condition` holds, or None if not expressible."""
    if isinstance(condition, FieldTest):
        if condition.op is not Operator.EQ or not isinstance(condition.literal, TextLiteral):
            return None
        return _text_regex(condition.literal)
    if isinstance(condition, AnyOf):
        parts = [_field_regex(part) for part in condition.parts]
        if any(part is None for part in parts):
            return None
        return "(?:" + "|".join(parts) + ")"  # type: ignore[arg-type]
    return None


def _text_regex(literal: TextLiteral) -> str:
    """Exact text, `*` matching within the field; text a plain field cannot hold never matches."""
    if not literal.text or any(char in literal.text for char in " " + SPECIAL_CHARACTERS):
        return _NEVER
    if not literal.text.strip("*"):  # only wildcards: any field, which is never empty
        return _FIELD + "+"
    return f"{_FIELD}*".join(re2.escape(part) for part in literal.text.split("*"))
