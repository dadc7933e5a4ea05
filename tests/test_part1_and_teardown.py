"""Part 1 provisioning and teardown through labkit on the local cloud; the aws path runs on plain
moto (tests/aws_path_on_plain_moto.py) in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import boto3

from labkit import teardown
from labkit.config import LabConfig
from labkit.session import connect

from .labs import provision_part1

def test_aws_path_runs_on_plain_moto_in_a_fresh_interpreter():
    """The local cloud patches moto's classes process-wide once a local cloud is built, so the aws-path
    tests run in their own interpreter, where nothing of the local cloud is imported."""
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                             str(Path(__file__).parent / "aws_path_on_plain_moto.py")],
                            capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


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
