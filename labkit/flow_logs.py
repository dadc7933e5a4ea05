"""Part 1: flow logs to S3 and to CloudWatch Logs.

Each `ensure_*` function takes the boto3 parameters the notebook shows (so the learner sees what the
console sets) and adds what a lab needs around them: look up before creating (running a notebook twice
creates nothing new), the lab's tags at creation, and waiting until the resource is ready.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from .session import Lab
from .waiting import wait_for


# --- VPC -------------------------------------------------------------------------------------

def ensure_vpc(lab: Lab) -> str:
    """The lab's own VPC (flow logs are attached to it; Part 2 puts the server in it)."""
    ec2 = lab.client("ec2")
    found = ec2.describe_vpcs(Filters=lab.config.ec2_filters(lab.config.vpc_name))["Vpcs"]
    if found:
        return found[0]["VpcId"]
    vpc = ec2.create_vpc(CidrBlock=lab.config.vpc_cidr,
                         TagSpecifications=lab.config.tag_specifications("vpc", lab.config.vpc_name))["Vpc"]
    ec2.get_waiter("vpc_available").wait(VpcIds=[vpc["VpcId"]])
    return vpc["VpcId"]


# --- S3 bucket -------------------------------------------------------------------------------

def ensure_bucket(lab: Lab) -> str:
    """The bucket the S3 flow log delivers to: private, tagged, in the lab's region."""
    s3, name = lab.client("s3"), lab.bucket
    try:
        s3.head_bucket(Bucket=name)
        return name
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise
    lab.require_billable_ok(f"the S3 bucket {name}")
    location = {} if lab.region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": lab.region}}
    s3.create_bucket(Bucket=name, **location)
    s3.get_waiter("bucket_exists").wait(Bucket=name)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": lab.config.tag_list()})
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
    return name


def bucket_policy(lab: Lab) -> dict[str, Any] | None:
    """The bucket policy, parsed; None while the bucket has none."""
    try:
        return json.loads(lab.client("s3").get_bucket_policy(Bucket=lab.bucket)["Policy"])
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchBucketPolicy":
            return None
        raise


# --- CloudWatch Logs and the delivery role ---------------------------------------------------

def ensure_log_group(lab: Lab, logGroupName: str | None = None, retentionInDays: int = 7) -> str:
    """CreateLogGroup (the lab's, `AeroSecureVPCLog`, unless named) and PutRetentionPolicy, unless it exists."""
    logs, name = lab.client("logs"), logGroupName or lab.config.log_group
    if not _log_group_exists(logs, name):
        lab.require_billable_ok(f"the log group {name}")
        logs.create_log_group(logGroupName=name, tags=lab.config.tags)
        logs.put_retention_policy(logGroupName=name, retentionInDays=retentionInDays)
    return name


def _log_group_exists(logs: Any, name: str) -> bool:
    groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return any(g["logGroupName"] == name for g in groups)


