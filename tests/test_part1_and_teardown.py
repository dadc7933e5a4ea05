"""Part 1 provisioning and teardown through labkit, on both targets.

The aws path runs against moto's in-process mock with none of the local cloud's additions, which
proves labkit's aws path depends on nothing local-only.
"""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from labkit import flow_logs, teardown
from labkit.config import ConfigError, LabConfig
from labkit.session import connect

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}
PERMISSIONS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                                       "Resource": "*"}]}


def provision_part1(lab):
    vpc_id = flow_logs.ensure_vpc(lab)
    bucket = flow_logs.ensure_bucket(lab)
    flow_logs.ensure_flow_log(lab, lab.config.s3_flow_log_name, ResourceType="VPC", ResourceIds=[vpc_id],
                              TrafficType="ALL", MaxAggregationInterval=60, LogDestinationType="s3",
                              LogDestination=f"arn:aws:s3:::{bucket}")
    group = flow_logs.ensure_log_group(lab)
    role_arn = flow_logs.ensure_role(lab, lab.config.role_name, TRUST, PERMISSIONS)
    flow_logs.ensure_flow_log(lab, lab.config.cw_flow_log_name, ResourceType="VPC", ResourceIds=[vpc_id],
                              TrafficType="ALL", MaxAggregationInterval=60, LogDestinationType="cloud-watch-logs",
                              LogGroupName=group, DeliverLogsPermissionArn=role_arn)
    return vpc_id


@pytest.fixture
def aws_lab(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield connect(LabConfig.resolve(target="aws", region="eu-west-1", confirm_billable=True))


def test_aws_path_provisions_idempotently_and_tears_down_on_plain_moto(aws_lab):
    assert aws_lab.endpoint is None
    vpc_id = provision_part1(aws_lab)
    assert provision_part1(aws_lab) == vpc_id  # a second run finds everything
    table = flow_logs.flow_logs_table(aws_lab)
    assert sorted(table["Name"]) == ["CW-logs", "S3-logs"]
    assert set(table["Status"]) == {"ACTIVE"}

    removals = teardown.teardown(aws_lab)
    assert [(r.kind, r.status) for r in removals] == [
        ("flow log", "removed"), ("flow log", "removed"), ("log group", "removed"),
        ("IAM role", "removed"), ("S3 bucket", "removed"), ("VPC", "removed")]
    assert teardown.remaining(aws_lab) == {}
    assert teardown.teardown(aws_lab) == []  # safe when nothing exists


def test_aws_refuses_to_create_without_confirmation(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        lab = connect(LabConfig.resolve(target="aws", region="eu-west-1"))
        with pytest.raises(ConfigError, match="confirm_billable=True"):
            flow_logs.ensure_bucket(lab)
        assert boto3.client("s3", region_name="eu-west-1").list_buckets()["Buckets"] == []


def test_aws_without_credentials_names_the_fix():
    with pytest.raises(ConfigError, match="No AWS credentials found.*aws configure"):
        connect(LabConfig.resolve(target="aws", region="eu-west-1"))


def test_aws_target_refuses_a_local_endpoint(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4580")
    with pytest.raises(ConfigError, match="points at the local cloud"):
        connect(LabConfig.resolve(target="aws", region="eu-west-1"))


def test_a_changed_setting_replaces_the_flow_log(aws_lab):
    vpc_id = provision_part1(aws_lab)
    before = flow_logs.find_flow_logs(aws_lab, "S3-logs")[0]
    after = flow_logs.ensure_flow_log(aws_lab, "S3-logs", ResourceType="VPC", ResourceIds=[vpc_id],
                                      TrafficType="REJECT", MaxAggregationInterval=60, LogDestinationType="s3",
                                      LogDestination=f"arn:aws:s3:::{aws_lab.bucket}")
    assert after["FlowLogId"] != before["FlowLogId"] and after["TrafficType"] == "REJECT"
    assert [fl["FlowLogId"] for fl in flow_logs.find_flow_logs(aws_lab, "S3-logs")] == [after["FlowLogId"]]


def test_teardown_on_the_local_cloud_removes_only_this_runs_resources(local_env):
    lab = connect(LabConfig.resolve(run_id="mine"))
    other = connect(LabConfig.resolve(run_id="other", name_prefix="other"))
    provision_part1(lab)
    provision_part1(other)
    ec2 = boto3.client("ec2")
    untagged = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]

    removals = teardown.teardown(lab)
    kinds = [r.kind for r in removals]
    assert kinds.index("VPC") == len(kinds) - 1 and kinds[:2] == ["flow log", "flow log"]
    assert all(r.status == "removed" for r in removals)
    assert teardown.remaining(lab) == {}
    assert set(teardown.remaining(other)) == {"flow log", "log group", "IAM role", "S3 bucket", "VPC"}
    assert ec2.describe_vpcs(VpcIds=[untagged])["Vpcs"]
    teardown.teardown(other)


def test_local_target_uses_the_running_cloud_with_dummy_credentials(local_env):
    lab = connect(LabConfig.resolve())
    assert lab.endpoint == local_env.endpoint
    assert lab.account_id == "123456789012"
    assert "target=local" in lab.summary()
