"""The lab's exercises, checked: for each, what is right in the learner's answer, or the first thing that
is wrong with a hint towards the fix (never the answer itself).

Each check raises `CheckFailed` when the answer does not hold, so that the notebook stops there in
JupyterLab (with a cross and the hint, no traceback), a headless run fails and names it, and nbgrader's
autograder (`labkit workshop grade`) gives the exercise no points. Checks read the lab's resources
through the AWS APIs, so they judge what the learner built, not how it was typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from .checks import CheckFailed
from .session import Lab

DEFAULT_LOG_FORMAT = ("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} "
                      "${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}")


def _passed(what: str) -> None:
    print(f"✅ {what}")


def _first_wrong(checks: Iterable[tuple[bool, str, str]]) -> None:
    """Raise CheckFailed for the first (holds, problem, hint) that does not hold."""
    for holds, problem, hint in checks:
        if not holds:
            raise CheckFailed(problem, f"Hint: {hint}")


# --- Part 1 -------------------------------------------------------------------------------------------

def trust_policy(policy: Any) -> None:
    """Exercise 1.2: the delivery role's trust policy lets the VPC Flow Logs service assume the role."""
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    statements = statements if isinstance(statements, list) else [statements]
    allows = [s for s in statements if isinstance(s, dict) and s.get("Effect") == "Allow"]
    actions = {a for s in allows for a in ([s.get("Action")] if isinstance(s.get("Action"), str) else s.get("Action") or [])}
    services = {p for s in allows for p in _principal_services(s.get("Principal"))}
    _first_wrong([
        (isinstance(policy, dict) and policy.get("Version") == "2012-10-17", "The policy has no Version 2012-10-17.",
         "every IAM policy starts with \"Version\": \"2012-10-17\"."),
        (bool(allows), "No statement allows anything.", "a trust policy has one statement with \"Effect\": \"Allow\"."),
        ("sts:AssumeRole" in actions, f"The statement allows {sorted(actions) or 'no action'}, not taking the role.",
         "the action that lets a principal take a role belongs to STS, the security token service."),
        ("vpc-flow-logs.amazonaws.com" in services, f"The principal is {sorted(services) or 'no service'}.",
         "who takes the role is the service that delivers the records: a service principal is written "
         "{\"Service\": \"<service>.amazonaws.com\"}; the console lists it as \"VPC - Flow Logs\"."),
    ])
    _passed("The trust policy lets the VPC Flow Logs service assume the role.")


def _principal_services(principal: Any) -> list[str]:
    if not isinstance(principal, dict):
        return []
    service = principal.get("Service", [])
    return [service] if isinstance(service, str) else list(service)


def cw_flow_log(lab: Lab, flow_log: Any, vpc_id: str, log_group: str, role_arn: str) -> None:
    """Exercise 1.3: the CW-logs flow log, created from the console's settings."""
    found = [f for f in lab.client("ec2").describe_flow_logs(Filter=lab.config.ec2_filters(lab.config.cw_flow_log_name))
             ["FlowLogs"]]
    _first_wrong([(bool(found), f"There is no flow log named {lab.config.cw_flow_log_name!r}.",
                   f"call flow_logs.ensure_flow_log(lab, config.cw_flow_log_name, ...) like Step 3's S3 flow log.")])
    actual = found[0]
    _first_wrong([
        (actual.get("ResourceId") == vpc_id, f"The flow log is attached to {actual.get('ResourceId')}.",
         "a VPC flow log covers every interface of the VPC: ResourceType and ResourceIds name the lab's VPC."),
        (actual["TrafficType"] == "ALL", f"Its filter is {actual['TrafficType']}.",
         "the console's Filter: All keeps both ACCEPT and REJECT records."),
        (actual["MaxAggregationInterval"] == 60, f"Its aggregation interval is {actual['MaxAggregationInterval']} s.",
         "Maximum aggregation interval: 1 minute is given in seconds."),
        (actual["LogDestinationType"] == "cloud-watch-logs", f"It delivers to {actual['LogDestinationType']}.",
         "Destination: Send to CloudWatch Logs has its own LogDestinationType value (see the S3 one in Step 3)."),
        (actual.get("LogGroupName") == log_group, f"It writes to the log group {actual.get('LogGroupName')!r}.",
         f"Destination log group: the group of Step 5, {log_group!r} (LogGroupName)."),
        (actual.get("DeliverLogsPermissionArn") == role_arn, "It delivers as another role, or none.",
         "IAM role: CloudWatch Logs delivery runs as the role of Step 6 (DeliverLogsPermissionArn, its ARN)."),
        (actual.get("LogFormat") == DEFAULT_LOG_FORMAT, "Its log format is not the AWS default format.",
         "Log record format: AWS default format means no LogFormat parameter at all."),
        (actual.get("DeliverLogsStatus") == "SUCCESS", f"Its delivery status is {actual.get('DeliverLogsStatus')}.",
         "FAILED means the role cannot be used: check its trust policy (exercise 1.2)."),
    ])
    _passed("CW-logs delivers all traffic of the VPC, every minute, to the log group, as the role.")


