"""Every bad input gets the error AWS gives for it: the table `tests/data/bad_inputs.jsonl` (one call per
line: the operation, its parameters, and AWS's answer: code, HTTP status, message or a pattern of it,
or success), sent to the local cloud as a client would send it, each against the same small world.

A case's values may hold `<<expression>>`: a Python expression over `now_ms`, `now_s`, `H`, `D`, `MIN`
(milliseconds) and the world's ids (`vpc`, `sg`, `instance`, `athena_succeeded`, ...); a string that is
one expression becomes its value. `body` sends a raw JSON body instead of the parameters (what boto3
cannot send). `confidence` says how sure the expected answer is: verbatim-recorded (a captured AWS
response), documented, or inferred (then a `message_regex`, never exact text); `source` says where from.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import xform_name
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from labkit.localcloud.server import InProcessServer

from ..clouds import labkit_home_at, reset

TABLE = Path(__file__).parent.parent / "data" / "bad_inputs.jsonl"
CASES = [json.loads(line) for line in TABLE.read_text().splitlines() if line.strip()]
UNITS_MS = {"H": 3_600_000, "D": 86_400_000, "MIN": 60_000}
CLIENT_NAMES = {"cloudwatch": "cloudwatch"}
NO_RETRIES = Config(parameter_validation=False, retries={"max_attempts": 1}, read_timeout=120)


def expand(value: Any, names: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("<<") and value.endswith(">>") and value.count("<<") == 1:
        return eval(value[2:-2], dict(names))  # noqa: S307 - the table is ours
    if isinstance(value, str) and "<<" in value:
        return re.sub(r"<<(.+?)>>", lambda m: str(eval(m.group(1), dict(names))), value)  # noqa: S307
    if isinstance(value, dict):
        return {key: expand(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [expand(item, names) for item in value]
    return value


class World:
    """What the cases expect to exist: the lab's resources, under the names the table uses."""

    def __init__(self, cloud: InProcessServer):
        self.cloud = cloud
        self.names: dict[str, Any] = {}
        self.changed = False  # by an accepted call since it was built
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str = "us-east-1"):
        if (service, region) not in self._clients:
            self._clients[service, region] = boto3.client(
                service, endpoint_url=self.cloud.endpoint, region_name=region, config=NO_RETRIES,
                aws_access_key_id=self.cloud.credentials.access_key_id,
                aws_secret_access_key=self.cloud.credentials.secret_access_key)
        return self._clients[service, region]

    def build(self) -> None:
        """A reset account holding the world; `now` is when it was built."""
        reset(self.cloud)
        logs, s3, sns, ec2, iam = (self.client(s) for s in ("logs", "s3", "sns", "ec2", "iam"))
        cloudwatch, glue, athena = self.client("cloudwatch"), self.client("glue"), self.client("athena")
        logs.create_log_group(logGroupName="lab/flowlogs")
        now_ms = int(time.time() * 1000)  # after the log group's creation: a query may end now
        self.names = {**UNITS_MS, "now_ms": now_ms, "now_s": now_ms // 1000}
        logs.create_log_stream(logGroupName="lab/flowlogs", logStreamName="s1")
        logs.put_log_events(logGroupName="lab/flowlogs", logStreamName="s1",
                            logEvents=[{"timestamp": now_ms - 60_000, "message": "2 123456789012 eni-1 REJECT"}])
        for bucket in ("lab-bucket", "lab-versioned", "lab-empty", "lab-bucket-owned", "lab-athena-results"):
            s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket="lab-bucket", Key="flowlogs/empty.log.gz", Body=b"")
        s3.put_bucket_versioning(Bucket="lab-versioned", VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket="lab-versioned", Key="k", Body=b"x")
        s3.delete_object(Bucket="lab-versioned", Key="k")
        sns.create_topic(Name="lab-alerts")
        iam.create_role(RoleName="lab-flowlogs", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                   "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}}]}))
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        sg = ec2.create_security_group(GroupName="lab-sg", Description="lab", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                     SubnetId=subnet, SecurityGroupIds=[sg])["Instances"][0]["InstanceId"]
        cloudwatch.put_metric_alarm(AlarmName="lab-rejects", MetricName="RejectCount", Namespace="Lab", Statistic="Sum",
                                    Period=60, EvaluationPeriods=1, Threshold=1.0,
                                    ComparisonOperator="GreaterThanOrEqualToThreshold")
        glue.create_database(DatabaseInput={"Name": "lab_db"})
        glue.create_database(DatabaseInput={"Name": "lab"})
        results = {"OutputLocation": "s3://lab-athena-results/"}
        table = athena.start_query_execution(QueryString=(
            "CREATE EXTERNAL TABLE lab.flowlogs_gz (version int, account string) ROW FORMAT DELIMITED "
            "FIELDS TERMINATED BY ' ' LOCATION 's3://lab-bucket/flowlogs/'"), ResultConfiguration=results)
        succeeded = athena.start_query_execution(QueryString="SELECT 1 AS x", ResultConfiguration=results)
        failed = athena.start_query_execution(QueryString="SELECT * FROM lab.no_such_table", ResultConfiguration=results)
        cancelled = athena.start_query_execution(QueryString="SELECT 2 AS x", ResultConfiguration=results)
        athena.stop_query_execution(QueryExecutionId=cancelled["QueryExecutionId"])
        athena.start_query_execution(QueryString="SELECT 1", ResultConfiguration=results, ClientRequestToken="a" * 40)
        for execution in (table, succeeded, failed):
            _finished(athena, execution["QueryExecutionId"])
        insights = logs.start_query(logGroupName="lab/flowlogs", startTime=now_ms // 1000 - 3600,
                                    endTime=now_ms // 1000 + 1, queryString="fields @message")["queryId"]
        while logs.get_query_results(queryId=insights)["status"] in ("Scheduled", "Running"):
            time.sleep(0.05)
        self.changed = False
        self.names.update(vpc=vpc, subnet=subnet, sg=sg, instance=instance,
                          athena_succeeded=succeeded["QueryExecutionId"], athena_failed=failed["QueryExecutionId"],
                          athena_cancelled=cancelled["QueryExecutionId"], insights_complete=insights)

    def inventory(self) -> dict[str, Any]:
        """What the world holds, to show that a refused call changed nothing."""
        logs, s3, sns, ec2 = (self.client(s) for s in ("logs", "s3", "sns", "ec2"))
        return {
            "log groups": sorted(g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]),
            "streams": sorted(s["logStreamName"] for s in logs.describe_log_streams(logGroupName="lab/flowlogs")
                              ["logStreams"]),
            "events": len(logs.filter_log_events(logGroupName="lab/flowlogs")["events"]),
            "metric filters": logs.describe_metric_filters()["metricFilters"],
            "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
            "topics": sorted(t["TopicArn"] for t in sns.list_topics()["Topics"]),
            "subscriptions": sns.list_subscriptions()["Subscriptions"],
            "flow logs": ec2.describe_flow_logs()["FlowLogs"],
            "security groups": sorted(g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]),
            "alarms": sorted(a["AlarmName"] for a in self.client("cloudwatch").describe_alarms()["MetricAlarms"]),
            "databases": sorted(d["Name"] for d in self.client("glue").get_databases()["DatabaseList"]),
            "work groups": sorted(w["Name"] for w in self.client("athena").list_work_groups()["WorkGroups"]),
        }


