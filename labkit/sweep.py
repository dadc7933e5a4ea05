"""`labkit teardown --target aws --sweep`: the lab's leftovers in every region of the account, found by tag
(the Resource Groups Tagging API's GetResources, and IAM's role tags: IAM is global), with what cannot carry
a tag (a role's inline policies, the bucket policy statements flow logs added, metric filters, email
subscriptions, Athena tables) found through the tagged resource that holds it. Removal reuses teardown's
kinds, in teardown's dependency order, region by region, IAM last (docs/aws-behaviour.md, "Sweeping an account").
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from . import analysis, teardown
from .config import LAB_NAME, LAB_TAG, RUN_ID_TAG, SELF_DESTRUCT_MINUTES
from .session import Lab

GLOBAL = "global"  # IAM's region in the listing
# The statements AWS adds to a bucket policy for flow-log delivery (docs/aws-behaviour.md, "Bucket policy AWS adds").
DELIVERY_STATEMENTS = ("AWSLogDeliveryWrite", "AWSLogDeliveryAclCheck")
_KINDS = {kind.label: kind for kind in teardown.KINDS}


@dataclass(frozen=True)
class Leftover:
    region: str
    kind: str  # a teardown kind's label, or what goes with one (`removed_with`)
    resource_id: str  # as that teardown kind names it
    run_id: str
    note: str = ""
    removed_with: str = ""  # the kind of the resource that takes it along when it goes


def find(lab: Lab, run_id: str | None = None) -> list[Leftover]:
    """Every resource of the lab (of `run_id` only, if given) in the account's enabled regions and in IAM."""
    regions = sorted(r["RegionName"] for r in lab.client("ec2").describe_regions()["Regions"])
    leftovers: list[Leftover] = []
    seen: set[str] = set()  # S3 lists a bucket in every region: it is listed in its own
    for region in regions:
        regional = in_region(lab, region)
        for arn, tags in _tagged(regional, run_id):
            if arn not in seen:
                seen.add(arn)
                leftovers += _from_arn(regional, arn, tags[RUN_ID_TAG])
        leftovers += _claimed_tables(regional, run_id)
    return leftovers + list(_roles(lab, run_id))


def remove(lab: Lab, leftovers: list[Leftover]) -> list[tuple[Leftover, teardown.Removal]]:
    """Remove the leftovers in teardown's order, each verified gone; what goes with its parent is not
    removed on its own."""
    removable = [item for item in leftovers if not item.removed_with]
    regions = sorted({item.region for item in removable} - {GLOBAL}) + [GLOBAL]
    results = []
    for region in regions:
        regional = in_region(lab, region if region != GLOBAL else lab.region)
        for kind in teardown.KINDS:
            for item in (i for i in removable if i.region == region and i.kind == kind.label):
                results.append((item, teardown.Removal(kind.label, item.resource_id,
                                                       teardown.remove(regional, kind, item.resource_id))))
    return results


def in_region(lab: Lab, region: str) -> Lab:
    """The same account and session, in another region (the session's clients take the lab's region)."""
    return dataclasses.replace(lab, config=dataclasses.replace(lab.config, region=region))


def _tagged(lab: Lab, run_id: str | None) -> Iterator[tuple[str, dict[str, str]]]:
    filters = [{"Key": LAB_TAG, "Values": [LAB_NAME]}] + ([{"Key": RUN_ID_TAG, "Values": [run_id]}] if run_id else [])
    for page in lab.client("resourcegroupstaggingapi").get_paginator("get_resources").paginate(TagFilters=filters):
        for resource in page["ResourceTagMappingList"]:
            yield resource["ResourceARN"], {t["Key"]: t["Value"] for t in resource["Tags"]}


# EC2's resource types in ARNs, by teardown kind ("flow-logs" is moto's spelling of "vpc-flow-log").
_EC2 = {"instance": "EC2 instance", "vpc-flow-log": "flow log", "flow-logs": "flow log", "security-group":
        "security group", "route-table": "route table", "internet-gateway": "internet gateway", "subnet": "subnet",
        "vpc": "VPC"}


def _from_arn(lab: Lab, arn: str, run_id: str) -> list[Leftover]:
    """The resource an ARN names, if it still exists (GetResources also lists resources deleted a while ago),
    and what it holds that carries no tag. [] for what goes with another resource (an instance's volume and
    network interface)."""
    named = _named(arn)
    if named is None:
        return []
    kind, resource_id = named
    region = _bucket_region(lab, resource_id) if kind == "S3 bucket" else lab.region
    if not _KINDS[kind].exists(lab, resource_id):
        return []
    return [Leftover(region, kind, resource_id, run_id, _note(lab, kind, resource_id)),
            *(Leftover(region, held_kind, held_id, run_id, removed_with=with_kind)
              for held_kind, held_id, with_kind in _held(lab, kind, resource_id))]


