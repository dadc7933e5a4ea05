"""Partition projection: the partitions of a table computed from its TBLPROPERTIES, not the catalog.

As Athena does it, the query's own conditions on the projected columns decide which values are
worked out: `day = '2024/05/07'`, `region IN (...)`, ranges and their conjunctions narrow each column's
values (`narrowed`); a column without a condition takes its whole range. The values are counted before
any is made, a query that could read more than Athena's limit fails with Athena's error, and the
partitions are made one at a time (`partitions`), so a table of millions of possible partitions costs
no memory for the ones a query never reads.

Supported, as Athena documents them: `enum` (values), `integer` (range, interval, digits), `date` (range
with fixed dates or NOW[+-N UNIT], a Java date format, interval and interval.unit) and `injected` (the
query must give the values, with = or IN), with `storage.location.template` (`${column}` placeholders)
or, without one, Hive-style `key=value/` folders under the table's LOCATION.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .catalog import CatalogError, Partition, Table

# Athena's limit on the partitions one query may read (the projection's count, worked out first).
MAX_PARTITIONS = 1_000_000

# Java DateTimeFormatter letters the projection formats use, and their strftime equivalents.
_JAVA_TO_STRFTIME = [("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"),
                     ("ss", "%S")]
# A format whose text sorts as its moments do: fixed-width fields, most significant first.
_SORTABLE_FORMAT = re.compile(r"yyyy(\W?MM(\W?dd(\W?HH(\W?mm(\W?ss)?)?)?)?)?")
_UNITS = {"YEARS": "years", "MONTHS": "months", "WEEKS": "weeks", "DAYS": "days", "HOURS": "hours",
          "MINUTES": "minutes", "SECONDS": "seconds"}
_NOW = re.compile(r"NOW\s*(?:(?P<sign>[+-])\s*(?P<amount>\d+)\s*(?P<unit>[A-Z]+?)S?)?", re.IGNORECASE)


@dataclass(frozen=True)
class Condition:
    """A condition of the query on one partition column: `op` is =, <, <=, > or >= (IN is several =)."""

    column: str
    op: str
    values: tuple[str, ...]  # the text of the compared value(s); several only for IN


# --- the values of one column -----------------------------------------------------------------------

class Values(Sequence[str]):
    """The values a projected column can take, in order, made on demand."""

    def narrowed(self, conditions: list[Condition], numeric: bool) -> Values:
        """These values, less those the conditions rule out where that can be told without making them
        all (what is left may still hold some the query's own WHERE drops later)."""
        result: Values = self
        for condition in conditions:
            if condition.op == "=":
                spelled = (result.spelling(value, numeric) for value in condition.values)
                result = Listed(tuple(dict.fromkeys(value for value in spelled if value is not None)))
        return result

    def spelling(self, value: str, numeric: bool) -> str | None:
        """How these values write `value`, if they hold it (an integer column's 7 is the value "07")."""
        return value if value in self else None

    def holds(self, text: str) -> bool:
        """Whether `text`, as written in a location, is one of these values (without making them all)."""
        return self.spelling(text, numeric=False) == text

    def pattern(self) -> str:
        """A regular expression for how these values are written in a location."""
        raise NotImplementedError


@dataclass(frozen=True)
class Listed(Values):
    """`enum` values, or values the query named."""

    items: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index):  # type: ignore[override]
        return self.items[index]

    def narrowed(self, conditions: list[Condition], numeric: bool) -> Values:
        kept = [v for v in super().narrowed(conditions, numeric)
                if all(_compares(v, c, numeric) for c in conditions if c.op != "=")]
        return Listed(tuple(kept))

    def holds(self, text: str) -> bool:
        return text in self.items

    def pattern(self) -> str:
        return "|".join(re.escape(v) for v in sorted(self.items, key=len, reverse=True)) or "(?!)"


