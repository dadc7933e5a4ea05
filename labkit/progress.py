"""How far a learner is, without grading: the lab's milestones, each read from the learner's own cloud
(or AWS account) through the AWS APIs, so that they say what exists and happened, not what was typed.

One function per milestone, taking the connected lab and returning (reached, message): the message
says what was found, or what is missing and which step makes it. `labkit progress` prints them; the
notebooks' checks can call the same functions. A milestone that cannot be read (its resource is not
there yet) is not reached; it never raises.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import monitoring, records
from .session import Lab

Outcome = tuple[bool, str]


@dataclass(frozen=True)
class Milestone:
    part: int
    name: str
    reached: bool
    message: str


PARTS = {1: "Set up flow logs", 2: "Generate traffic", 3: "Monitor and alert", 4: "Analyse"}
_MILESTONES: list[tuple[int, Callable[[Lab], Outcome]]] = []


def milestone(part: int) -> Callable[[Callable[[Lab], Outcome]], Callable[[Lab], Outcome]]:
    """Register a milestone of `part`; an AWS error while reading it (most often: a resource not made yet)
    means not reached, and the message is the error."""
    def register(function: Callable[[Lab], Outcome]) -> Callable[[Lab], Outcome]:
        @functools.wraps(function)
        def read(lab: Lab) -> Outcome:
            try:
                return function(lab)
            except ClientError as error:
                details = error.response.get("Error", {})
                return False, f"The cloud answered {details.get('Code')}: {details.get('Message')}"
            except BotoCoreError as error:
                return False, f"Could not ask: {error}"
        _MILESTONES.append((part, read))
        return read
    return register


def milestones(lab: Lab) -> list[Milestone]:
    """Every milestone of every part, in the lab's order."""
    return [Milestone(part, function.__name__, *function(lab)) for part, function in _MILESTONES]


def as_json(reached: list[Milestone]) -> dict[str, Any]:
    return {"parts": [{"part": part, "title": title, "milestones": [asdict(m) for m in reached if m.part == part]}
                      for part, title in PARTS.items()]}


def as_text(reached: list[Milestone]) -> str:
    lines = []
    for part, title in PARTS.items():
        lines.append(f"Part {part}: {title}")
        lines += [f"  {'✅' if m.reached else '❌'} {m.message}" for m in reached if m.part == part]
    done = sum(m.reached for m in reached)
    lines.append(f"{done} of {len(reached)} milestones reached.")
    return "\n".join(lines)


# --- Part 1 -------------------------------------------------------------------------------------------

@milestone(1)
def flow_logs_active(lab: Lab) -> Outcome:
    """Both flow logs (S3-logs and CW-logs) exist and are ACTIVE."""
    ec2, config = lab.client("ec2"), lab.config
    missing, inactive = [], []
    for name in (config.s3_flow_log_name, config.cw_flow_log_name):
        found = ec2.describe_flow_logs(Filter=config.ec2_filters(name))["FlowLogs"]
        if not found:
            missing.append(name)
        elif found[0]["FlowLogStatus"] != "ACTIVE":
            inactive.append(f"{name} is {found[0]['FlowLogStatus']}")
    if missing or inactive:
        return False, "; ".join([*([f"No flow log named {', '.join(missing)} (Part 1)"] if missing else []), *inactive])
    return True, f"Both flow logs are ACTIVE: {config.s3_flow_log_name} and {config.cw_flow_log_name}."


# --- Part 2 -------------------------------------------------------------------------------------------

def _actions_text(actions: set[str]) -> str:
    return " and ".join(sorted(actions)) or "no"


@milestone(2)
def records_in_s3(lab: Lab) -> Outcome:
    """ACCEPT and REJECT records have arrived in the bucket's flow-log files."""
    actions = set(records.read_s3_records(lab, lab.bucket)["action"])
    if not {"ACCEPT", "REJECT"} <= actions:
        return False, (f"{_actions_text(actions)} records in s3://{lab.bucket} so far: the SSH attempts of Part 2 "
                       f"make both (S3 delivery takes about 10 minutes on AWS).")
    return True, f"ACCEPT and REJECT records in s3://{lab.bucket}."


@milestone(2)
def records_in_cloudwatch_logs(lab: Lab) -> Outcome:
    """ACCEPT and REJECT records have arrived in the log group."""
    actions = set(records.read_log_events(lab, lab.config.log_group)["action"])
    if not {"ACCEPT", "REJECT"} <= actions:
        return False, (f"{_actions_text(actions)} records in the log group {lab.config.log_group} so far: the SSH "
                       f"attempts of Part 2 make both (delivery takes about 5 minutes on AWS).")
    return True, f"ACCEPT and REJECT records in the log group {lab.config.log_group}."


# --- Part 3 -------------------------------------------------------------------------------------------

@milestone(3)
def metric_filter_publishing(lab: Lab) -> Outcome:
    """The metric filter exists and its metric has datapoints (in the last 24 hours)."""
    config = lab.config
    if monitoring.find_metric_filter(lab, config.metric_filter_name) is None:
        return False, f"No metric filter {config.metric_filter_name!r} on {config.log_group} (Part 3, Step 3)."
    data = monitoring.metric_datapoints(lab, minutes=24 * 60)
    if data.empty:
        return False, (f"The metric filter exists, but {config.metric_namespace}/{config.metric_name} has no datapoint "
                       f"yet: it publishes when a rejected SSH record arrives.")
    return True, f"{config.metric_namespace}/{config.metric_name} has {len(data)} datapoint(s), {data['value'].sum():g} in all."


