"""Learner-side traffic that has no AWS API: connection attempts from the learner's address, and
background internet noise against the lab's network interfaces. The network model decides what
passes (security groups, network ACLs, connection tracking); the flow records go through the same
delivery path as any other traffic.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.base_backend import BackendDict, BaseBackend

from .. import backends
from ..flowlogs.background import NetworkInterface, generate_background_traffic
from ..flowlogs.delivery import FlowLogDelivery, covering_flow_logs
from ..flowlogs.records import records_to_table
from .interfaces import interface_by_public_ip, interface_view
from .models import server_host
from .network import (
    CONNECT_TIMEOUT,
    ConnectionTracker,
    Interface,
    Packet,
    Peer,
    Traffic,
    Unreachable,
    decide,
    syn_times,
)

# Nitro instances aggregate over at most 60 s whatever MaxAggregationInterval says (the lab's are Nitro).
AGGREGATION_INTERVAL = 60
# An accepted attempt is a short session: data a second after the handshake, the close a second later.
SESSION_SECONDS = 2
# The longest connect timeout a caller may ask for: the call holds one of the server's threads meanwhile.
MAX_CONNECT_TIMEOUT = 60


class LearnerConnections(BaseBackend):
    """The learner's connections in one account and region: the connections the network tracks, and how
    many attempts were made (each attempt's ports and sizes are seeded by its number)."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.tracker = ConnectionTracker()
        self.attempts = 0
        self.lock = threading.Lock()


learner_connections = BackendDict(LearnerConnections, "ec2")


class ConnectionAttempts:
    """Control endpoint `connect`: {region, source, destination (a public IPv4), port, [timeout], [keep_open]}.

    The call takes the time the attempt takes, as a real TCP connect does: an accepted connection is
    a short session (handshake, a few KB each way, close) and returns when it is over; a refused one
    retries its SYN until the client's connect timeout (`timeout` seconds, 10 by default) and returns
    then. Its records are delivered when it returns, so they describe the past, as on AWS. With
    `keep_open` an accepted connection stays tracked (it keeps flowing whatever the security groups
    say by then) and the call returns after its data. A server still booting (AWS's timing) does not
    answer while it is pending, and resets the connection until its sshd listens (`refused`)."""

    def __init__(self, delivery: FlowLogDelivery, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep):
        self.delivery = delivery
        self.clock = clock
        self.sleep = sleep

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        region = request.get("region", "us-east-1")
        ec2 = backends.ec2(DEFAULT_ACCOUNT_ID, region)
        try:
            eni = interface_by_public_ip(ec2, request["destination"])
        except LookupError as error:
            raise ValueError(str(error)) from None
        port = int(request.get("port", 22))
        timeout = connect_timeout(request)
        began = self._begin_within_one_window(span=max(syn_times(0, timeout)[-1], SESSION_SECONDS))
        start = int(began)  # records count in whole seconds
        connections = learner_connections[DEFAULT_ACCOUNT_ID][region]
        with connections.lock:
            connections.attempts += 1
            # Seeded by the attempt, so a fresh local cloud replays the same ports and byte counts.
            rng = random.Random(f"{request['source']}>{eni.private_ip_address}:{port}#{connections.attempts}")
            interface = interface_view(ec2, eni)
            try:
                attempt = connections.tracker.connect(Peer.internet(request["source"]), interface, port, at=start,
                                                      rng=rng, connect_timeout=timeout,
                                                      server_host=server_host(eni.instance, self.clock()))
            except Unreachable as error:
                raise ValueError(str(error)) from None
            traffic: Traffic = attempt.traffic
            if attempt.accepted:
                traffic += connections.tracker.send(attempt.session_id, interface, at=start + 1, rng=rng)
                if not request.get("keep_open"):
                    traffic += connections.tracker.close(attempt.session_id, interface, at=start + SESSION_SECONDS)
        # The client returns once its session's last packet is sent, or when it gives up at its timeout;
        # only then are the records over, and delivered.
        last_packet = max(p.packet.time for p in traffic.packets)
        self._wait_until(began + (last_packet - start if attempt.accepted or attempt.refused else timeout))
        records = traffic.flow_records(AGGREGATION_INTERVAL)
        delivered = self.delivery.deliver(DEFAULT_ACCOUNT_ID, region, records_to_table(records)) if records else None
        syns = sum(1 for p in traffic.packets if p.packet.tcp_flags == 2 and p.packet.direction == "ingress")
        return {
            "connected": attempt.accepted,
            "detail": ("handshake completed; session exchanged data and closed" if attempt.accepted and not
                       request.get("keep_open") else "handshake completed; session open" if attempt.accepted else
                       "connection refused: the server reset it (nothing listens on the port yet)"
                       if attempt.refused else f"timed out after {timeout:g} s: {syns} SYN packets got no answer"),
            "refused": attempt.refused,
            "at": start,
            "source_port": attempt.client_port,
            "session": attempt.session_id if request.get("keep_open") else None,
            "records": len(records),
            "delivered": delivered.records if delivered else {},
        }

    def _begin_within_one_window(self, span: int) -> float:
        """When the attempt's first packet leaves: now, or, when its packets (`span` seconds from the
        first to the last) would cross into the next capture window, the start of that window (waited
        for), so that one attempt makes one record per flow and a lab shows the same records every run."""
        now = self.clock()
        crosses = int(now) % AGGREGATION_INTERVAL + span >= AGGREGATION_INTERVAL
        if crosses and span < AGGREGATION_INTERVAL:  # (an attempt longer than a window crosses one anyway)
            now = float(int(now) // AGGREGATION_INTERVAL * AGGREGATION_INTERVAL + AGGREGATION_INTERVAL)
            self._wait_until(now)
        return now

    def _wait_until(self, moment: float) -> None:
        while (left := moment - self.clock()) > 0:
            self.sleep(left)


def connect_timeout(request: dict[str, Any]) -> float:
    """The request's connect timeout in seconds: more than 0, at most MAX_CONNECT_TIMEOUT."""
    timeout = request.get("timeout", CONNECT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_CONNECT_TIMEOUT:
        raise ValueError(f"timeout must be a number of seconds more than 0 and at most {MAX_CONNECT_TIMEOUT}, "
                         f"not {timeout!r}")
    return float(timeout)


class BackgroundTraffic:
    def __init__(self, delivery: FlowLogDelivery, clock: Callable[[], float] = time.time):
        self.delivery = delivery
        self.clock = clock

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        """Control endpoint `background-traffic`: {region, seed, records | minutes, [end], [interface_ids]}.

        The noise fills the `minutes` before `end` (Unix seconds; by default now): records of the past."""
        region = request.get("region", "us-east-1")
        interfaces = flow_logged_interfaces(DEFAULT_ACCOUNT_ID, region, request.get("interface_ids"))
        if not interfaces:
            raise ValueError("No network interface in this region is covered by a flow log: "
                             "create the flow logs (Part 1) and the server (Part 2) first.")
        records, minutes = request.get("records"), request.get("minutes")
        if records is None and minutes is None:
            raise ValueError("Give the number of records or the number of minutes of background traffic.")
        now = int(self.clock())
        end = int(request.get("end", now)) // AGGREGATION_INTERVAL * AGGREGATION_INTERVAL
        if end > now:
            raise ValueError("Background traffic describes the past: its end must not be later than now.")
        start = end - int(minutes or 60) * 60
        ec2 = backends.ec2(DEFAULT_ACCOUNT_ID, region)
        views = {i.interface_id: interface_view(ec2, ec2.enis[i.interface_id]) for i in interfaces}
        generated, passed, delivered = 0, 0, {}
        for table in generate_background_traffic(interfaces, seed=int(request.get("seed", 0)), start=start,
                                                 end=end, records=records, aggregation_interval=AGGREGATION_INTERVAL):
            generated += table.num_rows
            table = apply_current_rules(table, views)
            passed += table.num_rows
            for flow_log_id, count in self.delivery.deliver(DEFAULT_ACCOUNT_ID, region, table).records.items():
                delivered[flow_log_id] = delivered.get(flow_log_id, 0) + count
        return {"generated": generated, "records": passed, "delivered": delivered,
                "interfaces": [i.interface_id for i in interfaces]}


def apply_current_rules(table: pa.Table, views: dict[str, Interface]) -> pa.Table:
    """The generator's noise as the ENIs' current security groups and network ACLs let it through.

    The generator accepts web requests everywhere; an inbound flow that the ENI's rules refuse
    becomes a REJECT of the client's SYN retries, and its replies are never sent. (In Arrow, not
    pandas: pandas would be the local cloud's largest import for this one function.)
    """
    enis = pa.array(list(views), pa.string())
    eni_ip = pc.take(pa.array([view.private_ip for view in views.values()], pa.string()),
                     pc.index_in(table["interface_id"], value_set=enis))
    inbound = pc.fill_null(pc.and_(pc.equal(table["action"], "ACCEPT"), pc.equal(table["dstaddr"], eni_ip)), False)
    rows = table.select(["interface_id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "start"]).to_pydict()
    allowed: dict[tuple, bool] = {}
    refused = set()
    for index in pc.indices_nonzero(inbound).to_pylist():
        eni, source, protocol, port = (rows[name][index] for name in ("interface_id", "srcaddr", "protocol", "dstport"))
        key = (eni, source, protocol, port)
        if key not in allowed:
            syn = Packet(time=rows["start"][index], direction="ingress", remote=Peer.internet(source), local_port=port,
                         remote_port=rows["srcport"][index], protocol=protocol, size=60, tcp_flags=2)
            allowed[key] = decide(views[eni], syn, tracked=False) == "ACCEPT"
        if not allowed[key]:
            refused.add((eni, source, rows["srcport"][index], port))
    if not refused:
        return table
    flow_in = zip(rows["interface_id"], rows["srcaddr"], rows["srcport"], rows["dstport"])
    flow_out = zip(rows["interface_id"], rows["dstaddr"], rows["dstport"], rows["srcport"])
    rejected = pc.and_(inbound, pa.array([flow in refused for flow in flow_in]))
    replies = pc.fill_null(pc.and_(pc.equal(table["srcaddr"], eni_ip), pa.array([flow in refused for flow in flow_out])),
                           False)
    packets = pc.if_else(rejected, pc.min_element_wise(table["packets"], 4), table["packets"])
    changed = {"action": pc.if_else(rejected, "REJECT", table["action"]), "packets": packets,
               "bytes": pc.if_else(rejected, pc.multiply(packets, 60), table["bytes"]),
               "tcp_flags": pc.if_else(rejected, 2, table["tcp_flags"])}
    for name, column in changed.items():
        table = table.set_column(table.schema.get_field_index(name), table.schema.field(name),
                                 column.cast(table.schema.field(name).type))
    return table.filter(pc.invert(replies))


def flow_logged_interfaces(account_id: str, region: str, only: list[str] | None = None) -> list[NetworkInterface]:
    """The region's ENIs that some flow log covers (or just those listed), as the generator needs them."""
    ec2 = backends.ec2(account_id, region)
    interfaces = []
    for eni in ec2.enis.values():
        if (only and eni.id not in only) or not covering_flow_logs(ec2, eni.id):
            continue
        instance = eni.instance
        interfaces.append(NetworkInterface(
            interface_id=eni.id, private_ip=eni.private_ip_address, account_id=account_id,
            vpc_id=eni.subnet.vpc_id, subnet_id=eni.subnet.id, instance_id=instance.id if instance else None,
            region=region, az_id=eni.subnet.availability_zone_id))
    return sorted(interfaces, key=lambda i: i.interface_id)
