"""Part 2 end to end on the local cloud: the server, the security-group swap, and the records AWS
would deliver to S3 and CloudWatch Logs."""

from __future__ import annotations

import calendar
import gzip
import re
import time
from datetime import datetime, timezone

import pytest
from flowlogs_reader import FlowLogsReader, S3FlowLogsReader

from labkit import flow_logs, monitoring, records, traffic
from labkit.config import LabConfig
from labkit.localcloud.ec2.learner_actions import ConnectionAttempts
from labkit.localcloud.flowlogs.delivery import DeliveryDelays, FlowLogDelivery
from labkit.session import connect

from .labs import provision_part2

HEADER = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
KEY = re.compile(r"^AWSLogs/123456789012/vpcflowlogs/us-east-1/\d{4}/\d{2}/\d{2}/"
                 r"123456789012_vpcflowlogs_us-east-1_fl-[0-9a-f]{17}_\d{8}T\d{4}Z_[0-9a-f]{8}\.log\.gz$")


@pytest.fixture
def lab_with_server(local_env):
    lab = connect(LabConfig.resolve(run_id="part2"))
    part2 = provision_part2(lab)
    yield lab, part2.server, part2.ssh_group, part2.http_group
    from labkit import teardown
    teardown.teardown(lab)


def test_ssh_is_accepted_then_rejected_after_the_swap_and_both_destinations_agree(lab_with_server):
    lab, server, ssh, http = lab_with_server
    me = traffic.learner_address(lab)
    first = traffic.attempt_connection(lab, server, 22)
    assert first.connected
    assert traffic.replace_security_groups(lab, server.instance_id, [http]) == ["AeroSecure HTTP"]
    started = time.monotonic()
    blocked = traffic.attempt_connection(lab, server, 22, timeout_s=5)
    waited = time.monotonic() - started
    assert not blocked.connected and blocked.detail == "timed out after 5 s: 3 SYN packets got no answer"
    assert 5 <= waited < 10  # as long as a real connect waits (plus, at a window's end, the next window's start)
    assert traffic.attempt_connection(lab, server, 80).connected  # the HTTP-only group lets the web in

    s3 = lab.client("s3")
    keys = list(records.s3_objects(lab, lab.bucket)["Key"])
    assert keys and all(KEY.match(k) for k in keys), keys
    for key in keys:
        text = gzip.decompress(s3.get_object(Bucket=lab.bucket, Key=key)["Body"].read()).decode()
        lines = text.splitlines()
        assert lines[0] == HEADER
        assert all(len(line.split(" ")) == 14 for line in lines[1:])

    s3_records = records.read_s3_records(lab, lab.bucket).sort_values(["start", "end"], kind="stable")
    inbound_ssh = s3_records[(s3_records["srcaddr"] == me) & (s3_records["dstport"] == 22)
                             & (s3_records["start"] >= first.at)]  # not the sshd wait's probe
    assert list(inbound_ssh["action"]) == ["ACCEPT", "REJECT"]
    rejected = inbound_ssh.iloc[1]
    # SYNs at 0, 1 and 3 s: the client gave up at its 5 s timeout before a fourth
    assert (rejected["protocol"], rejected["packets"], rejected["dstaddr"]) == (6, 3, server.private_ip)
    assert rejected["end"] - rejected["start"] == 3 and rejected["start"] == blocked.at
    replies = s3_records[(s3_records["dstaddr"] == me) & (s3_records["srcport"] == 22) & (s3_records["start"] >= first.at)]
    assert list(replies["action"]) == ["ACCEPT"]  # the blocked attempt got no reply

    events = records.read_log_events(lab, lab.config.log_group)
    assert set(events["logStream"]) == {f"{server.interface_id}-all"}
    by_line = lambda frame: sorted(frame[list(records.DEFAULT_FIELDS)].astype(str).agg(" ".join, axis=1))  # noqa: E731
    assert by_line(events) == by_line(s3_records)
    assert [int(t.timestamp()) for t in events["timestamp"]] == [int(s) for s in events["start"]]


