"""`labkit aws policy`: every action a full run of the lab calls is in the policy (the boto3 calls of the
committed notebooks, run on the local cloud, are recorded with a botocore event hook), the policy fits IAM's
quota and passes the flow-log role to VPC Flow Logs only; on moto server with IAM enforcement on, a user
holding only this policy provisions the lab and tears it down, and is denied what the policy leaves out
(tests/aws_policy_on_moto_server.py, in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from labkit import aws_policy
from labkit.cli import main
from labkit.config import LabConfig

from .full_lab import full_lab_run

# Calls the local run makes that a learner on AWS does not: clicking the confirmation link confirms the
# subscription, unsigned, in the learner's browser (docs/aws-behaviour.md, "Least-privilege policy").
LOCAL_ONLY = {"sns:ConfirmSubscription"}
# A managed policy's quota, in characters without white space (docs/aws-behaviour.md, "Least-privilege policy").
MANAGED_POLICY_QUOTA = 6144


@pytest.fixture(scope="module")
def recorded_actions(local_cloud, tmp_path_factory) -> set[str]:
    """The IAM actions of the whole lab, 01 to 99, on a local cloud."""
    return full_lab_run(local_cloud, tmp_path_factory).actions


@pytest.mark.slow  # a whole lab or a sweep of every region: minutes (make test-slow)
def test_every_action_of_a_full_run_is_in_the_policy(recorded_actions):
    assert {"ec2:RunInstances", "logs:PutMetricFilter", "athena:StartQueryExecution", "glue:GetTable",
            "s3:GetObject", "ec2:DeleteVpc"} <= recorded_actions  # the recording saw all four parts and teardown
    allowed = aws_policy.actions(aws_policy.policy(LabConfig()))
    missing = recorded_actions - LOCAL_ONLY - allowed
    assert not missing, f"the lab calls actions the policy lacks: {sorted(missing)}"


@pytest.mark.slow  # a whole lab or a sweep of every region: minutes (make test-slow)
def test_the_policy_holds_no_action_the_lab_does_not_need(recorded_actions):
    """Least privilege: each action is called by the lab, or needed where a local run cannot show it
    (NOT_RECORDED), or used by the sweep (tests/sweep_on_plain_moto.py records those)."""
    from .test_sweep import SWEEP_ONLY

    allowed = aws_policy.actions(aws_policy.policy(LabConfig()))
    unused = allowed - recorded_actions - set(aws_policy.NOT_RECORDED) - SWEEP_ONLY
    assert not unused, f"the policy allows actions the lab never calls: {sorted(unused)}"


def test_the_policy_fits_a_managed_policy_and_passes_the_role_to_flow_logs_only():
    longest = LabConfig(name_prefix="a" * 20, region="ap-southeast-2")  # the longest names the lab allows
    assert aws_policy.size(aws_policy.policy(longest, account_id="111122223333")) <= MANAGED_POLICY_QUOTA
    document = aws_policy.policy(LabConfig(name_prefix="ab", region="eu-west-1"), account_id="111122223333")
    passing = [s for s in document["Statement"] if "iam:PassRole" in s["Action"]]
    assert passing == [{
        "Sid": "PassRole", "Effect": "Allow", "Action": ["iam:PassRole"],
        "Resource": "arn:aws:iam::111122223333:role/ab-AeroSecureFlowLogsRole",
        "Condition": {"StringEquals": {"iam:PassedToService": "vpc-flow-logs.amazonaws.com"}}}]
    assert all(s["Resource"] != "*" for s in document["Statement"] if s["Sid"] != "Read")
    assert "arn:aws:s3:::ab-aerosecure-flow-logs-*" in [s["Resource"] for s in document["Statement"]]


def test_labkit_aws_policy_prints_the_policy_for_the_names_asked(capsys):
    assert main(["aws", "policy", "--region", "eu-west-1", "--name-prefix", "ab", "--account-id",
                 "111122223333"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == aws_policy.policy(LabConfig(name_prefix="ab", region="eu-west-1"), account_id="111122223333")


def test_a_user_with_only_the_policy_runs_the_lab_on_moto_with_iam_enforced():
    """In a fresh interpreter: moto server in its own process reads INITIAL_NO_AUTH_ACTION_COUNT when it starts."""
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "-o", "addopts=",
                             str(Path(__file__).parent / "aws_policy_on_moto_server.py")],
                            capture_output=True, text=True, cwd=Path(__file__).parent.parent, timeout=600)
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "AccessDenied" in result.stdout  # the denied calls are shown
