"""LabConfig: parameters over environment over defaults, and a clear message for what cannot work."""

import pytest

from labkit.config import ConfigError, LabConfig


def test_defaults_follow_the_walkthrough():
    config = LabConfig.resolve(environ={})
    assert (config.target, config.region, config.run_id) == ("local", "us-east-1", "default")
    assert (config.log_group, config.s3_flow_log_name, config.cw_flow_log_name, config.server_name) == (
        "AeroSecureVPCLog", "S3-logs", "CW-logs", "AeroSecure Server")


def test_parameters_win_over_environment_which_wins_over_defaults():
    env = {"LABKIT_TARGET": "aws", "AWS_REGION": "eu-west-1", "LABKIT_RUN_ID": "env-run", "LABKIT_NAME_PREFIX": "ab"}
    from_env = LabConfig.resolve(environ=env)
    assert (from_env.target, from_env.region, from_env.run_id, from_env.name_prefix) == ("aws", "eu-west-1", "env-run", "ab")
    explicit = LabConfig.resolve(target="local", region="us-west-2", run_id="p-run", name_prefix="", environ=env)
    assert (explicit.target, explicit.region, explicit.run_id, explicit.name_prefix) == ("local", "us-west-2", "p-run", "")


def test_labkit_region_wins_over_aws_region():
    assert LabConfig.resolve(environ={"LABKIT_REGION": "ap-south-1", "AWS_REGION": "eu-west-1"}).region == "ap-south-1"


def test_a_prefix_applies_to_every_name():
    config = LabConfig.resolve(name_prefix="jd", environ={})
    assert (config.log_group, config.s3_flow_log_name, config.role_name) == ("jd-AeroSecureVPCLog", "jd-S3-logs", "jd-AeroSecureFlowLogsRole")
    assert config.bucket_name("123456789012") == "jd-aerosecure-flow-logs-123456789012-us-east-1"


def test_a_wrong_target_names_the_fix():
    with pytest.raises(ConfigError, match=r"Unknown target 'azure'.*target='local'.*target='aws'"):
        LabConfig.resolve(target="azure", environ={})


def test_aws_without_a_region_names_the_fix():
    with pytest.raises(ConfigError, match=r"No AWS region.*region='us-east-1'.*AWS_REGION"):
        LabConfig.resolve(target="aws", environ={})


def test_confirmation_comes_from_parameter_or_environment():
    assert LabConfig.resolve(environ={"LABKIT_CONFIRM_BILLABLE": "1"}).confirm_billable
    assert not LabConfig.resolve(environ={}).confirm_billable
    assert LabConfig.resolve(confirm_billable=True, environ={}).confirm_billable


@pytest.mark.parametrize("run_id", ["Has Space", "x" * 21, "-lead", "a_b"])
def test_run_ids_that_cannot_be_tags_and_names_are_refused(run_id):
    with pytest.raises(ConfigError, match="run_id"):
        LabConfig.resolve(run_id=run_id, environ={})


def test_every_resource_gets_the_same_tag_set():
    config = LabConfig.resolve(run_id="r1", environ={})
    assert config.tags == {"labkit:lab": "vpc-flow-logs", "labkit:run-id": "r1"}
    assert config.tag_specifications("vpc", "AeroSecure VPC") == [{"ResourceType": "vpc", "Tags": [
        {"Key": "labkit:lab", "Value": "vpc-flow-logs"}, {"Key": "labkit:run-id", "Value": "r1"},
        {"Key": "Name", "Value": "AeroSecure VPC"}]}]
    assert config.is_ours([{"Key": "labkit:lab", "Value": "vpc-flow-logs"}, {"Key": "labkit:run-id", "Value": "r1"}])
    assert not config.is_ours({"labkit:lab": "vpc-flow-logs", "labkit:run-id": "other"})
    assert not config.is_ours(None)
