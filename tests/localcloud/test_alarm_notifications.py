"""Alarm notifications: the SNS message JSON, subjects, emails and the HTTP/SQS envelope."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import datetime, timezone

import botocore.loaders
import pytest

from labkit.localcloud.cloudwatch.alarm_evaluation import AlarmConfig
from labkit.localcloud.cloudwatch.notifications import (
    MetricAlarm,
    StateChange,
    alarm_email_text,
    alarm_message,
    alarm_publication,
    alarm_subject,
    long_date,
    region_display_name,
)
from labkit.localcloud.sns.formats import (
    CONFIRMATION_SUBJECT,
    SENDER,
    notification_email,
    notification_envelope,
    notification_string_to_sign,
    sns_endpoint,
    subscription_confirmation_email,
)

TOPIC = "arn:aws:sns:us-east-1:123456789012:flow-logs-alerts"
SUBSCRIPTION = f"{TOPIC}:3b0f1e42-9108-4cc3-adbc-9928f8ef9326"

ALARM = MetricAlarm(
    name="SSH rejects",
    region="us-east-1",
    account_id="123456789012",
    namespace="VPCFlowLogs",
    metric_name="RejectedSSH",
    config=AlarmConfig(
        period=60,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        threshold=1.0,
        comparison_operator="GreaterThanOrEqualToThreshold",
        statistic="Sum",
        treat_missing_data="notBreaching",
    ),
    description="Rejected SSH connections",
    alarm_actions=(TOPIC,),
    configuration_updated=datetime(2021, 9, 15, 18, 10, 2, 103000, tzinfo=timezone.utc),
)
REASON = (
    "Threshold Crossed: 1 out of the last 1 datapoints [2.0 (15/09/21 18:27:00)] was greater than or equal to "
    "the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
)
CHANGE = StateChange("OK", "ALARM", REASON, datetime(2021, 9, 15, 18, 32, 31, 383000, tzinfo=timezone.utc))


@pytest.mark.parametrize(
    "state, region, subject",
    [
        ("ALARM", "us-east-1", 'ALARM: "SSH rejects" in US East (N. Virginia)'),
        ("OK", "eu-west-2", 'OK: "SSH rejects" in EU (London)'),
        ("INSUFFICIENT_DATA", "ap-southeast-2", 'INSUFFICIENT_DATA: "SSH rejects" in Asia Pacific (Sydney)'),
    ],
)
def test_subject(state, region, subject):
    assert alarm_subject(replace(ALARM, region=region), state) == subject


def test_every_commercial_region_has_its_long_name():
    endpoints = botocore.loaders.create_loader().load_data("endpoints")
    aws = next(partition for partition in endpoints["partitions"] if partition["partition"] == "aws")
    for region, details in aws["regions"].items():
        # CloudWatch says "EU (...)" where the console now says "Europe (...)".
        assert region_display_name(region) == details["description"].replace("Europe (", "EU (")
    assert region_display_name("sa-east-1") == "South America (Sao Paulo)"


def test_message_json_fields_in_aws_order():
    assert alarm_message(ALARM, CHANGE) == (
        '{"AlarmName":"SSH rejects","AlarmDescription":"Rejected SSH connections","AWSAccountId":"123456789012",'
        '"AlarmConfigurationUpdatedTimestamp":"2021-09-15T18:10:02.103+0000","NewStateValue":"ALARM",'
        f'"NewStateReason":"{REASON}","StateChangeTime":"2021-09-15T18:32:31.383+0000",'
        '"Region":"US East (N. Virginia)","AlarmArn":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:SSH rejects",'
        '"OldStateValue":"OK","OKActions":[],"AlarmActions":["arn:aws:sns:us-east-1:123456789012:flow-logs-alerts"],'
        '"InsufficientDataActions":[],"Trigger":{"MetricName":"RejectedSSH","Namespace":"VPCFlowLogs",'
        '"StatisticType":"Statistic","Statistic":"SUM","Unit":null,"Dimensions":[],"Period":60,"EvaluationPeriods":1,'
        '"DatapointsToAlarm":1,"ComparisonOperator":"GreaterThanOrEqualToThreshold","Threshold":1.0,'
        '"TreatMissingData":"notBreaching","EvaluateLowSampleCountPercentile":""}}'
    )


def test_message_trigger_for_unset_options_and_percentiles():
    config = AlarmConfig(period=300, evaluation_periods=3, threshold=10, comparison_operator="LessThanThreshold",
                         extended_statistic="p99", unit="Count")
    alarm = replace(ALARM, config=config, description=None, configuration_updated=None,
                    dimensions=(("InstanceId", "i-0abc"),))
    message = json.loads(alarm_message(alarm, CHANGE))
    assert message["AlarmDescription"] is None
    assert "AlarmConfigurationUpdatedTimestamp" not in message
    assert list(message["Trigger"]) == [
        "MetricName", "Namespace", "StatisticType", "ExtendedStatistic", "Unit", "Dimensions", "Period",
        "EvaluationPeriods", "ComparisonOperator", "Threshold", "TreatMissingData", "EvaluateLowSampleCountPercentile",
    ]
    trigger = message["Trigger"]
    assert trigger["StatisticType"] == "ExtendedStatistic"
    assert (trigger["ExtendedStatistic"], trigger["Unit"]) == ("p99", "Count")
    assert trigger["Dimensions"] == [{"value": "i-0abc", "name": "InstanceId"}]
    assert trigger["TreatMissingData"] == ""
    assert '"Threshold":10.0' in alarm_message(alarm, CHANGE)


@pytest.mark.parametrize(
    "statistic, name", [("SampleCount", "SAMPLE_COUNT"), ("Average", "AVERAGE"), ("Maximum", "MAXIMUM")]
)
def test_message_statistic_is_upper_case(statistic, name):
    alarm = replace(ALARM, config=replace(ALARM.config, statistic=statistic))
    assert json.loads(alarm_message(alarm, CHANGE))["Trigger"]["Statistic"] == name


# Trailing spaces are part of AWS's layout (padded labels, empty action lists), hence the list of lines.
EMAIL_TEXT = "\n".join([
    'You are receiving this email because your Amazon CloudWatch Alarm "SSH rejects" in the US East (N. Virginia) '
    'region has entered the ALARM state, because "' + REASON + '" at "Wednesday 15 September, 2021 18:32:31 UTC".',
    "",
    "View this alarm in the AWS Management Console:",
    "https://us-east-1.console.aws.amazon.com/cloudwatch/deeplink.js?region=us-east-1#alarmsV2:alarm/SSH%20rejects",
    "",
    "Alarm Details:",
    "- Name:                       SSH rejects",
    "- Description:                Rejected SSH connections",
    "- State Change:               OK -> ALARM",
    "- Reason for State Change:    " + REASON,
    "- Timestamp:                  Wednesday 15 September, 2021 18:32:31 UTC",
    "- AWS Account:                123456789012",
    "- Alarm Arn:                  arn:aws:cloudwatch:us-east-1:123456789012:alarm:SSH rejects",
    "",
    "Threshold:",
    "- The alarm is in the ALARM state when the metric is GreaterThanOrEqualToThreshold 1.0 "
    "for at least 1 of the last 1 period(s) of 60 seconds.",
    "",
    "Monitored Metric:",
    "- MetricNamespace:                     VPCFlowLogs",
    "- MetricName:                          RejectedSSH",
    "- Dimensions:                          ",
    "- Period:                              60 seconds",
    "- Statistic:                           Sum",
    "- Unit:                                not specified",
    "- TreatMissingData:                    notBreaching",
    "",
    "",
    "State Change Actions:",
    "- OK: ",
    "- ALARM: [arn:aws:sns:us-east-1:123456789012:flow-logs-alerts]",
    "- INSUFFICIENT_DATA: ",
]) + "\n"


def test_email_text_blocks():
    assert alarm_email_text(ALARM, CHANGE) == EMAIL_TEXT


def test_email_text_variants():
    alarm = replace(
        ALARM,
        region="eu-west-2",
        description=None,
        dimensions=(("TargetGroup", "targetgroup/web/e74a"), ("LoadBalancer", "app/web/1372")),
        config=replace(
            ALARM.config, evaluation_periods=3, datapoints_to_alarm=2, period=300, treat_missing_data=None, unit="Count"
        ),
        ok_actions=(TOPIC, TOPIC + "-2"),
    )
    change = StateChange("ALARM", "OK", "why", CHANGE.timestamp)
    lines = alarm_email_text(alarm, change).splitlines()
    assert lines[0].startswith(
        'You are receiving this email because your Amazon CloudWatch Alarm "SSH rejects" in the EU (London) region '
        "has entered the OK state"
    )
    assert "- Description:                " in lines
    assert "- State Change:               ALARM -> OK" in lines
    assert ("- The alarm is in the ALARM state when the metric is GreaterThanOrEqualToThreshold 1.0 "
            "for at least 2 of the last 3 period(s) of 300 seconds.") in lines
    assert "- Dimensions:                          [TargetGroup = targetgroup/web/e74a] [LoadBalancer = app/web/1372]" in lines
    assert "- Unit:                                Count" in lines
    assert not any(line.startswith("- TreatMissingData:") for line in lines)  # never set: AWS omits the line
    assert f"- OK: [{TOPIC}, {TOPIC}-2]" in lines


def test_long_date_pads_the_day_and_ignores_locale():
    assert long_date(datetime(2019, 8, 5, 17, 4, 3, tzinfo=timezone.utc)) == "Monday 05 August, 2019 17:04:03 UTC"


def test_publication_carries_every_protocol_variant():
    published = json.loads(alarm_publication(ALARM, CHANGE))
    assert published == {
        "default": alarm_message(ALARM, CHANGE),
        "sms": 'ALARM: "SSH rejects" in US East (N. Virginia)',
        "email": EMAIL_TEXT,
    }


def test_alarm_email_as_delivered_by_sns():
    subject = alarm_subject(ALARM, "ALARM")
    email = notification_email(subject, EMAIL_TEXT, SUBSCRIPTION, "learner@example.com", sns_endpoint("us-east-1"))
    assert (email.sender, email.recipient, email.subject) == (
        "AWS Notifications <no-reply@sns.amazonaws.com>", "learner@example.com", 'ALARM: "SSH rejects" in US East (N. Virginia)',
    )
    assert email.body == EMAIL_TEXT + (
        "\n\n--\n"
        "If you wish to stop receiving notifications from this topic, please click or visit the link below to unsubscribe:\n"
        f"https://sns.us-east-1.amazonaws.com/unsubscribe.html?SubscriptionArn={SUBSCRIPTION}&Endpoint=learner@example.com\n"
        "\n"
        "Please do not reply directly to this email. If you have any questions or comments regarding this email, "
        "please contact us at https://aws.amazon.com/support\n"
    )
    assert "- INSUFFICIENT_DATA: \n\n\n--\n" in email.body  # two blank lines before the footer


def test_subscription_confirmation_email():
    email = subscription_confirmation_email(
        TOPIC, "2336412f37fb687f5d51", "learner@example.com", "http://127.0.0.1:4566"
    )
    assert (email.sender, email.subject) == (SENDER, CONFIRMATION_SUBJECT)
    assert CONFIRMATION_SUBJECT == "AWS Notification - Subscription Confirmation"
    assert email.body == (
        "You have chosen to subscribe to the topic: \n"
        f"{TOPIC}\n"
        "\n"
        "To confirm this subscription, click or visit the link below (If this was in error no action is necessary): \n"
        f"http://127.0.0.1:4566/confirmation.html?TopicArn={TOPIC}&Token=2336412f37fb687f5d51&Endpoint=learner@example.com\n"
        "\n"
        "Please do not reply directly to this email. If you wish to remove yourself from receiving all future SNS "
        "subscription confirmation requests please send an email to sns-opt-out\n"
    )


def fake_signer(data: bytes) -> bytes:
    return hashlib.sha1(data).digest()


def test_envelope_for_http_and_sqs_subscribers():
    body = notification_envelope(
        topic_arn=TOPIC,
        message_id="22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        subject='ALARM: "SSH rejects" in US East (N. Virginia)',
        message=alarm_message(ALARM, CHANGE),
        timestamp=datetime(2021, 9, 15, 18, 32, 31, 655000, tzinfo=timezone.utc),
        subscription_arn=SUBSCRIPTION,
        sns_url=sns_endpoint("us-east-1"),
        signing_cert_url="https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
        sign=fake_signer,
    )
    assert body.startswith('{\n  "Type" : "Notification",\n  "MessageId" : "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",\n')
    envelope = json.loads(body)
    assert list(envelope) == [
        "Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
        "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL",
    ]
    assert envelope["Timestamp"] == "2021-09-15T18:32:31.655Z"
    assert envelope["SignatureVersion"] == "1"
    assert envelope["UnsubscribeURL"] == f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={SUBSCRIPTION}"
    assert json.loads(envelope["Message"])["NewStateValue"] == "ALARM"
    signed = (
        f"Message\n{envelope['Message']}\nMessageId\n{envelope['MessageId']}\nSubject\n{envelope['Subject']}\n"
        f"Timestamp\n{envelope['Timestamp']}\nTopicArn\n{TOPIC}\nType\nNotification\n"
    ).encode()
    assert base64.b64decode(envelope["Signature"]) == fake_signer(signed)


def test_envelope_without_subject_leaves_it_out_of_body_and_signature():
    fields = {"Type": "Notification", "MessageId": "m", "TopicArn": TOPIC, "Message": "hi", "Timestamp": "t"}
    expected = f"Message\nhi\nMessageId\nm\nTimestamp\nt\nTopicArn\n{TOPIC}\nType\nNotification\n"
    assert notification_string_to_sign(fields) == expected.encode()
    body = notification_envelope(
        topic_arn=TOPIC, message_id="m", subject=None, message="hi", timestamp=CHANGE.timestamp,
        subscription_arn=SUBSCRIPTION, sns_url="http://127.0.0.1:4566",
        signing_cert_url="http://127.0.0.1:4566/cert.pem",
        sign=fake_signer,
    )
    assert "Subject" not in json.loads(body)