def _part2_sequence(lab, part2) -> list[traffic.Attempt]:
    """Notebook 02's steps 5 to 7: SSH, swap to HTTP-only and try again, restore and SSH again."""
    first = traffic.attempt_connection(lab, part2.server, 22)
    traffic.replace_security_groups(lab, part2.server.instance_id, [part2.http_group])
    second = traffic.attempt_connection(lab, part2.server, 22)
    traffic.replace_security_groups(lab, part2.server.instance_id, [part2.ssh_group])
    return [first, second, traffic.attempt_connection(lab, part2.server, 22)]


def _line(record) -> str:
    """A flowlogs_reader record as the default format's line (its start and end are UTC datetimes)."""
    values = [getattr(record, name.replace("-", "_")) for name in records.DEFAULT_FIELDS]
    return " ".join("-" if value is None else str(calendar.timegm(value.utctimetuple()))
                    if isinstance(value, datetime) else str(value) for value in values)


def _lines(frame) -> list[str]:
    return sorted(frame[list(records.DEFAULT_FIELDS)].astype(str).agg(" ".join, axis=1))


def test_right_after_part2_a_client_reading_up_to_now_sees_every_record(local_env):
    """Records describe the past: a client that reads CloudWatch Logs up to the moment it asks
    (FilterLogEvents endTime=now, flowlogs-reader) sees what the S3 files hold, and the rejected-SSH
    metric counts the rejected attempt up to now."""
    lab = connect(LabConfig.resolve(run_id="part2-now", name_prefix="now"))
    part2 = provision_part2(lab)
    config = lab.config
    monitoring.ensure_metric_filter(lab, config.metric_filter_name, monitoring.SSH_REJECT_PATTERN, [
        {"metricName": config.metric_name, "metricNamespace": config.metric_namespace, "metricValue": "1"}])
    try:
        began = time.time()
        first, second, third = _part2_sequence(lab, part2)
        now = time.time()
        s3_records = records.read_s3_records(lab, lab.bucket)
        assert (s3_records["end"] <= now).all()
        s3_records = s3_records[s3_records["start"] >= first.at]  # not the sshd wait's probe
        assert len(s3_records) == 5
        assert list(s3_records.sort_values("start", kind="stable").query("dstport == 22")["action"]) == [
            "ACCEPT", "REJECT", "ACCEPT"]
        assert first.at < second.at < third.at

        pages = lab.client("logs").get_paginator("filter_log_events").paginate(
            logGroupName=lab.config.log_group, endTime=int(now * 1000))
        events = [e for page in pages for e in page["events"] if e["timestamp"] >= first.at * 1000]
        assert sorted(e["message"] for e in events) == _lines(s3_records)
        end = records.DEFAULT_FIELDS.index("end")  # an event is stamped with its record's start, ingested after its end
        assert all(e["timestamp"] <= now * 1000 and e["ingestionTime"] >= int(e["message"].split()[end]) * 1000
                   for e in events)

        # flowlogs-reader reads the last hour up to the moment it is made (whole seconds), from either destination
        logs, s3 = lab.client("logs"), lab.client("s3")
        from_cloudwatch = [r for r in FlowLogsReader(lab.config.log_group, boto_client=logs)
                           if r.start.timestamp() >= first.at]  # not the sshd wait's probe
        assert sorted(map(_line, from_cloudwatch)) == _lines(s3_records)
        assert set(from_cloudwatch) == {r for r in S3FlowLogsReader(lab.bucket, boto_client=s3)
                                        if r.start.timestamp() >= first.at}
        rejected = FlowLogsReader(lab.config.log_group, boto_client=logs, filter_pattern=monitoring.SSH_REJECT_PATTERN)
        assert [_line(r) for r in rejected] == _lines(s3_records.query("dstport == 22 and action == 'REJECT'"))

        # the metric filter's datapoint carries the rejected record's start, so it is there up to now
        datapoints = lab.client("cloudwatch").get_metric_statistics(
            Namespace=config.metric_namespace, MetricName=config.metric_name, Statistics=["Sum"], Period=60,
            StartTime=datetime.fromtimestamp(began // 60 * 60 - 60, timezone.utc),
            EndTime=datetime.fromtimestamp(now, timezone.utc))["Datapoints"]
        assert sum(d["Sum"] for d in datapoints) == 1
        assert all(d["Timestamp"].timestamp() <= second.at for d in datapoints)
    finally:
        from labkit import teardown
        teardown.teardown(lab)


def test_an_attempt_that_would_cross_a_capture_window_waits_for_the_next_one(lab_with_server):
    """The simulated client starts when the next window does (so its SYNs make one record), then waits
    out its timeout; nothing of it can be read before the call returns."""
    lab, server, _ssh, http = lab_with_server
    traffic.replace_security_groups(lab, server.instance_id, [http])
    window = (int(time.time()) // 60 - 2) * 60  # a window of the past: the clock below is made to run
    clock = [window - 1.5]  # 1.5 s before it starts: a 5 s attempt's SYNs (0, 1, 3 s) would cross into it
    slept, readable = [], []

    def sleep(seconds: float) -> None:
        readable.append(len(records.read_s3_records(lab, lab.bucket).query(f"dstport == 22 and {window} <= start < {window + 60}")))
        slept.append(seconds)
        clock[0] += seconds

    attempts = ConnectionAttempts(FlowLogDelivery(DeliveryDelays(), clock=lambda: clock[0]),
                                  clock=lambda: clock[0], sleep=sleep)
    answer = attempts({"region": lab.region, "source": traffic.learner_address(lab), "destination": server.public_ip,
                       "port": 22, "timeout": 5})
    assert (answer["at"], answer["records"], answer["connected"]) == (window, 1, False)
    assert slept == [1.5, 5] and readable == [0, 0]  # to the window's start, then the client's timeout
    [record] = records.read_s3_records(lab, lab.bucket).query(f"dstport == 22 and {window} <= start < {window + 60}").to_dict("records")
    assert (record["start"], record["end"], record["packets"]) == (window, window + 3, 3)


def test_a_connect_timeout_out_of_range_is_refused(lab_with_server):
    lab, server, *_ = lab_with_server
    for timeout in (0, -1, 61, "5", True, None):
        with pytest.raises(ValueError, match="timeout must be a number of seconds more than 0 and at most 60"):
            traffic.local_cloud_request(lab, "connect", {"source": "203.0.113.10", "destination": server.public_ip,
                                                         "port": 22, "timeout": timeout})


def test_a_deleted_bucket_fails_only_its_flow_log_until_it_is_back(lab_with_server):
    lab, server, _ssh, _http = lab_with_server
    s3, ec2 = lab.client("s3"), lab.client("ec2")

    def s3_flow_log() -> dict:
        (flow_log,) = [f for f in ec2.describe_flow_logs()["FlowLogs"] if f["LogDestinationType"] == "s3"]
        return flow_log

    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=lab.bucket):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=lab.bucket, Key=obj["Key"])
    s3.delete_bucket(Bucket=lab.bucket)

    attempt = traffic.attempt_connection(lab, server, 22)
    assert attempt.connected  # the traffic does not depend on where its records go
    assert (s3_flow_log()["DeliverLogsStatus"], s3_flow_log()["DeliverLogsErrorMessage"]) == ("FAILED", "Access error")
    events = records.read_log_events(lab, lab.config.log_group)
    assert (events["start"] >= attempt.at).any()  # CloudWatch Logs still gets the records

    flow_logs.ensure_bucket(lab)
    again = traffic.attempt_connection(lab, server, 22)
    assert s3_flow_log()["DeliverLogsStatus"] == "SUCCESS" and "DeliverLogsErrorMessage" not in s3_flow_log()
    inbound_ssh = records.read_s3_records(lab, lab.bucket).query("dstport == 22")
    assert len(inbound_ssh) and (inbound_ssh["start"] >= again.at).all()  # the first attempt's records are lost