def bucket_policy_reading(policy: dict[str, Any] | None, delivery_service: Any, write_resource: Any) -> None:
    """Exercise 1.1: who may write the flow-log files, and where, read from the policy AWS added."""
    statements = {s.get("Sid"): s for s in (policy or {}).get("Statement", [])}
    write = statements.get("AWSLogDeliveryWrite", {})
    _first_wrong([
        (bool(write), "The bucket has no AWSLogDeliveryWrite statement yet.", "run Step 3 (the S3 flow log) first."),
        (delivery_service == write.get("Principal", {}).get("Service"),
         f"{delivery_service!r} is not the principal that may write.",
         "look at the Principal of the statement whose Sid is AWSLogDeliveryWrite: a service, not an account."),
        (write_resource == write.get("Resource"), f"{write_resource!r} is not where it may write.",
         "the statement's Resource: an ARN of the bucket followed by a folder and a wildcard."),
    ])
    _passed(f"{delivery_service} may put objects under {write_resource} (and only with the bucket owner in "
            f"full control of them).")


# --- Part 2 -------------------------------------------------------------------------------------------

def blocked_attempt(selected: Any, ssh_records: pd.DataFrame, my_address: str) -> None:
    """Exercise 2.1: the records of the blocked SSH attempt, selected from the SSH records."""
    expected = ssh_records[(ssh_records["srcaddr"] == my_address) & (ssh_records["action"] == "REJECT")]
    _first_wrong([
        (isinstance(selected, pd.DataFrame), "The answer is not a DataFrame of records.",
         "select rows of `ssh` with a condition in brackets: ssh[ssh[\"column\"] == value]."),
    ])
    _first_wrong([
        (len(selected) > 0, "No record selected.", "which `action` does a dropped attempt have?"),
        (set(selected.get("action", [])) == {"REJECT"}, "Some selected records were accepted.",
         "keep only the records whose action says the packets were dropped."),
        (set(selected.get("srcaddr", [])) == {my_address}, "Some selected records do not come from you.",
         "the server never answered, so every record of the attempt has your address as its source."),
        (len(selected) == len(expected), f"{len(selected)} records selected, {len(expected)} expected.",
         "a retried attempt may span two capture windows: keep every REJECT record from your address."),
    ])
    _passed(f"{len(selected)} REJECT record(s): your SYN packets to port 22, dropped, with no reply.")


REJECT_REASONS = {
    "A": "the network ACL of the subnet denies port 22",
    "B": "the security group attached at the time has no inbound rule for TCP 22 from your address",
    "C": "the instance was stopped while the group was swapped",
    "D": "the server refused the connection (nothing listened on port 22)",
}


def why_rejected(answer: Any) -> None:
    """Exercise 2.2: why the second attempt is a REJECT."""
    hints = {
        "A": "the lab never changed the network ACL: it still allows everything, both ways.",
        "C": "the instance ran throughout: the third attempt, a moment later, was accepted.",
        "D": "a refused connection is answered (TCP RST): that would be ACCEPT records both ways. Here nothing "
             "answered.",
    }
    _first_wrong([(answer in REJECT_REASONS, f"{answer!r} is not one of {sorted(REJECT_REASONS)}.",
                   "answer with the letter of one reason, as a string.")])
    _first_wrong([(answer == "B", f"{answer}: {REJECT_REASONS[answer]}.", hints.get(answer, ""))])
    _passed("A security group allows what its rules list and drops the rest: AeroSecure HTTP lists only TCP 80.")


