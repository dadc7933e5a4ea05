"""`&&` and `||` of a filter pattern, for both families that have them: the parts of a JSON pattern test
the parsed event, those of a space-delimited field test the field's text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Any, ...]  # conditions with .holds(value)

    def holds(self, value: Any) -> bool:
        return all(part.holds(value) for part in self.parts)


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Any, ...]

    def holds(self, value: Any) -> bool:
        return any(part.holds(value) for part in self.parts)