def _named(arn: str) -> tuple[str, str] | None:
    """(teardown kind, resource id as that kind names it) of an ARN of the lab's."""
    service, rest = arn.split(":")[2], arn.split(":", 5)[5]
    if service == "ec2":
        kind, resource_id = rest.split("/", 1)
        return (_EC2[kind], resource_id) if kind in _EC2 else None
    names = {"logs": ("log group", rest.removeprefix("log-group:").removesuffix(":*")),
             "cloudwatch": ("CloudWatch alarm", rest.removeprefix("alarm:")),
             "sns": ("SNS topic", arn),
             "athena": ("Athena work group", rest.removeprefix("workgroup/")),
             "glue": ("Glue database", rest.removeprefix("database/")) if rest.startswith("database/") else None,
             "s3": ("S3 bucket", rest)}
    return names.get(service)


def _held(lab: Lab, kind: str, resource_id: str) -> list[tuple[str, str, str]]:
    """What the resource holds that takes no tag: (kind, id, the kind that takes it along or "")."""
    if kind == "log group":
        filters = lab.client("logs").describe_metric_filters(logGroupName=resource_id)["metricFilters"]
        return [("metric filter", f"{resource_id}:{f['filterName']}", "") for f in filters]
    if kind == "SNS topic":
        return [("SNS subscription", arn, "") for arn in _subscriptions(lab, resource_id)]
    if kind == "Glue database":
        pages = lab.client("glue").get_paginator("get_tables").paginate(DatabaseName=resource_id)
        return [("Athena table", f"{resource_id}.{t['Name']}", "") for page in pages for t in page["TableList"]]
    if kind == "S3 bucket":
        return [("bucket policy statement", f"{resource_id}:{sid}", "S3 bucket")
                for sid in _delivery_statements(lab, resource_id)]
    return []


def _note(lab: Lab, kind: str, resource_id: str) -> str:
    """A server's state and the deadline of its self-destruct timer (`shutdown -h` after boot)."""
    if kind != "EC2 instance":
        return ""
    instance = lab.client("ec2").describe_instances(InstanceIds=[resource_id])["Reservations"][0]["Instances"][0]
    deadline: datetime = instance["LaunchTime"] + timedelta(minutes=SELF_DESTRUCT_MINUTES)
    return f"{instance['State']['Name']}; terminates itself by {deadline:%Y-%m-%d %H:%M} UTC"


def _subscriptions(lab: Lab, topic_arn: str) -> list[str]:
    """The topic's confirmed subscriptions (a pending one has no ARN and goes with its topic)."""
    pages = lab.client("sns").get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
    return [s["SubscriptionArn"] for page in pages for s in page["Subscriptions"] if s["SubscriptionArn"].startswith("arn:")]


def _bucket_region(lab: Lab, bucket: str) -> str:
    try:
        return lab.client("s3").get_bucket_location(Bucket=bucket)["LocationConstraint"] or "us-east-1"
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchBucket":
            return lab.region  # gone: `exists` says so next
        raise


def _delivery_statements(lab: Lab, bucket: str) -> list[str]:
    try:
        statements = json.loads(lab.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchBucketPolicy":
            raise
        return []
    return [s["Sid"] for s in statements if s.get("Sid") in DELIVERY_STATEMENTS]


def _claimed_tables(lab: Lab, run_id: str | None) -> list[Leftover]:
    """The walkthrough's tables the lab made in the account's `default` database (Glue tables take no tags:
    the lab marks them in their parameters)."""
    try:
        pages = list(lab.client("glue").get_paginator("get_tables").paginate(DatabaseName=analysis.WALKTHROUGH_DATABASE))
    except ClientError as error:
        if error.response["Error"]["Code"] == "EntityNotFoundException":
            return []
        raise
    return [Leftover(lab.region, "Athena table", f"{analysis.WALKTHROUGH_DATABASE}.{t['Name']}",
                     t["Parameters"][RUN_ID_TAG])
            for page in pages for t in page["TableList"]
            if t.get("Parameters", {}).get(LAB_TAG) == LAB_NAME and run_id in (None, t["Parameters"].get(RUN_ID_TAG))]


def _roles(lab: Lab, run_id: str | None) -> Iterator[Leftover]:
    iam = lab.client("iam")
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role["RoleName"])["Tags"]}
            if tags.get(LAB_TAG) == LAB_NAME and run_id in (None, tags.get(RUN_ID_TAG)):
                yield Leftover(GLOBAL, "IAM role", role["RoleName"], tags[RUN_ID_TAG])
                for policy in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
                    yield Leftover(GLOBAL, "role inline policy", f"{role['RoleName']}/{policy}", tags[RUN_ID_TAG],
                                   removed_with="IAM role")