def nacl_prediction(prediction: Any, inbound: pd.DataFrame, outbound: pd.DataFrame) -> None:
    """Exercise 2.3: the records of an SSH attempt while the network ACL denies outbound replies."""
    observed = {"inbound": _action(inbound), "outbound": _action(outbound)}
    _first_wrong([(isinstance(prediction, dict) and set(prediction) == {"inbound", "outbound"},
                   "The prediction is not a dict with the keys 'inbound' and 'outbound'.",
                   "write prediction = {\"inbound\": \"ACCEPT\" or \"REJECT\", \"outbound\": ...}.")])
    _first_wrong([
        (prediction["inbound"] == observed["inbound"], f"The SYN packets coming in were {observed['inbound']}ed.",
         "the ACL's inbound rules were not changed, and the security group allows SSH from you."),
        (prediction["outbound"] == observed["outbound"], f"The replies going out were {observed['outbound']}ed.",
         "a network ACL is stateless: it judges a reply like any other packet, by its own rules for outbound "
         "traffic to your port."),
    ])
    _passed("Inbound ACCEPT, outbound REJECT: the security group let the SYN in and would let the reply out "
            "(stateful), but the network ACL, stateless, dropped the reply.")


def _action(records: pd.DataFrame) -> str:
    actions = set(records["action"])
    return actions.pop() if len(actions) == 1 else "/".join(sorted(actions)) or "none"


# --- Part 3 -------------------------------------------------------------------------------------------

RDP_SAMPLES = [
    ("2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
     True, "a rejected RDP connection"),
    ("2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 ACCEPT OK",
     False, "an accepted RDP connection"),
    ("2 123456789010 eni-1235b8ca123456789 198.51.100.7 172.31.9.12 49761 22 6 1 40 1418530010 1418530070 REJECT OK",
     False, "a rejected SSH connection"),
    ("2 123456789010 eni-1235b8ca123456789 198.51.100.7 172.31.9.12 49761 33890 6 1 40 1418530010 1418530070 REJECT OK",
     False, "a rejected connection to port 33890"),
    ("2 123456789010 eni-1235b8ca123456789 198.51.100.7 172.31.9.12 49761 3389 17 1 40 1418530010 1418530070 REJECT OK",
     False, "a rejected UDP datagram to port 3389"),
    ("2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA", False, "a NODATA record"),
]


def rdp_pattern(lab: Lab, pattern: Any) -> None:
    """Exercise 3.1: a filter pattern that matches rejected RDP (TCP 3389) records, and nothing else."""
    _first_wrong([(isinstance(pattern, str) and pattern.strip(), "The pattern is empty.",
                   "start from Step 2's pattern: the same 14 names, other conditions.")])
    from botocore.exceptions import ClientError

    try:
        matches = lab.client("logs").test_metric_filter(filterPattern=pattern,
                                                        logEventMessages=[s for s, _, _ in RDP_SAMPLES])["matches"]
    except ClientError as error:
        raise CheckFailed(f"CloudWatch Logs refuses the pattern: {error.response['Error'].get('Message')}",
                          "Hint: a space-delimited pattern is [name, name=\"value\", ...] with 14 names.") from None
    matched = {m["eventNumber"] for m in matches}
    _first_wrong((matched_ok == (number in matched),
                  f"Sample {number} ({what}) {'did not match' if matched_ok else 'matched'}.",
                  "RDP is TCP (protocol 6) on port 3389; quote the values so that the whole field must match."
                  if matched_ok or number > 2 else "an ACCEPT record is no attack: condition the action too.")
                 for number, (_, matched_ok, what) in enumerate(RDP_SAMPLES, 1))
    _passed("The pattern matches the rejected RDP record and none of the others.")


TREAT_MISSING_DATA_EFFECTS = {
    "missing": "an empty minute is no data: in quiet times the alarm has nothing to judge and shows "
               "INSUFFICIENT_DATA most of the time",
    "breaching": "an empty minute counts as at or above the threshold: the alarm would be in ALARM all the time",
    "ignore": "an empty minute leaves the state as it is: after the first attack the alarm stays in ALARM",
    "notBreaching": "an empty minute counts as good: OK in quiet times, ALARM in a minute with a rejected attempt",
}


def treat_missing_data(choice: Any) -> None:
    """Exercise 3.2: the TreatMissingData a sparse counter needs."""
    _first_wrong([(choice in TREAT_MISSING_DATA_EFFECTS, f"{choice!r} is not a TreatMissingData value.",
                   f"one of {', '.join(TREAT_MISSING_DATA_EFFECTS)} (case matters).")])
    _first_wrong([(choice == "notBreaching", f"With {choice!r}, {TREAT_MISSING_DATA_EFFECTS[choice]}.",
                   "a metric filter publishes nothing in a minute without a match: what should such a minute mean?")])
    _passed(f"{choice}: {TREAT_MISSING_DATA_EFFECTS[choice]}.")


