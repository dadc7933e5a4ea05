"""Part 3 through labkit on the local cloud: the walkthrough's metric filter, alarm, topic and email,
idempotent and tagged, the alarm firing, its email, the metric as a DataFrame and a plot, and teardown."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import boto3
import matplotlib
import pytest

from labkit import flow_logs, monitoring, teardown, traffic
from labkit.config import ConfigError, LabConfig
from labkit.session import Lab, connect

matplotlib.use("Agg")

EMAIL = "learner@example.com"
SSH_REJECT_LINE = "2 123456789010 eni-1235b8ca123456789 198.51.100.7 172.31.9.12 49761 22 6 1 40 1418530010 1418530070 REJECT OK"
SSH_RULE = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.10/32"}]}
HTTP_RULE = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
ACCEPT_LINE = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"


@pytest.fixture
def lab(local_env, monkeypatch) -> Lab:
    monkeypatch.setenv("LABKIT_ALARM_INTERVAL", "0.1")
    lab = connect(LabConfig.resolve(run_id="part3", name_prefix=f"t{uuid.uuid4().hex[:8]}"))  # history outlives alarms
    logs = lab.client("logs")
    logs.create_log_group(logGroupName=lab.config.log_group, tags=lab.config.tags)
    logs.create_log_stream(logGroupName=lab.config.log_group, logStreamName="eni-1235b8ca123456789-all")
    yield lab
    teardown.teardown(lab, [teardown.Alarms(), teardown.MetricFilters(), teardown.SnsSubscriptions(),
                            teardown.SnsTopics(), teardown.LogGroups()])


def _rejected_ssh(lab: Lab, count: int, minutes_ago: int = 2) -> None:
    timestamp = (int(time.time()) // 60 - minutes_ago) * 60_000
    lab.client("logs").put_log_events(
        logGroupName=lab.config.log_group, logStreamName="eni-1235b8ca123456789-all",
        logEvents=[{"timestamp": timestamp + i, "message": SSH_REJECT_LINE} for i in range(count)])


def _namespace(lab: Lab) -> str:
    """The walkthrough's namespace, made this test's own (moto's metrics are shared by the whole process)."""
    return lab.config.metric_namespace


def _walkthrough(lab: Lab) -> tuple[str, str]:
    transformations = [{"metricName": lab.config.metric_name, "metricNamespace": _namespace(lab), "metricValue": "1"}]
    monitoring.ensure_metric_filter(lab, lab.config.metric_filter_name, monitoring.SSH_REJECT_PATTERN,
                                    transformations)
    topic = monitoring.ensure_topic(lab, lab.config.topic_name)
    monitoring.ensure_subscription(lab, topic, EMAIL)
    alarm = lab.config.alarm_name
    return topic, alarm


def _alarm_params(lab: Lab, topic: str) -> dict:
    return dict(Namespace=_namespace(lab), MetricName=lab.config.metric_name, Statistic="Sum",
                Period=60, EvaluationPeriods=1, DatapointsToAlarm=1, Threshold=1.0,
                ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
                AlarmActions=[topic])


def test_try_filter_pattern_shows_matches_and_extracted_fields(lab):
    table = monitoring.try_filter_pattern(lab, monitoring.SSH_REJECT_PATTERN, [SSH_REJECT_LINE, ACCEPT_LINE])
    assert table["matched"].tolist() == [True, False]
    assert table.loc[0, "$destport"] == "22" and table.loc[0, "$action"] == "REJECT"


def test_the_walkthrough_alarm_fires_and_its_email_arrives(lab):
    topic, alarm = _walkthrough(lab)
    assert monitoring.subscription_arn(lab, topic, EMAIL) == "PendingConfirmation"
    confirmed = monitoring.confirm_from_outbox(lab, topic, EMAIL)
    assert confirmed.startswith(topic + ":") and monitoring.subscription_arn(lab, topic, EMAIL) == confirmed
    assert monitoring.confirm_from_outbox(lab, topic, EMAIL) == confirmed

    _rejected_ssh(lab, 2)
    monitoring.ensure_alarm(lab, alarm, **_alarm_params(lab, topic))
    fired = monitoring.wait_for_alarm_state(lab, alarm, "ALARM", timeout_s=10, poll_s=0.1)
    assert fired["StateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [2.0 (")

    history = monitoring.alarm_history(lab, alarm, "StateUpdate")
    assert history["summary"].tolist() == ["Alarm updated from INSUFFICIENT_DATA to ALARM"]
    email = monitoring.latest_email(lab, EMAIL, "ALARM:", since=fired["StateUpdatedTimestamp"], timeout_s=10)
    assert email.subject == f'ALARM: "{alarm}" in US East (N. Virginia)'
    assert 'State Change:               INSUFFICIENT_DATA -> ALARM' in monitoring.email_text(email)
    with pytest.raises(TimeoutError, match="No email to learner@example.com"):
        monitoring.latest_email(lab, EMAIL, "ALARM:", since=fired["StateUpdatedTimestamp"] + timedelta(minutes=1),
                                timeout_s=0.2, poll_s=0.1)
    assert monitoring.outbox(lab)["subject"].tolist()[-2:] == [
        "AWS Notification - Subscription Confirmation", email.subject]

    datapoints = monitoring.metric_datapoints(lab, _namespace(lab), minutes=10)
    assert datapoints["value"].sum() == 2 and str(datapoints["timestamp"].dt.tz) == "UTC"
    axes = monitoring.plot_metric_with_threshold(lab, alarm, minutes=10)
    assert [line.get_ydata()[0] for line in axes.get_lines()] == [1.0]
    assert sum(patch.get_height() for patch in axes.patches) == 2


def test_ensure_functions_are_idempotent_and_tag_what_they_create(lab):
    topic, alarm = _walkthrough(lab)
    assert _walkthrough(lab) == (topic, alarm)
    first = monitoring.ensure_alarm(lab, alarm, **_alarm_params(lab, topic))
    again = monitoring.ensure_alarm(lab, alarm, **_alarm_params(lab, topic))
    assert again["AlarmConfigurationUpdatedTimestamp"] == first["AlarmConfigurationUpdatedTimestamp"]
    assert len(monitoring.alarm_history(lab, alarm, "ConfigurationUpdate")) == 1
    changed = monitoring.ensure_alarm(lab, alarm, **{**_alarm_params(lab, topic), "Threshold": 10.0})
    assert changed["Threshold"] == 10.0

    filters = lab.client("logs").describe_metric_filters(logGroupName=lab.config.log_group)["metricFilters"]
    assert [f["filterName"] for f in filters] == [lab.config.metric_filter_name]
    sns, cloudwatch = lab.client("sns"), lab.client("cloudwatch")
    assert lab.config.is_ours(sns.list_tags_for_resource(ResourceArn=topic)["Tags"])
    assert lab.config.is_ours(cloudwatch.list_tags_for_resource(ResourceARN=first["AlarmArn"])["Tags"])
    assert len(sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]) == 1


