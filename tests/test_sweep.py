"""`labkit teardown --target aws --sweep` on moto (several regions), in a fresh interpreter: the local cloud
patches moto's classes process-wide once one is built (tests/sweep_on_plain_moto.py holds the tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# The actions only the sweep calls (the lab's own are recorded in tests/test_aws_policy.py); the sweep's
# calls are recorded and checked against the policy in tests/sweep_on_plain_moto.py.
SWEEP_ONLY = {"tag:GetResources", "ec2:DescribeRegions", "iam:ListRoles", "iam:ListRoleTags", "s3:GetBucketLocation"}


@pytest.mark.slow  # a whole lab or a sweep of every region: minutes (make test-slow)
def test_the_sweep_on_plain_moto_in_a_fresh_interpreter():
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                             str(Path(__file__).parent / "sweep_on_plain_moto.py")],
                            capture_output=True, text=True, cwd=Path(__file__).parent.parent, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