def test_background_traffic_is_delivered_whole_to_each_destination(lab_with_server):
    lab, server, *_ = lab_with_server
    before = len(records.read_s3_records(lab, lab.bucket)), len(records.read_log_events(lab, lab.config.log_group))
    result = traffic.local_cloud_request(lab, "background-traffic", {"records": 3000, "seed": 7,
                                                                      "interface_ids": [server.interface_id]})
    assert result["generated"] == 3000
    passed = result["records"]  # web requests the SSH-only group refuses lose their replies
    assert 0 < passed < 3000
    assert sorted(result["delivered"].values()) == [passed, passed]
    s3_records = records.read_s3_records(lab, lab.bucket)
    assert len(s3_records) == before[0] + passed  # (before: the sshd wait's probe)
    assert len(records.read_log_events(lab, lab.config.log_group)) == before[1] + passed
    now = time.time()  # noise of the past hour, up to the last whole minute: all of it readable up to now
    assert (s3_records["end"] <= now).all()
    pages = lab.client("logs").get_paginator("filter_log_events").paginate(
        logGroupName=lab.config.log_group, endTime=int(now * 1000))
    assert sum(len(page["events"]) for page in pages) == before[1] + passed
    inbound_web = s3_records[(s3_records["dstaddr"] == server.private_ip) & s3_records["dstport"].isin([80, 443])]
    assert len(inbound_web) and set(inbound_web["action"]) == {"REJECT"}  # the group allows only SSH from you
    assert not len(s3_records[(s3_records["srcaddr"] == server.private_ip) & s3_records["srcport"].isin([80, 443])])