def _finished(athena, execution_id: str) -> None:
    while athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]["State"] in (
            "QUEUED", "RUNNING"):
        time.sleep(0.05)


def send(world: World, case: dict[str, Any]) -> tuple[int, str | None, str]:
    """The case's call as a client sends it: (HTTP status, error code or None, error message)."""
    service, operation = case["call"].split(":")
    client = world.client(CLIENT_NAMES.get(service, service), case.get("region", "us-east-1"))
    if "body" in case:
        return _send_raw(world, client, operation, expand(case["body"], world.names).encode())
    if "body_hex" in case:
        return _send_raw(world, client, operation, bytes.fromhex(case["body_hex"]))
    try:
        answer = getattr(client, xform_name(operation))(**expand(case["params"], world.names))
    except ClientError as error:
        response = error.response
        return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"].get("Code"), \
            response["Error"].get("Message", "")
    world.last_answer = answer
    return answer["ResponseMetadata"]["HTTPStatusCode"], None, ""


def then_holds(world: World, then: dict[str, Any]) -> None:
    """What a started Athena query must end as: its state, and its rows or its failure's reason."""
    athena = world.client("athena")
    execution_id = world.last_answer["QueryExecutionId"]
    _finished(athena, execution_id)
    status = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
    assert status["State"] == then["state"], status
    if "rows" in then:
        rows = athena.get_query_results(QueryExecutionId=execution_id)["ResultSet"]["Rows"]
        assert [[cell.get("VarCharValue") for cell in row["Data"]] for row in rows] == then["rows"]
    if "reason_regex" in then:
        assert re.fullmatch(then["reason_regex"], status.get("StateChangeReason", ""), re.DOTALL), status


