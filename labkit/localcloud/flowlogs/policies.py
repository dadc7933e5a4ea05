"""The IAM policies of flow-log delivery: the statements AWS adds to a destination bucket's policy, and
the trust a CloudWatch Logs delivery role needs. Pure: policies in, policies out."""

from __future__ import annotations

from typing import Any

DELIVERY_PRINCIPAL = {"Service": "delivery.logs.amazonaws.com"}
FLOW_LOGS_SERVICE = "vpc-flow-logs.amazonaws.com"
NEW_POLICY_ID = "AWSLogDeliveryWrite20150319"


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
