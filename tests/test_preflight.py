"""The preflight on AWS: what the lab will create, where, and its estimated cost, shown before the
learner is asked for confirm_billable (docs/aws-behaviour.md, "Prices the preflight uses")."""

from __future__ import annotations

import pytest

from labkit import preflight
from labkit.config import ConfigError, LabConfig
from labkit.session import Lab


def _lab(**settings) -> Lab:
    return Lab(config=LabConfig(target="aws", region="eu-west-1", name_prefix="ab", run_id="r1", **settings),
               session=None, account_id="111122223333", caller_arn="arn:aws:iam::111122223333:user/learner")


def test_the_plan_names_the_account_region_resources_timer_and_estimate():
    text = _lab().preflight()
    assert text.startswith("The lab will create, in AWS account 111122223333, region eu-west-1")
    for name in ("'ab-AeroSecure VPC'", "ab-aerosecure-flow-logs-<account>-eu-west-1", "'ab-AeroSecureFlowLogsRole'",
                 "'ab-AeroSecure Server' (t3.nano", "terminates itself 120 minutes after boot", "'ab-SSH rejects'",
                 "'ab-aerosecure-ssh-alerts'", "'ab_aerosecure_flow_logs'", "labkit:run-id=r1"):
        assert name in text
    assert f"about ${preflight.estimate_usd():.2f} if it all lives 2 hours" in text
    assert "t3.nano per hour $0.0052" in text and "recorded 2026-12-01" in text


def test_the_estimate_grows_with_the_hours_the_server_runs():
    two, ten = preflight.estimate_usd(2), preflight.estimate_usd(10)
    hourly = preflight.PRICES["t3.nano per hour"] + preflight.PRICES["public IPv4 address per hour"]
    assert 0.01 < two < 0.10
    assert ten - two == pytest.approx(8 * hourly, rel=0.2)  # the instance and its address are most of it


def test_without_confirmation_the_plan_comes_before_the_question():
    with pytest.raises(ConfigError) as refused:
        _lab().require_billable_ok("the S3 bucket x")
    message = str(refused.value)
    assert message.index("The lab will create") < message.index("Estimated cost") < message.index("confirm_billable=True")
    _lab(confirm_billable=True).require_billable_ok("the S3 bucket x")  # confirmed: no question