def ssh_alarm(lab: Lab, alarm_name: str, topic_arn: str) -> None:
    """Exercise 3.3: the alarm, created from the walkthrough's console settings."""
    alarms = lab.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    _first_wrong([(bool(alarms), f"There is no alarm named {alarm_name!r}.", "call monitoring.ensure_alarm(...).")])
    alarm = alarms[0]
    config = lab.config
    _first_wrong([
        ((alarm.get("Namespace"), alarm.get("MetricName")) == (config.metric_namespace, config.metric_name),
         f"It watches {alarm.get('Namespace')} / {alarm.get('MetricName')}.",
         "Select metric: the metric filter's namespace and metric name (Step 3)."),
        (alarm.get("Statistic") == "Sum", f"Its statistic is {alarm.get('Statistic')}.",
         "the number of rejected records in a minute is the sum of the filter's 1s."),
        (alarm.get("Period") == 60, f"Its period is {alarm.get('Period')} s.", "Period: 1 minute, in seconds."),
        ((alarm.get("ComparisonOperator"), alarm.get("Threshold")) == ("GreaterThanOrEqualToThreshold", 1.0),
         f"Its condition is {alarm.get('ComparisonOperator')} {alarm.get('Threshold')}.",
         "Greater/Equal than 1: ComparisonOperator and Threshold."),
        ((alarm.get("DatapointsToAlarm"), alarm.get("EvaluationPeriods")) == (1, 5),
         f"It alarms on {alarm.get('DatapointsToAlarm')} out of {alarm.get('EvaluationPeriods')} periods.",
         "1 out of 5: DatapointsToAlarm and EvaluationPeriods (the text above says why not 1 out of 1)."),
        (alarm.get("TreatMissingData") == "notBreaching", f"It treats missing data as {alarm.get('TreatMissingData')}.",
         "your answer to exercise 3.2."),
        (alarm.get("AlarmActions") == [topic_arn], "In ALARM it notifies something else, or nothing.",
         "Notification: the topic of Step 4, in AlarmActions (a list of ARNs)."),
    ])
    _passed(f"{alarm_name!r}: Sum of {config.metric_name} per minute >= 1, 1 out of 5, missing data as good, "
            f"notifying the topic.")


# --- Part 4 -------------------------------------------------------------------------------------------

def top_rejected_ports(answer: Any, records: pd.DataFrame, top: int = 10) -> None:
    """Exercise 4.1: the Logs Insights query for the top rejected destination ports, judged by its result
    against the records themselves (ports with equal counts may come in any order)."""
    rejected = records[records["action"] == "REJECT"]["dstport"].value_counts()
    _first_wrong([(isinstance(answer, pd.DataFrame) and len(answer.columns) == 2,
                   "The result should have two columns: the port and its count.",
                   "stats count(*) as rejections by dstPort.")])
    got = dict(zip(answer.iloc[:, 0].astype(int), answer.iloc[:, 1].astype(int)))
    wrong = {port: count for port, count in got.items() if rejected.get(port) != count}
    left_out = rejected.drop(list(got), errors="ignore")
    _first_wrong([
        (not wrong, f"Port {next(iter(wrong), '')}: {next(iter(wrong.values()), '')} rejections in your result, "
         f"{rejected.get(next(iter(wrong), -1), 0)} in the records.",
         "count only the records whose action is REJECT: filter before stats."),
        (len(got) == min(top, len(rejected)), f"{len(got)} rows, {min(top, len(rejected))} expected.",
         f"the top {top}: sort by the count, then limit."),
        (left_out.empty or left_out.max() <= min(got.values()),
         f"Port {left_out.idxmax() if not left_out.empty else ''} has more rejections than some of yours.",
         "sort by the count, descending, before the limit."),
    ])
    first = max(got, key=got.get)
    _passed(f"The most knocked-on port is {first} ({got[first]} rejected records).")