def _send_raw(world: World, client, operation: str, body: bytes) -> tuple[int, str | None, str]:
    model = client.meta.service_model
    request = AWSRequest(method="POST", url=world.cloud.endpoint + "/", data=body, headers={
        "Content-Type": f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.1')}",
        "X-Amz-Target": f"{model.metadata['targetPrefix']}.{operation}"})
    SigV4Auth(Credentials(world.cloud.credentials.access_key_id, world.cloud.credentials.secret_access_key),
              model.signing_name, "us-east-1").add_auth(request)
    prepared = urllib.request.Request(request.url, data=request.body, headers=dict(request.headers.items()),
                                      method="POST")
    try:
        with urllib.request.urlopen(prepared, timeout=60) as response:
            return response.status, None, ""
    except urllib.error.HTTPError as error:
        answer = json.loads(error.read() or b"{}")
        return error.code, answer.get("__type", "").rsplit("#", 1)[-1], answer.get("message", answer.get("Message", ""))


def outcome_matches(expected: dict[str, Any], status: int, code: str | None, message: str, names: dict) -> bool:
    if expected.get("ok"):
        return code is None and status < 300
    if (code, status) != (expected["code"], expected["status"]):
        return False
    if "message" in expected:
        return message == expand(expected["message"], names)
    return re.fullmatch(expected.get("message_regex", ".*"), message, re.DOTALL) is not None


READ_ONLY = ("Get", "Describe", "List", "Test", "Filter")  # calls that change nothing when they succeed
REFUSED = [case for case in CASES if not case["expect"].get("ok")]
ACCEPTED = [case for case in CASES if case["expect"].get("ok")]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with labkit_home_at(tmp_path_factory.mktemp("cloud-home")):
        cloud = InProcessServer()
    with cloud:
        built = World(cloud)
        built.build()
        built.before = built.inventory()
        yield built


def _answers_as_aws(world: World, case: dict[str, Any]) -> None:
    status, code, message = send(world, case)
    assert status != 500, f"HTTP 500 for {case['id']}: {code}: {message[:500]}"
    expected, alternative = case["expect"], case["expect"].get("or")
    assert outcome_matches(expected, status, code, message, world.names) or (
        alternative is not None and outcome_matches(alternative, status, code, message, world.names)), \
        f"got {status} {code}: {message[:600]!r}"
    if "then" in case:
        then_holds(world, case["then"])


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case["id"])
def test_a_bad_input_gets_the_error_aws_gives(world, case):
    _answers_as_aws(world, case)


def test_the_refused_calls_changed_nothing(world):
    """After every refusal above (pytest runs a module's tests in order), the world is as it was built."""
    assert world.inventory() == world.before


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda case: case["id"])
def test_an_input_aws_accepts_is_accepted(world, case):
    if world.changed:  # each accepted call starts from the world as built
        world.build()
    _answers_as_aws(world, case)
    world.changed = not case["call"].split(":")[1].startswith(READ_ONLY)


def test_the_table_covers_every_service_the_lab_reaches():
    services = {case["call"].split(":")[0] for case in CASES}
    assert {"logs", "cloudwatch", "sns", "ec2", "s3", "athena", "glue"} <= services
    assert len(CASES) >= 150 and len({case["id"] for case in CASES}) == len(CASES)
