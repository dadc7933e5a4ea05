"""Text as AWS's services print it: they are written in Java, and their numbers, JSON and timestamps
show it. Shared by CloudWatch's alarm messages, SNS's envelopes and Athena's results."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from decimal import Decimal


def java_double(value: float) -> str:
    """A number as Java's Double.toString prints it: 2.0, 0.5, 1.0E7, 1.5E-4."""
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    magnitude = abs(value)
    if magnitude == 0 or 1e-3 <= magnitude < 1e7:
        text = repr(value)
        return text if "." in text else f"{text}.0"
    _, digits, exponent = Decimal(repr(magnitude)).normalize().as_tuple()
    mantissa = f"{digits[0]}.{''.join(map(str, digits[1:])) or '0'}"
    return f"{'-' if value < 0 else ''}{mantissa}E{len(digits) - 1 + int(exponent)}"


def aws_json(value: object) -> str:
    """Compact JSON with Java-printed doubles, as in StateReasonData and the SNS alarm message."""
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, dict):
        members = (f"{json.dumps(key, ensure_ascii=False)}:{aws_json(item)}" for key, item in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(aws_json(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def aws_timestamp(moment: datetime) -> str:
    """yyyy-MM-dd'T'HH:mm:ss.SSS+0000, the timestamp format of alarm JSON."""
    moment = as_utc(moment)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, as everywhere in CloudWatch."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
