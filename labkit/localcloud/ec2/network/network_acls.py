"""Network ACLs: numbered allow/deny entries per direction, first match wins, stateless."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .packets import Packet
from .protocols import in_cidr, protocol_number, protocol_part_matches

LAST_RULE_NUMBER = 32766  # the highest a user may set; AWS's `*` rule comes after it


@dataclass(frozen=True)
class NetworkAclEntry:
    """One entry, shaped like AWS's NetworkAclEntry (the `*` deny is implicit, never listed here).

    `protocol` is "-1" (all) or a protocol number ("6", 17, ...); names such as "tcp" are taken too.
    `cidr_block` matches the source of inbound packets and the destination of outbound ones, and
    `port_range` (PortRange From/To) always the destination port, which is how a reply to a client
    lands on its ephemeral port.
    """

    rule_number: int
    protocol: str | int
    rule_action: Literal["allow", "deny"]
    egress: bool
    cidr_block: str
    port_range: tuple[int, int] | None = None
    icmp_type_code: tuple[int, int] | None = None  # IcmpTypeCode (Type, Code), -1 for all

    def __post_init__(self) -> None:
        if not 1 <= self.rule_number <= LAST_RULE_NUMBER:
            raise ValueError(f"rule number {self.rule_number} is outside 1-{LAST_RULE_NUMBER}")
        if self.rule_action not in ("allow", "deny"):
            raise ValueError(f"rule action must be allow or deny, not {self.rule_action!r}")

    def matches(self, packet: Packet) -> bool:
        return (self.egress == (packet.direction == "egress")
                and in_cidr(packet.remote.address, self.cidr_block)
                and protocol_part_matches(protocol_number(self.protocol), self.port_range, self.icmp_type_code,
                                          protocol=packet.protocol, destination_port=packet.destination_port,
                                          icmp_type=packet.icmp_type, icmp_code=packet.icmp_code))


@dataclass(frozen=True)
class NetworkAcl:
    """A subnet's network ACL. With no entries it denies everything, as a new custom ACL does."""

    entries: tuple[NetworkAclEntry, ...] = ()

    @classmethod
    def default(cls) -> NetworkAcl:
        """The VPC's default ACL: rule 100 allows all traffic in and out."""
        return cls((NetworkAclEntry(100, "-1", "allow", egress=False, cidr_block="0.0.0.0/0"),
                    NetworkAclEntry(100, "-1", "allow", egress=True, cidr_block="0.0.0.0/0")))

    def allows(self, packet: Packet) -> bool:
        """The action of the lowest-numbered entry that matches; the `*` rule denies what none matches."""
        for entry in sorted(self.entries, key=lambda e: e.rule_number):
            if entry.matches(packet):
                return entry.rule_action == "allow"
        return False
