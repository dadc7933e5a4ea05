"""Query results as Athena presents them: typed ColumnInfo, values as Trino prints them, the CSV file
of the output location, and GetQueryResults rows.

Values: integers in decimal, doubles as Java prints them (`2.5`, `1.0E7`), booleans `true`/`false`,
dates `2020-05-04`, timestamps `2020-05-04 10:00:00.000` (`... UTC` with a time zone), arrays
`[a, b]`, rows `{x=1, y=2}`. The CSV quotes every value and the header, and leaves NULL empty and
unquoted; utility statements (SHOW, DESCRIBE) are written as tab-separated `.txt` without a header.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from ..formats import java_double

_ATHENA_TYPES = {"BOOLEAN": "boolean", "TINYINT": "tinyint", "SMALLINT": "smallint", "INTEGER": "integer",
                 "BIGINT": "bigint", "HUGEINT": "bigint", "UTINYINT": "smallint", "USMALLINT": "integer",
                 "UINTEGER": "bigint", "UBIGINT": "bigint", "UHUGEINT": "bigint", "FLOAT": "real",
                 "DOUBLE": "double", "VARCHAR": "varchar", "DATE": "date", "TIMESTAMP": "timestamp",
                 "TIMESTAMP WITH TIME ZONE": "timestamp with time zone", "TIME": "time", "BLOB": "varbinary",
                 "INTERVAL": "interval day to second", "UUID": "uuid"}
_PRECISION = {"varchar": 2147483647, "bigint": 19, "integer": 10, "smallint": 5, "tinyint": 3, "double": 17,
              "real": 7, "timestamp": 3, "timestamp with time zone": 3, "time": 3}


@dataclass(frozen=True)
class ResultColumn:
    name: str
    type: str  # Athena's type name: varchar, bigint, double, date, array, row, ...
    precision: int = 0
    scale: int = 0

    @classmethod
    def varchar(cls, name: str) -> ResultColumn:
        return cls(name, "varchar", _PRECISION["varchar"])

    @classmethod
    def from_duckdb(cls, name: str, duckdb_type: Any) -> ResultColumn:
        text = str(duckdb_type)
        if text.endswith("]"):
            return cls(name, "array")
        if text.startswith("STRUCT"):
            return cls(name, "row")
        if text.startswith("MAP"):
            return cls(name, "map")
        if text.startswith("DECIMAL"):
            precision, scale = (int(n) for n in text[text.index("(") + 1:-1].split(","))
            return cls(name, "decimal", precision, scale)
        athena = _ATHENA_TYPES.get(text, "varchar")
        return cls(name, athena, _PRECISION.get(athena, 0))

    def column_info(self) -> dict[str, Any]:
        return {"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": self.name, "Label": self.name,
                "Type": self.type, "Precision": self.precision, "Scale": self.scale, "Nullable": "UNKNOWN",
                "CaseSensitive": self.type == "varchar"}


def value_text(value: Any) -> str | None:
    """A value as Athena prints it; None stays None (NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
        return f"{text} UTC" if value.tzinfo is not None else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_nested(k)}={_nested(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes):
        return " ".join(f"{b:02x}" for b in value)
    return str(value)


def _nested(value: Any) -> str:
    text = value_text(value)
    return "null" if text is None else text


def csv_text(columns: Sequence[ResultColumn], rows: Iterable[Sequence[str | None]]) -> bytes:
    """The `.csv` result file: quoted header and values, NULL empty and unquoted, `\\n` line ends."""
    def line(values: Sequence[str | None]) -> str:
        return ",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in values) + "\n"
    return (line([c.name for c in columns]) + "".join(line(row) for row in rows)).encode()


def tsv_text(rows: Iterable[Sequence[str | None]]) -> bytes:
    """The `.txt` result file of a utility statement: tab-separated, no header."""
    return "".join("\t".join(v or "" for v in row) + "\n" for row in rows).encode()


def result_rows(columns: Sequence[ResultColumn], rows: Sequence[Sequence[str | None]], *, header: bool,
                start: int, count: int) -> list[dict[str, Any]]:
    """GetQueryResults `Rows`: a page of rows, after the header row of a SELECT's first page."""
    page = []
    if header and start == 0:
        page.append({"Data": [{"VarCharValue": c.name} for c in columns]})
    for row in rows[start:start + count - len(page)]:
        page.append({"Data": [{} if v is None else {"VarCharValue": v} for v in row]})
    return page
