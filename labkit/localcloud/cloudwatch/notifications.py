"""What CloudWatch publishes to SNS when an alarm changes state.

Pure formatting, no I/O. Layouts and wording follow docs/aws-behaviour.md, "Alarm notifications",
checked against alarm emails and SNS payloads captured from real accounts (2019-2026) and AWS's own
documentation examples (Trusted Advisor guide, SNS guide). CloudWatch publishes with
MessageStructure=json: a JSON `default` message (what SQS, HTTP, Lambda and email-json subscribers
get), an `sms` line, and a plain-text `email` body. What SNS then delivers is `sns.formats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from ..formats import as_utc, aws_json, aws_timestamp, java_double
from .alarm_evaluation import AlarmConfig

# The long names CloudWatch writes in alarm messages and subjects. European regions keep the
# older "EU (...)" form there, unlike the "Europe (...)" of the console and botocore.
REGION_NAMES = {
    "af-south-1": "Africa (Cape Town)",
    "ap-east-1": "Asia Pacific (Hong Kong)",
    "ap-east-2": "Asia Pacific (Taipei)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-northeast-3": "Asia Pacific (Osaka)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-south-2": "Asia Pacific (Hyderabad)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-southeast-3": "Asia Pacific (Jakarta)",
    "ap-southeast-4": "Asia Pacific (Melbourne)",
    "ap-southeast-5": "Asia Pacific (Malaysia)",
    "ap-southeast-6": "Asia Pacific (New Zealand)",
    "ap-southeast-7": "Asia Pacific (Thailand)",
    "ca-central-1": "Canada (Central)",
    "ca-west-1": "Canada West (Calgary)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-central-2": "EU (Zurich)",
    "eu-north-1": "EU (Stockholm)",
    "eu-south-1": "EU (Milan)",
    "eu-south-2": "EU (Spain)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)",
    "il-central-1": "Israel (Tel Aviv)",
    "me-central-1": "Middle East (UAE)",
    "me-south-1": "Middle East (Bahrain)",
    "mx-central-1": "Mexico (Central)",
    "sa-east-1": "South America (Sao Paulo)",
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
}

# Trigger.Statistic is the Java enum name of the statistic.
STATISTIC_ENUM = {
    "SampleCount": "SAMPLE_COUNT",
    "Average": "AVERAGE",
    "Sum": "SUM",
    "Minimum": "MINIMUM",
    "Maximum": "MAXIMUM",
}

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)

# Label widths of the two aligned blocks of the alarm email.
DETAILS_WIDTH = 30
METRIC_WIDTH = 39


@dataclass(frozen=True)
class MetricAlarm:
    """A metric alarm as PutMetricAlarm defined it, with where it lives."""

    name: str
    region: str
    account_id: str
    namespace: str
    metric_name: str
    config: AlarmConfig
    dimensions: tuple[tuple[str, str], ...] = ()  # (name, value) pairs
    description: str | None = None
    ok_actions: tuple[str, ...] = ()
    alarm_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    configuration_updated: datetime | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:cloudwatch:{self.region}:{self.account_id}:alarm:{self.name}"


@dataclass(frozen=True)
class StateChange:
    old_state: str
    new_state: str
    reason: str
    timestamp: datetime


def region_display_name(region: str) -> str:
    """"US East (N. Virginia)" for us-east-1; unknown regions are shown by their code."""
    return REGION_NAMES.get(region, region)


def alarm_subject(alarm: MetricAlarm, new_state: str) -> str:
    """`ALARM: "SSH rejects" in US East (N. Virginia)`."""
    return f'{new_state}: "{alarm.name}" in {region_display_name(alarm.region)}'


def alarm_message(alarm: MetricAlarm, change: StateChange) -> str:
    """The JSON `Message` SQS, HTTP, Lambda and email-json subscribers receive."""
    message: dict[str, object] = {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": alarm.account_id,
    }
    if alarm.configuration_updated is not None:
        message["AlarmConfigurationUpdatedTimestamp"] = aws_timestamp(alarm.configuration_updated)
    message |= {
        "NewStateValue": change.new_state,
        "NewStateReason": change.reason,
        "StateChangeTime": aws_timestamp(change.timestamp),
        "Region": region_display_name(alarm.region),
        "AlarmArn": alarm.arn,
        "OldStateValue": change.old_state,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": _trigger(alarm),
    }
    return aws_json(message)


def _trigger(alarm: MetricAlarm) -> dict[str, object]:
    config = alarm.config
    if config.statistic is not None:
        statistic = {"StatisticType": "Statistic", "Statistic": STATISTIC_ENUM[config.statistic]}
    else:
        statistic = {"StatisticType": "ExtendedStatistic", "ExtendedStatistic": config.extended_statistic}
    trigger: dict[str, object] = {
        "MetricName": alarm.metric_name,
        "Namespace": alarm.namespace,
        **statistic,
        "Unit": config.unit,
        "Dimensions": [{"value": value, "name": name} for name, value in alarm.dimensions],
        "Period": config.period,
        "EvaluationPeriods": config.evaluation_periods,
    }
    if config.datapoints_to_alarm is not None:
        trigger["DatapointsToAlarm"] = config.datapoints_to_alarm
    trigger |= {
        "ComparisonOperator": config.comparison_operator,
        "Threshold": float(config.threshold),
        "TreatMissingData": config.treat_missing_data or "",
        "EvaluateLowSampleCountPercentile": "",
    }
    return trigger


def alarm_email_text(alarm: MetricAlarm, change: StateChange) -> str:
    """The plain-text body CloudWatch publishes for email subscribers (before SNS's footer)."""
    config = alarm.config
    region_name = region_display_name(alarm.region)
    when = long_date(change.timestamp)
    console = (
        f"https://{alarm.region}.console.aws.amazon.com/cloudwatch/deeplink.js"
        f"?region={alarm.region}#alarmsV2:alarm/{quote(alarm.name, safe='')}"
    )
    metric_lines = [
        _field("MetricNamespace", alarm.namespace, METRIC_WIDTH),
        _field("MetricName", alarm.metric_name, METRIC_WIDTH),
        _field("Dimensions", " ".join(f"[{name} = {value}]" for name, value in alarm.dimensions), METRIC_WIDTH),
        _field("Period", f"{config.period} seconds", METRIC_WIDTH),
        _field("Statistic", config.statistic_name, METRIC_WIDTH),
        _field("Unit", config.unit or "not specified", METRIC_WIDTH),
    ]
    if config.treat_missing_data is not None:  # AWS leaves the line out when it was never set
        metric_lines.append(_field("TreatMissingData", config.treat_missing_data, METRIC_WIDTH))
    lines = [
        f'You are receiving this email because your Amazon CloudWatch Alarm "{alarm.name}" in the {region_name} region '
        f'has entered the {change.new_state} state, because "{change.reason}" at "{when}".',
        "",
        "View this alarm in the AWS Management Console:",
        console,
        "",
        "Alarm Details:",
        _field("Name", alarm.name, DETAILS_WIDTH),
        _field("Description", alarm.description or "", DETAILS_WIDTH),
        _field("State Change", f"{change.old_state} -> {change.new_state}", DETAILS_WIDTH),
        _field("Reason for State Change", change.reason, DETAILS_WIDTH),
        _field("Timestamp", when, DETAILS_WIDTH),
        _field("AWS Account", alarm.account_id, DETAILS_WIDTH),
        _field("Alarm Arn", alarm.arn, DETAILS_WIDTH),
        "",
        "Threshold:",
        f"- The alarm is in the ALARM state when the metric is {config.comparison_operator} "
        f"{java_double(config.threshold)} for at least {config.datapoints_to_alarm_or_default} "
        f"of the last {config.evaluation_periods} period(s) of {config.period} seconds.",
        "",
        "Monitored Metric:",
        *metric_lines,
        "",
        "",
        "State Change Actions:",
        f"- OK: {_actions(alarm.ok_actions)}",
        f"- ALARM: {_actions(alarm.alarm_actions)}",
        f"- INSUFFICIENT_DATA: {_actions(alarm.insufficient_data_actions)}",
    ]
    return "\n".join(lines) + "\n"


def alarm_publication(alarm: MetricAlarm, change: StateChange) -> str:
    """The MessageStructure=json payload CloudWatch hands to SNS Publish."""
    return aws_json(
        {
            "default": alarm_message(alarm, change),
            "sms": alarm_subject(alarm, change.new_state),
            "email": alarm_email_text(alarm, change),
        }
    )


def long_date(moment: datetime) -> str:
    """`Wednesday 15 September, 2021 18:32:31 UTC`, independent of the process locale."""
    moment = as_utc(moment)
    return f"{DAYS[moment.weekday()]} {moment.day:02d} {MONTHS[moment.month - 1]}, {moment.year} {moment:%H:%M:%S} UTC"


def _field(label: str, value: str, width: int) -> str:
    return f"- {label}:".ljust(width) + value


def _actions(arns: tuple[str, ...]) -> str:
    return f"[{', '.join(arns)}]" if arns else ""


