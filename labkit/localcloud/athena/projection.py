"""Partition projection: the partitions of a table computed from its TBLPROPERTIES, not the catalog.

Supported, as Athena documents them: `enum` (values), `integer` (range, interval, digits) and `date`
(range with fixed dates or NOW[+-N UNIT], a Java date format, interval and interval.unit), with
`storage.location.template` (`${column}` placeholders) or, without one, Hive-style `key=value/`
folders under the table's LOCATION.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta, timezone

from .catalog import CatalogError, Partition, Table

# Java DateTimeFormatter letters the projection formats use, and their strftime equivalents.
_JAVA_TO_STRFTIME = [("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"),
                     ("ss", "%S")]
_UNITS = {"YEARS": "years", "MONTHS": "months", "WEEKS": "weeks", "DAYS": "days", "HOURS": "hours",
          "MINUTES": "minutes", "SECONDS": "seconds"}
_NOW = re.compile(r"NOW\s*(?:(?P<sign>[+-])\s*(?P<amount>\d+)\s*(?P<unit>[A-Z]+?)S?)?", re.IGNORECASE)


def projected_partitions(table: Table, now: datetime | None = None) -> list[Partition]:
    """Every partition the projection defines, with its location."""
    now = now or datetime.now(timezone.utc)
    value_lists = [_values(table, key.name, now) for key in table.partition_keys]
    template = table.parameters.get("storage.location.template")
    partitions = []
    for values in itertools.product(*value_lists):
        if template:
            location = template
            for key, value in zip(table.partition_keys, values):
                location = location.replace(f"${{{key.name}}}", value)
        else:
            folders = "".join(f"{key.name}={value}/" for key, value in zip(table.partition_keys, values))
            location = table.location.rstrip("/") + "/" + folders
        partitions.append(Partition(tuple(values), location))
    return partitions


def _values(table: Table, column: str, now: datetime) -> list[str]:
    def prop(name: str, default: str | None = None) -> str:
        value = table.parameters.get(f"projection.{column}.{name}", default)
        if value is None:
            raise CatalogError(f"HIVE_METASTORE_ERROR: Table {table.qualified_name} is configured for partition "
                               f"projection, but projection.{column}.{name} is missing")
        return value

    kind = prop("type").lower()
    if kind == "enum":
        return [v.strip() for v in prop("values").split(",")]
    if kind == "integer":
        low, high = (int(v) for v in prop("range").split(","))
        step = int(prop("interval", "1"))
        digits = int(prop("digits", "1"))
        return [str(n).zfill(digits) for n in range(low, high + 1, step)]
    if kind == "date":
        return _dates(prop("range"), prop("format"), int(prop("interval", "1")),
                      prop("interval.unit", _default_unit(prop("format"))), now)
    raise CatalogError(f"HIVE_METASTORE_ERROR: projection type {kind!r} of column {column} is not supported "
                       f"by the local cloud (enum, integer, date)")


def _dates(range_text: str, java_format: str, interval: int, unit: str, now: datetime) -> list[str]:
    pattern = strftime_format(java_format)
    start, end = (_date_bound(bound.strip(), pattern, now) for bound in range_text.split(","))
    step = _unit_name(unit)
    values, current, n = [], start, 0
    while current <= end:
        values.append(current.strftime(pattern))
        n += interval
        current = _shift(start, step, n)
    return values


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