def test_background_traffic_ends_where_asked_and_never_in_the_future(lab_with_server):
    """Part 4's noise fills yesterday (a whole UTC day: the same daily rhythm whenever the lab runs)."""
    lab, server, *_ = lab_with_server
    midnight = int(time.time()) // 86400 * 86400
    before = len(records.read_s3_records(lab, lab.bucket))
    result = traffic.local_cloud_request(lab, "background-traffic", {
        "records": 300, "minutes": 24 * 60, "end": midnight, "seed": 4, "interface_ids": [server.interface_id]})
    s3_records = records.read_s3_records(lab, lab.bucket)
    assert len(s3_records) == before + result["records"]
    me = traffic.learner_address(lab)
    noise = s3_records[(s3_records["srcaddr"] != me) & (s3_records["dstaddr"] != me)]  # not the sshd wait's probe
    assert noise["start"].min() >= midnight - 86400 and noise["end"].max() < midnight
    with pytest.raises(ValueError, match="describes the past"):
        traffic.local_cloud_request(lab, "background-traffic", {"records": 10, "end": int(time.time()) + 3600})


def test_parquet_hive_hourly_delivery(lab_with_server):
    lab, server, *_ = lab_with_server
    vpc_id = flow_logs.ensure_vpc(lab)
    flow_logs.ensure_flow_log(lab, "parquet-logs", ResourceType="NetworkInterface", ResourceIds=[server.interface_id],
                              TrafficType="REJECT", LogDestinationType="s3",
                              LogDestination=f"arn:aws:s3:::{lab.bucket}/parquet/",
                              DestinationOptions={"FileFormat": "parquet", "HiveCompatiblePartitions": True,
                                                  "PerHourPartition": True})
    traffic.local_cloud_request(lab, "background-traffic", {"records": 500, "seed": 3,
                                                            "interface_ids": [server.interface_id]})
    keys = list(records.s3_objects(lab, lab.bucket, prefix="parquet/")["Key"])
    assert keys and all(re.match(r"^parquet/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/"
                                 r"aws-region=us-east-1/year=\d{4}/month=\d{2}/day=\d{2}/hour=\d{2}/"
                                 r".*\.log\.parquet$", k) for k in keys), keys
    assert vpc_id


def test_an_instance_without_public_address_cannot_be_reached(lab_with_server):
    lab, server, *_ = lab_with_server
    private_only = traffic.Server(server.instance_id, "", server.private_ip, server.interface_id, server.subnet_id)
    with pytest.raises(ValueError, match="no public IPv4 address"):
        traffic.attempt_connection(lab, private_only, 22)
    with pytest.raises(ValueError, match="No network interface has the public IPv4 address 198.51.100.1"):
        traffic.local_cloud_request(lab, "connect", {"source": "203.0.113.10", "destination": "198.51.100.1", "port": 22})