@dataclass(frozen=True)
class Integers(Values):
    """`integer` values: low, low + interval, ... up to high, zero-padded to `digits`."""

    low: int
    high: int
    interval: int = 1
    digits: int = 1

    def __len__(self) -> int:
        return max(0, (self.high - self.low) // self.interval + 1)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return str(self.low + (index % len(self)) * self.interval).zfill(self.digits)

    def spelling(self, value: str, numeric: bool) -> str | None:
        if not re.fullmatch(r"[+-]?\d+", value.strip()):
            return None
        number = int(value)
        written = str(number).zfill(self.digits)
        on_grid = self.low <= number <= self.high and (number - self.low) % self.interval == 0
        return written if on_grid and (numeric or written == value) else None

    def pattern(self) -> str:
        return r"[+-]?\d+"

    def narrowed(self, conditions: list[Condition], numeric: bool) -> Values:
        low, high = self.low, self.high
        if numeric:  # a range on an integer column bounds the values without making them
            for condition in conditions:
                if condition.op == "=" or not re.fullmatch(r"[+-]?\d+(\.\d+)?", condition.values[0]):
                    continue
                bound = float(condition.values[0])
                if condition.op == ">":
                    low = max(low, math.floor(bound) + 1)
                elif condition.op == ">=":
                    low = max(low, math.ceil(bound))
                elif condition.op == "<":
                    high = min(high, math.ceil(bound) - 1)
                else:
                    high = min(high, math.floor(bound))
        low = self.low + -(-(low - self.low) // self.interval) * self.interval  # back on the grid
        return Values.narrowed(Integers(low, high, self.interval, self.digits), conditions, numeric)


@dataclass(frozen=True)
class Dates(Values):
    """`date` values: start, start + interval units, ... up to end, written with a Java date format."""

    start: datetime
    end: datetime
    interval: int
    unit: str  # years, months, weeks, days, hours, minutes, seconds
    java_format: str

    @property
    def strftime(self) -> str:
        return strftime_format(self.java_format)

    def pattern(self) -> str:
        return java_format_pattern(self.java_format)

    def __len__(self) -> int:
        if self.end < self.start:
            return 0
        if self.unit in ("years", "months"):
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month
            steps = months // (12 if self.unit == "years" else 1)
            return steps // self.interval + (1 if _shift(self.start, self.unit, steps - steps % self.interval)
                                            <= self.end else 0)
        step = timedelta(**{self.unit: self.interval})
        return int((self.end - self.start) // step) + 1

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return _shift(self.start, self.unit, (index % len(self)) * self.interval).strftime(self.strftime)

    def spelling(self, value: str, numeric: bool) -> str | None:
        moment = self._moment(value)
        if moment is None or not self.start <= moment <= self.end:
            return None
        index = self._index_at_or_after(moment)
        return value if index < len(self) and self[index] == value else None

    def narrowed(self, conditions: list[Condition], numeric: bool) -> Values:
        start, end = self.start, self.end
        if _SORTABLE_FORMAT.fullmatch(self.java_format):  # text compares as the moments do
            for condition in conditions:
                moment = self._moment(condition.values[0]) if condition.op != "=" else None
                if moment is None:
                    continue
                if condition.op in (">", ">="):
                    start = max(start, moment)
                else:
                    end = min(end, moment)
            if start > self.start:
                start = _shift(self.start, self.unit, self._index_at_or_after(start) * self.interval)
        return Values.narrowed(Dates(start, end, self.interval, self.unit, self.java_format), conditions, numeric)

    def _moment(self, value: str) -> datetime | None:
        try:
            return datetime.strptime(value, self.strftime).replace(tzinfo=timezone.utc)
        except ValueError:
            return None

    def _index_at_or_after(self, moment: datetime) -> int:
        """The index of the first value at or after `moment`."""
        low, high = 0, len(self)
        while low < high:  # values grow with the index
            middle = (low + high) // 2
            if _shift(self.start, self.unit, middle * self.interval) < moment:
                low = middle + 1
            else:
                high = middle
        return low


def _compares(value: str, condition: Condition, numeric: bool) -> bool:
    try:
        left, right = (float(value), float(condition.values[0])) if numeric else (value, condition.values[0])
    except ValueError:
        return True  # not for this narrowing to decide
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[condition.op]


# --- the partitions of a table --------------------------------------------------------------------------

def column_values(table: Table, conditions: list[Condition], now: datetime | None = None) -> list[Values]:
    """Each partition column's values, narrowed by the query's conditions on it; CatalogError (Athena's
    error) when more partitions could be read than Athena allows, or an injected column has no values."""
    now = now or datetime.now(timezone.utc)
    narrowed = []
    for key in table.partition_keys:
        on_key = [c for c in conditions if c.column == key.name]
        values = _values(table, key.name, now, on_key)
        narrowed.append(values.narrowed(on_key, _numeric(key.type)))
    count = math.prod(len(values) for values in narrowed)
    if count > MAX_PARTITIONS:
        raise CatalogError(f"HIVE_EXCEEDED_PARTITION_LIMIT: Query over table '{table.database}.{table.name}' can "
                           f"potentially read more than {MAX_PARTITIONS} partitions")
    return narrowed


def partitions(table: Table, values: list[Values]) -> Iterator[Partition]:
    """The partitions of these column values, one at a time, with their locations."""
    template = location_template(table)
    for combination in itertools.product(*values):
        yield Partition(tuple(combination), _location(template, table, combination))


def partitions_in(table: Table, values: list[Values], object_urls: Iterable[str]) -> Iterator[Partition]:
    """The partitions of these column values that hold one of these objects (the objects under the
    template's fixed start, in key order): the way to find few partitions among very many possible ones,
    where making each one and looking under it would cost more than reading the listing."""
    template = location_template(table)
    matcher = _location_pattern(template, table, values)
    seen: set[tuple[str, ...]] = set()
    for url in object_urls:
        match = matcher.match(url)
        if not match:
            continue
        combination = tuple(match.group(f"k{i}") for i in range(len(values)))
        if combination not in seen and all(v.holds(text) for v, text in zip(values, combination)):
            seen.add(combination)
            yield Partition(combination, _location(template, table, combination))


def location_template(table: Table) -> str:
    """`storage.location.template`, or Hive's `key=${key}/` folders under LOCATION."""
    return table.parameters.get("storage.location.template") or (
        table.location.rstrip("/") + "/" + "".join(f"{k.name}=${{{k.name}}}/" for k in table.partition_keys))


def fixed_start(template: str) -> str:
    """The template up to its first placeholder: where all the partitions' objects are."""
    return template.split("${", 1)[0]


def _location(template: str, table: Table, combination: Sequence[str]) -> str:
    location = template
    for key, value in zip(table.partition_keys, combination):
        location = location.replace(f"${{{key.name}}}", value)
    return location


def _location_pattern(template: str, table: Table, values: list[Values]) -> re.Pattern[str]:
    """An object URL under a partition's location: each placeholder a named group of its values' form."""
    names = {key.name: i for i, key in enumerate(table.partition_keys)}
    pattern, used = "", set()
    for part in re.split(r"(\$\{[^}]+\})", template.rstrip("/")):
        name = part[2:-1] if part.startswith("${") and part.endswith("}") else None
        if name in names and name not in used:
            used.add(name)
            pattern += f"(?P<k{names[name]}>{values[names[name]].pattern()})"
        elif name in names:
            pattern += f"(?P=k{names[name]})"
        else:
            pattern += re.escape(part)
    return re.compile(pattern + "/")


def java_format_pattern(java_format: str) -> str:
    """A regular expression for dates written with this Java format (the letters the formats use)."""
    pattern, at = "", 0
    for letters in re.finditer(r"y+|M+|d+|H+|m+|s+", java_format):
        pattern += re.escape(java_format[at:letters.start()]) + rf"\d{{{len(letters.group())}}}"
        at = letters.end()
    return pattern + re.escape(java_format[at:])


def _numeric(hive_type: str) -> bool:
    return hive_type.split("(")[0] in ("int", "integer", "bigint", "smallint", "tinyint", "double", "float", "decimal")


def _values(table: Table, column: str, now: datetime, conditions: list[Condition]) -> Values:
    def prop(name: str, default: str | None = None) -> str:
        value = table.parameters.get(f"projection.{column}.{name}", default)
        if value is None:
            raise CatalogError(f"HIVE_METASTORE_ERROR: Table {table.qualified_name} is configured for partition "
                               f"projection, but projection.{column}.{name} is missing")
        return value

    kind = prop("type").lower()
    if kind == "enum":
        return Listed(tuple(v.strip() for v in prop("values").split(",")))
    if kind == "integer":
        low, high = (int(v) for v in prop("range").split(","))
        return Integers(low, high, int(prop("interval", "1")), int(prop("digits", "1")))
    if kind == "date":
        java_format = prop("format")
        pattern = strftime_format(java_format)
        start, end = (_date_bound(bound.strip(), pattern, now) for bound in prop("range").split(","))
        return Dates(start, end, int(prop("interval", "1")),
                     _unit_name(prop("interval.unit", _default_unit(java_format))), java_format)
    if kind == "injected":
        named = tuple(v for c in conditions if c.op == "=" for v in c.values)
        if not named:
            raise CatalogError(f"CONSTRAINT_VIOLATION: For the injected projected partition column {column}, the "
                               f"WHERE clause must contain only static equality conditions, and at least one such "
                               f"condition must be present.")
        return Listed(tuple(dict.fromkeys(named)))
    raise CatalogError(f"HIVE_METASTORE_ERROR: projection type {kind!r} of column {column} is not supported "
                       f"(enum, integer, date, injected)")


def strftime_format(java_format: str) -> str:
    pattern = java_format
    for java, python in _JAVA_TO_STRFTIME:
        pattern = pattern.replace(java, python)
    return pattern


def _date_bound(text: str, pattern: str, now: datetime) -> datetime:
    match = _NOW.fullmatch(text)
    if not match:
        return datetime.strptime(text, pattern).replace(tzinfo=timezone.utc)
    if not match["sign"]:
        return now
    amount = int(match["amount"]) * (1 if match["sign"] == "+" else -1)
    return _shift(now, _unit_name(match["unit"]), amount)


def _default_unit(java_format: str) -> str:
    for letters, unit in (("s", "SECONDS"), ("m", "MINUTES"), ("H", "HOURS"), ("d", "DAYS"), ("M", "MONTHS")):
        if letters in java_format:
            return unit
    return "YEARS"


def _unit_name(unit: str) -> str:
    name = unit.upper() if unit.upper().endswith("S") else unit.upper() + "S"
    if name not in _UNITS:
        raise CatalogError(f"HIVE_METASTORE_ERROR: unknown projection interval unit {unit}")
    return _UNITS[name]


def _shift(moment: datetime, unit: str, amount: int) -> datetime:
    if unit in ("years", "months"):
        months = moment.month - 1 + amount * (12 if unit == "years" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        return moment.replace(year=year, month=month, day=min(moment.day, 28))
    return moment + timedelta(**{unit: amount})