def test_wait_for_alarm_state_says_where_the_alarm_is(lab):
    topic, alarm = _walkthrough(lab)
    monitoring.ensure_alarm(lab, alarm, **{**_alarm_params(lab, topic), "MetricName": "never reported",
                                           "TreatMissingData": "missing"})
    with pytest.raises(TimeoutError, match="still INSUFFICIENT_DATA .*Unchecked: Initial alarm creation"):
        monitoring.wait_for_alarm_state(lab, alarm, "ALARM", timeout_s=0.3, poll_s=0.1)


def test_teardown_removes_part3_before_the_log_group(lab):
    topic, alarm = _walkthrough(lab)
    monitoring.confirm_from_outbox(lab, topic, EMAIL)
    monitoring.ensure_alarm(lab, alarm, **_alarm_params(lab, topic))
    untagged = boto3.client("sns").create_topic(Name="not-the-labs")["TopicArn"]

    removals = teardown.teardown(lab, [kind for kind in teardown.KINDS if not isinstance(kind, teardown.Roles)])
    kinds = [r.kind for r in removals]
    assert kinds == ["CloudWatch alarm", "metric filter", "SNS subscription", "SNS topic", "log group"]
    assert all(r.status == "removed" for r in removals)
    assert boto3.client("sns").get_topic_attributes(TopicArn=untagged)


def test_the_outbox_is_a_local_target_convenience(lab):
    on_aws = Lab(config=LabConfig.resolve(target="aws", region="us-east-1"), session=lab.session,
                 account_id=lab.account_id, caller_arn=lab.caller_arn)
    with pytest.raises(ConfigError, match="real mailbox"):
        monitoring.outbox(on_aws)