def test_on_aws_a_key_makes_a_real_ssh_login(monkeypatch):
    from types import SimpleNamespace

    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        return SimpleNamespace(returncode=255, stderr="ssh: connect to host 192.0.2.5 port 22: Connection timed out\n")

    monkeypatch.setattr(traffic.subprocess, "run", fake_run)
    lab = SimpleNamespace(config=SimpleNamespace(target="aws"))
    server = traffic.Server("i-0123456789abcdef0", "192.0.2.5", "10.0.1.4", "eni-1", "subnet-1")
    attempt = traffic.attempt_connection(lab, server, 22, source="198.51.100.9", ssh_key="lab.pem")
    assert calls[0][:3] == ["ssh", "-i", "lab.pem"] and calls[0][-2:] == ["ec2-user@192.0.2.5", "true"]
    assert not attempt.connected and attempt.detail == "ssh: connect to host 192.0.2.5 port 22: Connection timed out"


def test_part2_runs_in_any_region_of_the_local_cloud(local_env):
    """The learner picks the region (`-p region eu-west-1`): the simulated traffic happens there."""
    from labkit import teardown

    lab = connect(LabConfig.resolve(region="eu-west-1", run_id="part2-eu"))
    part2 = provision_part2(lab)
    try:
        assert traffic.attempt_connection(lab, part2.server, 22).connected
        noise = traffic.local_cloud_request(lab, "background-traffic", {"records": 200, "seed": 3})
        assert noise["generated"] == 200
        s3_records = records.read_s3_records(lab, lab.bucket)
        assert set(s3_records["interface-id"]) == {part2.server.interface_id}
        assert "/vpcflowlogs/eu-west-1/" in records.s3_objects(lab, lab.bucket)["Key"].iloc[0]
    finally:
        teardown.teardown(lab)


def _ssh_record(src, dst, srcport, dstport, start, action):
    return {"srcaddr": src, "dstaddr": dst, "srcport": srcport, "dstport": dstport, "start": start,
            "end": start + 2, "action": action}


def test_this_runs_records_are_found_by_source_port_across_windows_and_files():
    """AWS's aggregation (docs/aws-behaviour.md, "AWS's timings"): an attempt across two capture windows
    has two records per direction, in files that may come apart; another flow of the learner's (the sshd
    wait's probe, an earlier run) at the same time is not this attempt's."""
    import pandas as pd

    server = traffic.Server("i-1", "54.0.0.1", "10.0.1.4", "eni-1", "subnet-1")
    me = "203.0.113.10"
    accepted = traffic.Attempt(me, server.public_ip, 22, True, "", at=1000, source_port=40001)
    blocked = traffic.Attempt(me, server.public_ip, 22, False, "", at=1010, source_port=40002)
    rows = [_ssh_record(me, "10.0.1.4", 40001, 22, 1000, "ACCEPT"),   # accepted, first window ...
            _ssh_record("10.0.1.4", me, 22, 40001, 1000, "ACCEPT"),
            _ssh_record(me, "10.0.1.4", 40002, 22, 1019, "REJECT"),   # blocked, across the minute
            _ssh_record(me, "10.0.1.4", 40002, 22, 1020, "REJECT"),
            _ssh_record(me, "10.0.1.4", 39999, 22, 1005, "REJECT"),   # another flow of the learner's
            _ssh_record(me, "10.0.1.4", 40001, 22, 500, "ACCEPT")]    # an earlier run on the same port
    found = records.of_attempts(pd.DataFrame(rows), [accepted, blocked], server)
    assert list(found["srcport"]) == [40001, 22, 40002, 40002]
    assert records.attempt_actions(pd.DataFrame(rows), [accepted, blocked], server) == ["ACCEPT", "REJECT"]
    assert records.attempt_actions(pd.DataFrame(rows[2:]), [accepted, blocked], server) == [None, "REJECT"]
