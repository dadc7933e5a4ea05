"""The sweep on moto's in-process mock with none of the local cloud's additions: a run's leftovers in two
regions are found (by tag, and what holds no tag through what holds it), listed, removed on confirmation,
and what is not the lab's stays. Run by tests/test_sweep.py in a fresh interpreter; not collected directly."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest
from moto import mock_aws

from labkit import analysis, aws_policy, monitoring, sweep
from labkit.cli import main
from labkit.config import LabConfig
from labkit.session import connect

from .full_lab import RecordingSession
from .labs import provision_part1
from .test_sweep import SWEEP_ONLY

REGIONS = ("eu-west-1", "us-west-2")


@pytest.fixture
def account(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


def _a_run_in(region: str, run_id: str, prefix: str):
    lab = connect(LabConfig.resolve(target="aws", region=region, run_id=run_id, name_prefix=prefix,
                                    confirm_billable=True))
    provision_part1(lab)
    monitoring.ensure_metric_filter(lab, lab.config.metric_filter_name, monitoring.SSH_REJECT_PATTERN, [
        {"metricNamespace": lab.config.metric_namespace, "metricName": lab.config.metric_name, "metricValue": "1"}])
    topic = monitoring.ensure_topic(lab, Name=lab.config.topic_name)
    monitoring.ensure_subscription(lab, TopicArn=topic, Endpoint="learner@example.org")
    monitoring.ensure_alarm(lab, lab.config.alarm_name, Namespace=lab.config.metric_namespace,
                            MetricName=lab.config.metric_name, Statistic="Sum", Period=60, EvaluationPeriods=5,
                            Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[topic])
    analysis.ensure_work_group(lab, Name=lab.config.work_group_name)
    analysis.ensure_database(lab, Name=lab.config.database_name)
    # What AWS adds to the bucket policy for the S3 flow log (plain moto adds nothing; the local cloud does).
    lab.client("s3").put_bucket_policy(Bucket=lab.bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AWSLogDeliveryWrite", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{lab.bucket}/AWSLogs/{lab.account_id}/*"}]}))
    return lab


def _foreign(region: str) -> dict:
    """Resources in the same regions that are not the lab's: untagged, or tagged by someone else."""
    ec2, logs, sns = (boto3.client(s, region_name=region) for s in ("ec2", "logs", "sns"))
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "labkit:lab", "Value": "other-lab"}]}])["Vpc"]["VpcId"]
    logs.create_log_group(logGroupName=f"theirs-{region}")
    topic = sns.create_topic(Name="theirs", Tags=[{"Key": "team", "Value": "ops"}])["TopicArn"]
    return {"vpc": vpc, "log group": f"theirs-{region}", "topic": topic}


def test_the_sweep_finds_two_regions_leftovers_lists_them_and_removes_only_them_on_yes(account, capsys, monkeypatch):
    labs = [_a_run_in("eu-west-1", "r1", "ab"), _a_run_in("us-west-2", "r2", "cd")]
    foreign = {region: _foreign(region) for region in REGIONS}
    boto3.client("iam").create_role(RoleName="theirs", AssumeRolePolicyDocument="{}")

    monkeypatch.setattr(boto3, "Session", RecordingSession)
    RecordingSession.calls = set()
    sweeper = connect(LabConfig.resolve(target="aws", region="eu-west-1"))  # an instructor's: any run, any prefix
    found = sweep.find(sweeper)
    kinds = {(item.region, item.kind, item.run_id) for item in found}
    for region, run_id in zip(REGIONS, ("r1", "r2")):
        for kind in ("VPC", "flow log", "S3 bucket", "bucket policy statement", "log group", "metric filter",
                     "CloudWatch alarm", "SNS topic", "Athena work group", "Glue database"):
            assert (region, kind, run_id) in kinds, (region, kind)
    assert {(i.kind, i.resource_id) for i in found if i.region == sweep.GLOBAL} == {
        ("IAM role", "ab-AeroSecureFlowLogsRole"), ("role inline policy", "ab-AeroSecureFlowLogsRole/flow-logs-delivery"),
        ("IAM role", "cd-AeroSecureFlowLogsRole"), ("role inline policy", "cd-AeroSecureFlowLogsRole/flow-logs-delivery")}
    theirs = {f["vpc"] for f in foreign.values()} | {f["topic"] for f in foreign.values()} | {"theirs"}
    assert not {i.resource_id for i in found} & theirs

    assert main(["teardown", "--target", "aws", "--region", "eu-west-1", "--sweep"]) == 0
    listing = capsys.readouterr().out
    assert "us-west-2" in listing and "cd-AeroSecureFlowLogsRole" in listing and "--yes" in listing
    assert "ab-AeroSecureFlowLogsRole/flow-logs-delivery  (removed with its IAM role)" in listing
    assert labs[1].client("ec2").describe_vpcs(Filters=labs[1].config.ec2_filters())["Vpcs"]  # listed, not removed

    assert main(["teardown", "--target", "aws", "--region", "eu-west-1", "--sweep", "--yes"]) == 0
    assert "each confirmed gone" in capsys.readouterr().out
    assert sweep.find(sweeper) == []
    for region, theirs in foreign.items():
        assert boto3.client("ec2", region_name=region).describe_vpcs(VpcIds=[theirs["vpc"]])["Vpcs"]
        assert boto3.client("sns", region_name=region).get_topic_attributes(TopicArn=theirs["topic"])
        groups = boto3.client("logs", region_name=region).describe_log_groups()["logGroups"]
        assert [g["logGroupName"] for g in groups] == [theirs["log group"]]
    assert boto3.client("iam").get_role(RoleName="theirs")

    instructor = aws_policy.actions(aws_policy.policy(LabConfig(region="*", name_prefix="*")))
    assert SWEEP_ONLY | {"ec2:DeleteVpc", "iam:DeleteRole"} <= RecordingSession.calls
    missing = RecordingSession.calls - instructor
    assert not missing, f"the sweep calls actions the policy lacks: {sorted(missing)}"


def test_the_sweep_of_one_run_leaves_the_other(account):
    labs = [_a_run_in("eu-west-1", "r1", "ab"), _a_run_in("us-west-2", "r2", "cd")]
    theirs = sweep.find(labs[0], run_id="r2")
    assert {i.run_id for i in theirs} == {"r2"} and {i.region for i in theirs} == {"us-west-2", sweep.GLOBAL}
    results = sweep.remove(labs[0], theirs)
    assert {removal.status for _, removal in results} == {"removed"}
    assert {i.run_id for i in sweep.find(labs[0])} == {"r1"}


def test_the_server_is_listed_with_its_self_destruct_deadline(account):
    lab = _a_run_in("eu-west-1", "r1", "ab")
    ec2 = lab.client("ec2")
    subnet = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0]["SubnetId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, InstanceType="t3.nano", MinCount=1, MaxCount=1, SubnetId=subnet,
                                 TagSpecifications=lab.config.tag_specifications("instance", "server"))["Instances"][0]
    deadline = instance["LaunchTime"] + timedelta(minutes=120)
    [listed] = [i for i in sweep.find(lab) if i.kind == "EC2 instance"]
    assert listed.note == f"running; terminates itself by {deadline:%Y-%m-%d %H:%M} UTC"