def bytes_per_interface_hour(answer: Any, records: pd.DataFrame, interface_addresses: dict[str, str]) -> None:
    """Exercise 4.2: the Athena query for the bytes each network interface sent per hour, by its result."""
    sent = records[records["srcaddr"] == records["interface-id"].map(interface_addresses)]
    expected = (sent.assign(hour=pd.to_datetime(sent["start"] - sent["start"] % 3600, unit="s"))
                .groupby(["interface-id", "hour"], as_index=False)["bytes"].sum())
    _first_wrong([(isinstance(answer, pd.DataFrame) and {"interface_id", "hour", "bytes"} <= set(answer.columns),
                   "The result should have the columns interface_id, hour and bytes.",
                   "name them with AS in the SELECT list.")])
    got = {(interface, _naive(hour), int(total))
           for interface, hour, total in zip(answer["interface_id"], answer["hour"], answer["bytes"])}
    want = {(interface, _naive(hour), int(total))
            for interface, hour, total in zip(expected["interface-id"], expected["hour"], expected["bytes"])}
    _first_wrong([
        (len(got) == len(want), f"{len(got)} rows, {len(want)} expected (one per interface and hour).",
         "GROUP BY the interface and the hour: date_trunc('hour', from_unixtime(start))."),
        (got == want, "Some sums differ.", "an interface sends what has its own address as srcaddr; sum(bytes)."),
    ])
    _passed(f"{len(want)} hours of traffic sent by the server's interface.")


def _naive(moment: Any) -> pd.Timestamp:
    moment = pd.Timestamp(moment)
    return moment.tz_convert(None) if moment.tzinfo else moment


# What Exercise 4.3 calls a brute-forcer and a casual knocker: attempts (source ports) to 22/tcp rejected
# in one clock hour. A brute-forcer keeps at it; a scanner that knocks on many hosts tries SSH now and then.
BRUTE_FORCE_ATTEMPTS_PER_HOUR = 30
BRUTE_FORCE_HOURS = 2
CASUAL_ATTEMPTS_PER_HOUR = 10


def ssh_attempts_per_hour(records: pd.DataFrame) -> pd.Series:
    """Rejected SSH connection attempts (distinct source ports) per source and clock hour."""
    ssh = records[records["action"].eq("REJECT") & records["dstport"].eq(22)]
    return ssh.groupby([ssh["srcaddr"], ssh["start"] // 3600])["srcport"].nunique()


def brute_force_tuning(flagged: Any, my_address: str, records: pd.DataFrame) -> None:
    """Exercise 4.3: a detector that flags the SSH brute-forcers, not the casual scanners and not you."""
    per_hour = ssh_attempts_per_hour(records)
    hard_hours = per_hour[per_hour >= BRUTE_FORCE_ATTEMPTS_PER_HOUR].groupby(level="srcaddr").size()
    brute_forcers = set(hard_hours[hard_hours >= BRUTE_FORCE_HOURS].index)
    busiest_hour = per_hour.groupby(level="srcaddr").max()
    casual = set(busiest_hour[busiest_hour < CASUAL_ATTEMPTS_PER_HOUR].index) - {my_address}
    _first_wrong([(isinstance(flagged, pd.DataFrame) and "srcaddr" in flagged,
                   "The detector's result should be a DataFrame with a srcaddr column.",
                   "run the detector's query cell again after setting the two numbers.")])
    sources = set(flagged["srcaddr"])
    missed, noise = sorted(brute_forcers - sources), sorted(sources & casual)
    _first_wrong([
        (my_address not in sources, "The detector flags you: your own attempts of Parts 2 and 3.",
         "count how many SSH attempts you made within a few minutes, and set MIN_ATTEMPTS above that."),
        (not noise, f"It flags {len(noise)} source(s) that tried SSH fewer than {CASUAL_ATTEMPTS_PER_HOUR} times in "
         f"any hour, such as {', '.join(noise[:3])}: an alert for each of them would bury the real ones.",
         "raise MIN_ATTEMPTS, or shorten WINDOW_MINUTES."),
        (not missed, f"It misses {len(missed)} source(s) that tried SSH {BRUTE_FORCE_ATTEMPTS_PER_HOUR} times an hour "
         f"or more, for hours: {', '.join(missed[:3])}.",
         "a brute-forcer keeps trying: lower MIN_ATTEMPTS, or lengthen WINDOW_MINUTES."),
    ])
    _passed(f"The detector flags {len(sources)} source(s), all {len(brute_forcers)} persistent SSH "
            "brute-forcers among them, no casual scanner, and not you.")
