"""Remove everything the lab created, in dependency order, and verify each removal with the
service that owns the resource.

Only resources that carry this lab run's tags are touched. Each kind of resource knows how to find
the lab's instances, delete one, and tell whether it still exists. Later parts of the lab add their
kinds to `KINDS`, in the place their dependencies require.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd
from botocore.exceptions import ClientError

from . import analysis
from .session import Lab
from .waiting import wait_for

VERIFY_TIMEOUT_S = 60.0


class ResourceKind(Protocol):
    label: str

    def find(self, lab: Lab) -> list[str]: ...

    def delete(self, lab: Lab, resource_id: str) -> None: ...

    def exists(self, lab: Lab, resource_id: str) -> bool: ...


def _error_code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


class Instances:
    label = "EC2 instance"

    def find(self, lab: Lab) -> list[str]:
        reservations = lab.client("ec2").describe_instances(Filters=[
            *lab.config.ec2_filters(), {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}])
        return [i["InstanceId"] for r in reservations["Reservations"] for i in r["Instances"]]

    def delete(self, lab: Lab, resource_id: str) -> None:
        ec2 = lab.client("ec2")
        ec2.terminate_instances(InstanceIds=[resource_id])
        ec2.get_waiter("instance_terminated").wait(InstanceIds=[resource_id])

    def exists(self, lab: Lab, resource_id: str) -> bool:
        reservations = lab.client("ec2").describe_instances(InstanceIds=[resource_id])["Reservations"]
        return any(i["State"]["Name"] != "terminated" for r in reservations for i in r["Instances"])


class FlowLogs:
    label = "flow log"

    def find(self, lab: Lab) -> list[str]:
        flow_logs = lab.client("ec2").describe_flow_logs(Filter=lab.config.ec2_filters())["FlowLogs"]
        return [fl["FlowLogId"] for fl in flow_logs]

    def delete(self, lab: Lab, resource_id: str) -> None:
        lab.client("ec2").delete_flow_logs(FlowLogIds=[resource_id])

    def exists(self, lab: Lab, resource_id: str) -> bool:
        return bool(lab.client("ec2").describe_flow_logs(FlowLogIds=[resource_id])["FlowLogs"])


class LogGroups:
    label = "log group"

    def find(self, lab: Lab) -> list[str]:
        logs = lab.client("logs")
        name = lab.config.log_group
        groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        return [g["logGroupName"] for g in groups
                if g["logGroupName"] == name and lab.config.is_ours(logs.list_tags_log_group(logGroupName=name)["tags"])]

    def delete(self, lab: Lab, resource_id: str) -> None:
        lab.client("logs").delete_log_group(logGroupName=resource_id)

    def exists(self, lab: Lab, resource_id: str) -> bool:
        groups = lab.client("logs").describe_log_groups(logGroupNamePrefix=resource_id)["logGroups"]
        return any(g["logGroupName"] == resource_id for g in groups)


class Roles:
    label = "IAM role"

    def find(self, lab: Lab) -> list[str]:
        try:
            role = lab.client("iam").get_role(RoleName=lab.config.role_name)["Role"]
        except ClientError as error:
            if _error_code(error) == "NoSuchEntity":
                return []
            raise
        return [role["RoleName"]] if lab.config.is_ours(role.get("Tags")) else []

    def delete(self, lab: Lab, resource_id: str) -> None:
        iam = lab.client("iam")
        for policy_name in iam.list_role_policies(RoleName=resource_id)["PolicyNames"]:
            iam.delete_role_policy(RoleName=resource_id, PolicyName=policy_name)
        for policy in iam.list_attached_role_policies(RoleName=resource_id)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=resource_id, PolicyArn=policy["PolicyArn"])
        iam.delete_role(RoleName=resource_id)

    def exists(self, lab: Lab, resource_id: str) -> bool:
        try:
            lab.client("iam").get_role(RoleName=resource_id)
            return True
        except ClientError as error:
            if _error_code(error) == "NoSuchEntity":
                return False
            raise


class Buckets:
    label = "S3 bucket"

    def find(self, lab: Lab) -> list[str]:
        s3, name = lab.client("s3"), lab.bucket
        try:
            tags = s3.get_bucket_tagging(Bucket=name)["TagSet"]
        except ClientError as error:
            if _error_code(error) in ("NoSuchBucket", "NoSuchTagSet", "404"):
                return []
            raise
        return [name] if lab.config.is_ours(tags) else []

    def delete(self, lab: Lab, resource_id: str) -> None:
        s3 = lab.client("s3")
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=resource_id):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            for start in range(0, len(doomed), 1000):
                s3.delete_objects(Bucket=resource_id, Delete={"Objects": doomed[start:start + 1000], "Quiet": True})
        for upload in s3.list_multipart_uploads(Bucket=resource_id).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=resource_id, Key=upload["Key"], UploadId=upload["UploadId"])
        s3.delete_bucket(Bucket=resource_id)

    def exists(self, lab: Lab, resource_id: str) -> bool:
        try:
            lab.client("s3").head_bucket(Bucket=resource_id)
            return True
        except ClientError as error:
            if _error_code(error) in ("404", "NoSuchBucket"):
                return False
            raise


class _TaggedEc2:
    """An EC2 resource kind found by the lab's tags with a Describe* call."""

    label: str
    describe: str  # e.g. "describe_subnets"
    listing: str  # e.g. "Subnets"
    id_key: str  # e.g. "SubnetId"
    not_found: str  # e.g. "InvalidSubnetID.NotFound"

    def _describe(self, lab: Lab, **kwargs: Any) -> list[dict[str, Any]]:
        return getattr(lab.client("ec2"), self.describe)(**kwargs)[self.listing]

    def find(self, lab: Lab) -> list[str]:
        return [item[self.id_key] for item in self._describe(lab, Filters=lab.config.ec2_filters())]

    def exists(self, lab: Lab, resource_id: str) -> bool:
        try:
            return bool(self._describe(lab, **{f"{self.id_key}s": [resource_id]}))
        except ClientError as error:
            if _error_code(error) == self.not_found:
                return False
            raise