def test_wait_for_datapoints_returns_periods_that_are_over(lab):
    _walkthrough(lab)
    started = datetime.now(timezone.utc) - timedelta(minutes=3)
    _rejected_ssh(lab, 2, minutes_ago=2)
    done = monitoring.wait_for_datapoints(lab, since=started, namespace=_namespace(lab), timeout_s=10, poll_s=0.1)
    assert done["value"].tolist() == [2.0]
    monitoring.wait_for_fresh_minute(needed_s=1)  # so that this minute cannot end during the wait below
    _rejected_ssh(lab, 1, minutes_ago=0)  # this minute is not over yet: an alarm would not judge it
    with pytest.raises(TimeoutError, match="No complete 60 s period"):
        monitoring.wait_for_datapoints(lab, since=datetime.now(timezone.utc), namespace=_namespace(lab),
                                       timeout_s=0.2, poll_s=0.1)


@pytest.mark.parametrize(("second", "expected"), [(0, 0.0), (25, 0.0), (26, 34.05), (59, 1.05)])
def test_a_fresh_minute_leaves_room_for_the_traffic(second, expected):
    now = datetime(2026, 1, 5, 17, 31, second, tzinfo=timezone.utc)
    assert monitoring.seconds_to_fresh_minute(now, needed_s=35) == pytest.approx(expected)


def test_find_part2_names_the_notebooks_to_run_first(lab):
    with pytest.raises(RuntimeError, match="run 01_flow_logs_setup.ipynb and 02_generate_traffic.ipynb first"):
        traffic.find_part2(lab)
    vpc = flow_logs.ensure_vpc(lab)
    subnet = traffic.ensure_public_subnet(lab, vpc)
    ssh = traffic.ensure_security_group(lab, vpc, lab.config.ssh_group_name, "ssh", [SSH_RULE])
    server = traffic.ensure_server(lab, subnet, [ssh])
    with pytest.raises(RuntimeError, match="security group .*AeroSecure HTTP.* is missing: run 02"):
        traffic.find_part2(lab)
    http = traffic.ensure_security_group(lab, vpc, lab.config.http_group_name, "http", [HTTP_RULE])
    assert traffic.find_part2(lab) == traffic.Part2(server, ssh, http)
    teardown.teardown(lab, [teardown.Instances(), teardown.SecurityGroups(), teardown.RouteTables(),
                            teardown.InternetGateways(), teardown.Subnets(), teardown.Vpcs()])


def test_on_aws_the_alert_email_must_be_a_real_mailbox(lab):
    on_aws = Lab(config=LabConfig.resolve(target="aws", region="us-east-1"), session=lab.session,
                 account_id=lab.account_id, caller_arn=lab.caller_arn)
    assert monitoring.alert_address(lab, " learner@example.com ") == EMAIL
    assert monitoring.alert_address(on_aws, "me@mycompany.io") == "me@mycompany.io"
    with pytest.raises(ConfigError, match="set the notebook parameter alert_email"):
        monitoring.alert_address(on_aws, EMAIL)
    with pytest.raises(ConfigError, match="not an email address"):
        monitoring.alert_address(lab, "learner")


def test_waiting_for_records_no_flow_log_delivers_fails_at_once_with_the_fix(local_env):
    """A learner who skipped Exercise 1.3 (no `CW-logs`) learns it at once, not after a 15-minute wait
    (an instructor's grading of unfinished work waited out every such cell)."""
    from labkit import records

    lab = connect(LabConfig.resolve(run_id="no-cw-logs", name_prefix=f"t{uuid.uuid4().hex[:8]}"))
    lab.client("logs").create_log_group(logGroupName=lab.config.log_group, tags=lab.config.tags)
    try:
        started = time.monotonic()
        with pytest.raises(records.NoFlowLogDelivers, match="Exercise 1.3"):
            records.attempt_records(lab, lab.config.log_group, attempt=None, server=None, timeout_s=60)
        with pytest.raises(records.NoFlowLogDelivers, match=lab.config.cw_flow_log_name):
            monitoring.wait_for_datapoints(lab, since=datetime.now(timezone.utc), timeout_s=60)
        assert time.monotonic() - started < 10
    finally:
        teardown.teardown(lab, [teardown.LogGroups()])
