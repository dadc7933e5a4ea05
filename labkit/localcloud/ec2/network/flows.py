"""Packets as an ENI's flow log saw them, aggregated into the records AWS writes."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce

from ...flowlogs.background import AGGREGATION_INTERVALS, INTERNET_GATEWAY_PATH
from ...flowlogs.records import FlowRecord
from .interfaces import Action, Interface
from .packets import Packet, logged_tcp_flags
from .protocols import TCP

SAME_VPC_PATH = 1  # traffic-path: through another resource in the same VPC


@dataclass(frozen=True)
class ObservedPacket:
    interface: Interface
    packet: Packet
    action: Action


@dataclass(frozen=True)
class Traffic:
    """What a simulation sent through ENIs: add results together, then turn them into records."""

    packets: tuple[ObservedPacket, ...] = ()

    def __add__(self, other: Traffic) -> Traffic:
        return Traffic(self.packets + other.packets)

    def flow_records(self, aggregation_interval: int, window_origin: int = 0) -> list[FlowRecord]:
        return flow_records(self.packets, aggregation_interval, window_origin)


def flow_records(packets: Iterable[ObservedPacket], aggregation_interval: int,
                 window_origin: int = 0) -> list[FlowRecord]:
    """One record per ENI, flow (5-tuple and direction), action and capture window, in time order.

    Capture windows are `aggregation_interval` (MaxAggregationInterval, 60 or 600) seconds long, counted
    from `window_origin`, so a record's start and end always lie in one window. Feed every packet of a
    window in one call: two calls give two records for one flow where AWS writes one.
    """
    if aggregation_interval not in AGGREGATION_INTERVALS:
        raise ValueError(f"aggregation_interval must be one of {AGGREGATION_INTERVALS}")
    flows: dict[tuple, list[ObservedPacket]] = {}
    for seen in sorted(packets, key=lambda seen: seen.packet.time):
        p = seen.packet
        key = ((p.time - window_origin) // aggregation_interval, seen.interface.interface_id, p.direction,
               p.remote.address, p.local_port, p.remote_port, p.protocol, seen.action)
        flows.setdefault(key, []).append(seen)
    return [_record(flow) for flow in flows.values()]


def _record(flow: list[ObservedPacket]) -> FlowRecord:
    eni, first, action = flow[0].interface, flow[0].packet, flow[0].action
    local, remote = (eni.private_ip, first.local_port), (first.remote.address, first.remote_port)
    (srcaddr, srcport), (dstaddr, dstport) = (remote, local) if first.direction == "ingress" else (local, remote)
    tcp_flags = reduce(lambda flags, seen: flags | logged_tcp_flags(seen.packet.tcp_flags), flow, 0)
    return FlowRecord(
        account_id=eni.account_id, interface_id=eni.interface_id, vpc_id=eni.vpc_id, subnet_id=eni.subnet_id,
        instance_id=eni.instance_id, region=eni.region, az_id=eni.az_id,
        srcaddr=srcaddr, dstaddr=dstaddr, srcport=srcport, dstport=dstport, protocol=first.protocol,
        # The internet gateway translates the public IP to the private one, so the packet addresses match.
        pkt_srcaddr=srcaddr, pkt_dstaddr=dstaddr,
        packets=len(flow), bytes=sum(seen.packet.size for seen in flow),
        start=flow[0].packet.time, end=flow[-1].packet.time, action=action,
        tcp_flags=tcp_flags if first.protocol == TCP else 0,
        type=f"IPv{ipaddress.ip_address(srcaddr).version}", flow_direction=first.direction,
        traffic_path=_traffic_path(eni, first))


def _traffic_path(eni: Interface, packet: Packet) -> int | None:
    """Where egress traffic went (Nitro values); ingress records have none."""
    if packet.direction == "ingress":
        return None
    if packet.remote.in_vpc:
        return SAME_VPC_PATH
    return INTERNET_GATEWAY_PATH if eni.internet_gateway else None
