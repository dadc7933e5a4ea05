"""Flow-record delivery: what AWS does with the records of an ENI, for every flow log that covers it.

A flow log covers an ENI when its resource is the ENI, the ENI's subnet or the ENI's VPC. Its
TrafficType selects the records (ALL; ACCEPT or REJECT only), and only a flow log that can deliver
(DeliverLogsStatus SUCCESS) delivers. S3 flow logs get files in AWS's layout (`s3_files`); CloudWatch
Logs flow logs get one stream per ENI, created with the log group if AWS would have to create them.

When an S3 flow log's bucket is gone, its records are lost (as on AWS) and the flow log reports
DeliverLogsStatus FAILED, "Access error", until a delivery succeeds again; other flow logs, and the
traffic itself, carry on.

An S3 flow log has one file per 5-minute window, as on AWS: records that arrive for a window whose
file is already there are added to that file (it is written again, under the same key).

A record describes the past: it is never delivered before its end. By default it is delivered as
soon as it has ended (at once for the traffic the local cloud simulates, which is over when its call
returns), so the lab runs fast. `DeliveryDelays.realistic()` holds records back as AWS does (about 5
minutes after a record's end to CloudWatch Logs, 10 to S3), for a realistic classroom; records older
than that, such as the internet noise of the past hours, are delivered at once, as AWS would have
delivered them by now. It also leaves out what a new flow log does not capture yet: the traffic of
its first moments (`capture_start_seconds` after its creation). The delays come from the local cloud's
timing (`timing.AwsTiming`: LABKIT_DELIVERY and LABKIT_TIME_SCALE).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from moto.core.base_backend import BackendDict, BaseBackend
from moto.ec2.exceptions import InvalidNetworkInterfaceIdError
from moto.s3.exceptions import MissingBucket

from .. import backends
from ..timing import AwsTiming
from .log_events import log_events
from .models import ACCESS_ERROR
from .records import parse_log_format
from .s3_files import DeliveryOptions, S3Destination, S3FlowLog, S3FlowLogWriter


# How long after its end a window's file still takes records (AWS's S3 delivery lags about 10 minutes).
S3_WINDOW_GRACE_SECONDS = 600


@dataclass(frozen=True)
class DeliveryDelays:
    s3_seconds: float = 0.0
    cloudwatch_seconds: float = 0.0
    capture_start_seconds: float = 0.0  # a new flow log captures nothing in its first seconds

    @classmethod
    def of(cls, timing: AwsTiming) -> DeliveryDelays:
        return cls(s3_seconds=timing.s3_delivery_s, cloudwatch_seconds=timing.cloudwatch_delivery_s,
                   capture_start_seconds=timing.flow_log_start_s)

    @classmethod
    def realistic(cls) -> DeliveryDelays:
        return cls.of(AwsTiming.realistic())

    @property
    def mode(self) -> str:
        """`realistic` when records are held back, `instant` when they are delivered as soon as they end."""
        return "realistic" if self.s3_seconds or self.cloudwatch_seconds else "instant"

    @classmethod
    def from_environment(cls) -> DeliveryDelays:
        """LABKIT_DELIVERY=realistic reproduces AWS's delays (times LABKIT_TIME_SCALE); anything else
        delivers at once."""
        return cls.of(AwsTiming.from_environment())


@dataclass
class DeliveryReport:
    """Records delivered per flow log id (what a caller can check against what it generated)."""

    records: dict[str, int] = field(default_factory=dict)

    def add(self, flow_log_id: str, count: int) -> None:
        self.records[flow_log_id] = self.records.get(flow_log_id, 0) + count


class DeliveryState(BaseBackend):
    """Flow-log delivery in one account and region: the S3 flow logs' open files (by flow log id), and
    the deliveries held back until they are due, a heap of (due time, sequence, action) per delivery
    that scheduled them (each is due by that delivery's clock, so only its own worker makes them)."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.s3_writers: dict[str, S3FlowLogWriter] = {}
        self.pending: dict[FlowLogDelivery, list[tuple[float, int, Callable[[], None]]]] = {}
        self.lock = threading.RLock()


delivery_states = BackendDict(DeliveryState, "ec2")


class FlowLogDelivery:
    """Delivers records to every flow log that covers their ENI, once they have ended or with AWS's
    delays; one worker thread makes the held-back deliveries of every account and region."""

    def __init__(self, delays: DeliveryDelays | None = None, clock: Callable[[], float] = time.time):
        self.delays = delays or DeliveryDelays.from_environment()
        self._clock = clock
        self._sequence = itertools.count()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()

    def deliver(self, account_id: str, region: str, records: pa.Table) -> DeliveryReport:
        """Deliver a table of records (records.RECORD_SCHEMA columns) of any ENIs."""
        report = DeliveryReport()
        ec2 = backends.ec2(account_id, region)
        state = delivery_states[account_id][region]
        _forget_deleted_flow_logs(state, ec2)
        for eni in pc.unique(records.column("interface_id")).to_pylist():
            of_eni = records.filter(pc.equal(records.column("interface_id"), eni))
            for flow_log in covering_flow_logs(ec2, eni):
                selected = self._captured(flow_log, select_traffic(of_eni, flow_log.traffic_type))
                if selected.num_rows:
                    self._schedule(state, flow_log, selected)
                    report.add(flow_log.id, selected.num_rows)
        return report

    def _captured(self, flow_log: Any, records: pa.Table) -> pa.Table:
        """The records a flow log captured: none that began in its first `capture_start_seconds`. (Records
        from before its creation stand for traffic of the past it would have seen: the lab's noise.)"""
        if not self.delays.capture_start_seconds or not records.num_rows:
            return records
        created = flow_log.creation_time.replace(tzinfo=timezone.utc).timestamp()  # moto's naive UTC
        starts = records.column("start")
        uncaptured = pc.and_(pc.greater_equal(starts, int(created)),
                             pc.less(starts, created + self.delays.capture_start_seconds))
        return records.filter(pc.invert(uncaptured))

    def _schedule(self, state: DeliveryState, flow_log: Any, records: pa.Table) -> None:
        """Deliver when AWS would: `delay` after a record's end (with no delay: once it has ended). Records
        that ended longer ago than that (internet noise of the past hours) AWS has delivered already."""
        if flow_log.log_destination_type == "s3":
            delay, deliver = self.delays.s3_seconds, functools.partial(self._to_s3, state, flow_log)
        else:
            delay, deliver = self.delays.cloudwatch_seconds, functools.partial(
                _to_cloudwatch, flow_log, state.account_id, state.region_name)
        delivered_by = self._clock() - delay  # the latest end of a record AWS has delivered by now
        if pc.max(records.column("end")).as_py() <= delivered_by:  # all of them (one pass, no copy)
            deliver(records)
            return
        delivered_by_now = pc.less_equal(records.column("end"), delivered_by)
        past, recent = records.filter(delivered_by_now), records.filter(pc.invert(delivered_by_now))
        if past.num_rows:
            deliver(past)
        if not recent.num_rows:
            return
        due = pc.max(recent.column("end")).as_py() + delay
        with state.lock:
            heapq.heappush(state.pending.setdefault(self, []),
                           (due, next(self._sequence), functools.partial(deliver, recent)))
        with self._worker_lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._run_pending, name="labkit-flow-log-delivery", daemon=True)
                self._worker.start()

    def _run_pending(self) -> None:
        while True:
            for _account, _region, state in list(delivery_states.iter_backends()):
                with state.lock:
                    pending, due = state.pending.get(self, []), []
                    while pending and pending[0][0] <= self._clock():
                        due.append(heapq.heappop(pending)[2])
                for action in due:
                    try:
                        action()
                    except Exception:  # noqa: BLE001 - one failed delivery must not stop the later ones
                        traceback.print_exc()  # into the local cloud's log
            time.sleep(1.0)

    def _to_s3(self, state: DeliveryState, flow_log: Any, records: pa.Table) -> None:
        with state.lock:
            writer = state.s3_writers.get(flow_log.id)
            if writer is None:
                writer = state.s3_writers[flow_log.id] = _s3_writer(flow_log, state.account_id, state.region_name)
            try:
                writer.add(records)
                writer.publish()
            except MissingBucket:
                del state.s3_writers[flow_log.id]  # what it held could not be written: lost, as on AWS
                flow_log.deliver_logs_status, flow_log.deliver_logs_error_message = "FAILED", ACCESS_ERROR
                return
            flow_log.deliver_logs_status, flow_log.deliver_logs_error_message = "SUCCESS", None
            # Windows over for a while are closed: the writer holds at most the last few in memory.
            writer.close_windows_before(self._clock() - S3_WINDOW_GRACE_SECONDS)


