"""EC2 where moto's models differ from AWS."""

from __future__ import annotations

from typing import Any


def modify_instance_groups_replaces_the_eni_groups(original: Any) -> Any:
    """ModifyInstanceAttribute(Groups=...) replaces the security groups of the instance's primary
    network interface on AWS; moto keeps the old ones on the ENI and adds the new ones."""
    def modify_instance_security_groups(self: Any, instance_id: str, new_group_id_list: list[str]) -> Any:
        instance = original(self, instance_id, new_group_id_list)
        primary = instance.nics.get(0)
        if primary is not None:
            primary._group_set = list(instance.security_groups)
        return instance
    return modify_instance_security_groups


def default_vpc_as_aws_makes_it(original: Any) -> Any:
    """The default VPC of a fresh region, as AWS makes it: moto makes the VPC, its default subnets
    (one /20 per zone, public IPs on launch), its main route table, default network ACL and default
    security group, but no internet gateway, and a default security group that does not admit its own
    members. AWS attaches an internet gateway with a 0.0.0.0/0 route in the main route table, and the
    default security group allows all inbound traffic from itself (docs/aws-behaviour.md, "Account
    defaults")."""
    def create_default_vpc(self: Any) -> Any:
        vpc = original(self)
        gateway = self.create_internet_gateway()
        self.attach_internet_gateway(gateway.id, vpc.id)
        main = next(table for table in self.route_tables.values()
                    if table.vpc_id == vpc.id and table.main_association_id is not None)
        self.create_route(main.id, "0.0.0.0/0", gateway_id=gateway.id)
        group = self.get_default_security_group(vpc.id)
        self.authorize_security_group_ingress(group.id, "-1", None, None, [],
                                              source_groups=[{"GroupId": group.id, "UserId": self.account_id}],
                                              vpc_id=vpc.id)
        return vpc
    return create_default_vpc