@milestone(3)
def alarm_was_in_alarm(lab: Lab) -> Outcome:
    """The alarm exists and its history shows it went to ALARM."""
    name = lab.config.alarm_name
    if monitoring.describe_alarm(lab, name) is None:
        return False, f"No alarm named {name!r} (Part 3, Exercise 3.3)."
    history = monitoring.alarm_history(lab, name, item_type="StateUpdate")
    if not history["summary"].str.endswith("to ALARM").any():
        return False, f"The alarm {name!r} has not been in ALARM yet: it needs a minute with a rejected SSH attempt."
    return True, f"The alarm {name!r} went to ALARM."


def _topic_arn(lab: Lab) -> str | None:
    for page in lab.client("sns").get_paginator("list_topics").paginate():
        for topic in page["Topics"]:
            if topic["TopicArn"].rsplit(":", 1)[-1] == lab.config.topic_name:
                return topic["TopicArn"]
    return None


def _email_subscriptions(lab: Lab, topic_arn: str) -> list[dict[str, Any]]:
    return [subscription for page in lab.client("sns").get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
            for subscription in page["Subscriptions"] if subscription["Protocol"] == "email"]


@milestone(3)
def subscription_confirmed(lab: Lab) -> Outcome:
    """The topic has an email subscription that was confirmed."""
    topic_arn = _topic_arn(lab)
    if topic_arn is None:
        return False, f"No SNS topic named {lab.config.topic_name!r} (Part 3)."
    subscriptions = _email_subscriptions(lab, topic_arn)
    confirmed = [s["Endpoint"] for s in subscriptions if s["SubscriptionArn"] != monitoring.PENDING]
    if not confirmed:
        return False, ("The email subscription is waiting for its confirmation link to be clicked." if subscriptions
                       else f"No email subscription on {lab.config.topic_name!r} (Part 3).")
    return True, f"{', '.join(confirmed)} confirmed the subscription."


@milestone(3)
def alarm_email_received(lab: Lab) -> Outcome:
    """The alarm's email went out: on the local cloud, an ALARM email in its outbox (the learner's
    mailbox); on AWS, SNS's own count of notifications it delivered for the topic (docs/aws-behaviour.md,
    "Delivery counts on AWS")."""
    topic_arn = _topic_arn(lab)
    if topic_arn is None:
        return False, f"No SNS topic named {lab.config.topic_name!r} (Part 3)."
    if lab.endpoint is not None:
        addresses = {s["Endpoint"] for s in _email_subscriptions(lab, topic_arn)}
        alarms = [email for email in monitoring.outbox(lab).itertuples()
                  if email.to in addresses and email.subject.startswith("ALARM")]
        if not alarms:
            return False, "No ALARM email in the local cloud's outbox yet (`labkit local mail` lists what was sent)."
        return True, f"The ALARM email reached {alarms[-1].to}: {alarms[-1].subject!r}."
    end = datetime.now(timezone.utc)
    delivered = lab.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SNS", MetricName="NumberOfNotificationsDelivered", StartTime=end - timedelta(days=1),
        EndTime=end, Period=86400, Statistics=["Sum"],
        Dimensions=[{"Name": "TopicName", "Value": lab.config.topic_name}])["Datapoints"]
    if not sum(point["Sum"] for point in delivered):
        return False, f"SNS has delivered no notification of {lab.config.topic_name!r} in the last day."
    return True, "SNS delivered the alarm's notification: look for it in your mailbox."


# --- Part 4 -------------------------------------------------------------------------------------------

@milestone(4)
def insights_query_run(lab: Lab) -> Outcome:
    """A Logs Insights query over the lab's log group has completed."""
    queries = lab.client("logs").describe_queries(logGroupName=lab.config.log_group, status="Complete")["queries"]
    if not queries:
        return False, f"No Logs Insights query over {lab.config.log_group} has completed yet (Part 4)."
    return True, f"{len(queries)} Logs Insights quer{'y' if len(queries) == 1 else 'ies'} over {lab.config.log_group} completed."


def _athena_queries(lab: Lab) -> list[dict[str, Any]]:
    athena = lab.client("athena")
    groups, token = [], {}
    while True:  # boto3 has no paginator for ListWorkGroups
        page = athena.list_work_groups(**token)
        # The lab's work group only: the lab runs its queries there, and the lab's IAM policy allows no other
        groups += [group["Name"] for group in page["WorkGroups"] if group["Name"] == lab.config.work_group_name]
        if "NextToken" not in page:
            break
        token = {"NextToken": page["NextToken"]}
    ids = [query_id for group in groups for page in athena.get_paginator("list_query_executions").paginate(WorkGroup=group)
           for query_id in page["QueryExecutionIds"]]
    return [execution for start in range(0, len(ids), 50)
            for execution in athena.batch_get_query_execution(QueryExecutionIds=ids[start:start + 50])["QueryExecutions"]]


@milestone(4)
def walkthrough_athena_query_run(lab: Lab) -> Outcome:
    """The walkthrough's Athena query (rejected TCP by day of week, over vpc_flow_logs) has succeeded."""
    ran = [q for q in _athena_queries(lab) if "day_of_week" in q["Query"].lower() and "vpc_flow_logs" in q["Query"].lower()]
    succeeded = [q for q in ran if q["Status"]["State"] == "SUCCEEDED"]
    if not succeeded:
        return False, (f"The walkthrough's day_of_week query ran {len(ran)} time(s) without success." if ran
                       else "The walkthrough's Athena query (day_of_week over vpc_flow_logs) has not run yet (Part 4).")
    return True, f"The walkthrough's Athena query succeeded ({succeeded[-1]['QueryExecutionId']})."