def _forget_deleted_flow_logs(state: DeliveryState, ec2: Any) -> None:
    with state.lock:
        for flow_log_id in [i for i in state.s3_writers if i not in ec2.flow_logs]:
            del state.s3_writers[flow_log_id]


def covering_flow_logs(ec2: Any, eni_id: str) -> list[Any]:
    """The flow logs whose resource is this ENI, its subnet or its VPC, that can deliver (an S3 flow log
    always tries: its status tells how its last delivery went)."""
    try:
        eni = ec2.get_network_interface(eni_id)
    except InvalidNetworkInterfaceIdError:  # an ENI that no longer exists: nothing covers it
        return []
    resources = {eni_id, eni.subnet.id, eni.subnet.vpc_id}
    return [fl for fl in ec2.flow_logs.values()
            if fl.resource_id in resources and fl.flow_log_status == "ACTIVE"
            and (fl.deliver_logs_status == "SUCCESS" or fl.log_destination_type == "s3")]


def select_traffic(records: pa.Table, traffic_type: str) -> pa.Table:
    """TrafficType ALL keeps every record; ACCEPT or REJECT keeps the records with that action."""
    if traffic_type == "ALL":
        return records
    return records.filter(pc.equal(records.column("action"), traffic_type))


def _s3_writer(flow_log: Any, account_id: str, region: str) -> S3FlowLogWriter:
    destination = S3Destination.from_arn(flow_log.log_destination)
    options = getattr(flow_log, "destination_options", None) or {}
    target = S3FlowLog(flow_log_id=flow_log.id, account_id=account_id, region=region, destination=destination,
                       log_format=parse_log_format(flow_log.log_format), options=DeliveryOptions.from_api(options))

    def put(key: str, body: bytes) -> None:
        backends.s3(account_id).put_object(destination.bucket, key, body)

    return S3FlowLogWriter(target, put)


def _to_cloudwatch(flow_log: Any, account_id: str, region: str, records: pa.Table) -> None:
    logs = backends.logs(account_id, region)
    group = flow_log.log_group_name
    if group not in logs.groups:  # AWS creates the log group when the first records arrive
        logs.create_log_group(group, tags={})
    for stream, events in log_events(records, parse_log_format(flow_log.log_format)).items():
        if stream not in logs.groups[group].streams:
            logs.create_log_stream(group, stream)
        logs.put_log_events(group, stream, events)
