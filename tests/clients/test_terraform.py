"""Terraform's AWS provider against the local cloud: Parts 1 and 3 of the lab and an Athena work group
as a configuration, applied, planned again (nothing to change) and destroyed (nothing left), as a user
who keeps the lab in Terraform would. Runs where `terraform` and the provider's filesystem mirror are
on the machine; the provider comes from the mirror, so no network is needed. Slow (about a minute,
`make test-slow`): the provider's own start, three times per command, takes most of it; its calls to the
local cloud take under a second per command."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest

from labkit import monitoring

PROVIDER_MIRROR = Path(os.environ.get("LABKIT_TF_PLUGINS", "/opt/tf-plugins"))
PROVIDER = PROVIDER_MIRROR / "registry.terraform.io" / "hashicorp" / "aws"
TERRAFORM = shutil.which("terraform")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(TERRAFORM is None, reason="terraform is not on PATH"),
    pytest.mark.skipif(not PROVIDER.is_dir(), reason=f"no hashicorp/aws provider in a filesystem mirror at "
                                                     f"{PROVIDER_MIRROR} (set LABKIT_TF_PLUGINS to yours)"),
]

REGION, BUCKET, LOG_GROUP, WORK_GROUP = "us-east-1", "tf-lab-flow-logs", "AeroSecureVPCLog", "tf-lab-analysis"
SERVICES = ("athena", "cloudwatch", "ec2", "iam", "logs", "s3", "sns", "sts")

CONFIGURATION = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "endpoint" { type = string }
variable "ssh_reject_pattern" { type = string }

# The provider asks STS for the account (the local cloud answers): with skip_requesting_account_id it
# would build ARNs with no account, and the work group's ListTagsForResource would name no resource.
provider "aws" {
  region                      = "%(region)s"
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  endpoints {
%(endpoints)s
  }
}

# Part 1: the VPC, its flow log to S3 and, through the delivery role, to CloudWatch Logs
resource "aws_vpc" "lab" {
  cidr_block = "10.0.0.0/16"
  tags       = { Name = "tf-lab" }
}

resource "aws_s3_bucket" "flow_logs" {
  bucket        = "%(bucket)s"
  force_destroy = true # flow records and Athena results land in it
}

resource "aws_flow_log" "s3" {
  vpc_id                   = aws_vpc.lab.id
  traffic_type             = "ALL"
  log_destination_type     = "s3"
  log_destination          = aws_s3_bucket.flow_logs.arn
  max_aggregation_interval = 60
  tags                     = { Name = "S3-logs" }
}

resource "aws_cloudwatch_log_group" "lab" {
  name = "%(log_group)s"
}

resource "aws_iam_role" "flow_logs" {
  name = "tf-lab-flow-logs"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{
      Effect = "Allow", Principal = { Service = "vpc-flow-logs.amazonaws.com" }, Action = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "flow_logs" {
  name = "tf-lab-flow-logs"
  role = aws_iam_role.flow_logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Effect = "Allow", Resource = "*", Action = [
      "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups",
      "logs:DescribeLogStreams"] }]
  })
}

resource "aws_flow_log" "cloudwatch" {
  vpc_id                   = aws_vpc.lab.id
  traffic_type             = "ALL"
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.lab.arn
  iam_role_arn             = aws_iam_role.flow_logs.arn
  max_aggregation_interval = 60
  tags                     = { Name = "CW-logs" }
  depends_on               = [aws_iam_role_policy.flow_logs]
}

# Part 3: the rejected-SSH metric filter, the topic and the alarm
resource "aws_cloudwatch_log_metric_filter" "ssh_rejects" {
  name           = "dest-port-22-reject"
  log_group_name = aws_cloudwatch_log_group.lab.name
  pattern        = var.ssh_reject_pattern # the lab's own (labkit.monitoring)
  metric_transformation {
    name      = "SSH Rejects"
    namespace = "%(log_group)s"
    value     = "1"
  }
}

resource "aws_sns_topic" "alerts" {
  name = "tf-lab-alerts"
}

resource "aws_cloudwatch_metric_alarm" "ssh_rejects" {
  alarm_name          = "tf-lab-ssh-rejects"
  namespace           = "%(log_group)s"
  metric_name         = "SSH Rejects"
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  depends_on          = [aws_cloudwatch_log_metric_filter.ssh_rejects]
}

# Part 4's Athena, in a work group of its own
resource "aws_athena_workgroup" "analysis" {
  name          = "%(work_group)s"
  force_destroy = true
  configuration {
    result_configuration {
      output_location = "s3://${aws_s3_bucket.flow_logs.bucket}/athena-results/"
    }
  }
  tags = { Part = "4" }
}
"""


