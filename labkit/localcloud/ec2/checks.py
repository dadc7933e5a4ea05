"""What EC2 refuses in the lab's network calls, checked before moto acts (each check raises AWS's error,
and nothing changes): security groups and VPCs that do not exist or are no ids, names and descriptions
AWS does not take, protocols that are none, rules that are there already (docs/aws-behaviour.md, "Input
validation"; tests/data/bad_inputs.jsonl).
"""

from __future__ import annotations

import ipaddress
import re

from .. import backends
from ..wire import AwsCall, AwsError

MAX_DESCRIPTION = 255
PROTOCOL_NAMES = ("tcp", "udp", "icmp", "icmpv6", "-1", "all")


def _resource_id(kind: str, value: str, prefix: str) -> None:
    if not re.fullmatch(f"{prefix}-[0-9a-f]{{8,17}}", value):
        raise AwsError(f"Invalid{kind}.Malformed", f'Invalid id: "{value}" (expecting "{prefix}-...")')


def modify_instance_attribute(call: AwsCall) -> None:
    params = call.params
    _resource_id("InstanceID", params.get("InstanceId", ""), "i")
    ec2 = backends.ec2(call.account_id, call.region)
    for group_id in params.get("Groups") or []:
        _resource_id("GroupId", group_id, "sg")
        if ec2.get_security_group_from_id(group_id) is None:
            raise AwsError("InvalidGroup.NotFound", f"The security group '{group_id}' does not exist")


def create_security_group(call: AwsCall) -> None:
    params = call.params
    if params.get("GroupName", "").lower().startswith("sg-"):
        raise AwsError("InvalidParameterValue", "Group names may not be in the format sg-*")
    if len(params.get("Description", "")) > MAX_DESCRIPTION:
        raise AwsError("InvalidParameterValue", f"Invalid value for parameter GroupDescription: the description may "
                       f"have at most {MAX_DESCRIPTION} characters")
    vpc_id = params.get("VpcId")
    if vpc_id and vpc_id not in backends.ec2(call.account_id, call.region).vpcs:
        raise AwsError("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist")


def describe_vpcs(call: AwsCall) -> None:
    # moto names the VPC as a Python set ("VpcID {'vpc-…'} does not exist."); a client that describes a
    # VPC it deleted (Terraform's destroy, a script's wait) reads AWS's wording
    vpcs = backends.ec2(call.account_id, call.region).vpcs
    missing = [vpc_id for vpc_id in call.params.get("VpcIds") or [] if vpc_id not in vpcs]
    if missing:
        raise AwsError("InvalidVpcID.NotFound", f"The vpc ID '{missing[0]}' does not exist")


def authorize_security_group_ingress(call: AwsCall) -> None:
    params = call.params
    group = backends.ec2(call.account_id, call.region).get_security_group_from_id(params.get("GroupId", ""))
    for permission in params.get("IpPermissions") or []:
        protocol = str(permission.get("IpProtocol", "")).lower()
        if protocol not in PROTOCOL_NAMES and not (protocol.isdigit() and int(protocol) <= 255):
            raise AwsError("InvalidParameterValue", f"Invalid value '{permission['IpProtocol']}' for IP protocol. "
                           f"Unknown protocol.")
        cidrs = [r.get("CidrIp") for r in permission.get("IpRanges") or []]
        for cidr in cidrs:
            try:
                ipaddress.ip_network(cidr or "", strict=False)
            except ValueError:
                raise AwsError("InvalidParameterValue", f"Value ({cidr}) for parameter cidrIp is invalid. This is not "
                               f"a valid CIDR block.") from None
        if group is None:
            continue  # moto says the group does not exist, as AWS says it
        for cidr in cidrs:
            if any(_same_rule(rule, protocol, permission, cidr) for rule in group.ingress_rules):
                raise AwsError("InvalidPermission.Duplicate", f'the specified rule "peer: {cidr}, '
                               f'{protocol.upper()}, from port: {permission.get("FromPort")}, to port: '
                               f'{permission.get("ToPort")}, ALLOW" already exists')


def _same_rule(rule, protocol: str, permission: dict, cidr: str) -> bool:
    return (str(rule.ip_protocol).lower() == protocol and str(rule.from_port) == str(permission.get("FromPort"))
            and str(rule.to_port) == str(permission.get("ToPort"))
            and rule.ip_range.get("CidrIp") == cidr)


CHECKS = {
    "ModifyInstanceAttribute": modify_instance_attribute,
    "CreateSecurityGroup": create_security_group,
    "DescribeVpcs": describe_vpcs,
    "AuthorizeSecurityGroupIngress": authorize_security_group_ingress,
}
