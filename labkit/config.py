"""One LabConfig for the whole lab, built from the notebook's papermill parameters and the environment.

Resolution order for each setting: the notebook parameter (when not None), then the environment
variable, then the default. The defaults follow the walkthrough's names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

TARGETS = ("local", "aws")
LOCAL_REGION = "us-east-1"
LAB_TAG = "labkit:lab"
RUN_ID_TAG = "labkit:run-id"
LAB_NAME = "vpc-flow-logs"
DEFAULT_RUN_ID = "default"

# The AeroSecure server (Part 2): the smallest x86 Nitro type, and the timer after which it terminates itself.
INSTANCE_TYPE = "t3.nano"
SELF_DESTRUCT_MINUTES = 120

_RUN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
_PREFIX = re.compile(r"^([a-z0-9][a-z0-9-]{0,19})?$")


class ConfigError(ValueError):
    """A setting that cannot work, with the fix in the message."""


@dataclass(frozen=True)
class LabConfig:
    target: str = "local"
    region: str = LOCAL_REGION
    name_prefix: str = ""
    run_id: str = DEFAULT_RUN_ID
    confirm_billable: bool = False
    # Walkthrough names (before the prefix is applied), and the lab's own for what it adds
    log_group_base: str = "AeroSecureVPCLog"
    s3_flow_log_base: str = "S3-logs"
    cw_flow_log_base: str = "CW-logs"
    server_base: str = "AeroSecure Server"
    ssh_group_base: str = "AeroSecure SSH"
    http_group_base: str = "AeroSecure HTTP"
    vpc_base: str = "AeroSecure VPC"
    subnet_base: str = "AeroSecure public subnet"
    internet_gateway_base: str = "AeroSecure IGW"
    route_table_base: str = "AeroSecure public routes"
    role_base: str = "AeroSecureFlowLogsRole"
    role_policy_name: str = "flow-logs-delivery"  # the role's inline policy: its name is the role's own
    bucket_base: str = "aerosecure-flow-logs"
    metric_filter_name: str = "dest-port-22-reject"  # a log group's own: the group carries the prefix
    metric_namespace_base: str = "AeroSecureVPCLog"
    metric_name: str = "SSH Rejects"  # within the namespace
    alarm_base: str = "SSH rejects"
    topic_base: str = "aerosecure-ssh-alerts"
    database_base: str = "aerosecure_flow_logs"  # Athena database names take letters, digits and `_` only
    work_group_base: str = "aerosecure-analysis"
    vpc_cidr: str = "10.0.0.0/16"
    extra_tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls,
        target: str | None = None,
        region: str | None = None,
        name_prefix: str | None = None,
        run_id: str | None = None,
        confirm_billable: bool | None = None,
        environ: dict[str, str] | None = None,
    ) -> LabConfig:
        env = os.environ if environ is None else environ
        target = resolve_target(target, env)
        region = region or env.get("LABKIT_REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if not region:
            if target == "aws":
                region = _profile_region()
            if not region and target == "local":
                region = LOCAL_REGION
        if not region:
            raise ConfigError(
                "No AWS region is set for target='aws'. Pass region='us-east-1' (or your region) as a "
                "notebook parameter, or set AWS_REGION / LABKIT_REGION, or `aws configure set region ...`."
            )
        prefix = (name_prefix if name_prefix is not None else env.get("LABKIT_NAME_PREFIX", "")).strip().lower()
        if not _PREFIX.match(prefix):
            raise ConfigError(f"name_prefix {prefix!r} must be up to 20 lowercase letters, digits or '-'.")
        run_id = (run_id or env.get("LABKIT_RUN_ID") or DEFAULT_RUN_ID).strip().lower()
        if not _RUN_ID.match(run_id):
            raise ConfigError(f"run_id {run_id!r} must be 1 to 20 lowercase letters, digits or '-'.")
        if confirm_billable is None:
            confirm_billable = env.get("LABKIT_CONFIRM_BILLABLE", "").lower() in ("1", "true", "yes")
        return cls(target=target, region=region, name_prefix=prefix, run_id=run_id,
                   confirm_billable=bool(confirm_billable))

    # --- names ----------------------------------------------------------------------------------
    def name(self, base: str) -> str:
        return f"{self.name_prefix}-{base}" if self.name_prefix else base

    @property
    def log_group(self) -> str:
        return self.name(self.log_group_base)

    @property
    def s3_flow_log_name(self) -> str:
        return self.name(self.s3_flow_log_base)

    @property
    def cw_flow_log_name(self) -> str:
        return self.name(self.cw_flow_log_base)

    @property
    def server_name(self) -> str:
        return self.name(self.server_base)

    @property
    def ssh_group_name(self) -> str:
        return self.name(self.ssh_group_base)

    @property
    def http_group_name(self) -> str:
        return self.name(self.http_group_base)

    @property
    def vpc_name(self) -> str:
        return self.name(self.vpc_base)

    @property
    def subnet_name(self) -> str:
        return self.name(self.subnet_base)

    @property
    def internet_gateway_name(self) -> str:
        return self.name(self.internet_gateway_base)

    @property
    def route_table_name(self) -> str:
        return self.name(self.route_table_base)

    @property
    def role_name(self) -> str:
        return self.name(self.role_base)

    @property
    def metric_namespace(self) -> str:
        return self.name(self.metric_namespace_base)

    @property
    def alarm_name(self) -> str:
        return self.name(self.alarm_base)

    @property
    def topic_name(self) -> str:
        return self.name(self.topic_base)

    @property
    def database_name(self) -> str:
        return self.name(self.database_base).replace("-", "_")

    @property
    def work_group_name(self) -> str:
        return self.name(self.work_group_base)

    def bucket_name(self, account_id: str) -> str:
        """S3 names are global, so the account and region make the lab's bucket unique."""
        return self.name(f"{self.bucket_base}-{account_id}-{self.region}")

    # --- tags -----------------------------------------------------------------------------------
    @property
    def tags(self) -> dict[str, str]:
        """The tag set every resource of the lab carries, applied when it is created."""
        return {LAB_TAG: LAB_NAME, RUN_ID_TAG: self.run_id, **self.extra_tags}

    def tag_list(self, name: str | None = None) -> list[dict[str, str]]:
        tags = {**self.tags, **({"Name": name} if name else {})}
        return [{"Key": k, "Value": v} for k, v in tags.items()]

    def tag_specifications(self, resource_type: str, name: str | None = None) -> list[dict]:
        return [{"ResourceType": resource_type, "Tags": self.tag_list(name)}]

    def ec2_filters(self, name: str | None = None) -> list[dict]:
        """EC2 Describe* filters for this lab run's resources (only the one called `name`, if given)."""
        filters = [{"Name": f"tag:{key}", "Values": [value]} for key, value in self.tags.items()]
        return filters + ([{"Name": "tag:Name", "Values": [name]}] if name else [])

    def is_ours(self, tags: dict[str, str] | list[dict[str, str]] | None) -> bool:
        """True when a resource carries this lab run's tags (teardown deletes nothing else)."""
        if isinstance(tags, list):
            tags = {t["Key"]: t["Value"] for t in tags}
        tags = tags or {}
        return tags.get(LAB_TAG) == LAB_NAME and tags.get(RUN_ID_TAG) == self.run_id


def _profile_region() -> str | None:
    import boto3

    return boto3.session.Session().region_name


def resolve_target(target: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """`local` or `aws`: the one given, else $LABKIT_TARGET, else local."""
    env = os.environ if environ is None else environ
    target = (target or env.get("LABKIT_TARGET") or "local").strip().lower()
    if target not in TARGETS:
        raise ConfigError(
            f"Unknown target {target!r}. Use target='local' (the offline local cloud, the default) "
            f"or target='aws' (your AWS account), as a notebook parameter or LABKIT_TARGET."
        )
    return target
