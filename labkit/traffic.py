"""Part 2: the AeroSecure server, connection attempts, and the security-group swap.

The server sits in a public subnet of the lab VPC with an internet gateway. Two security groups:
one allows SSH (22/tcp) from the learner's address only, the other allows only HTTP (80/tcp).
Swapping the first for the second turns the next SSH attempt from ACCEPT into REJECT.

A connection attempt is the one learner-side action with no AWS API: on AWS it is a real TCP
connection from this machine; on the local cloud, the local cloud decides the outcome from the
instance's current security groups and network ACL, and delivers the flow records AWS would write.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from collections.abc import Iterator
from typing import Any

from .config import INSTANCE_TYPE, SELF_DESTRUCT_MINUTES
from .session import Lab
from .waiting import wait_for

SUBNET_CIDR = "10.0.1.0/24"
LOCAL_LEARNER_ADDRESS = "203.0.113.10"  # a documentation-range address stands for you on the local cloud
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
SSH_USER = "ec2-user"  # Amazon Linux


@dataclass(frozen=True)
class Server:
    instance_id: str
    public_ip: str
    private_ip: str
    interface_id: str
    subnet_id: str


@dataclass(frozen=True)
class Attempt:
    """The outcome of one connection attempt, as the learner experiences it."""

    source: str
    destination: str
    port: int
    connected: bool
    detail: str
    at: int  # Unix seconds when the first packet left: the records of this attempt start then or later
    source_port: int | None = None  # the client's ephemeral port: its records carry it (unless a NAT changes it)

    def __str__(self) -> str:
        verdict = "connected" if self.connected else "no connection"
        return f"{self.source} -> {self.destination}:{self.port}/tcp: {verdict} ({self.detail})"


# --- network ---------------------------------------------------------------------------------

def ensure_public_subnet(lab: Lab, VpcId: str) -> str:
    """A subnet of the VPC that gives instances a public IPv4 address, routed to the internet through an IGW."""
    ec2, config = lab.client("ec2"), lab.config
    subnets = ec2.describe_subnets(Filters=config.ec2_filters(config.subnet_name))["Subnets"]
    if subnets:
        return subnets[0]["SubnetId"]
    lab.require_billable_ok("the public subnet and internet gateway")
    zone = ec2.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])["AvailabilityZones"][0]
    subnet_id = ec2.create_subnet(
        VpcId=VpcId, CidrBlock=SUBNET_CIDR, AvailabilityZone=zone["ZoneName"],
        TagSpecifications=config.tag_specifications("subnet", config.subnet_name),
    )["Subnet"]["SubnetId"]
    ec2.get_waiter("subnet_available").wait(SubnetIds=[subnet_id])
    ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    igw_id = ec2.create_internet_gateway(
        TagSpecifications=config.tag_specifications("internet-gateway", config.internet_gateway_name),
    )["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=VpcId)
    route_table_id = ec2.create_route_table(
        VpcId=VpcId, TagSpecifications=config.tag_specifications("route-table", config.route_table_name),
    )["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=route_table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    ec2.associate_route_table(RouteTableId=route_table_id, SubnetId=subnet_id)
    return subnet_id


def learner_address(lab: Lab, override: str | None = None) -> str:
    """Your public IPv4 address: given, or 203.0.113.10 on the local cloud, or asked of AWS's checkip."""
    if override:
        return override
    if lab.config.target == "local":
        return LOCAL_LEARNER_ADDRESS
    with urllib.request.urlopen("https://checkip.amazonaws.com", timeout=10) as response:
        return response.read().decode().strip()


