"""The IAM policy a learner's user or role needs for the whole lab on AWS (`labkit aws policy`).

The statements below are the lab's permissions as data: every action the lab calls (tests/test_aws_policy.py
records the boto3 calls of a full local run and fails when one is missing here), plus the few AWS checks at
authorization time that no SDK call shows (NOT_RECORDED). Resources are the lab's own names, and what the lab
creates or changes in EC2 must carry its `labkit:lab` tag. The facts are in docs/aws-behaviour.md,
"Least-privilege policy".
"""

from __future__ import annotations

import json
from typing import Any

from .config import LAB_NAME, LAB_TAG, LabConfig

# The SDK's operation names that are not the IAM action's name (docs/aws-behaviour.md, "Least-privilege
# policy"): S3's, and STS's GetCallerIdentity, which needs no permission at all.
S3_ACTIONS = {
    "HeadBucket": "ListBucket", "ListObjectsV2": "ListBucket", "ListObjects": "ListBucket",
    "ListObjectVersions": "ListBucketVersions", "ListMultipartUploads": "ListBucketMultipartUploads",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock", "DeleteObjects": "DeleteObject", "HeadObject": "GetObject",
}
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}
IAM_PREFIXES = {"resourcegroupstaggingapi": "tag"}  # by boto3's service name, where the two differ

# Actions the lab needs that a recording of its boto3 calls does not show, and why: AWS authorizes them as
# part of another call, or the lab calls them only when AWS is in a state a local run does not reach.
NOT_RECORDED = {
    "ec2:CreateTags": "TagSpecifications on a Create* or RunInstances call",
    "iam:TagRole": "CreateRole with Tags",
    "iam:PassRole": "CreateFlowLogs with DeliverLogsPermissionArn",
    "logs:TagResource": "CreateLogGroup with tags",
    "logs:CreateLogDelivery": "CreateFlowLogs to S3",
    "logs:DeleteLogDelivery": "DeleteFlowLogs of a flow log to S3",
    "s3:PutBucketPolicy": "CreateFlowLogs to S3 adds the log-delivery statements to the bucket policy",
    "cloudwatch:TagResource": "PutMetricAlarm with Tags",
    "sns:TagResource": "CreateTopic with Tags",
    "athena:TagResource": "CreateWorkGroup with Tags",
    "glue:TagResource": "CreateDatabase with Tags",
    "glue:CreateTable": "Athena's CREATE EXTERNAL TABLE",
    "glue:BatchCreatePartition": "Athena's ALTER TABLE ADD PARTITION",
    "glue:GetPartitions": "Athena's queries over a partitioned table, SHOW PARTITIONS",
    "s3:GetBucketLocation": "Athena reading the flow-log files and writing its results",
    "s3:PutObject": "Athena writing its results to the lab's bucket",
    "s3:DeleteObjectVersion": "DeleteObjects with VersionId (teardown empties the bucket version by version)",
    "s3:AbortMultipartUpload": "teardown of a bucket that holds an unfinished upload",
    "ec2:RevokeSecurityGroupIngress": "a security group found with other rules than the notebook's",
}

# What the lab creates in EC2: tagged at creation (aws:RequestTag), and only then changed (aws:ResourceTag).
EC2_TAGGED = ("vpc", "subnet", "security-group", "internet-gateway", "route-table", "instance", "volume",
              "vpc-flow-log")
EC2_CREATE = ["ec2:CreateVpc", "ec2:CreateSubnet", "ec2:CreateSecurityGroup", "ec2:CreateInternetGateway",
              "ec2:CreateRouteTable", "ec2:RunInstances", "ec2:CreateFlowLogs"]


