"""Network decisions for simulated connections: what an ENI's security groups and subnet ACL let through,
and the flow-log records AWS writes for it.

Pure behaviour, independent of moto: the caller builds an `Interface` view (identity, current security
groups, the subnet's network ACL) from EC2 state, keeps one `ConnectionTracker` per local cloud, and
turns the `Traffic` a simulation returns into `FlowRecord`s with the flow log's aggregation interval.

    tracker = ConnectionTracker()
    attempt = tracker.connect(Peer.internet("203.0.113.12"), web_server, 22, at=now, rng=random.Random(7))
    records = attempt.traffic.flow_records(aggregation_interval=60)

Modules: `protocols` (rule protocols and ports), `security_groups` (stateful, union of allow rules,
which flows are tracked), `network_acls` (numbered rules, first match, stateless), `interfaces` (the ENI
view and the per-packet decision), `flows` (observed packets to records), `connections` (TCP sessions
and the tracker, ping, UDP).
"""

from .connections import (
    CONNECT_TIMEOUT,
    LISTENING,
    REFUSING,
    SILENT,
    Attempt,
    ConnectionTracker,
    SessionNotOpen,
    Unreachable,
    ping,
    syn_times,
    udp_exchange,
)
from .flows import ObservedPacket, Traffic, flow_records
from .interfaces import Interface, decide
from .network_acls import NetworkAcl, NetworkAclEntry
from .packets import Packet, Peer
from .security_groups import (
    ALLOW_ALL_EGRESS,
    SecurityGroup,
    SecurityGroupRule,
    connection_is_tracked,
    security_groups_allow,
)

__all__ = [
    "ALLOW_ALL_EGRESS", "CONNECT_TIMEOUT", "LISTENING", "REFUSING", "SILENT", "Attempt", "ConnectionTracker", "Interface", "NetworkAcl",
    "NetworkAclEntry", "ObservedPacket", "Packet", "Peer", "SecurityGroup", "SecurityGroupRule", "SessionNotOpen",
    "Traffic", "Unreachable", "connection_is_tracked", "decide", "flow_records", "ping", "security_groups_allow",
    "syn_times", "udp_exchange",
]
