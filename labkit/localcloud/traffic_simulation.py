"""Learner-side traffic that has no AWS API: background internet noise against the lab's network
interfaces. Its flow records go through the same delivery path as any other traffic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID

from . import backends
from .background_traffic import NetworkInterface, generate_background_traffic
from .delivery import FlowLogDelivery, covering_flow_logs

# Nitro instances aggregate over at most 60 s whatever MaxAggregationInterval says (the lab's are Nitro).
AGGREGATION_INTERVAL = 60


class BackgroundTraffic:
    def __init__(self, delivery: FlowLogDelivery, clock: Callable[[], float] = time.time):
        self.delivery = delivery
        self.clock = clock

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        """Control endpoint `background-traffic`: {region, seed, records | minutes, [interface_ids]}."""
        region = request.get("region", "us-east-1")
        interfaces = flow_logged_interfaces(DEFAULT_ACCOUNT_ID, region, request.get("interface_ids"))
        if not interfaces:
            raise ValueError("No network interface in this region is covered by a flow log: "
                             "create the flow logs (Part 1) and the server (Part 2) first.")
        records, minutes = request.get("records"), request.get("minutes")
        if records is None and minutes is None:
            raise ValueError("Give the number of records or the number of minutes of background traffic.")
        end = int(self.clock()) // AGGREGATION_INTERVAL * AGGREGATION_INTERVAL
        start = end - int(minutes or 60) * 60
        generated, delivered = 0, {}
        for table in generate_background_traffic(interfaces, seed=int(request.get("seed", 0)), start=start,
                                                 end=end, records=records, aggregation_interval=AGGREGATION_INTERVAL):
            generated += table.num_rows
            for flow_log_id, count in self.delivery.deliver(DEFAULT_ACCOUNT_ID, region, table).records.items():
                delivered[flow_log_id] = delivered.get(flow_log_id, 0) + count
        return {"generated": generated, "delivered": delivered,
                "interfaces": [i.interface_id for i in interfaces]}


def flow_logged_interfaces(account_id: str, region: str, only: list[str] | None = None) -> list[NetworkInterface]:
    """The region's ENIs that some flow log covers (or just those listed), as the generator needs them."""
    ec2 = backends.ec2(account_id, region)
    interfaces = []
    for eni in ec2.enis.values():
        if (only and eni.id not in only) or not covering_flow_logs(ec2, eni.id):
            continue
        instance = eni.instance
        interfaces.append(NetworkInterface(
            interface_id=eni.id, private_ip=eni.private_ip_address, account_id=account_id,
            vpc_id=eni.subnet.vpc_id, subnet_id=eni.subnet.id, instance_id=instance.id if instance else None,
            region=region, az_id=eni.subnet.availability_zone_id))
    return sorted(interfaces, key=lambda i: i.interface_id)