@pytest.fixture
def terraform(local_env, tmp_path):
    """`terraform <args>` in a working directory holding the configuration, the provider from the
    mirror, and the local cloud's endpoint and its owner's keys in the environment."""
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text(f'provider_installation {{\n  filesystem_mirror {{ path = "{PROVIDER_MIRROR}" }}\n}}\n')
    workdir = tmp_path / "lab"
    workdir.mkdir()
    endpoints = "\n".join(f"    {service} = var.endpoint" for service in SERVICES)
    (workdir / "main.tf").write_text(CONFIGURATION % {"region": REGION, "endpoints": endpoints, "bucket": BUCKET,
                                                      "log_group": LOG_GROUP, "work_group": WORK_GROUP})
    environment = {**os.environ, "TF_CLI_CONFIG_FILE": str(cli_config), "TF_IN_AUTOMATION": "1",
                   "CHECKPOINT_DISABLE": "1", "TF_INPUT": "0", "TF_VAR_endpoint": local_env.endpoint,
                   "TF_VAR_ssh_reject_pattern": monitoring.SSH_REJECT_PATTERN}
    environment.pop("AWS_ENDPOINT_URL")  # the provider takes its endpoints from the configuration

    def run(*args: str, expect: int = 0) -> str:
        done = subprocess.run([TERRAFORM, *args, "-no-color"], cwd=workdir, env=environment, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == expect, \
            f"terraform {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    run("init")
    return run


def test_parts_1_and_3_apply_plan_nothing_more_and_destroy_to_nothing(terraform):
    terraform("apply", "-auto-approve")
    ec2, logs = boto3.client("ec2", region_name=REGION), boto3.client("logs", region_name=REGION)
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["tf-lab"]}])["Vpcs"]
    flow_logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc["VpcId"]]}])["FlowLogs"]
    assert sorted((f["LogDestinationType"], f["FlowLogStatus"], f["DeliverLogsStatus"]) for f in flow_logs) == [
        ("cloud-watch-logs", "ACTIVE", "SUCCESS"), ("s3", "ACTIVE", "SUCCESS")]
    (metric_filter,) = logs.describe_metric_filters(logGroupName=LOG_GROUP)["metricFilters"]
    assert (metric_filter["filterPattern"], metric_filter["metricTransformations"][0]["metricName"]) == (
        monitoring.SSH_REJECT_PATTERN, "SSH Rejects")
    alarm, = boto3.client("cloudwatch", region_name=REGION).describe_alarms(
        AlarmNames=["tf-lab-ssh-rejects"])["MetricAlarms"]
    assert (alarm["TreatMissingData"], alarm["DatapointsToAlarm"]) == ("notBreaching", 1)
    work_group = boto3.client("athena", region_name=REGION).get_work_group(WorkGroup=WORK_GROUP)["WorkGroup"]
    assert work_group["Configuration"]["ResultConfiguration"]["OutputLocation"] == f"s3://{BUCKET}/athena-results/"

    # what the provider reads back is what it wrote: a second plan has nothing to do
    terraform("plan", "-detailed-exitcode")

    terraform("destroy", "-auto-approve")
    assert not ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["tf-lab"]}])["Vpcs"]
    assert not ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc["VpcId"]]}])["FlowLogs"]
    assert BUCKET not in [b["Name"] for b in boto3.client("s3", region_name=REGION).list_buckets()["Buckets"]]
    assert not logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
    assert "tf-lab-flow-logs" not in [r["RoleName"] for r in boto3.client("iam").list_roles()["Roles"]]
    assert not boto3.client("sns", region_name=REGION).list_topics()["Topics"]
    assert not boto3.client("cloudwatch", region_name=REGION).describe_alarms(AlarmNamePrefix="tf-lab")["MetricAlarms"]
    work_groups = boto3.client("athena", region_name=REGION).list_work_groups()["WorkGroups"]
    assert [w["Name"] for w in work_groups] == ["primary"]
