"""IP protocols as security group and network ACL rules name them, and the protocol/port part of a rule."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

ICMP, TCP, UDP, ICMPV6 = 1, 6, 17, 58
_NAMES = {"icmp": ICMP, "tcp": TCP, "udp": UDP, "icmpv6": ICMPV6}
ANY = -1  # a wildcard port, ICMP type or ICMP code, as AWS writes it


def protocol_number(protocol: str | int) -> int | None:
    """The IANA number of a rule's protocol ("tcp", "6", 6, ...), or None for all protocols ("-1")."""
    text = str(protocol).strip().lower()
    if text == "-1":
        return None
    number = _NAMES.get(text)
    if number is None:
        number = int(text)
        if not 0 <= number <= 255:
            raise ValueError(f"not an IP protocol: {protocol!r}")
    return number


def protocol_part_matches(rule_protocol: int | None, ports: tuple[int, int] | None,
                          icmp_type_code: tuple[int, int] | None, *, protocol: int, destination_port: int,
                          icmp_type: int | None, icmp_code: int | None) -> bool:
    """Whether a packet falls under a rule's protocol and its port range or ICMP type/code.

    As AWS documents for both rule kinds: all protocols ("-1") and protocols other than TCP, UDP and
    ICMP(v6) cover every port; None for a port range or type/code means all of them.
    """
    if rule_protocol is None:
        return True
    if protocol != rule_protocol:
        return False
    if protocol in (TCP, UDP):
        return ports is None or ports[0] <= destination_port <= ports[1]
    if protocol in (ICMP, ICMPV6):
        return icmp_type_code is None or (icmp_type_code[0] in (ANY, icmp_type)
                                          and icmp_type_code[1] in (ANY, icmp_code))
    return True


@lru_cache(maxsize=4096)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


def in_cidr(address: str, cidr: str) -> bool:
    """Whether `address` lies in `cidr`; an IPv4 address is never in an IPv6 block, nor the reverse."""
    return ipaddress.ip_address(address) in _network(cidr)
