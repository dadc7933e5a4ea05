"""Part 3: a metric filter for rejected SSH, an alarm on its metric, and an SNS email.

The `ensure_*` functions take the boto3 parameters the notebook shows and add what a lab needs around
them: look up before creating (running a notebook twice creates nothing new), the lab's tags, and the
billable-resource check on AWS. Everything here makes the same calls on both targets, except the
functions under "local target only", which read the local cloud's outbox in place of a mailbox.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd

from .config import ConfigError
from .localcloud.sns.formats import CONFIRMATION_SUBJECT
from .session import Lab
from .waiting import wait_for

# The walkthrough's filter pattern; its names are LabConfig's (metric_filter_name, metric_namespace, ...).
SSH_REJECT_PATTERN = (
    '[version, account, eni, source, destination, srcport, destport="22", protocol="6", packets, bytes, '
    'windowstart, windowend, action="REJECT", flowlogstatus]'
)
PENDING = "PendingConfirmation"
# Domains reserved for examples (RFC 2606): mail to them never arrives.
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")


def alert_address(lab: Lab, address: str) -> str:
    """The alarm's email address; on AWS it must be one the learner can read (the link must be clicked)."""
    address = address.strip()
    if "@" not in address:
        raise ConfigError(f"alert_email {address!r} is not an email address.")
    if lab.config.target == "aws" and address.rsplit("@", 1)[1].lower() in EXAMPLE_DOMAINS:
        raise ConfigError(f"On AWS the confirmation link goes to {address}, which nobody reads: set the notebook "
                          f"parameter alert_email to your own address (papermill: -p alert_email you@...).")
    return address


def wait_for_fresh_minute(needed_s: float) -> datetime:
    """Return at once if `needed_s` seconds are left in this UTC minute, else sleep until the next one
    starts; returns the time. Traffic made then lands in one 1-minute period of the metric."""
    time.sleep(seconds_to_fresh_minute(datetime.now(timezone.utc), needed_s))
    return datetime.now(timezone.utc)


def seconds_to_fresh_minute(now: datetime, needed_s: float) -> float:
    """0 if `needed_s` seconds are left in the minute of `now`, else the time to the next minute (and a bit)."""
    left = 60 - (now.second + now.microsecond / 1e6)
    return 0.0 if left >= needed_s else left + 0.05


# --- the metric filter -----------------------------------------------------------------------------

def try_filter_pattern(lab: Lab, filter_pattern: str, messages: list[str]) -> pd.DataFrame:
    """TestMetricFilter: one row per sample message, whether it matched and what the pattern extracted."""
    matches = lab.client("logs").test_metric_filter(filterPattern=filter_pattern, logEventMessages=messages)["matches"]
    extracted = {m["eventNumber"]: m.get("extractedValues", {}) for m in matches}
    rows = [{"event": number, "matched": number in extracted, "message": message, **extracted.get(number, {})}
            for number, message in enumerate(messages, 1)]
    return pd.DataFrame(rows)


def ensure_metric_filter(lab: Lab, filterName: str, filterPattern: str,
                         metricTransformations: list[dict[str, Any]], logGroupName: str | None = None) -> dict[str, Any]:
    """PutMetricFilter unless the log group already has this filter as asked; returns it as described."""
    logs = lab.client("logs")
    group = logGroupName or lab.config.log_group
    wanted = {"filterPattern": filterPattern, "metricTransformations": metricTransformations}
    current = find_metric_filter(lab, filterName, group)
    if current is None or {key: current.get(key) for key in wanted} != wanted:
        lab.require_billable_ok(f"the metric filter {filterName} (a custom CloudWatch metric)")
        logs.put_metric_filter(logGroupName=group, filterName=filterName, **wanted)
        current = find_metric_filter(lab, filterName, group)
    return current  # type: ignore[return-value]


def find_metric_filter(lab: Lab, name: str, log_group: str | None = None) -> dict[str, Any] | None:
    filters = lab.client("logs").describe_metric_filters(
        logGroupName=log_group or lab.config.log_group, filterNamePrefix=name)["metricFilters"]
    return next((f for f in filters if f["filterName"] == name), None)


