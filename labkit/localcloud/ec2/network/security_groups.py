"""Security groups: allow rules only, the union of every group on the ENI, stateful with connection tracking."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .packets import Direction, Packet
from .protocols import TCP, UDP, in_cidr, protocol_number, protocol_part_matches

EVERYWHERE = "0.0.0.0/0"
_EVERYONE = {EVERYWHERE, "::/0"}


@dataclass(frozen=True)
class SecurityGroupRule:
    """One rule, shaped like an entry of DescribeSecurityGroupRules: one source (CIDR or group) per rule.

    `protocol` is AWS's IpProtocol ("-1", "tcp", "udp", "icmp", "icmpv6" or a number). For ICMP, AWS
    puts the ICMP type in FromPort and the code in ToPort, -1 meaning all; None means all ports as well.
    """

    protocol: str | int
    from_port: int | None = None
    to_port: int | None = None
    cidr: str | None = None  # CidrIpv4 (CidrIpv6 works too)
    group_id: str | None = None  # ReferencedGroupInfo.GroupId: traffic from ENIs in that group

    def __post_init__(self) -> None:
        if (self.cidr is None) == (self.group_id is None):
            raise ValueError("a security group rule has exactly one source: a CIDR or a security group")

    @property
    def protocol_number(self) -> int | None:
        return protocol_number(self.protocol)

    @property
    def _range(self) -> tuple[int, int] | None:
        return None if self.from_port is None or self.to_port is None else (self.from_port, self.to_port)

    def matches(self, packet: Packet) -> bool:
        if self.cidr is not None:
            source_matches = in_cidr(packet.remote.address, self.cidr)
        else:
            source_matches = self.group_id in packet.remote.security_group_ids
        return source_matches and protocol_part_matches(
            self.protocol_number, self._range, self._range, protocol=packet.protocol,
            destination_port=packet.destination_port, icmp_type=packet.icmp_type, icmp_code=packet.icmp_code)

    def opens_every_port_to_everyone(self, protocol: int) -> bool:
        """Whether the rule lets TCP or UDP (`protocol`) through from/to 0.0.0.0/0 or ::/0 on all ports."""
        if self.cidr not in _EVERYONE or self.protocol_number not in (None, protocol):
            return False
        return self.protocol_number is None or self._range is None or self._range == (0, 65535)


ALLOW_ALL_EGRESS = SecurityGroupRule("-1", cidr=EVERYWHERE)  # what every new security group starts with


@dataclass(frozen=True)
class SecurityGroup:
    group_id: str
    ingress: tuple[SecurityGroupRule, ...] = ()
    egress: tuple[SecurityGroupRule, ...] = (ALLOW_ALL_EGRESS,)

    def rules(self, direction: Direction) -> tuple[SecurityGroupRule, ...]:
        return self.ingress if direction == "ingress" else self.egress


def security_groups_allow(groups: Iterable[SecurityGroup], packet: Packet) -> bool:
    """Whether any rule of any group lets the packet through in its direction (there are no deny rules)."""
    return any(rule.matches(packet) for group in groups for rule in group.rules(packet.direction))


def connection_is_tracked(groups: Iterable[SecurityGroup], first_packet: Packet) -> bool:
    """Whether the security groups track the connection that `first_packet` opens.

    AWS does not track a TCP or UDP flow that a rule allows from/to 0.0.0.0/0 when a rule in the other
    direction allows all response traffic to/from 0.0.0.0/0 on all ports: such a flow is judged packet by
    packet on the current rules, so changing the rules cuts it. Every other flow (and all ICMP) is tracked,
    and its packets keep flowing whatever the rules become. (Connections AWS always tracks, through NAT
    gateways, load balancers and the like, are not modelled: the peers here are internet hosts and ENIs.)
    """
    protocol = first_packet.protocol
    if protocol not in (TCP, UDP):
        return True
    groups = tuple(groups)
    reverse: Direction = "egress" if first_packet.direction == "ingress" else "ingress"
    opened_to_everyone = any(rule.cidr in _EVERYONE and rule.matches(first_packet)
                             for group in groups for rule in group.rules(first_packet.direction))
    replies_to_everyone = any(rule.opens_every_port_to_everyone(protocol)
                              for group in groups for rule in group.rules(reverse))
    return not (opened_to_everyone and replies_to_everyone)
