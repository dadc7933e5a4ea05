"""EC2 where moto's models differ from AWS."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from xml.etree import ElementTree

from moto.ec2.models import instance_types
from moto.ec2.models.instance_types import InstanceType
from moto.ec2.models.instances import Instance
from moto.utilities.utils import load_resource

from .. import backends
from ..timing import AwsTiming
from ..wire import AwsCall, Response
from .network import LISTENING, REFUSING, SILENT


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


def offerings_read_per_region_on_first_use(offerings: dict[str, dict[str, list[dict[str, Any]]]]) -> dict:
    """moto reads the instance-type offerings of every region and zone when EC2 is first imported
    (150,000 dicts, about 45 MB that a learner's local cloud keeps for good); a lab needs those of
    its own region, once, at RunInstances. Each location type keeps its regions, and a region's list
    is read again from moto's resource file the first time it is asked for. The dict is changed in
    place: moto's modules hold it by name."""
    for location_type, by_region in offerings.items():
        offerings[location_type] = _RegionOfferings(location_type, tuple(by_region))
    return offerings


class _RegionOfferings(Mapping[str, list[dict[str, Any]]]):
    """One location type's offerings by region, each read from moto's file on first use, as moto reads it."""

    def __init__(self, location_type: str, regions: tuple[str, ...]):
        self.location_type = location_type
        self.regions = regions

    def __getitem__(self, region: str) -> list[dict[str, Any]]:
        if region not in self.regions:
            raise KeyError(region)
        return _region_offerings(self.location_type, region)

    def __iter__(self) -> Iterator[str]:
        return iter(self.regions)

    def __len__(self) -> int:
        return len(self.regions)


@functools.cache
def _region_offerings(location_type: str, region: str) -> list[dict[str, Any]]:
    offerings = load_resource(f"ec2/resources/instance_type_offerings/{location_type}/{region}.json")
    for offering in offerings:
        offering["LocationType"] = location_type
    return offerings


def instance_types_read_on_first_use(instance_types: dict[str, dict[str, Any]]) -> Mapping[str, dict[str, Any]]:
    """moto reads the description of every instance type when EC2 is first imported (900 of them, 10 MiB
    kept for good, twice over in InstanceTypeBackend's list) for DescribeInstanceTypes alone, which the
    lab does not call. The names are kept; the descriptions are read from moto's file when first asked for."""
    return _InstanceTypes(tuple(instance_types))


class _InstanceTypes(Mapping[str, dict[str, Any]]):
    def __init__(self, names: tuple[str, ...]):
        self.names = names

    def __getitem__(self, name: str) -> dict[str, Any]:
        return _instance_type_descriptions()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


@functools.cache
def _instance_type_descriptions() -> dict[str, dict[str, Any]]:
    return load_resource("ec2/resources/instance_types.json")


def instance_type_list_made_on_first_use(_instance_types: list[InstanceType]) -> property:
    """InstanceTypeBackend's list of every instance type (see `instance_types_read_on_first_use`)."""
    return property(lambda _backend: _instance_type_list())


@functools.cache
def _instance_type_list() -> list[InstanceType]:
    return [InstanceType(name) for name in instance_types.INSTANCE_TYPES]


class InstanceBoot:
    """After RunInstances, with AWS's timing: an instance is `pending` for `instance_pending_s` (moto makes
    it `running` at once), then `running` while it boots, its sshd listening `sshd_boot_s` later
    (docs/aws-behaviour.md, "AWS's timings"). Without delays it runs and listens at once, as in moto."""

    def __init__(self, timing: AwsTiming, clock: Callable[[], float] = time.time):
        self.timing = timing
        self.clock = clock

    def __call__(self, call: AwsCall, response: Response) -> None:
        if not (self.timing.instance_pending_s or self.timing.sshd_boot_s) or not response.ok:
            return
        ec2 = backends.ec2(call.account_id, call.region)
        launched = self.clock()
        for instance_id in _launched_ids(response.body):
            instance = ec2.get_instance(instance_id)
            instance.labkit_running_at = launched + self.timing.instance_pending_s
            instance.labkit_listening_at = instance.labkit_running_at + self.timing.sshd_boot_s
            if self.timing.instance_pending_s:
                instance._state.name, instance._state.code = "pending", 0
                timer = threading.Timer(self.timing.instance_pending_s, _now_running, args=(instance,))
                timer.daemon = True
                timer.start()


def server_host(instance: Instance | None, now: float) -> str:
    """How the instance's host answers a SYN to its sshd now: not at all while it is pending (its network
    is not up), with a RST while it boots, as sshd once it listens (an instance launched without AWS's
    timing, or an ENI without an instance, listens)."""
    if instance is None or now >= getattr(instance, "labkit_listening_at", 0.0):
        return LISTENING
    return REFUSING if now >= instance.labkit_running_at else SILENT


def _now_running(instance: Instance) -> None:
    if instance._state.name == "pending":  # (not if it was terminated meanwhile)
        instance._state.name, instance._state.code = "running", 16


def _launched_ids(body: bytes) -> list[str]:
    root = ElementTree.fromstring(body)
    return [item.text for item in root.iter() if item.tag.endswith("instanceId") and item.text]