def metric_datapoints(lab: Lab, namespace: str | None = None, metric_name: str | None = None,
                      statistic: str = "Sum", period: int = 60, minutes: int = 60,
                      dimensions: list[dict[str, str]] | None = None) -> pd.DataFrame:
    """GetMetricData over the last `minutes`, one row per period that has data (timestamp, value); the
    metric is the lab's `SSH Rejects` unless named."""
    namespace, metric_name = namespace or lab.config.metric_namespace, metric_name or lab.config.metric_name
    end = _minute(datetime.now(timezone.utc)) + timedelta(minutes=1)
    response = lab.client("cloudwatch").get_metric_data(
        StartTime=end - timedelta(minutes=minutes), EndTime=end, ScanBy="TimestampAscending",
        MetricDataQueries=[{"Id": "m", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric_name, "Dimensions": dimensions or []},
            "Period": period, "Stat": statistic}}])
    result = response["MetricDataResults"][0]
    frame = pd.DataFrame({"timestamp": pd.to_datetime(result["Timestamps"], utc=True), "value": result["Values"]})
    return frame.sort_values("timestamp", ignore_index=True)


def wait_for_datapoints(lab: Lab, since: datetime, namespace: str | None = None,
                        metric_name: str | None = None, statistic: str = "Sum", period: int = 60,
                        timeout_s: float = 600, poll_s: float = 2) -> pd.DataFrame:
    """Wait until the metric (the lab's unless named) has a datapoint for a period that started at or after
    `since` and is over (the periods an alarm judges); returns those datapoints. TimeoutError otherwise."""
    namespace, metric_name = namespace or lab.config.metric_namespace, metric_name or lab.config.metric_name
    first = pd.Timestamp(since).floor(f"{period}s")

    def finished_periods() -> pd.DataFrame:
        data = metric_datapoints(lab, namespace, metric_name, statistic, period, minutes=max(60, 2 * period // 60))
        over = pd.Timestamp(datetime.now(timezone.utc)) - pd.Timedelta(seconds=period)
        return data[(data["timestamp"] >= first) & (data["timestamp"] <= over)].reset_index(drop=True)

    return wait_for(finished_periods, lambda done: len(done) > 0, timeout_s=timeout_s, poll_s=poll_s,
                    what=f"No complete {period} s period of {namespace}/{metric_name} since {since:%H:%M:%S} UTC",
                    hint=lambda _: "are the REJECT records in the log group yet?")


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


# --- the alarm -----------------------------------------------------------------------------------------

# PutMetricAlarm settings compared to decide whether an existing alarm is already as asked.
_ALARM_SETTINGS = ("Namespace", "MetricName", "Statistic", "Period", "EvaluationPeriods", "DatapointsToAlarm",
                   "Threshold", "ComparisonOperator", "TreatMissingData", "AlarmActions", "OKActions",
                   "InsufficientDataActions", "AlarmDescription", "ActionsEnabled", "Dimensions", "Unit")


def ensure_alarm(lab: Lab, AlarmName: str, **put_metric_alarm: Any) -> dict[str, Any]:
    """PutMetricAlarm unless the alarm exists with these settings; returns it as DescribeAlarms shows it.

    PutMetricAlarm on an existing alarm replaces its configuration and keeps its state, so a changed
    setting is simply put again.
    """
    cloudwatch = lab.client("cloudwatch")
    current = describe_alarm(lab, AlarmName)
    if current is None or any(current.get(key) != value for key, value in put_metric_alarm.items()
                              if key in _ALARM_SETTINGS):
        if current is None:
            lab.require_billable_ok(f"the alarm {AlarmName}")
        cloudwatch.put_metric_alarm(AlarmName=AlarmName, Tags=lab.config.tag_list(), **put_metric_alarm)
        current = describe_alarm(lab, AlarmName)
    return current  # type: ignore[return-value]


def describe_alarm(lab: Lab, name: str) -> dict[str, Any] | None:
    alarms = lab.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return alarms[0] if alarms else None


def wait_for_alarm_state(lab: Lab, name: str, state: str = "ALARM", timeout_s: float = 600,
                         poll_s: float = 5) -> dict[str, Any]:
    """Poll DescribeAlarms until the alarm is in `state`; TimeoutError (with where it is) otherwise."""
    def alarm() -> dict[str, Any]:
        found = describe_alarm(lab, name)
        if found is None:
            raise LookupError(f"There is no alarm named {name!r} in {lab.region}.")
        return found

    return wait_for(alarm, lambda found: found["StateValue"] == state, timeout_s=timeout_s, poll_s=poll_s,
                    what=f"Alarm {name!r} is not {state}",
                    hint=lambda found: f"it is still {found['StateValue']} ({found['StateReason']})")


def alarm_history(lab: Lab, name: str, item_type: str | None = None) -> pd.DataFrame:
    """DescribeAlarmHistory, oldest first: when (UTC, to the second), type, summary."""
    params: dict[str, Any] = {"AlarmName": name, "ScanBy": "TimestampAscending"}
    if item_type:
        params["HistoryItemType"] = item_type
    items = []
    for page in lab.client("cloudwatch").get_paginator("describe_alarm_history").paginate(**params):
        items += page["AlarmHistoryItems"]
    frame = pd.DataFrame([{"timestamp": i["Timestamp"], "type": i["HistoryItemType"], "summary": i["HistorySummary"]}
                          for i in items], columns=["timestamp", "type", "summary"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.floor("s")
    return frame


_COMPARISON_SYMBOLS = {"GreaterThanOrEqualToThreshold": "≥", "GreaterThanThreshold": ">",
                       "LessThanThreshold": "<", "LessThanOrEqualToThreshold": "≤"}


def plot_metric_with_threshold(lab: Lab, alarm_name: str, minutes: int = 60, ax: Any = None) -> Any:
    """The alarm's metric per period as bars, with its threshold as a line; returns the Axes."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    alarm = describe_alarm(lab, alarm_name)
    if alarm is None:
        raise LookupError(f"There is no alarm named {alarm_name!r} in {lab.region}.")
    statistic = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
    data = metric_datapoints(lab, alarm["Namespace"], alarm["MetricName"], statistic, alarm["Period"], minutes,
                             alarm.get("Dimensions"))
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.5))
    width = timedelta(seconds=alarm["Period"]) * 0.8
    ax.bar(data["timestamp"], data["value"], width=width, align="edge", label=f"{alarm['MetricName']} ({statistic})")
    ax.axhline(alarm["Threshold"], color="red", linestyle="--",
               label=f"alarm when {_COMPARISON_SYMBOLS.get(alarm['ComparisonOperator'], alarm['ComparisonOperator'])} "
                     f"{alarm['Threshold']:g}")
    end = _minute(datetime.now(timezone.utc)) + timedelta(minutes=1)
    ax.set_xlim(end - timedelta(minutes=minutes), end)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.yaxis.get_major_locator().set_params(integer=True)  # counts of rejected packets
    ax.set_title(f"{alarm_name}: {alarm['StateValue']}")
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel(f"{statistic} per {alarm['Period']} s")
    ax.legend(loc="upper left")
    return ax


# --- SNS topic and email subscription ---------------------------------------------------------------

def ensure_topic(lab: Lab, Name: str) -> str:
    """CreateTopic `Name` with the lab's tags, unless it exists; returns its ARN."""
    sns = lab.client("sns")
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page["Topics"]:
            if topic["TopicArn"].rsplit(":", 1)[-1] == Name:
                return topic["TopicArn"]
    lab.require_billable_ok(f"the SNS topic {Name}")
    return sns.create_topic(Name=Name, Tags=lab.config.tag_list())["TopicArn"]


def ensure_subscription(lab: Lab, TopicArn: str, Endpoint: str, Protocol: str = "email") -> str:
    """Subscribe `Endpoint` unless it already is; returns its SubscriptionArn ("PendingConfirmation"
    until the recipient confirms)."""
    current = subscription_arn(lab, TopicArn, Endpoint, Protocol)
    if current is not None:
        return current
    lab.client("sns").subscribe(TopicArn=TopicArn, Protocol=Protocol, Endpoint=Endpoint)
    return subscription_arn(lab, TopicArn, Endpoint, Protocol)  # type: ignore[return-value]


def subscription_arn(lab: Lab, topic_arn: str, endpoint: str, protocol: str = "email") -> str | None:
    """The subscription's ARN, "PendingConfirmation", or None if `endpoint` is not subscribed."""
    for page in lab.client("sns").get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for subscription in page["Subscriptions"]:
            if subscription["Endpoint"] == endpoint and subscription["Protocol"] == protocol:
                return subscription["SubscriptionArn"]
    return None


def wait_for_confirmation(lab: Lab, topic_arn: str, endpoint: str, timeout_s: float = 900, poll_s: float = 10) -> str:
    """Wait until the recipient has clicked the confirmation link; returns the subscription ARN."""
    return wait_for(lambda: subscription_arn(lab, topic_arn, endpoint), lambda arn: arn not in (None, PENDING),
                    timeout_s=timeout_s, poll_s=poll_s, what=f"{endpoint} has not confirmed the subscription",
                    hint=lambda _: f"open the email {CONFIRMATION_SUBJECT!r} and click the link")


# --- local target only: the local cloud's outbox stands in for the learner's mailbox ---------------

def outbox(lab: Lab) -> pd.DataFrame:
    """The emails the local cloud has sent, oldest first (what `labkit local mail` lists)."""
    emails = _outbox(lab).emails()
    return pd.DataFrame([e.as_dict() for e in emails], columns=["from", "to", "subject", "date", "body"])


def latest_email(lab: Lab, to: str, subject_prefix: str = "", since: datetime | None = None,
                 timeout_s: float = 60, poll_s: float = 1) -> Any:
    """The newest outbox email to `to` whose subject starts with `subject_prefix` (and sent at or after
    `since`, to the second), waiting for it."""
    after = since.replace(microsecond=0) if since else None

    def matching() -> list[Any]:
        return [e for e in _outbox(lab).emails() if e.recipient == to and e.subject.startswith(subject_prefix)
                and (after is None or e.date >= after)]

    return wait_for(matching, bool, timeout_s=timeout_s, poll_s=poll_s,
                    what=f"No email to {to} with a subject starting {subject_prefix!r} in the local cloud's outbox")[-1]


def email_text(email: Any) -> str:
    """An outbox email as a mail client shows it: From, To, Subject, then the body."""
    return f"From: {email.sender}\nTo: {email.recipient}\nSubject: {email.subject}\n\n{email.body}"


def confirm_from_outbox(lab: Lab, topic_arn: str, endpoint: str, timeout_s: float = 60, poll_s: float = 1) -> str:
    """Do what clicking the link does: ConfirmSubscription with the token of the confirmation email."""
    current = subscription_arn(lab, topic_arn, endpoint)
    if current not in (None, PENDING):
        return current  # type: ignore[return-value]

    def tokens() -> list[str]:
        return [e.confirmation_token for e in _outbox(lab).emails()
                if e.recipient == endpoint and topic_arn in e.body and e.confirmation_token]

    token = wait_for(tokens, bool, timeout_s=timeout_s, poll_s=poll_s,
                     what=f"No confirmation email to {endpoint} for {topic_arn} in the local cloud's outbox")[-1]
    return lab.client("sns").confirm_subscription(TopicArn=topic_arn, Token=token)["SubscriptionArn"]


def _outbox(lab: Lab) -> Any:
    if lab.config.target != "local":
        raise ConfigError("On AWS the emails go to the real mailbox: open it (and click the confirmation link) "
                          "instead of reading the local cloud's outbox.")
    from .localcloud.sns.outbox import Outbox

    return Outbox()
