"""The ENI view the decisions need, and the decision for one packet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .network_acls import NetworkAcl
from .packets import Packet
from .security_groups import SecurityGroup, security_groups_allow

Action = Literal["ACCEPT", "REJECT"]


@dataclass(frozen=True)
class Interface:
    """An ENI as it is now: identity for the records, its security groups, and its subnet's network ACL.

    Build a new view when the groups or the ACL change; the connection tracker keeps what must outlive them.
    """

    interface_id: str
    private_ip: str  # the primary private IPv4: flow records show it for every flow of the ENI
    account_id: str
    security_groups: tuple[SecurityGroup, ...]
    network_acl: NetworkAcl
    public_ip: str | None = None  # never in a record; without one, the internet cannot reach the ENI
    vpc_id: str | None = None
    subnet_id: str | None = None
    instance_id: str | None = None
    region: str | None = None
    az_id: str | None = None
    internet_gateway: bool = False  # the subnet's route table sends internet traffic to an internet gateway


def decide(interface: Interface, packet: Packet, *, tracked: bool) -> Action:
    """ACCEPT or REJECT for a packet at the ENI.

    The network ACL judges every packet. The security groups judge it unless it belongs to a connection
    they already track (a reply, or later traffic of an admitted connection), which passes whatever
    their rules say now.
    """
    passes_acl = interface.network_acl.allows(packet)
    passes_groups = tracked or security_groups_allow(interface.security_groups, packet)
    return "ACCEPT" if passes_acl and passes_groups else "REJECT"