def ensure_role(lab: Lab, RoleName: str, AssumeRolePolicyDocument: dict, PolicyDocument: dict,
                PolicyName: str | None = None) -> str:
    """CreateRole with this trust policy, and PutRolePolicy with this inline permissions policy (named
    `flow-logs-delivery` unless named); returns the role's ARN. The policies are documents, not JSON text."""
    iam = lab.client("iam")
    try:
        role = iam.get_role(RoleName=RoleName)["Role"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
        role = iam.create_role(RoleName=RoleName, AssumeRolePolicyDocument=json.dumps(AssumeRolePolicyDocument),
                               Description="Lets VPC Flow Logs publish to CloudWatch Logs (labkit)",
                               Tags=lab.config.tag_list())["Role"]
        iam.get_waiter("role_exists").wait(RoleName=RoleName)
    iam.update_assume_role_policy(RoleName=RoleName, PolicyDocument=json.dumps(AssumeRolePolicyDocument))
    iam.put_role_policy(RoleName=RoleName, PolicyName=PolicyName or lab.config.role_policy_name,
                        PolicyDocument=json.dumps(PolicyDocument))
    return role["Arn"]


# --- flow logs -------------------------------------------------------------------------------

# Settings that cannot change once a flow log exists; a difference means delete and recreate.
_COMPARED = ("ResourceIds", "TrafficType", "LogDestinationType", "LogDestination", "LogGroupName",
             "DeliverLogsPermissionArn", "MaxAggregationInterval", "LogFormat")


def ensure_flow_log(lab: Lab, name: str, **create_params: Any) -> dict[str, Any]:
    """Create the flow log `name` with EC2 CreateFlowLogs parameters, unless it exists as asked.

    A flow log's settings cannot be modified on AWS: if one with this name exists with other
    settings, it is deleted and created again. Returns the flow log as DescribeFlowLogs shows it.
    """
    ec2 = lab.client("ec2")
    for existing in find_flow_logs(lab, name):
        if _same_settings(existing, create_params):
            return existing
        print(f"Flow log {name} exists with other settings: replacing {existing['FlowLogId']}.")
        ec2.delete_flow_logs(FlowLogIds=[existing["FlowLogId"]])
    lab.require_billable_ok(f"the flow log {name}")
    response = ec2.create_flow_logs(
        TagSpecifications=lab.config.tag_specifications("vpc-flow-log", name), **create_params)
    if response.get("Unsuccessful"):
        error = response["Unsuccessful"][0]["Error"]
        raise RuntimeError(f"CreateFlowLogs for {name} failed: {error['Code']}: {error['Message']}")
    return wait_flow_log_active(lab, response["FlowLogIds"][0])


def find_flow_logs(lab: Lab, name: str | None = None) -> list[dict[str, Any]]:
    """The lab run's flow logs (only the one called `name`, if given)."""
    return lab.client("ec2").describe_flow_logs(Filter=lab.config.ec2_filters(name))["FlowLogs"]


def wait_flow_log_active(lab: Lab, flow_log_id: str, timeout_s: float = 60) -> dict[str, Any]:
    """EC2 has no waiter for flow logs: poll DescribeFlowLogs until the flow log is ACTIVE."""
    ec2 = lab.client("ec2")
    return wait_for(lambda: ec2.describe_flow_logs(FlowLogIds=[flow_log_id])["FlowLogs"][0],
                    lambda flow_log: flow_log["FlowLogStatus"] == "ACTIVE", timeout_s=timeout_s,
                    what=f"Flow log {flow_log_id} is not ACTIVE",
                    hint=lambda flow_log: f"it is {flow_log['FlowLogStatus']}")


def _same_settings(existing: dict[str, Any], params: dict[str, Any]) -> bool:
    wanted = {**params, "ResourceIds": params.get("ResourceIds", [None])[0]}
    current = {**existing, "ResourceIds": existing.get("ResourceId")}
    for key in _COMPARED:
        if key in wanted and wanted[key] != current.get(key):
            return False
    options = params.get("DestinationOptions")
    return not options or all(existing.get("DestinationOptions", {}).get(k) == v for k, v in options.items())


def flow_logs_table(lab: Lab) -> pd.DataFrame:
    """One row per flow log of the lab, with the columns the console's Flow logs tab shows."""
    rows = []
    for fl in find_flow_logs(lab):
        tags = {t["Key"]: t["Value"] for t in fl.get("Tags", [])}
        rows.append({
            "Name": tags.get("Name", ""),
            "Flow log ID": fl["FlowLogId"],
            "Status": fl["FlowLogStatus"],
            "Delivery": fl.get("DeliverLogsStatus", ""),
            "Filter": fl["TrafficType"],
            "Destination type": fl["LogDestinationType"],
            "Destination": fl.get("LogDestination") or fl.get("LogGroupName"),
            "Aggregation (s)": fl["MaxAggregationInterval"],
        })
    return pd.DataFrame(rows).sort_values("Name", ignore_index=True) if rows else pd.DataFrame(rows)

