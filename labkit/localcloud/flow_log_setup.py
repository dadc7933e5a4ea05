"""What AWS does when a flow log is created (EC2 CreateFlowLogs), beyond storing it.

- To an S3 bucket: AWS adds the log-delivery statements to the bucket policy (creating the policy
  if the bucket had none), so that `delivery.logs.amazonaws.com` may write the files.
- To CloudWatch Logs: delivery runs as the IAM role in `DeliverLogsPermissionArn`; when the role
  does not exist or does not trust `vpc-flow-logs.amazonaws.com`, the flow log reports
  DeliverLogsStatus FAILED with the error message "Access error". A log group that does not exist
  yet is not an error: AWS creates it when the first records are delivered.
"""

from __future__ import annotations

import json
from typing import Any

from moto.iam.exceptions import NotFoundException

from . import backends
from .app import AwsCall, Response

DELIVERY_PRINCIPAL = {"Service": "delivery.logs.amazonaws.com"}
FLOW_LOGS_SERVICE = "vpc-flow-logs.amazonaws.com"
NEW_POLICY_ID = "AWSLogDeliveryWrite20150319"
ACCESS_ERROR = "Access error"


def on_create_flow_logs(call: AwsCall, response: Response) -> None:
    ec2 = backends.ec2(call.account_id, call.region)
    for flow_log_id in _created_ids(response.body):
        flow_log = ec2.flow_logs[flow_log_id]
        if flow_log.log_destination_type == "s3":
            flow_log.destination_options = destination_options(call.params)
            add_log_delivery_statements(call.account_id, call.region, flow_log.log_destination,
                                        hive=flow_log.destination_options["HiveCompatiblePartitions"])
        elif flow_log.log_destination_type == "cloud-watch-logs":
            error = delivery_role_error(call.account_id, flow_log.deliver_logs_permission_arn)
            flow_log.deliver_logs_status = "FAILED" if error else "SUCCESS"
            flow_log.deliver_logs_error_message = error


def destination_options(params: dict[str, str]) -> dict[str, Any]:
    """DestinationOptions of an S3 flow log as DescribeFlowLogs reports them, with AWS's defaults."""
    return {
        "FileFormat": params.get("DestinationOptions.FileFormat", "plain-text"),
        "HiveCompatiblePartitions": params.get("DestinationOptions.HiveCompatiblePartitions", "false") == "true",
        "PerHourPartition": params.get("DestinationOptions.PerHourPartition", "false") == "true",
    }


def _created_ids(body: bytes) -> list[str]:
    from xml.etree import ElementTree

    root = ElementTree.fromstring(body)
    return [item.text for item in root.iter() if item.tag.endswith("item") and item.text
            and item.text.startswith("fl-")]


# --- S3 bucket policy -------------------------------------------------------------------------

def add_log_delivery_statements(account_id: str, region: str, destination_arn: str, hive: bool = False) -> None:
    bucket_name, _, folder = destination_arn.removeprefix("arn:aws:s3:::").partition("/")
    s3 = backends.s3(account_id)
    current = s3.get_bucket_policy(bucket_name)
    policy = merged_log_delivery_policy(
        json.loads(current) if current else None, bucket_name, folder, account_id, region, hive
    )
    s3.put_bucket_policy(bucket_name, json.dumps(policy).encode())


def merged_log_delivery_policy(
    policy: dict[str, Any] | None, bucket: str, folder: str, account_id: str, region: str, hive: bool = False
) -> dict[str, Any]:
    """The bucket policy after AWS adds flow-log delivery to `policy` (None: the bucket had none).

    Statements already present are reused: a second flow log to the same place changes nothing, and
    one to another folder of the bucket adds its resource to the AWSLogDeliveryWrite statement.
    """
    policy = dict(policy) if policy else {"Version": "2012-10-17", "Id": NEW_POLICY_ID, "Statement": []}
    statements = [dict(s) for s in policy.get("Statement", [])]
    policy["Statement"] = statements
    source = {"ArnLike": {"aws:SourceArn": f"arn:aws:logs:{region}:{account_id}:*"}}
    account_folder = f"aws-account-id={account_id}" if hive else account_id
    prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
    write_resource = f"arn:aws:s3:::{bucket}/{prefix}AWSLogs/{account_folder}/*"

    write = _statement(statements, "AWSLogDeliveryWrite")
    if write is None:
        statements.append({
            "Sid": "AWSLogDeliveryWrite",
            "Effect": "Allow",
            "Principal": DELIVERY_PRINCIPAL,
            "Action": "s3:PutObject",
            "Resource": write_resource,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id, "s3:x-amz-acl": "bucket-owner-full-control"},
                **source,
            },
        })
    else:
        resources = write["Resource"] if isinstance(write["Resource"], list) else [write["Resource"]]
        if write_resource not in resources:
            write["Resource"] = [*resources, write_resource]

    if _statement(statements, "AWSLogDeliveryAclCheck") is None:
        statements.append({
            "Sid": "AWSLogDeliveryAclCheck",
            "Effect": "Allow",
            "Principal": DELIVERY_PRINCIPAL,
            "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}, **source},
        })
    return policy


def _statement(statements: list[dict[str, Any]], sid: str) -> dict[str, Any] | None:
    return next((s for s in statements if s.get("Sid") == sid), None)


# --- CloudWatch Logs delivery role -------------------------------------------------------------

def delivery_role_error(account_id: str, role_arn: str | None) -> str | None:
    """The DeliverLogsErrorMessage AWS reports for this delivery role, or None if delivery may run."""
    if not role_arn:
        return ACCESS_ERROR
    try:
        role = backends.iam(account_id).get_role_by_arn(role_arn)
    except NotFoundException:
        return ACCESS_ERROR
    trust = json.loads(role.assume_role_policy_document or "{}")
    return None if trusts_flow_logs(trust) else ACCESS_ERROR


def trusts_flow_logs(trust_policy: dict[str, Any]) -> bool:
    statements = trust_policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        principals = statement.get("Principal", {}).get("Service", [])
        principals = principals if isinstance(principals, list) else [principals]
        if (statement.get("Effect") == "Allow" and FLOW_LOGS_SERVICE in principals
                and ("sts:AssumeRole" in actions or "sts:*" in actions)):
            return True
    return False
