"""What AWS does on CreateFlowLogs: the bucket policy it adds, and the delivery-role check."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from labkit.localcloud.flowlogs.policies import merged_log_delivery_policy, trusts_flow_logs

ACCOUNT, REGION, BUCKET = "123456789012", "us-east-1", "lab-flow-logs"
FLOW_LOGS_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def test_a_bucket_without_policy_gets_aws_policy_with_its_id():
    policy = merged_log_delivery_policy(None, BUCKET, "", ACCOUNT, REGION)
    assert policy == {
        "Version": "2012-10-17",
        "Id": "AWSLogDeliveryWrite20150319",
        "Statement": [
            {"Sid": "AWSLogDeliveryWrite", "Effect": "Allow",
             "Principal": {"Service": "delivery.logs.amazonaws.com"},
             "Action": "s3:PutObject",
             "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT}/*",
             "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT, "s3:x-amz-acl": "bucket-owner-full-control"},
                           "ArnLike": {"aws:SourceArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:*"}}},
            {"Sid": "AWSLogDeliveryAclCheck", "Effect": "Allow",
             "Principal": {"Service": "delivery.logs.amazonaws.com"},
             "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
             "Resource": f"arn:aws:s3:::{BUCKET}",
             "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                           "ArnLike": {"aws:SourceArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:*"}}},
        ],
    }


def test_statements_are_appended_to_an_existing_policy_which_keeps_its_id():
    existing = {"Version": "2012-10-17", "Id": "mine", "Statement": [
        {"Sid": "DenyHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": f"arn:aws:s3:::{BUCKET}/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    policy = merged_log_delivery_policy(existing, BUCKET, "", ACCOUNT, REGION)
    assert policy["Id"] == "mine"
    assert [s["Sid"] for s in policy["Statement"]] == ["DenyHttp", "AWSLogDeliveryWrite", "AWSLogDeliveryAclCheck"]
    assert policy["Statement"][0] == existing["Statement"][0]


def test_merging_twice_changes_nothing():
    once = merged_log_delivery_policy(None, BUCKET, "", ACCOUNT, REGION)
    assert merged_log_delivery_policy(once, BUCKET, "", ACCOUNT, REGION) == once


def test_a_second_folder_adds_its_resource_to_the_write_statement():
    once = merged_log_delivery_policy(None, BUCKET, "", ACCOUNT, REGION)
    twice = merged_log_delivery_policy(once, BUCKET, "team-a/", ACCOUNT, REGION)
    write = twice["Statement"][0]
    assert write["Resource"] == [f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT}/*",
                                 f"arn:aws:s3:::{BUCKET}/team-a/AWSLogs/{ACCOUNT}/*"]
    assert len(twice["Statement"]) == 2


def test_hive_compatible_prefixes_change_the_write_resource():
    policy = merged_log_delivery_policy(None, BUCKET, "", ACCOUNT, REGION, hive=True)
    assert policy["Statement"][0]["Resource"] == f"arn:aws:s3:::{BUCKET}/AWSLogs/aws-account-id={ACCOUNT}/*"


@pytest.mark.parametrize("trust, expected", [
    (FLOW_LOGS_TRUST, True),
    ({"Statement": [{"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com", "vpc-flow-logs.amazonaws.com"]},
                     "Action": ["sts:AssumeRole"]}]}, True),
    ({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}, False),
    ({"Statement": [{"Effect": "Deny", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}]}, False),
    ({"Statement": [{"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "s3:GetObject"}]}, False),
])
def test_trust_policy_must_let_flow_logs_assume_the_role(trust, expected):
    assert trusts_flow_logs(trust) is expected


# --- through boto3, against the local cloud ------------------------------------------------------

@pytest.fixture
def vpc_and_bucket(clients):
    ec2, s3 = clients("ec2"), clients("s3")
    vpc_id = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    bucket = f"policy-test-{vpc_id}"
    s3.create_bucket(Bucket=bucket)
    return vpc_id, bucket


def _s3_flow_log(ec2, vpc_id, destination):
    response = ec2.create_flow_logs(ResourceType="VPC", ResourceIds=[vpc_id], TrafficType="ALL",
                                    LogDestinationType="s3", LogDestination=destination)
    return response["FlowLogIds"][0]


def test_create_flow_logs_to_s3_adds_the_bucket_policy(clients, vpc_and_bucket):
    ec2, s3 = clients("ec2"), clients("s3")
    vpc_id, bucket = vpc_and_bucket
    _s3_flow_log(ec2, vpc_id, f"arn:aws:s3:::{bucket}")
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert policy == merged_log_delivery_policy(None, bucket, "", ACCOUNT, REGION)


def test_a_second_flow_log_to_the_bucket_does_not_duplicate_statements(clients, vpc_and_bucket):
    ec2, s3 = clients("ec2"), clients("s3")
    vpc_id, bucket = vpc_and_bucket
    _s3_flow_log(ec2, vpc_id, f"arn:aws:s3:::{bucket}")
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    ec2.create_flow_logs(ResourceType="Subnet", ResourceIds=[subnet], TrafficType="REJECT",
                         LogDestinationType="s3", LogDestination=f"arn:aws:s3:::{bucket}")
    statements = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["AWSLogDeliveryWrite", "AWSLogDeliveryAclCheck"]


def test_s3_flow_logs_report_their_destination_options(clients, vpc_and_bucket):
    ec2 = clients("ec2")
    vpc_id, bucket = vpc_and_bucket
    flow_log_id = ec2.create_flow_logs(
        ResourceType="VPC", ResourceIds=[vpc_id], TrafficType="ALL", LogDestinationType="s3",
        LogDestination=f"arn:aws:s3:::{bucket}/hive/",
        DestinationOptions={"FileFormat": "parquet", "HiveCompatiblePartitions": True, "PerHourPartition": False},
    )["FlowLogIds"][0]
    flow_log = ec2.describe_flow_logs(FlowLogIds=[flow_log_id])["FlowLogs"][0]
    assert flow_log["DestinationOptions"] == {"FileFormat": "parquet", "HiveCompatiblePartitions": True,
                                              "PerHourPartition": False}


def _cw_flow_log(ec2, vpc_id, role_arn, group="no-such-group-yet"):
    flow_log_id = ec2.create_flow_logs(ResourceType="VPC", ResourceIds=[vpc_id], TrafficType="ALL",
                                       LogDestinationType="cloud-watch-logs", LogGroupName=group,
                                       DeliverLogsPermissionArn=role_arn)["FlowLogIds"][0]
    return ec2.describe_flow_logs(FlowLogIds=[flow_log_id])["FlowLogs"][0]


def test_a_missing_delivery_role_reports_access_error(clients, vpc_and_bucket):
    flow_log = _cw_flow_log(clients("ec2"), vpc_and_bucket[0], f"arn:aws:iam::{ACCOUNT}:role/does-not-exist")
    assert (flow_log["DeliverLogsStatus"], flow_log["DeliverLogsErrorMessage"]) == ("FAILED", "Access error")
    assert flow_log["FlowLogStatus"] == "ACTIVE"


def test_a_role_that_does_not_trust_flow_logs_reports_access_error(clients, vpc_and_bucket):
    iam = clients("iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="ec2-only", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    flow_log = _cw_flow_log(clients("ec2"), vpc_and_bucket[0], role["Arn"])
    assert (flow_log["DeliverLogsStatus"], flow_log["DeliverLogsErrorMessage"]) == ("FAILED", "Access error")


def test_a_good_role_delivers_even_before_the_log_group_exists(clients, vpc_and_bucket):
    role = clients("iam").create_role(RoleName="flow-logs", AssumeRolePolicyDocument=json.dumps(FLOW_LOGS_TRUST))["Role"]
    flow_log = _cw_flow_log(clients("ec2"), vpc_and_bucket[0], role["Arn"], group="created-on-first-delivery")
    assert flow_log["DeliverLogsStatus"] == "SUCCESS"
    assert "DeliverLogsErrorMessage" not in flow_log


def test_a_log_format_with_an_unknown_field_is_refused_and_nothing_is_created(clients, vpc_and_bucket):
    ec2 = clients("ec2")
    vpc_id, bucket = vpc_and_bucket
    before = len(ec2.describe_flow_logs()["FlowLogs"])
    with pytest.raises(ClientError) as error:
        ec2.create_flow_logs(ResourceType="VPC", ResourceIds=[vpc_id], TrafficType="ALL", LogDestinationType="s3",
                             LogDestination=f"arn:aws:s3:::{bucket}", LogFormat="${version} ${srcaddr} ${no-such-field}")
    assert error.value.response["Error"]["Code"] == "InvalidParameter"
    assert len(ec2.describe_flow_logs()["FlowLogs"]) == before


def test_a_custom_log_format_is_kept(clients, vpc_and_bucket):
    ec2 = clients("ec2")
    vpc_id, bucket = vpc_and_bucket
    log_format = "${version} ${vpc-id} ${srcaddr} ${dstaddr} ${action} ${flow-direction}"
    flow_log_id = ec2.create_flow_logs(ResourceType="VPC", ResourceIds=[vpc_id], TrafficType="REJECT",
                                       LogDestinationType="s3", LogDestination=f"arn:aws:s3:::{bucket}/custom/",
                                       LogFormat=log_format)["FlowLogIds"][0]
    assert ec2.describe_flow_logs(FlowLogIds=[flow_log_id])["FlowLogs"][0]["LogFormat"] == log_format