def ensure_security_group(lab: Lab, VpcId: str, GroupName: str, Description: str,
                          IpPermissions: list[dict[str, Any]]) -> str:
    """CreateSecurityGroup and AuthorizeSecurityGroupIngress: a group with exactly these inbound rules."""
    ec2 = lab.client("ec2")
    found = ec2.describe_security_groups(Filters=[*lab.config.ec2_filters(GroupName),
                                                  {"Name": "vpc-id", "Values": [VpcId]}])
    if found["SecurityGroups"]:
        group = found["SecurityGroups"][0]
        if _comparable(group["IpPermissions"]) != _comparable(IpPermissions):
            if group["IpPermissions"]:
                ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
            ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=IpPermissions)
        return group["GroupId"]
    group_id = ec2.create_security_group(
        GroupName=GroupName, Description=Description, VpcId=VpcId,
        TagSpecifications=lab.config.tag_specifications("security-group", GroupName))["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=IpPermissions)
    return group_id


def _comparable(permissions: list[dict[str, Any]]) -> list[tuple]:
    return sorted((p.get("IpProtocol"), p.get("FromPort"), p.get("ToPort"),
                   tuple(sorted(r["CidrIp"] for r in p.get("IpRanges", [])))) for p in permissions)


# --- the server ------------------------------------------------------------------------------

def ensure_server(lab: Lab, SubnetId: str, SecurityGroupIds: list[str], KeyName: str | None = None) -> Server:
    """RunInstances: the AeroSecure server, one small instance that terminates itself after a timer on AWS.

    `KeyName`: an EC2 key pair to log in with (optional: the lab only needs the TCP handshake)."""
    ec2, name = lab.client("ec2"), lab.config.server_name
    running = ec2.describe_instances(Filters=[*lab.config.ec2_filters(name),
                                              {"Name": "instance-state-name", "Values": ["pending", "running"]}])
    instances = [i for r in running["Reservations"] for i in r["Instances"]]
    if not instances:
        lab.require_billable_ok(f"the EC2 instance {name!r} ({INSTANCE_TYPE})")
        image_id = lab.client("ssm").get_parameter(Name=AMI_PARAMETER)["Parameter"]["Value"]
        instance = ec2.run_instances(
            ImageId=image_id, InstanceType=INSTANCE_TYPE, MinCount=1, MaxCount=1,
            SubnetId=SubnetId, SecurityGroupIds=SecurityGroupIds,
            InstanceInitiatedShutdownBehavior="terminate",  # shutting down = terminated: no cost left behind
            UserData=f"#!/bin/bash\nshutdown -h +{SELF_DESTRUCT_MINUTES}\n",  # self-destruct timer
            MetadataOptions={"HttpTokens": "required"},
            **({"KeyName": KeyName} if KeyName else {}),
            TagSpecifications=[*lab.config.tag_specifications("instance", name),
                               *lab.config.tag_specifications("volume", name)],
        )["Instances"][0]
        instances = [instance]
    instance_id = instances[0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 2, "MaxAttempts": 150})
    server = describe_server(lab, instance_id)
    wait_for_sshd(lab, server)  # `running` is not listening: a booting instance refuses SSH for a while
    return server


def wait_for_sshd(lab: Lab, server: Server, timeout_s: float = 300, probe_timeout_s: float = 5.0) -> Attempt:
    """A TCP connection to the server's port 22, retried every few seconds until sshd answers (it starts
    tens of seconds after the instance is `running`), with a progress line per try; TimeoutError after
    `timeout_s` naming the last outcome and what to check. Each try is a real connection on AWS (a
    connect through the local cloud's `connect` endpoint on local): its records are in the flow logs."""
    started = time.monotonic()
    def probe() -> Attempt:
        attempt = attempt_connection(lab, server, port=22, timeout_s=probe_timeout_s)
        print(f"Waiting for sshd on {server.public_ip}:22 ({time.monotonic() - started:.0f} s): "
              f"{'listening' if attempt.connected else attempt.detail}", flush=True)
        return attempt
    return wait_for(probe, lambda attempt: attempt.connected, what=f"sshd on {server.instance_id} does not answer",
                    timeout_s=timeout_s, poll_s=5,
                    hint=lambda attempt: f"the last try: {attempt.detail}. On AWS: is the instance's status check "
                                         "passed (console: Status checks), does its security group allow 22/tcp "
                                         "from your address, and does your network let outbound SSH out?")


@dataclass(frozen=True)
class Part2:
    """The AeroSecure server and its two security groups."""

    server: Server
    ssh_group: str
    http_group: str


def find_part2(lab: Lab) -> Part2:
    """Part 2's running server and security groups; RuntimeError naming the notebooks to run if missing."""
    ec2, config = lab.client("ec2"), lab.config
    running = ec2.describe_instances(Filters=[*config.ec2_filters(config.server_name),
                                              {"Name": "instance-state-name", "Values": ["running"]}])
    instances = [i for r in running["Reservations"] for i in r["Instances"]]
    if not instances:
        raise RuntimeError(f"Part 2's server {config.server_name!r} is not running: run 01_flow_logs_setup.ipynb "
                           f"and 02_generate_traffic.ipynb first (on AWS it terminates itself after two hours).")
    server = describe_server(lab, instances[0]["InstanceId"])
    vpc = {"Name": "vpc-id", "Values": [instances[0]["VpcId"]]}
    groups = {}
    for name in (config.ssh_group_name, config.http_group_name):
        found = ec2.describe_security_groups(Filters=[*config.ec2_filters(name), vpc])["SecurityGroups"]
        if not found:
            raise RuntimeError(f"Part 2's security group {name!r} is missing: run 02_generate_traffic.ipynb first.")
        groups[name] = found[0]["GroupId"]
    return Part2(server, groups[config.ssh_group_name], groups[config.http_group_name])