def policy(config: LabConfig, account_id: str = "*") -> dict[str, Any]:
    """The identity policy for `config`'s names and region (region `*` for every region, `name_prefix` `*`
    for every learner's: an instructor's sweep), in `account_id` (`*`: any)."""
    region, account = config.region, account_id
    name = config.name if config.name_prefix != "*" else (lambda base: f"*{base}")
    ec2 = f"arn:aws:ec2:{region}:{account}"
    lab_tag = {LAB_TAG: LAB_NAME}
    role = f"arn:aws:iam::{account}:role/{name(config.role_base)}"
    bucket = f"arn:aws:s3:::{name(config.bucket_base)}-*"
    log_group = f"arn:aws:logs:{region}:{account}:log-group:{name(config.log_group_base)}"
    databases = [name(config.database_base).replace("-", "_"), "default"]
    glue = f"arn:aws:glue:{region}:{account}"
    statements = [
        _statement("Read", "*", [
            "ec2:DescribeAvailabilityZones", "ec2:DescribeFlowLogs", "ec2:DescribeInstances",
            "ec2:DescribeInternetGateways", "ec2:DescribeNetworkAcls", "ec2:DescribeRegions",
            "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
            "logs:DescribeLogGroups", "logs:GetQueryResults", "logs:TestMetricFilter",
            "logs:DescribeQueries",  # labkit progress
            "cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData", "sns:ListTopics",
            "athena:ListWorkGroups", "tag:GetResources", "iam:ListRoles", "logs:CreateLogDelivery", "logs:DeleteLogDelivery"]),
        _statement("Ec2Create", [f"{ec2}:{kind}/*" for kind in EC2_TAGGED], EC2_CREATE,
                   {"StringEquals": {f"aws:RequestTag/{key}": value for key, value in lab_tag.items()}}),
        _statement("Ec2Tag", f"{ec2}:*", ["ec2:CreateTags"],
                   {"StringEquals": {"ec2:CreateAction": [action.split(":")[1] for action in EC2_CREATE]}}),
        _statement("Ec2Change", f"{ec2}:*", [
            "ec2:CreateSubnet", "ec2:CreateSecurityGroup", "ec2:CreateRouteTable", "ec2:CreateFlowLogs",
            "ec2:RunInstances", "ec2:ModifySubnetAttribute", "ec2:AttachInternetGateway",
            "ec2:DetachInternetGateway", "ec2:CreateRoute", "ec2:AssociateRouteTable", "ec2:DisassociateRouteTable",
            "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:ModifyInstanceAttribute",
            "ec2:TerminateInstances", "ec2:DeleteFlowLogs", "ec2:DeleteSecurityGroup", "ec2:DeleteRouteTable",
            "ec2:DeleteInternetGateway", "ec2:DeleteSubnet", "ec2:DeleteVpc"],
            {"StringEquals": {f"aws:ResourceTag/{key}": value for key, value in lab_tag.items()}}),
        # AWS makes these without the lab's tags: the server's network interface, the VPC's default ACL
        # (Part 2's ACL exercise), and the AMI and key pair are not the lab's.
        _statement("Ec2Other", [f"{ec2}:network-interface/*", f"arn:aws:ec2:{region}::image/*",
                                   f"{ec2}:key-pair/*"], ["ec2:RunInstances"]),
        _statement("Acl", f"{ec2}:network-acl/*",
                   ["ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAclEntry"]),
        _statement("Ami", f"arn:aws:ssm:{region}::parameter/aws/service/ami-amazon-linux-latest/*",
                   ["ssm:GetParameter"]),
        _statement("Role", role, [
            "iam:GetRole", "iam:CreateRole", "iam:TagRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy",
            "iam:ListRolePolicies", "iam:DeleteRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRoleTags",
            "iam:DeleteRole"]),
        _statement("PassRole", role, ["iam:PassRole"],
                   {"StringEquals": {"iam:PassedToService": "vpc-flow-logs.amazonaws.com"}}),
        _statement("Bucket", bucket, [
            "s3:CreateBucket", "s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads",
            "s3:GetBucketTagging", "s3:PutBucketTagging", "s3:PutBucketPublicAccessBlock", "s3:GetBucketPolicy",
            "s3:PutBucketPolicy", "s3:GetBucketLocation", "s3:DeleteBucket"]),
        _statement("Objects", f"{bucket}/*", [
            "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload"]),
        # One pattern for the group's two ARN forms (`...:log-group:NAME` for tagging, `NAME:*` for the rest):
        # two ARNs would not fit a 20-character name_prefix into a managed policy's quota.
        _statement("Logs", f"{log_group}*", [
            "logs:CreateLogGroup", "logs:TagResource", "logs:PutRetentionPolicy", "logs:ListTagsLogGroup",
            "logs:DescribeLogStreams", "logs:FilterLogEvents",
            "logs:PutMetricFilter", "logs:DescribeMetricFilters", "logs:DeleteMetricFilter", "logs:StartQuery",
            "logs:DeleteLogGroup"]),
        _statement("Alarm", f"arn:aws:cloudwatch:{region}:{account}:alarm:{name(config.alarm_base)}", [
            "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:ListTagsForResource",
            "cloudwatch:DescribeAlarmHistory", "cloudwatch:DeleteAlarms"]),
        _statement("Topic", f"arn:aws:sns:{region}:{account}:{name(config.topic_base)}", [
            "sns:CreateTopic", "sns:TagResource", "sns:ListTagsForResource", "sns:GetTopicAttributes",
            "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:GetSubscriptionAttributes", "sns:Unsubscribe",
            "sns:DeleteTopic"]),
        _statement("Athena", f"arn:aws:athena:{region}:{account}:workgroup/{name(config.work_group_base)}", [
            "athena:CreateWorkGroup", "athena:TagResource", "athena:ListTagsForResource",
            "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
            "athena:DeleteWorkGroup",
            "athena:ListQueryExecutions", "athena:BatchGetQueryExecution"]),  # labkit progress
        _statement("Glue", [f"{glue}:catalog", *(f"{glue}:database/{db}" for db in databases),
                               *(f"{glue}:table/{db}/*" for db in databases)], [
            "glue:GetDatabase", "glue:CreateDatabase", "glue:TagResource", "glue:GetTags", "glue:GetTable",
            "glue:GetTables", "glue:CreateTable", "glue:UpdateTable", "glue:GetPartition", "glue:GetPartitions",
            "glue:BatchCreatePartition", "glue:DeleteTable", "glue:DeleteDatabase"]),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def _statement(sid: str, resource: str | list[str], actions: list[str],
               condition: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource,
            **({"Condition": condition} if condition else {})}


def iam_action(service: str, operation: str) -> str | None:
    """The IAM action an SDK call needs (`s3`, `HeadBucket` -> `s3:ListBucket`); None if it needs none."""
    prefix = IAM_PREFIXES.get(service, service)
    action = f"{prefix}:{S3_ACTIONS.get(operation, operation) if service == 's3' else operation}"
    return None if action in NEEDS_NO_PERMISSION else action


def actions(document: dict[str, Any]) -> set[str]:
    """Every action the policy allows (somewhere)."""
    return {action for statement in document["Statement"] for action in statement["Action"]}


def size(document: dict[str, Any]) -> int:
    """The policy's size as IAM counts it against its quota: the JSON without white space."""
    return len(json.dumps(document, separators=(",", ":")))


def text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2)
