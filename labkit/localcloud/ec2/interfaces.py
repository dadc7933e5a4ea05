"""Read moto's EC2 state into the network model: an ENI as it is now (its security groups, its
subnet's network ACL, whether the subnet routes to an internet gateway)."""

from __future__ import annotations

from typing import Any

from .network import Interface, NetworkAcl, NetworkAclEntry, SecurityGroup, SecurityGroupRule
from .network.network_acls import LAST_RULE_NUMBER


def interface_by_public_ip(ec2: Any, public_ip: str) -> Any:
    """The ENI that owns this public IPv4 address (raises LookupError if none)."""
    for eni in ec2.enis.values():
        if eni.public_ip == public_ip:
            return eni
    raise LookupError(f"No network interface has the public IPv4 address {public_ip}: "
                      f"is the instance running, in a subnet that assigns public addresses?")


def interface_view(ec2: Any, eni: Any) -> Interface:
    subnet = eni.subnet
    instance = eni.instance
    return Interface(
        interface_id=eni.id, private_ip=eni.private_ip_address, account_id=ec2.account_id,
        security_groups=tuple(_security_group(group) for group in _groups(eni)),
        network_acl=_network_acl(ec2, subnet.id), public_ip=eni.public_ip, vpc_id=subnet.vpc_id,
        subnet_id=subnet.id, instance_id=instance.id if instance else None, region=ec2.region_name,
        az_id=subnet.availability_zone_id, internet_gateway=_routes_to_internet_gateway(ec2, subnet),
    )


def _groups(eni: Any) -> list[Any]:
    # The instance's groups are authoritative (moto_fixes keeps the ENI's in step with them).
    instance = eni.instance
    return list(instance.security_groups) if instance and instance.security_groups else list(eni._group_set)


def _security_group(group: Any) -> SecurityGroup:
    def rule(r: Any) -> SecurityGroupRule:
        return SecurityGroupRule(protocol=r.ip_protocol, from_port=r.from_port, to_port=r.to_port,
                                 cidr=r.ip_range.get("CidrIp") or r.ip_range.get("CidrIpv6"),
                                 group_id=r.source_group.get("GroupId"))

    usable = [r for r in (*group.ingress_rules, *group.egress_rules) if r.ip_range or r.source_group]
    return SecurityGroup(group_id=group.id,
                         ingress=tuple(rule(r) for r in usable if not r.is_egress),
                         egress=tuple(rule(r) for r in usable if r.is_egress))


def _network_acl(ec2: Any, subnet_id: str) -> NetworkAcl:
    acls = list(ec2.network_acls.values())
    acl = next((a for a in acls if any(assoc.subnet_id == subnet_id for assoc in a.associations)), None)
    if acl is None:
        return NetworkAcl.default()
    return NetworkAcl(entries=tuple(
        NetworkAclEntry(rule_number=int(e.rule_number), protocol=str(e.protocol), rule_action=e.rule_action,
                        egress=str(e.egress).lower() == "true", cidr_block=e.cidr_block or e.ipv6_cidr_block,
                        port_range=_pair(e.port_range_from, e.port_range_to),
                        icmp_type_code=_pair(e.icmp_type, e.icmp_code))
        for e in acl.network_acl_entries if int(e.rule_number) <= LAST_RULE_NUMBER))  # `*` is implicit


def _pair(first: Any, second: Any) -> tuple[int, int] | None:
    return None if first is None or second is None else (int(first), int(second))


def _routes_to_internet_gateway(ec2: Any, subnet: Any) -> bool:
    tables = [t for t in ec2.route_tables.values() if t.vpc_id == subnet.vpc_id]
    table = next((t for t in tables if subnet.id in t._associations.values()), None)
    table = table or next((t for t in tables if t.main_association_id), None)
    return bool(table) and any(r.destination_cidr_block == "0.0.0.0/0" and r.gateway is not None
                               and str(getattr(r.gateway, "id", "")).startswith("igw-") for r in table.routes)
