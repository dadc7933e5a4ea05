"""Corrections to moto's models where moto answers differently from AWS, applied once when the
local cloud is built. Each one names what AWS does."""

from __future__ import annotations

import functools
from typing import Any

from moto.ec2.models.flow_logs import FlowLogsBackend
from moto.ec2.models.instances import InstanceBackend


_applied = False


def apply() -> None:
    """Patch moto's classes, once per process."""
    global _applied
    if _applied:
        return
    _applied = True
    _create_flow_logs_checks_the_log_format()
    _s3_flow_log_destination_may_have_a_folder()
    _modify_instance_groups_replaces_the_eni_groups()


def _patch(owner: type, name: str, make: Any) -> None:
    """Replace owner.name with make(original)."""
    original = getattr(owner, name)
    setattr(owner, name, functools.wraps(original)(make(original)))


def _modify_instance_groups_replaces_the_eni_groups() -> None:
    """ModifyInstanceAttribute(Groups=...) replaces the security groups of the instance's primary
    network interface on AWS; moto keeps the old ones on the ENI and adds the new ones."""

    def make(original: Any) -> Any:
        def modify_instance_security_groups(self: Any, instance_id: str, new_group_id_list: list[str]) -> Any:
            instance = original(self, instance_id, new_group_id_list)
            primary = instance.nics.get(0)
            if primary is not None:
                primary._group_set = list(instance.security_groups)
            return instance
        return modify_instance_security_groups

    _patch(InstanceBackend, "modify_instance_security_groups", make)


def _create_flow_logs_checks_the_log_format() -> None:
    """AWS refuses a LogFormat with an unknown field (InvalidParameter) and creates nothing; moto
    stores any text."""
    from moto.ec2.exceptions import EC2ClientError

    from .flow_records import FlowLogFormatError, parse_log_format

    def make(original: Any) -> Any:
        def create_flow_logs(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                parse_log_format(kwargs.get("log_format"))
            except FlowLogFormatError as error:
                raise EC2ClientError(error.code, error.message) from None
            return original(self, *args, **kwargs)
        return create_flow_logs

    _patch(FlowLogsBackend, "create_flow_logs", make)


def _s3_flow_log_destination_may_have_a_folder() -> None:
    """AWS accepts `arn:aws:s3:::bucket/folder/` as an S3 destination; moto looks for a bucket named
    `bucket/folder/` and reports it missing. Validate the bucket alone, keep the folder."""
    def make(original: Any) -> Any:
        def create_flow_logs(self: Any, *args: Any, **kwargs: Any) -> Any:
            destination = kwargs.get("log_destination")
            if kwargs.get("log_destination_type") != "s3" or not destination or "/" not in destination:
                return original(self, *args, **kwargs)
            bucket_arn = destination.split("/", 1)[0]
            flow_logs, unsuccessful = original(self, *args, **{**kwargs, "log_destination": bucket_arn})
            for flow_log in flow_logs:
                flow_log.log_destination = destination
            return flow_logs, unsuccessful
        return create_flow_logs

    _patch(FlowLogsBackend, "create_flow_logs", make)
