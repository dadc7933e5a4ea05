"""How long AWS takes to do what it does by itself, for a local cloud that behaves like AWS in time.

By default the local cloud does everything at once (an instance runs and listens as soon as it is
launched, flow logs capture from their creation, records are delivered as soon as they have ended),
so the lab runs fast. `LABKIT_DELIVERY=realistic` makes it take AWS's time (docs/aws-behaviour.md,
"AWS's timings"): an instance is `pending` for tens of seconds, then `running` while it boots and its
sshd does not listen yet; a flow log captures a little after its creation; records reach CloudWatch
Logs about 5 minutes after their end and S3 about 10; alarms are evaluated every minute.

`LABKIT_TIME_SCALE` (0 < scale <= 1) shrinks every one of those delays by the same factor, so their
order stays AWS's and a whole rehearsal of the lab runs in CI time. What the scale never changes is
time itself: records, metric periods and alarm periods keep AWS's minutes (a 60 s alarm period stays
60 s), because their semantics are tied to the clock, not to how long AWS takes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

REALISTIC_ENV, SCALE_ENV = "LABKIT_DELIVERY", "LABKIT_TIME_SCALE"


@dataclass(frozen=True)
class AwsTiming:
    """Seconds AWS takes (already scaled); all 0 (and alarms every 5 s) for the fast default."""

    instance_pending_s: float = 0.0  # RunInstances -> running
    sshd_boot_s: float = 0.0  # running -> sshd listening (meanwhile: SYNs answered with a RST)
    flow_log_start_s: float = 0.0  # CreateFlowLogs -> the first packet captured
    cloudwatch_delivery_s: float = 0.0  # a record's end -> its log event
    s3_delivery_s: float = 0.0  # a record's end -> its file in S3
    alarm_interval_s: float = 5.0  # between two evaluations of every alarm
    scale: float = 1.0

    @classmethod
    def realistic(cls, scale: float = 1.0) -> AwsTiming:
        """AWS's own timings (docs/aws-behaviour.md, "AWS's timings"), every delay times `scale`."""
        if not 0 < scale <= 1:
            raise ValueError(f"{SCALE_ENV} must be more than 0 and at most 1, not {scale!r}")
        aws = cls(instance_pending_s=30.0, sshd_boot_s=40.0, flow_log_start_s=60.0, cloudwatch_delivery_s=300.0,
                  s3_delivery_s=600.0, alarm_interval_s=60.0)
        return replace(aws, **{name: getattr(aws, name) * scale for name in _DELAYS}, scale=scale)

    @property
    def mode(self) -> str:
        """`realistic` when the local cloud takes AWS's time, `instant` when it does everything at once."""
        return "realistic" if any(getattr(self, name) for name in _DELAYS if name != "alarm_interval_s") else "instant"

    @classmethod
    def from_environment(cls) -> AwsTiming:
        """LABKIT_DELIVERY=realistic takes AWS's time, shrunk by LABKIT_TIME_SCALE (default 1); anything
        else does everything at once."""
        if os.environ.get(REALISTIC_ENV) != "realistic":
            return cls()
        text = os.environ.get(SCALE_ENV) or "1"
        try:
            scale = float(text)
        except ValueError:
            raise ValueError(f"{SCALE_ENV} must be a number more than 0 and at most 1, not {text!r}") from None
        return cls.realistic(scale)


_DELAYS = ("instance_pending_s", "sshd_boot_s", "flow_log_start_s", "cloudwatch_delivery_s", "s3_delivery_s",
           "alarm_interval_s")
