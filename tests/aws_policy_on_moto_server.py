"""The lab's aws path as a user holding only `labkit aws policy`, on moto server with IAM enforcement on
(INITIAL_NO_AUTH_ACTION_COUNT: the first calls, which make the user, are not checked; every later one is).
Run by tests/test_aws_policy.py in a fresh interpreter; not collected directly.

moto checks the action of every call, and the resource of S3's; it checks no other resource, and it
denies outright a statement whose condition keys (aws:RequestTag, iam:PassedToService, ...) it does not
know. So the user holds the policy as moto can judge it (`as_moto_judges`): the same actions, S3's
resources, other resources `*`, no conditions. What moto cannot check is listed in docs/aws-behaviour.md,
"Least-privilege policy"."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from labkit import analysis, aws_policy, flow_logs, monitoring, teardown, traffic
from labkit.config import LabConfig
from labkit.session import Lab

from .labs import provision_part1

REGION = "eu-west-1"
ADMIN_CALLS = 4  # CreatePolicy, CreateUser, AttachUserPolicy, CreateAccessKey
LEARNER_ADDRESS = "203.0.113.10"


# Where moto names an action otherwise than IAM: S3's after the API operation (moto/s3/responses.py
# ACTION_MAP), CloudWatch's with its endpoint prefix `monitoring`.
MOTO_S3_NAMES = {"s3:ListBucket": ["s3:HeadBucket"], "s3:PutBucketPublicAccessBlock": ["s3:PutPublicAccessBlock"]}


def _moto_names(action: str) -> list[str]:
    service, name = action.split(":")
    return MOTO_S3_NAMES.get(action, []) + ([f"monitoring:{name}"] if service == "cloudwatch" else [])


def as_moto_judges(document: dict) -> dict:
    """The policy as moto can evaluate it: actions kept (with moto's names too), S3's resources kept, the
    rest `*`, no conditions."""
    statements = [{"Sid": s["Sid"], "Effect": s["Effect"],
                   "Action": s["Action"] + [moto for a in s["Action"] for moto in _moto_names(a)],
                   "Resource": s["Resource"] if all(a.startswith("s3:") for a in s["Action"]) else "*"}
                  for s in document["Statement"]]
    return {**document, "Statement": statements}


@pytest.fixture(scope="module")
def moto_server():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(ADMIN_CALLS)}
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("moto server did not start")
            time.sleep(0.2)
    try:
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(autouse=True)
def endpoint(moto_server, monkeypatch):
    """After tests/conftest.py's isolated environment, which clears AWS_ENDPOINT_URL for each test."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)


@pytest.fixture(scope="module")
def learner(moto_server):
    """A lab on the aws path (no local cloud) whose calls are signed with the learner user's keys."""
    os.environ["AWS_ENDPOINT_URL"] = moto_server  # the module's fixtures come before `endpoint`
    config = LabConfig(target="aws", region=REGION, name_prefix="ab", run_id="least", confirm_billable=True)
    admin = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION).client("iam")
    document = as_moto_judges(aws_policy.policy(config))
    arn = admin.create_policy(PolicyName="labkit-learner", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    admin.create_user(UserName="learner")
    admin.attach_user_policy(UserName="learner", PolicyArn=arn)
    key = admin.create_access_key(UserName="learner")["AccessKey"]
    session = boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                            region_name=REGION)
    identity = session.client("sts").get_caller_identity()
    assert identity["Arn"].endswith(":user/learner")
    return Lab(config=config, session=session, account_id=identity["Account"], caller_arn=identity["Arn"])


def test_the_learner_provisions_every_part_and_tears_it_down(learner, monkeypatch):
    # moto's instance runs no sshd, and the wait for it is TCP to the server, no AWS call: nothing to authorise
    monkeypatch.setattr(traffic, "wait_for_sshd", lambda lab, server: None)
    vpc_id = provision_part1(learner)
    subnet_id = traffic.ensure_public_subnet(learner, VpcId=vpc_id)
    ssh = traffic.ensure_security_group(learner, vpc_id, learner.config.ssh_group_name, "SSH from the learner", [
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": f"{LEARNER_ADDRESS}/32"}]}])
    http = traffic.ensure_security_group(learner, vpc_id, learner.config.http_group_name, "HTTP only", [
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    server = traffic.ensure_server(learner, SubnetId=subnet_id, SecurityGroupIds=[ssh])
    assert traffic.replace_security_groups(learner, InstanceId=server.instance_id, Groups=[http]) == ["ab-AeroSecure HTTP"]
    with traffic.network_acl_entry(learner, SubnetId=subnet_id, RuleNumber=50, Protocol="6", RuleAction="deny",
                                   Egress=True, CidrBlock=f"{LEARNER_ADDRESS}/32", PortRange={"From": 1024, "To": 65535}):
        pass

    monitoring.ensure_metric_filter(learner, learner.config.metric_filter_name, monitoring.SSH_REJECT_PATTERN, [
        {"metricNamespace": learner.config.metric_namespace, "metricName": learner.config.metric_name,
         "metricValue": "1"}])
    topic = monitoring.ensure_topic(learner, Name=learner.config.topic_name)
    monitoring.ensure_subscription(learner, TopicArn=topic, Endpoint="learner@example.org")
    monitoring.ensure_alarm(learner, learner.config.alarm_name, Namespace=learner.config.metric_namespace,
                            MetricName=learner.config.metric_name, Statistic="Sum", Period=60, EvaluationPeriods=5,
                            DatapointsToAlarm=1, ComparisonOperator="GreaterThanOrEqualToThreshold", Threshold=1.0,
                            TreatMissingData="notBreaching", AlarmActions=[topic])
    analysis.ensure_work_group(learner, Name=learner.config.work_group_name, Configuration={
        "ResultConfiguration": {"OutputLocation": analysis.results_location(learner)}})
    analysis.ensure_database(learner, Name=learner.config.database_name)

    removals = teardown.teardown(learner)
    print("\n".join(f"{r.status:<8} {r.kind:<18} {r.resource_id}" for r in removals))
    assert [r for r in removals if r.status != "removed"] == []
    assert {r.kind for r in removals} >= {"EC2 instance", "CloudWatch alarm", "metric filter", "SNS topic",
                                          "Glue database", "Athena work group", "flow log", "log group", "IAM role",
                                          "S3 bucket", "security group", "route table", "internet gateway",
                                          "subnet", "VPC"}
    assert teardown.remaining(learner) == {}


@pytest.mark.parametrize("service, call, params", [
    ("iam", "create_user", {"UserName": "mallory"}),  # an action the policy lacks
    ("ec2", "describe_key_pairs", {}),
    ("s3", "list_objects_v2", {"Bucket": "someone-elses-bucket"}),  # an action it has, on a bucket not the lab's
])
def test_a_call_outside_the_policy_is_denied(learner, service, call, params):
    with pytest.raises(ClientError) as denied:
        getattr(learner.client(service), call)(**params)
    error = denied.value.response["Error"]
    print(f"\n{service}.{call}: {error['Code']}: {error.get('Message', '')}")
    assert error["Code"] in ("AccessDenied", "UnauthorizedOperation")
