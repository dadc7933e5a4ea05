"""Alarm evaluation in the running local cloud, through boto3: the rejected-SSH alarm of the
walkthrough goes INSUFFICIENT_DATA -> ALARM, with AWS's history, and its email lands in the outbox."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from moto.backends import get_backend

from labkit import cli
from labkit.localcloud.cloudwatch.alarm_evaluation import INITIAL_STATE_REASON
from labkit.localcloud.sns.outbox import Outbox

SSH_REJECT = ('[version, account, eni, source, destination, srcport, destport="22", protocol="6", packets, bytes, '
              'windowstart, windowend, action="REJECT", flowlogstatus]')
SSH_REJECT_LINE = "2 123456789010 eni-1235b8ca123456789 198.51.100.7 172.31.9.12 49761 22 6 1 40 1418530010 1418530070 REJECT OK"


@pytest.fixture(autouse=True)
def fast_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_ALARM_INTERVAL", "0.1")


def _wait_for(check: Callable[[], Any], timeout_s: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return result


@pytest.fixture
def names() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {"group": f"/vpc/{suffix}", "namespace": f"AeroSecureVPCLog-{suffix}", "alarm": f"SSH rejects {suffix}",
            "topic": f"ssh-alerts-{suffix}", "email": f"learner-{suffix}@example.com"}


def _ssh_reject_metric(clients, names: dict[str, str], rejects: int) -> None:
    """The walkthrough's metric filter, then `rejects` rejected SSH records two minutes ago."""
    logs = clients("logs")
    logs.create_log_group(logGroupName=names["group"])
    logs.create_log_stream(logGroupName=names["group"], logStreamName="eni-1235b8ca123456789-all")
    logs.put_metric_filter(logGroupName=names["group"], filterName="dest-port-22-reject", filterPattern=SSH_REJECT,
                           metricTransformations=[{"metricName": "SSH Rejects", "metricNamespace": names["namespace"],
                                                   "metricValue": "1"}])
    if rejects:
        timestamp = (int(time.time()) // 60 - 2) * 60_000
        logs.put_log_events(logGroupName=names["group"], logStreamName="eni-1235b8ca123456789-all",
                            logEvents=[{"timestamp": timestamp + i, "message": SSH_REJECT_LINE} for i in range(rejects)])


def _put_alarm(clients, names: dict[str, str], **overrides: Any) -> None:
    clients("cloudwatch").put_metric_alarm(**{
        "AlarmName": names["alarm"], "Namespace": names["namespace"], "MetricName": "SSH Rejects",
        "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching", **overrides})


def _alarm(clients, name: str) -> dict[str, Any]:
    return clients("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def _history(clients, name: str, **params: Any) -> list[dict[str, Any]]:
    return clients("cloudwatch").describe_alarm_history(AlarmName=name, **params)["AlarmHistoryItems"]


def _emails_to(address: str) -> list:
    return [e for e in Outbox().emails() if e.recipient == address]


def test_the_walkthrough_alarm_fires_and_emails(clients, names, capsys):
    sns = clients("sns")
    topic = sns.create_topic(Name=names["topic"])["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=names["email"])
    sns.confirm_subscription(TopicArn=topic, Token=_emails_to(names["email"])[0].confirmation_token)
    _ssh_reject_metric(clients, names, rejects=3)

    _put_alarm(clients, names, AlarmActions=[topic])
    _wait_for(lambda: _alarm(clients, names["alarm"])["StateValue"] == "ALARM")
    alarm = _alarm(clients, names["alarm"])
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 datapoint [3.0 (")
    assert alarm["StateReason"].endswith(")] was greater than or equal to the threshold (1.0).")
    assert json.loads(alarm["StateReasonData"])["recentDatapoints"] == [3.0]

    history = _history(clients, names["alarm"], ScanBy="TimestampAscending")
    assert [(h["HistoryItemType"], h["HistorySummary"]) for h in history] == [
        ("ConfigurationUpdate", f'Alarm "{names["alarm"]}" created'),
        ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to ALARM"),
        ("Action", f"Successfully executed action {topic}"),
    ]
    update = json.loads(history[1]["HistoryData"])
    assert update["oldState"] == {"stateValue": "INSUFFICIENT_DATA", "stateReason": INITIAL_STATE_REASON}
    assert update["newState"]["stateValue"] == "ALARM"
    assert update["newState"]["stateReasonData"]["statistic"] == "Sum"

    email = _wait_for(lambda: [e for e in _emails_to(names["email"]) if e.subject.startswith("ALARM")])[0]
    assert email.subject == f'ALARM: "{names["alarm"]}" in US East (N. Virginia)'
    assert "has entered the ALARM state" in email.body and "INSUFFICIENT_DATA -> ALARM" in email.body

    assert cli.main(["local", "mail", "--json"]) == 0
    listed = [e for e in json.loads(capsys.readouterr().out) if e["to"] == names["email"]]
    assert [e["subject"] for e in listed] == ["AWS Notification - Subscription Confirmation", email.subject]


def test_a_new_alarm_without_data_stays_insufficient(clients, names):
    _ssh_reject_metric(clients, names, rejects=0)
    _put_alarm(clients, names, TreatMissingData="missing")
    alarm = _alarm(clients, names["alarm"])
    assert (alarm["StateValue"], alarm["StateReason"]) == ("INSUFFICIENT_DATA", INITIAL_STATE_REASON)
    time.sleep(0.5)  # several evaluations
    assert _alarm(clients, names["alarm"])["StateValue"] == "INSUFFICIENT_DATA"
    assert [h["HistoryItemType"] for h in _history(clients, names["alarm"])] == ["ConfigurationUpdate"]


def test_not_breaching_fills_the_missing_data_and_goes_ok(clients, names):
    _ssh_reject_metric(clients, names, rejects=0)
    _put_alarm(clients, names)
    _wait_for(lambda: _alarm(clients, names["alarm"])["StateValue"] == "OK")
    assert _alarm(clients, names["alarm"])["StateReason"] == (
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching].")


def test_put_metric_alarm_again_keeps_the_state(clients, names):
    _ssh_reject_metric(clients, names, rejects=1)
    _put_alarm(clients, names)
    _wait_for(lambda: _alarm(clients, names["alarm"])["StateValue"] == "ALARM")
    _put_alarm(clients, names, AlarmDescription="now described")
    alarm = _alarm(clients, names["alarm"])
    assert (alarm["StateValue"], alarm["AlarmDescription"]) == ("ALARM", "now described")
    [update] = _history(clients, names["alarm"], HistoryItemType="ConfigurationUpdate", MaxRecords=1)
    assert update["HistorySummary"] == f'Alarm "{names["alarm"]}" updated'
    assert json.loads(update["HistoryData"])["updatedAlarm"]["alarmDescription"] == "now described"


def test_actions_follow_the_new_state_and_actions_enabled(clients, names):
    sqs, sns = clients("sqs"), clients("sns")
    topic = sns.create_topic(Name=names["topic"])["TopicArn"]
    url = sqs.create_queue(QueueName=names["topic"])["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
    _ssh_reject_metric(clients, names, rejects=0)
    _put_alarm(clients, names, OKActions=[topic], AlarmActions=[topic], ActionsEnabled=False)
    _wait_for(lambda: _alarm(clients, names["alarm"])["StateValue"] == "OK")
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)

    clients("cloudwatch").enable_alarm_actions(AlarmNames=[names["alarm"]])
    clients("cloudwatch").set_alarm_state(AlarmName=names["alarm"], StateValue="ALARM", StateReason="testing")
    [received] = sqs.receive_message(QueueUrl=url)["Messages"]
    envelope = json.loads(received["Body"])
    message = json.loads(envelope["Message"])
    assert envelope["Subject"] == f'ALARM: "{names["alarm"]}" in US East (N. Virginia)'
    assert (message["OldStateValue"], message["NewStateValue"], message["NewStateReason"]) == ("OK", "ALARM", "testing")
    assert message["Trigger"]["Statistic"] == "SUM" and message["Trigger"]["TreatMissingData"] == "notBreaching"
    summaries = [h["HistorySummary"] for h in _history(clients, names["alarm"], HistoryItemType="StateUpdate",
                                                        ScanBy="TimestampAscending")]
    assert summaries[:2] == ["Alarm updated from INSUFFICIENT_DATA to OK", "Alarm updated from OK to ALARM"]
    _wait_for(lambda: _alarm(clients, names["alarm"])["StateValue"] == "OK")  # SetAlarmState lasts one evaluation


def test_history_pages_and_survives_deletion(clients, names):
    _ssh_reject_metric(clients, names, rejects=0)
    for description in ("one", "two", "three"):
        _put_alarm(clients, names, TreatMissingData="missing", AlarmDescription=description)
    cloudwatch = clients("cloudwatch")
    first = cloudwatch.describe_alarm_history(AlarmName=names["alarm"], MaxRecords=2)
    second = cloudwatch.describe_alarm_history(AlarmName=names["alarm"], MaxRecords=2, NextToken=first["NextToken"])
    summaries = [h["HistorySummary"] for h in first["AlarmHistoryItems"] + second["AlarmHistoryItems"]]
    assert summaries[-1] == f'Alarm "{names["alarm"]}" created' and len(summaries) == 3
    assert "NextToken" not in second
    cloudwatch.delete_alarms(AlarmNames=[names["alarm"]])
    assert len(_history(clients, names["alarm"])) == 3


def test_a_broken_alarm_never_stops_the_evaluation_of_the_others(clients, names):
    broken = {**names, "alarm": names["alarm"] + " broken"}
    _ssh_reject_metric(clients, names, rejects=1)
    _put_alarm(clients, broken)
    get_backend("cloudwatch")["123456789012"]["us-east-1"].alarms[broken["alarm"]].dimensions = None  # a bug
    _put_alarm(clients, names)
    _wait_for(lambda: _alarm(clients, names["alarm"])["StateValue"] == "ALARM")
    assert _alarm(clients, broken["alarm"])["StateValue"] == "INSUFFICIENT_DATA"
    clients("cloudwatch").delete_alarms(AlarmNames=[broken["alarm"]])