class SecurityGroups(_TaggedEc2):
    label, describe, listing, id_key, not_found = (
        "security group", "describe_security_groups", "SecurityGroups", "GroupId", "InvalidGroup.NotFound")

    def delete(self, lab: Lab, resource_id: str) -> None:
        lab.client("ec2").delete_security_group(GroupId=resource_id)


class RouteTables(_TaggedEc2):
    label, describe, listing, id_key, not_found = (
        "route table", "describe_route_tables", "RouteTables", "RouteTableId", "InvalidRouteTableID.NotFound")

    def delete(self, lab: Lab, resource_id: str) -> None:
        ec2 = lab.client("ec2")
        table = ec2.describe_route_tables(RouteTableIds=[resource_id])["RouteTables"][0]
        for association in table.get("Associations", []):
            if not association.get("Main"):
                ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
        ec2.delete_route_table(RouteTableId=resource_id)


class InternetGateways(_TaggedEc2):
    label, describe, listing, id_key, not_found = (
        "internet gateway", "describe_internet_gateways", "InternetGateways", "InternetGatewayId",
        "InvalidInternetGatewayID.NotFound")

    def delete(self, lab: Lab, resource_id: str) -> None:
        ec2 = lab.client("ec2")
        gateway = ec2.describe_internet_gateways(InternetGatewayIds=[resource_id])["InternetGateways"][0]
        for attachment in gateway.get("Attachments", []):
            ec2.detach_internet_gateway(InternetGatewayId=resource_id, VpcId=attachment["VpcId"])
        ec2.delete_internet_gateway(InternetGatewayId=resource_id)


class Subnets(_TaggedEc2):
    label, describe, listing, id_key, not_found = (
        "subnet", "describe_subnets", "Subnets", "SubnetId", "InvalidSubnetID.NotFound")

    def delete(self, lab: Lab, resource_id: str) -> None:
        lab.client("ec2").delete_subnet(SubnetId=resource_id)


class Vpcs(_TaggedEc2):
    label, describe, listing, id_key, not_found = ("VPC", "describe_vpcs", "Vpcs", "VpcId", "InvalidVpcID.NotFound")

    def delete(self, lab: Lab, resource_id: str) -> None:
        lab.client("ec2").delete_vpc(VpcId=resource_id)


class Alarms:
    label = "CloudWatch alarm"

    def find(self, lab: Lab) -> list[str]:
        cloudwatch = lab.client("cloudwatch")
        names = []
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
            for alarm in page["MetricAlarms"]:
                if lab.config.is_ours(cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]):
                    names.append(alarm["AlarmName"])
        return names

    def delete(self, lab: Lab, resource_id: str) -> None:
        lab.client("cloudwatch").delete_alarms(AlarmNames=[resource_id])

    def exists(self, lab: Lab, resource_id: str) -> bool:
        return bool(lab.client("cloudwatch").describe_alarms(AlarmNames=[resource_id])["MetricAlarms"])