def describe_server(lab: Lab, instance_id: str) -> Server:
    instance = lab.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    eni = next(n for n in instance["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == 0)
    return Server(instance_id=instance_id, public_ip=instance.get("PublicIpAddress", ""),
                  private_ip=instance["PrivateIpAddress"], interface_id=eni["NetworkInterfaceId"],
                  subnet_id=instance["SubnetId"])


def security_groups_of(lab: Lab, instance_id: str) -> list[str]:
    """The group names on the instance now (what the console's Security tab shows)."""
    instance = lab.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return [g["GroupName"] for g in instance["SecurityGroups"]]


def replace_security_groups(lab: Lab, InstanceId: str, Groups: list[str]) -> list[str]:
    """ModifyInstanceAttribute (console: Actions → Security → Change security groups). Returns the group
    names now attached."""
    lab.client("ec2").modify_instance_attribute(InstanceId=InstanceId, Groups=Groups)
    return security_groups_of(lab, InstanceId)


# --- connection attempts ---------------------------------------------------------------------

def attempt_connection(lab: Lab, server: Server, port: int = 22, source: str | None = None,
                       timeout_s: float = 5.0, ssh_key: str | None = None) -> Attempt:
    """Try a TCP connection (SSH is 22/tcp) from the learner to the server's public address.

    It takes as long on both targets: a refused attempt retries its SYN until `timeout_s` and returns
    then (on the local cloud, the simulated client does what a real one does, and its records are
    delivered when it returns). On AWS with `ssh_key` (the private key of the instance's key pair), a
    real SSH login is made.
    """
    if not server.public_ip:
        raise ValueError(f"Instance {server.instance_id} has no public IPv4 address: it cannot be reached "
                         f"from the internet. Launch it in the public subnet.")
    source = learner_address(lab, source)
    if lab.config.target == "aws":
        if ssh_key:
            return _ssh_login(source, server.public_ip, port, ssh_key, timeout_s)
        return _tcp_connect(source, server.public_ip, port, timeout_s)
    # The call lasts up to its timeout, plus (rarely) a wait for a capture window of its own, no longer.
    outcome = local_cloud_request(lab, "connect", {
        "source": source, "destination": server.public_ip, "port": port, "timeout": timeout_s},
        timeout=2 * timeout_s + 30)
    return Attempt(source, server.public_ip, port, outcome["connected"], outcome["detail"], outcome["at"],
                   outcome["source_port"])


def _tcp_connect(source: str, host: str, port: int, timeout_s: float) -> Attempt:
    at, started = int(time.time()), time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.bind(("", 0))  # the ephemeral port now, so that the attempt knows it whatever happens next
        local_port = sock.getsockname()[1]
        try:
            sock.connect((host, port))
            detail, connected = f"handshake in {1000 * (time.monotonic() - started):.0f} ms", True
        except socket.timeout:
            detail, connected = f"timed out after {timeout_s:.0f} s: the packets were dropped", False
        except ConnectionRefusedError:
            detail, connected = "connection refused: the server reset it (nothing listens on the port yet)", False
        except OSError as error:
            detail, connected = f"failed: {error.strerror or error}", False
    return Attempt(source, host, port, connected, detail, at, local_port)


def _ssh_login(source: str, host: str, port: int, key_file: str, timeout_s: float) -> Attempt:
    at = int(time.time())
    command = ["ssh", "-i", key_file, "-p", str(port), "-o", "BatchMode=yes", "-o", f"ConnectTimeout={timeout_s:.0f}",
               "-o", "StrictHostKeyChecking=accept-new", f"{SSH_USER}@{host}", "true"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s + 30)
    if result.returncode == 0:
        return Attempt(source, host, port, True, f"logged in as {SSH_USER}", at)
    reason = (result.stderr.strip().splitlines() or ["ssh failed"])[-1]
    return Attempt(source, host, port, False, reason, at)


def local_cloud_request(lab: Lab, endpoint: str, payload: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
    """Ask the local cloud to simulate a learner-side action (local target only), in the lab's region;
    `timeout`: how long to wait for its answer (seconds)."""
    if not lab.endpoint:
        raise RuntimeError(f"{endpoint!r} is a local-cloud action; target is {lab.config.target!r}")
    from .localcloud.lifecycle import control_request

    return control_request(lab.endpoint, endpoint, {"region": lab.region, **payload}, timeout)


# --- network ACLs ------------------------------------------------------------------------------------

@contextlib.contextmanager
def network_acl_entry(lab: Lab, SubnetId: str, RuleNumber: int, Protocol: str, RuleAction: str, Egress: bool,
                      CidrBlock: str, PortRange: dict[str, int] | None = None) -> Iterator[str]:
    """An entry in the network ACL of the subnet for the duration of the `with` block (CreateNetworkAclEntry,
    then DeleteNetworkAclEntry whatever happens); yields the ACL's id. An entry left with this number by
    an interrupted run is replaced."""
    ec2 = lab.client("ec2")
    acl = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [SubnetId]}])["NetworkAcls"][0]
    entry = {"NetworkAclId": acl["NetworkAclId"], "RuleNumber": RuleNumber, "Egress": Egress}
    if any(e["RuleNumber"] == RuleNumber and e["Egress"] == Egress for e in acl["Entries"]):
        ec2.delete_network_acl_entry(**entry)
    ec2.create_network_acl_entry(**entry, Protocol=Protocol, RuleAction=RuleAction, CidrBlock=CidrBlock,
                                 **({"PortRange": PortRange} if PortRange else {}))
    try:
        yield acl["NetworkAclId"]
    finally:
        ec2.delete_network_acl_entry(**entry)
