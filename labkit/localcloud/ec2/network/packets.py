"""A packet crossing an ENI, as security groups and network ACLs see it, and the peer it comes from or goes to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["ingress", "egress"]  # relative to the ENI, as flow-direction writes it

# TCP header flags. Flow logs keep only FIN, SYN and RST, and write a SYN+ACK packet as 18 (see `logged_tcp_flags`).
FIN, SYN, RST, ACK = 1, 2, 4, 16
SYN_ACK = SYN | ACK


@dataclass(frozen=True)
class Peer:
    """The far end of a flow: an internet host, or an ENI in the same VPC (which security group references match)."""

    address: str
    security_group_ids: frozenset[str] = frozenset()
    in_vpc: bool = False

    @classmethod
    def internet(cls, address: str) -> Peer:
        return cls(address)

    @classmethod
    def in_same_vpc(cls, address: str, security_group_ids: frozenset[str] | set[str] = frozenset()) -> Peer:
        """An ENI of the VPC: its primary private IP and the security groups it is in."""
        return cls(address, frozenset(security_group_ids), in_vpc=True)


@dataclass(frozen=True)
class Packet:
    time: int  # Unix seconds
    direction: Direction
    remote: Peer
    local_port: int  # the ENI's port; 0 for ICMP, as flow logs write it
    remote_port: int
    protocol: int
    size: int  # bytes, IP header included
    tcp_flags: int = 0  # the TCP header's flags
    icmp_type: int | None = None
    icmp_code: int | None = None

    @property
    def destination_port(self) -> int:
        """The port rules match: the ENI's port for ingress, the peer's for egress."""
        return self.local_port if self.direction == "ingress" else self.remote_port


def logged_tcp_flags(flags: int) -> int:
    """A packet's TCP flags as flow logs count them: FIN, SYN, RST, and 18 for SYN-ACK; ACK and PSH alone give 0."""
    return (flags & (FIN | SYN | RST)) | (ACK if flags & SYN_ACK == SYN_ACK else 0)