class MetricFilters:
    """The metric filters of the lab's log groups, as `log-group:filter-name` (neither may hold a colon)."""

    label = "metric filter"

    def find(self, lab: Lab) -> list[str]:
        return [f"{group}:{f['filterName']}" for group in LogGroups().find(lab) for f in self._filters(lab, group)]

    def delete(self, lab: Lab, resource_id: str) -> None:
        group, name = resource_id.rsplit(":", 1)
        lab.client("logs").delete_metric_filter(logGroupName=group, filterName=name)

    def exists(self, lab: Lab, resource_id: str) -> bool:
        group, name = resource_id.rsplit(":", 1)
        return any(f["filterName"] == name for f in self._filters(lab, group))

    def _filters(self, lab: Lab, group: str) -> list[dict[str, Any]]:
        try:
            return lab.client("logs").describe_metric_filters(logGroupName=group)["metricFilters"]
        except ClientError as error:
            if _error_code(error) == "ResourceNotFoundException":
                return []
            raise


class SnsTopics:
    label = "SNS topic"

    def find(self, lab: Lab) -> list[str]:
        sns = lab.client("sns")
        return [topic["TopicArn"] for page in sns.get_paginator("list_topics").paginate() for topic in page["Topics"]
                if lab.config.is_ours(sns.list_tags_for_resource(ResourceArn=topic["TopicArn"])["Tags"])]

    def delete(self, lab: Lab, resource_id: str) -> None:
        lab.client("sns").delete_topic(TopicArn=resource_id)  # pending subscriptions go with it

    def exists(self, lab: Lab, resource_id: str) -> bool:
        try:
            lab.client("sns").get_topic_attributes(TopicArn=resource_id)
            return True
        except ClientError as error:
            if _error_code(error) in ("NotFound", "NotFoundException"):
                return False
            raise


class SnsSubscriptions:
    """Confirmed subscriptions of the lab's topics (a pending one cannot be removed; it goes with its topic)."""

    label = "SNS subscription"

    def find(self, lab: Lab) -> list[str]:
        sns = lab.client("sns")
        return [subscription["SubscriptionArn"] for topic in SnsTopics().find(lab)
                for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic)
                for subscription in page["Subscriptions"] if subscription["SubscriptionArn"].startswith("arn:")]

    def delete(self, lab: Lab, resource_id: str) -> None:
        lab.client("sns").unsubscribe(SubscriptionArn=resource_id)

    def exists(self, lab: Lab, resource_id: str) -> bool:
        try:
            lab.client("sns").get_subscription_attributes(SubscriptionArn=resource_id)
            return True
        except ClientError as error:
            if _error_code(error) in ("NotFound", "NotFoundException"):
                return False
            raise


class AthenaTables:
    """The tables of the lab's Glue database, and those it claimed in `default` (the walkthrough's), as
    `database.table`. The `default` database itself belongs to the account and stays."""

    label = "Athena table"

    def find(self, lab: Lab) -> list[str]:
        own = [f"{database}.{table['Name']}" for database in GlueDatabases().find(lab)
               for page in lab.client("glue").get_paginator("get_tables").paginate(DatabaseName=database)
               for table in page["TableList"]]
        claimed = analysis.claimed_tables(lab, analysis.WALKTHROUGH_DATABASE)
        return own + [f"{analysis.WALKTHROUGH_DATABASE}.{name}" for name in claimed]

    def delete(self, lab: Lab, resource_id: str) -> None:
        database, name = resource_id.split(".", 1)
        lab.client("glue").delete_table(DatabaseName=database, Name=name)  # its partitions go with it

    def exists(self, lab: Lab, resource_id: str) -> bool:
        database, name = resource_id.split(".", 1)
        try:
            lab.client("glue").get_table(DatabaseName=database, Name=name)
            return True
        except ClientError as error:
            if _error_code(error) == "EntityNotFoundException":
                return False
            raise


