"""labkit's aws path on moto's in-process mock, with none of the local cloud's additions: proof that
the aws path depends on nothing local-only. Run by test_part1_and_teardown in a fresh interpreter
(the local cloud patches moto's classes once it is built in a process); not collected directly."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from labkit import flow_logs, teardown
from labkit.config import ConfigError, LabConfig
from labkit.session import connect

from .labs import provision_part1


@pytest.fixture(autouse=True)
def plain_moto():
    """Nothing of the local cloud's behaviour may be loaded, before or after the test."""
    import sys

    assert "labkit.localcloud.registry" not in sys.modules
    yield
    assert "labkit.localcloud.registry" not in sys.modules, "the aws path loaded the local cloud's behaviours"


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




def test_labkit_run_on_aws_shows_the_plan_and_stops_without_confirmation(monkeypatch, capsys):
    from labkit.cli import main

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        assert main(["run", "--target", "aws", "-p", "region", "eu-west-1"]) == 2
        assert boto3.client("ec2", region_name="eu-west-1").describe_vpcs(
            Filters=[{"Name": "tag:labkit:lab", "Values": ["vpc-flow-logs"]}])["Vpcs"] == []
    printed = capsys.readouterr()
    assert "The lab will create, in AWS account 123456789012, region eu-west-1" in printed.out
    assert "Estimated cost" in printed.out and "Nothing was created" in printed.err
