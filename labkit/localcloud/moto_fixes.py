"""Corrections to moto's models where moto answers differently from AWS, applied once when the
local cloud is built. Each one names what AWS does."""

from __future__ import annotations

import functools
from typing import Any

from moto.ec2.models.flow_logs import FlowLogsBackend


def apply() -> None:
    _s3_flow_log_destination_may_have_a_folder()


def _s3_flow_log_destination_may_have_a_folder() -> None:
    """AWS accepts `arn:aws:s3:::bucket/folder/` as an S3 destination; moto looks for a bucket named
    `bucket/folder/` and reports it missing. Validate the bucket alone, keep the folder."""
    original = FlowLogsBackend.create_flow_logs
    if getattr(original, "labkit_fixed", False):
        return

    @functools.wraps(original)
    def create_flow_logs(self: Any, *args: Any, **kwargs: Any) -> Any:
        destination = kwargs.get("log_destination")
        if kwargs.get("log_destination_type") != "s3" or not destination or "/" not in destination:
            return original(self, *args, **kwargs)
        bucket_arn = destination.split("/", 1)[0]
        flow_logs, unsuccessful = original(self, *args, **{**kwargs, "log_destination": bucket_arn})
        for flow_log in flow_logs:
            flow_log.log_destination = destination
        return flow_logs, unsuccessful

    create_flow_logs.labkit_fixed = True  # type: ignore[attr-defined]
    FlowLogsBackend.create_flow_logs = create_flow_logs