class GlueDatabases:
    label = "Glue database"
    # Every account and region has it from the start (Athena's and pyathena's default schema): never the
    # lab's to remove, nor the tables others keep in it, whatever tags it was given.
    ACCOUNT_DEFAULT = "default"

    def find(self, lab: Lab) -> list[str]:
        name = lab.config.database_name
        if name == self.ACCOUNT_DEFAULT:
            return []
        return [name] if self.exists(lab, name) and analysis.lab_owns_database(lab, name) else []

    def delete(self, lab: Lab, resource_id: str) -> None:
        lab.client("glue").delete_database(Name=resource_id)

    def exists(self, lab: Lab, resource_id: str) -> bool:
        try:
            lab.client("glue").get_database(Name=resource_id)
            return True
        except ClientError as error:
            if _error_code(error) == "EntityNotFoundException":
                return False
            raise


class AthenaWorkGroups:
    label = "Athena work group"

    def find(self, lab: Lab) -> list[str]:
        work_group = analysis.lab_work_group(lab)
        return [work_group] if work_group else []

    def delete(self, lab: Lab, resource_id: str) -> None:
        lab.client("athena").delete_work_group(WorkGroup=resource_id, RecursiveDeleteOption=True)

    def exists(self, lab: Lab, resource_id: str) -> bool:
        return resource_id in analysis.work_group_names(lab.client("athena"))


class AthenaQueryResults:
    """The result files of the lab's queries: one `s3://` folder in the lab's bucket."""

    label = "Athena query results"

    def find(self, lab: Lab) -> list[str]:
        folder = analysis.results_location(lab)
        return [folder] if Buckets().find(lab) and self.exists(lab, folder) else []

    def delete(self, lab: Lab, resource_id: str) -> None:
        bucket, prefix = resource_id.removeprefix("s3://").split("/", 1)
        s3 = lab.client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            doomed = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if doomed:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})

    def exists(self, lab: Lab, resource_id: str) -> bool:
        bucket, prefix = resource_id.removeprefix("s3://").split("/", 1)
        return bool(lab.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount"))


# Dependency order: what delivers into or lives inside a resource goes before it.
KINDS: list[ResourceKind] = [
    Instances(),  # first: an instance holds ENIs in the subnet and uses the security groups
    Alarms(), MetricFilters(),  # an alarm watches the filter's metric and notifies the topic
    SnsSubscriptions(), SnsTopics(),
    AthenaTables(), GlueDatabases(), AthenaWorkGroups(), AthenaQueryResults(),  # results live in the bucket
    FlowLogs(), LogGroups(), Roles(), Buckets(),
    SecurityGroups(), RouteTables(), InternetGateways(), Subnets(),
    Vpcs(),  # last: everything above lives in it
]


@dataclass
class Removal:
    kind: str
    resource_id: str
    status: str  # "removed", or what went wrong


def teardown(lab: Lab, kinds: list[ResourceKind] | None = None) -> list[Removal]:
    """Delete the lab run's resources kind by kind; each deletion is verified before the next kind."""
    removals = []
    for kind in KINDS if kinds is None else kinds:
        for resource_id in kind.find(lab):
            removals.append(Removal(kind.label, resource_id, remove(lab, kind, resource_id)))
    return removals


def remove(lab: Lab, kind: ResourceKind, resource_id: str) -> str:
    """Delete one resource and wait until it is gone: "removed", or what went wrong."""
    try:
        kind.delete(lab, resource_id)
    except ClientError as error:
        return f"not removed: {_error_code(error)}: {error.response['Error'].get('Message', '')}"
    try:
        wait_for(lambda: kind.exists(lab, resource_id), lambda exists: not exists, timeout_s=VERIFY_TIMEOUT_S,
                 poll_s=1, what="still present")
    except TimeoutError as late:
        return str(late)
    return "removed"


def outcome(removals: list[Removal]) -> str:
    """What teardown did, in one sentence: a run with nothing to remove says so, never "ok"."""
    if not removals:
        return "Nothing of this lab run was found: there was nothing to remove."
    failed = [r for r in removals if r.status != "removed"]
    if failed:
        return f"Removed {len(removals) - len(failed)} of {len(removals)} resources; not removed: " + ", ".join(
            f"{r.kind} {r.resource_id} ({r.status})" for r in failed)
    return f"Removed {len(removals)} resources of this lab run, each confirmed gone."


def report(removals: list[Removal]) -> pd.DataFrame:
    return pd.DataFrame([vars(r) for r in removals], columns=["kind", "resource_id", "status"])


def remaining(lab: Lab, kinds: list[ResourceKind] | None = None) -> dict[str, list[str]]:
    """What of the lab run still exists, per kind (empty after a complete teardown)."""
    return {kind.label: found for kind in (KINDS if kinds is None else kinds) if (found := kind.find(lab))}

