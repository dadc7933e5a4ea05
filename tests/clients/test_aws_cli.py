"""The AWS CLI (awscli v1, a process of its own) against the local cloud, with nothing but the
environment `labkit local env` prints, as the README tells a user to do: the lab's flow logs, its
records in CloudWatch Logs (filter and Logs Insights), Athena over the S3 files, the bucket listing and
the alarm each read back as the boto3 calls of the notebooks see them."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labkit import analysis, monitoring, records, traffic
from labkit.config import LabConfig
from labkit.session import connect

from ..clouds import as_owner
from ..labs import flow_log_table, ssh_accepted_then_rejected

AWS = Path(sys.executable).parent / "aws"
LABKIT = Path(sys.executable).parent / "labkit"
pytestmark = pytest.mark.skipif(not AWS.exists(), reason="the AWS CLI is not installed: run `make venv-clients`")

REGION, RESULTS = "us-east-1", "cli-athena-results"


@pytest.fixture(scope="module")
def lab(local_cloud):
    """Parts 1 to 3 the way the notebooks make them: the SSH accepted, rejected after the swap, accepted
    again; the rejected-SSH metric filter and its alarm."""
    with pytest.MonkeyPatch.context() as patch:
        as_owner(patch, local_cloud, REGION)
        lab = connect(LabConfig.resolve(run_id="cli"))
        part2 = ssh_accepted_then_rejected(lab)
        traffic.replace_security_groups(lab, part2.server.instance_id, [part2.ssh_group])
        config = lab.config
        monitoring.ensure_metric_filter(lab, config.metric_filter_name, monitoring.SSH_REJECT_PATTERN, [
            {"metricName": config.metric_name, "metricNamespace": config.metric_namespace, "metricValue": "1"}])
        monitoring.ensure_alarm(lab, config.alarm_name, Namespace=config.metric_namespace,
                                MetricName=config.metric_name, Statistic="Sum", Period=60, EvaluationPeriods=5,
                                DatapointsToAlarm=1, Threshold=1.0,
                                ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching")
        lab.client("s3").create_bucket(Bucket=RESULTS)
        yield lab


@pytest.fixture(autouse=True)
def _boto3_on_the_local_cloud(local_env):
    """The checks' own boto3 calls (through `lab`) go to this module's local cloud too."""


@pytest.fixture(scope="module")
def aws(lab, local_cloud, tmp_path_factory):
    """`aws <args>` → its JSON answer, run with a clean environment plus what `labkit local env` prints
    (no AWS configuration of the machine: an empty home)."""
    home = tmp_path_factory.mktemp("cli-home")
    clean = {"PATH": str(AWS.parent) + ":/usr/bin:/bin", "HOME": str(home), "LABKIT_HOME": str(local_cloud.home)}
    printed = subprocess.run([LABKIT, "local", "env"], env={**clean, "AWS_ENDPOINT_URL": local_cloud.endpoint},
                             capture_output=True, text=True, check=True, timeout=60).stdout
    exported = dict(shlex.split(line)[1].split("=", 1) for line in printed.splitlines() if line.startswith("export "))
    assert exported["AWS_ENDPOINT_URL"] == local_cloud.endpoint

    def run(*args: str, exit_code: int = 0) -> dict | str:
        """The answer as JSON; the text of the `aws s3` commands, which print no JSON, and of a failure."""
        done = subprocess.run([AWS, *args, "--output", "json"], env={**clean, **exported}, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == exit_code, f"aws {' '.join(args)} exited {done.returncode}: {done.stderr}"
        return done.stderr if exit_code else done.stdout if args[0] == "s3" else json.loads(done.stdout)

    return run


def test_describe_flow_logs_shows_both_of_the_labs_flow_logs_active(lab, aws):
    answer = aws("ec2", "describe-flow-logs")["FlowLogs"]
    by_boto3 = lab.client("ec2").describe_flow_logs()["FlowLogs"]
    assert {f["FlowLogId"] for f in answer} == {f["FlowLogId"] for f in by_boto3}
    assert sorted((f["LogDestinationType"], f["FlowLogStatus"], f["DeliverLogsStatus"]) for f in answer) == [
        ("cloud-watch-logs", "ACTIVE", "SUCCESS"), ("s3", "ACTIVE", "SUCCESS")]


def test_filter_log_events_with_the_rejected_ssh_pattern_finds_the_blocked_attempt(lab, aws):
    everything = aws("logs", "filter-log-events", "--log-group-name", lab.config.log_group)["events"]
    assert sorted(e["message"] for e in everything) == _s3_lines(lab)
    rejected = aws("logs", "filter-log-events", "--log-group-name", lab.config.log_group,
                   "--filter-pattern", monitoring.SSH_REJECT_PATTERN)["events"]
    assert [e["message"].split()[-2] for e in rejected] == ["REJECT"]
    assert rejected[0]["message"].split()[6] == "22"


def test_logs_insights_start_query_and_get_query_results(lab, aws):
    now = int(time.time())
    query_id = aws("logs", "start-query", "--log-group-name", lab.config.log_group, "--start-time", str(now - 3600),
                   "--end-time", str(now), "--query-string",
                   "filter dstPort = 22 | stats count(*) as attempts by action | sort action")["queryId"]
    answer = _until(lambda: aws("logs", "get-query-results", "--query-id", query_id),
                    lambda a: a["status"] not in ("Scheduled", "Running"))
    assert answer["status"] == "Complete"
    assert [{field["field"]: field["value"] for field in row} for row in answer["results"]] == [
        {"action": action, "attempts": str(count)} for action, count in _ssh_attempts_by_action(lab)]


def test_athena_ddl_partition_and_query_through_start_query_execution(lab, aws):
    (day,) = analysis.flow_log_days(lab, lab.bucket)
    for sql in (*flow_log_table("cli_flow_logs", lab.bucket, day.strftime("%Y/%m/%d")),
                "SELECT action, count(*) AS attempts FROM cli_flow_logs WHERE dstport = 22 "
                "GROUP BY action ORDER BY action"):
        execution_id = aws("athena", "start-query-execution", "--query-string", sql, "--query-execution-context",
                           "Database=default", "--result-configuration",
                           f"OutputLocation=s3://{RESULTS}/")["QueryExecutionId"]
        status = _until(lambda: aws("athena", "get-query-execution", "--query-execution-id", execution_id),
                        lambda e: e["QueryExecution"]["Status"]["State"] not in ("QUEUED", "RUNNING"))
        assert status["QueryExecution"]["Status"]["State"] == "SUCCEEDED", status
    answer = aws("athena", "get-query-results", "--query-execution-id", execution_id)["ResultSet"]
    assert [[c.get("VarCharValue") for c in row["Data"]] for row in answer["Rows"]] == [
        ["action", "attempts"], *([action, str(count)] for action, count in _ssh_attempts_by_action(lab))]
    assert [(c["Name"], c["Type"]) for c in answer["ResultSetMetadata"]["ColumnInfo"]] == [
        ("action", "varchar"), ("attempts", "bigint")]


def test_s3_ls_lists_the_delivered_files(lab, aws):
    assert lab.bucket in aws("s3", "ls").split()
    listing = aws("s3", "ls", "--recursive", f"s3://{lab.bucket}/AWSLogs/")
    listed = sorted(line.split()[-1] for line in listing.splitlines())
    assert listed and listed == sorted(records.s3_objects(lab, lab.bucket, "AWSLogs/")["Key"])


def test_describe_alarms_shows_the_walkthroughs_alarm(lab, aws):
    (alarm,) = aws("cloudwatch", "describe-alarms", "--alarm-names", lab.config.alarm_name)["MetricAlarms"]
    assert (alarm["MetricName"], alarm["Namespace"], alarm["Statistic"], alarm["Threshold"]) == (
        lab.config.metric_name, lab.config.metric_namespace, "Sum", 1.0)
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"], alarm["TreatMissingData"]) == (5, 1, "notBreaching")
    (by_boto3,) = lab.client("cloudwatch").describe_alarms(AlarmNames=[lab.config.alarm_name])["MetricAlarms"]
    assert alarm["AlarmArn"] == by_boto3["AlarmArn"]


def test_a_call_aws_refuses_gets_its_error_code_and_message_in_the_cli(lab, aws):
    # AWS CLI v1 exits 255 on an error AWS answered (v2 has 254 for it); the message is AWS's own
    assert aws("logs", "filter-log-events", "--log-group-name", "no-such-group", exit_code=255).strip() == (
        "An error occurred (ResourceNotFoundException) when calling the FilterLogEvents operation: "
        "The specified log group does not exist.")


def _s3_lines(lab) -> list[str]:
    """The records in the S3 files, each as its line: what AWS delivered to both destinations."""
    frame = records.read_s3_records(lab, lab.bucket)[list(records.DEFAULT_FIELDS)]
    return sorted(frame.astype(str).agg(" ".join, axis=1))


def _ssh_attempts_by_action(lab) -> list[tuple[str, int]]:
    """The S3 records to port 22, counted by action: the answer the queries below must give."""
    ssh = records.read_s3_records(lab, lab.bucket).query("dstport == 22")
    assert set(ssh["action"]) == {"ACCEPT", "REJECT"}  # the lab made both
    return sorted(ssh.groupby("action").size().items())


def _until(call, done, timeout_s: float = 60):
    deadline = time.monotonic() + timeout_s
    while not done(answer := call()):
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)
    return answer
