"""Flow-record delivery: which flow logs get which records, and AWS's delays when asked for."""

from __future__ import annotations

import gzip
import time

import pytest

from labkit.localcloud.flowlogs.delivery import DeliveryDelays, FlowLogDelivery, select_traffic
from labkit.localcloud.flowlogs.records import FlowRecord, records_to_table
from labkit.localcloud.timing import AwsTiming


def _record(eni: str, action: str, start: int) -> FlowRecord:
    return FlowRecord(account_id="123456789012", interface_id=eni, start=start, end=start + 5, srcaddr="198.51.100.7",
                      dstaddr="10.2.0.4", srcport=40000, dstport=22, protocol=6, packets=4, bytes=240, action=action)


@pytest.fixture
def eni_with_flow_logs(clients):
    ec2, s3, iam = clients("ec2"), clients("s3"), clients("iam")
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.2.0.0/24")["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    bucket = f"delivery-{vpc}"
    s3.create_bucket(Bucket=bucket)
    role = iam.create_role(RoleName=f"delivery-{vpc}", AssumeRolePolicyDocument=(
        '{"Statement":[{"Effect":"Allow","Principal":{"Service":"vpc-flow-logs.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    ))["Role"]["Arn"]
    ec2.create_flow_logs(ResourceType="Subnet", ResourceIds=[subnet], TrafficType="REJECT", LogDestinationType="s3",
                         LogDestination=f"arn:aws:s3:::{bucket}")
    ec2.create_flow_logs(ResourceType="NetworkInterface", ResourceIds=[eni], TrafficType="ALL",
                         LogDestinationType="cloud-watch-logs", LogGroupName=f"delivery-{vpc}",
                         DeliverLogsPermissionArn=role)
    return eni, bucket, f"delivery-{vpc}"


def test_traffic_type_selects_records():
    table = records_to_table([_record("eni-1", "ACCEPT", 1), _record("eni-1", "REJECT", 2)])
    assert select_traffic(table, "ALL").num_rows == 2
    assert select_traffic(table, "REJECT").column("action").to_pylist() == ["REJECT"]


def test_each_covering_flow_log_gets_its_traffic_type(clients, eni_with_flow_logs):
    eni, bucket, group = eni_with_flow_logs
    ended = int(time.time()) - 10  # records of a flow that is over: delivered at once
    report = FlowLogDelivery(DeliveryDelays()).deliver(
        "123456789012", "us-east-1", records_to_table([_record(eni, "ACCEPT", ended), _record(eni, "REJECT", ended)]))
    assert sorted(report.records.values()) == [1, 2]  # S3 (REJECT only) and CloudWatch Logs (ALL)
    assert clients("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    events = clients("logs").get_log_events(logGroupName=group, logStreamName=f"{eni}-all")["events"]
    assert len(events) == 2  # the log group did not exist: delivery created it, as AWS does


def _s3_files(s3, bucket: str) -> dict[str, list[str]]:
    """Each object's key and its record lines (the header left out)."""
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {key: gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode().splitlines()[1:]
            for key in keys}


def test_one_s3_file_per_window_that_grows_as_records_arrive(clients, eni_with_flow_logs):
    eni, bucket, _group = eni_with_flow_logs
    s3 = clients("s3")
    window = int(time.time()) // 300 * 300
    clock = [window + 60]
    delivery = FlowLogDelivery(DeliveryDelays(), clock=lambda: clock[0])
    for second in (10, 20, 30):  # three attempts in one 5-minute window
        delivery.deliver("123456789012", "us-east-1", records_to_table([_record(eni, "REJECT", window + second)]))
    (key, lines), = _s3_files(s3, bucket).items()
    assert len(lines) == 3 and f"_{time.strftime('%Y%m%dT%H%M', time.gmtime(window))}Z_" in key

    clock[0] = window + 310  # the next window's first record has ended
    delivery.deliver("123456789012", "us-east-1", records_to_table([_record(eni, "REJECT", window + 300)]))
    files = _s3_files(s3, bucket)
    assert len(files) == 2 and files[key] == lines  # the next window has a file of its own

    delivery.deliver("123456789012", "us-east-1", records_to_table([_record(eni, "REJECT", window + 40)]))
    files = _s3_files(s3, bucket)  # a late record of a window already written goes to a new file
    assert len(files) == 3 and files[key] == lines
    assert sum(len(lines) for lines in files.values()) == 5


def test_realistic_delays_hold_records_back(clients, eni_with_flow_logs):
    eni, bucket, group = eni_with_flow_logs
    fake_now = [time.time()]
    delivery = FlowLogDelivery(DeliveryDelays.realistic(), clock=lambda: fake_now[0])
    delivery.deliver("123456789012", "us-east-1", records_to_table([_record(eni, "REJECT", int(fake_now[0]) - 5)]))
    time.sleep(1.5)
    assert clients("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    fake_now[0] += 301  # CloudWatch Logs about 5 minutes after the record's end ...
    time.sleep(2.5)
    assert len(clients("logs").get_log_events(logGroupName=group, logStreamName=f"{eni}-all")["events"]) == 1
    assert clients("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    fake_now[0] += 300  # ... S3 about 10
    time.sleep(2.5)
    assert clients("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 1


@pytest.mark.parametrize("delays", [DeliveryDelays(), DeliveryDelays.realistic()], ids=lambda d: d.mode)
def test_a_record_is_never_published_before_its_end(clients, eni_with_flow_logs, delays):
    """A record describes the past (docs/aws-behaviour.md, "Delivery timing and failures"): one whose
    flow is still going on is held until its end, plus AWS's delay when there is one."""
    eni, bucket, group = eni_with_flow_logs
    clock = [time.time()]
    delivery = FlowLogDelivery(delays, clock=lambda: clock[0])
    ongoing = _record(eni, "REJECT", int(clock[0]) - 2)  # its end is 3 s ahead
    report = delivery.deliver("123456789012", "us-east-1", records_to_table([ongoing]))
    assert sorted(report.records.values()) == [1, 1]  # on its way to both flow logs

    def published() -> tuple[int, int]:
        time.sleep(1.5)  # the worker looks for due deliveries every second
        logs = clients("logs")
        events = (logs.get_log_events(logGroupName=group, logStreamName=f"{eni}-all")["events"]
                  if logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] else [])
        return len(events), clients("s3").list_objects_v2(Bucket=bucket)["KeyCount"]

    assert published() == (0, 0)
    clock[0] = ongoing.end + delays.cloudwatch_seconds - 0.5
    assert published() == (0, 0)
    clock[0] = ongoing.end + delays.cloudwatch_seconds
    assert published() == (1, 1 if delays.s3_seconds == delays.cloudwatch_seconds else 0)
    clock[0] = ongoing.end + delays.s3_seconds
    assert published() == (1, 1)


def test_with_realistic_delays_records_of_hours_ago_are_there_already(clients, eni_with_flow_logs):
    """Internet noise of the past hours: AWS would have delivered it long ago."""
    eni, bucket, group = eni_with_flow_logs
    now = time.time()
    delivery = FlowLogDelivery(DeliveryDelays.realistic(), clock=lambda: now)
    hours_ago, just_now = _record(eni, "REJECT", int(now) - 7200), _record(eni, "REJECT", int(now) - 5)
    delivery.deliver("123456789012", "us-east-1", records_to_table([hours_ago, just_now]))
    events = clients("logs").get_log_events(logGroupName=group, logStreamName=f"{eni}-all")["events"]
    assert [e["timestamp"] // 1000 for e in events] == [hours_ago.start]  # the recent one is still on its way
    assert clients("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 1


def test_the_environment_chooses_realistic_delays(monkeypatch):
    monkeypatch.setenv("LABKIT_DELIVERY", "realistic")
    assert DeliveryDelays.from_environment() == DeliveryDelays(600.0, 300.0, capture_start_seconds=60.0)
    assert (DeliveryDelays.from_environment().mode, DeliveryDelays().mode) == ("realistic", "instant")
    monkeypatch.delenv("LABKIT_DELIVERY")
    assert DeliveryDelays.from_environment() == DeliveryDelays()


def test_the_time_scale_shrinks_every_delay_by_one_factor_and_keeps_their_order(monkeypatch):
    monkeypatch.setenv("LABKIT_DELIVERY", "realistic")
    monkeypatch.setenv("LABKIT_TIME_SCALE", "0.05")
    timing, aws = AwsTiming.from_environment(), AwsTiming.realistic()
    delays = ("instance_pending_s", "sshd_boot_s", "flow_log_start_s", "cloudwatch_delivery_s", "s3_delivery_s",
              "alarm_interval_s")
    assert [getattr(timing, d) for d in delays] == pytest.approx([getattr(aws, d) * 0.05 for d in delays])
    assert (timing.cloudwatch_delivery_s, timing.s3_delivery_s, timing.alarm_interval_s) == pytest.approx((15, 30, 3))
    assert AwsTiming.from_environment().mode == "realistic"
    for bad in ("0", "2", "fast"):
        monkeypatch.setenv("LABKIT_TIME_SCALE", bad)
        with pytest.raises(ValueError, match="LABKIT_TIME_SCALE"):
            AwsTiming.from_environment()
    monkeypatch.delenv("LABKIT_DELIVERY")
    assert AwsTiming.from_environment() == AwsTiming()  # a scale alone changes nothing


def test_a_new_flow_log_misses_the_traffic_of_its_first_moments(clients, eni_with_flow_logs):
    """docs/aws-behaviour.md, "AWS's timings": a flow log captures a little after its creation. Records
    from before it (the lab's noise of the past) stand for traffic it would have seen."""
    eni, bucket, group = eni_with_flow_logs
    now = time.time()
    delivery = FlowLogDelivery(DeliveryDelays(capture_start_seconds=60), clock=lambda: now + 120)
    early, later, past = (_record(eni, "REJECT", int(now) + 10), _record(eni, "REJECT", int(now) + 70),
                          _record(eni, "REJECT", int(now) - 3600))
    report = delivery.deliver("123456789012", "us-east-1", records_to_table([early, later, past]))
    assert sorted(report.records.values()) == [2, 2]
    events = clients("logs").get_log_events(logGroupName=group, logStreamName=f"{eni}-all")["events"]
    assert sorted(e["timestamp"] // 1000 for e in events) == [past.start, later.start]
