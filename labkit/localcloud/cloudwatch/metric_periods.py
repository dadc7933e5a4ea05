"""The periods CloudWatch reports metric statistics over, for GetMetricData and GetMetricStatistics."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def rounded_start_time(start: datetime, period: int) -> datetime:
    """CloudWatch's rounding of StartTime: down to the whole minute if it is less than 15 days ago, to
    5 minutes if less than 63 days ago, else to the hour; for a high-resolution period (under a
    minute), down to a multiple of the period."""
    now = datetime.now(start.tzinfo) if start.tzinfo else datetime.now(timezone.utc).replace(tzinfo=None)
    age = now - start
    step = period if period < 60 else 60 if age < timedelta(days=15) else 300 if age < timedelta(days=63) else 3600
    seconds = (start - start.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    return start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(seconds=seconds // step * step)
