import random
from dataclasses import replace

import pytest

from labkit.localcloud.flowlogs.records import LogFormat, format_record
from labkit.localcloud.ec2.network import (
    REFUSING,
    SILENT,
    ConnectionTracker,
    Interface,
    NetworkAcl,
    NetworkAclEntry,
    Peer,
    SecurityGroup,
    SecurityGroupRule,
    SessionNotOpen,
    Traffic,
    Unreachable,
    ping,
    udp_exchange,
)

LAPTOP = Peer.internet("203.0.113.12")
STRANGER = Peer.internet("198.51.100.7")
T0 = 1_700_000_400  # a 10-minute boundary: a capture window of either length starts here

SSH_FROM_LAPTOP = SecurityGroup("sg-ssh", ingress=(SecurityGroupRule("tcp", 22, 22, cidr="203.0.113.12/32"),))
SSH_FROM_ANYWHERE = SecurityGroup("sg-ssh-open", ingress=(SecurityGroupRule("tcp", 22, 22, cidr="0.0.0.0/0"),))
HTTP_ONLY = SecurityGroup("sg-http", ingress=(SecurityGroupRule("tcp", 80, 80, cidr="0.0.0.0/0"),))
NO_RULES = SecurityGroup("sg-empty", egress=())


def eni(*groups: SecurityGroup, acl: NetworkAcl = NetworkAcl.default(), **fields) -> Interface:
    identity = dict(interface_id="eni-0a1b2c3d4e5f60718", private_ip="10.0.1.25", account_id="123456789012",
                    public_ip="54.210.1.2", vpc_id="vpc-01234567890abcdef", subnet_id="subnet-0123456789abcdef0",
                    instance_id="i-0123456789abcdef0", region="us-east-1", az_id="use1-az4", internet_gateway=True)
    return Interface(security_groups=groups, network_acl=acl, **{**identity, **fields})


def records(traffic: Traffic, interval: int = 60):
    return traffic.flow_records(interval)


def by_direction(traffic: Traffic, interval: int = 60):
    found = {}
    for record in records(traffic, interval):
        assert record.flow_direction not in found, "one record per direction expected"
        found[record.flow_direction] = record
    return found


def ssh_session(tracker: ConnectionTracker, server: Interface, rng: random.Random, at: int = T0) -> Traffic:
    attempt = tracker.connect(LAPTOP, server, 22, at=at, rng=rng)
    assert attempt.accepted
    return (attempt.traffic + tracker.send(attempt.session_id, server, at=at + 2, rng=rng)
            + tracker.close(attempt.session_id, server, at=at + 5))


# --- accepted and rejected TCP ----------------------------------------------------------------------------

def test_accepted_ssh_session_gives_accept_records_both_ways_with_closing_flags():
    server = eni(SSH_FROM_LAPTOP)
    flows = by_direction(ssh_session(ConnectionTracker(), server, random.Random(1)))

    request, reply = flows["ingress"], flows["egress"]
    assert (request.action, reply.action) == ("ACCEPT", "ACCEPT")
    assert (request.tcp_flags, reply.tcp_flags) == (3, 19)  # SYN+FIN, SYN-ACK+FIN
    assert (request.srcaddr, request.dstaddr, request.dstport) == ("203.0.113.12", "10.0.1.25", 22)
    assert (reply.srcaddr, reply.dstaddr, reply.srcport) == ("10.0.1.25", "203.0.113.12", 22)
    assert reply.dstport == request.srcport and 32768 <= request.srcport <= 60999
    # The private IP stands for the ENI everywhere, also behind the internet gateway's NAT.
    assert (request.pkt_srcaddr, request.pkt_dstaddr) == ("203.0.113.12", "10.0.1.25")
    assert "54.210.1.2" not in {request.srcaddr, request.dstaddr, reply.srcaddr, reply.dstaddr,
                                request.pkt_dstaddr, reply.pkt_srcaddr}
    assert (request.traffic_path, reply.traffic_path) == (None, 8)
    assert (request.start, request.end) == (T0, T0 + 5) and (reply.start, reply.end) == (T0, T0 + 5)
    assert request.type == reply.type == "IPv4" and request.protocol == 6
    assert (request.account_id, request.interface_id, request.instance_id, request.az_id) == (
        "123456789012", "eni-0a1b2c3d4e5f60718", "i-0123456789abcdef0", "use1-az4")
    assert request.packets >= 5 and reply.packets >= 4  # handshake, data, FIN, ACKs


def test_data_sizes_give_segment_counts_and_bytes():
    server, tracker, rng = eni(SSH_FROM_LAPTOP), ConnectionTracker(), random.Random(2)
    attempt = tracker.connect(LAPTOP, server, 22, at=T0, rng=rng)
    flows = by_direction(tracker.send(attempt.session_id, server, at=T0, rng=rng,
                                      request_bytes=100, response_bytes=3000))
    assert (flows["ingress"].packets, flows["ingress"].bytes) == (1 + 2, 152 + 2 * 52)  # data, 2 ACKs
    assert (flows["egress"].packets, flows["egress"].bytes) == (3, 2 * 1500 + 52 + 104)
    assert flows["ingress"].tcp_flags == flows["egress"].tcp_flags == 0  # ACK-only traffic logs as 0


def test_attempt_rejected_by_security_group_is_one_reject_record_of_syn_retries():
    server = eni(HTTP_ONLY)
    attempt = ConnectionTracker().connect(LAPTOP, server, 22, at=T0, rng=random.Random(3))

    assert not attempt.accepted and attempt.session_id is None
    [record] = records(attempt.traffic)
    assert (record.action, record.flow_direction, record.tcp_flags) == ("REJECT", "ingress", 2)
    assert (record.packets, record.bytes) == (4, 240)  # SYN at 0 s, retries after 1, 3 and 7 s
    assert (record.start, record.end) == (T0, T0 + 7)
    assert record.traffic_path is None


def test_connect_timeout_sets_how_many_syns_are_sent():
    attempt = ConnectionTracker().connect(LAPTOP, eni(HTTP_ONLY), 22, at=T0, rng=random.Random(3),
                                          connect_timeout=30)
    [record] = records(attempt.traffic)
    assert (record.packets, record.end) == (5, T0 + 15)


def test_same_seed_gives_same_records_and_another_seed_other_ports():
    server = eni(SSH_FROM_LAPTOP)
    first = records(ssh_session(ConnectionTracker(), server, random.Random(42)))
    again = records(ssh_session(ConnectionTracker(), server, random.Random(42)))
    other = records(ssh_session(ConnectionTracker(), server, random.Random(43)))
    assert first == again
    assert first[0].srcport != other[0].srcport


# --- security group rules -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("rule", "accepted"), [
    (SecurityGroupRule("tcp", 22, 22, cidr="203.0.113.0/24"), True),
    (SecurityGroupRule("6", 20, 25, cidr="203.0.113.12/32"), True),  # a protocol number works like its name
    (SecurityGroupRule("-1", cidr="0.0.0.0/0"), True),  # all traffic
    (SecurityGroupRule("-1", 80, 80, cidr="0.0.0.0/0"), True),  # all protocols ignore the ports
    (SecurityGroupRule("tcp", 23, 3389, cidr="0.0.0.0/0"), False),
    (SecurityGroupRule("udp", 22, 22, cidr="0.0.0.0/0"), False),
    (SecurityGroupRule("tcp", 22, 22, cidr="198.51.100.0/24"), False),
])
def test_security_group_rule_matching(rule, accepted):
    server = eni(SecurityGroup("sg-1", ingress=(rule,)))
    assert ConnectionTracker().connect(LAPTOP, server, 22, at=T0, rng=random.Random(0)).accepted is accepted


def test_rules_of_all_groups_on_the_eni_add_up():
    tracker, rng = ConnectionTracker(), random.Random(4)
    assert not tracker.connect(LAPTOP, eni(HTTP_ONLY), 22, at=T0, rng=rng).accepted
    assert tracker.connect(LAPTOP, eni(HTTP_ONLY, SSH_FROM_LAPTOP), 22, at=T0, rng=rng).accepted
    assert tracker.connect(LAPTOP, eni(HTTP_ONLY, SSH_FROM_LAPTOP), 80, at=T0, rng=rng).accepted


def test_security_group_reference_admits_enis_of_that_group_only():
    from_bastions = SecurityGroup("sg-app", ingress=(SecurityGroupRule("tcp", 22, 22, group_id="sg-bastion"),))
    server, tracker, rng = eni(from_bastions), ConnectionTracker(), random.Random(5)

    bastion = Peer.in_same_vpc("10.0.0.9", {"sg-bastion"})
    attempt = tracker.connect(bastion, server, 22, at=T0, rng=rng)
    assert attempt.accepted
    assert by_direction(attempt.traffic)["egress"].traffic_path == 1  # to another resource in the VPC
    assert not tracker.connect(Peer.in_same_vpc("10.0.0.10", {"sg-web"}), server, 22, at=T0, rng=rng).accepted
    assert not tracker.connect(Peer.internet("10.0.0.9"), server, 22, at=T0, rng=rng).accepted


def test_a_rule_needs_exactly_one_source():
    with pytest.raises(ValueError):
        SecurityGroupRule("tcp", 22, 22)
    with pytest.raises(ValueError):
        SecurityGroupRule("tcp", 22, 22, cidr="0.0.0.0/0", group_id="sg-1")


@pytest.mark.parametrize(("from_port", "to_port", "answered"), [
    (-1, -1, True),  # all ICMP types and codes
    (8, -1, True),  # echo request, any code
    (8, 0, True),
    (3, -1, False),  # destination unreachable only
    (8, 1, False),
])
def test_icmp_rules_put_type_and_code_in_the_port_fields(from_port, to_port, answered):
    server = eni(SecurityGroup("sg-ping", ingress=(SecurityGroupRule("icmp", from_port, to_port, cidr="0.0.0.0/0"),)))
    flows = {(r.flow_direction, r.action) for r in records(ping(LAPTOP, server, at=T0))}
    assert flows == ({("ingress", "ACCEPT"), ("egress", "ACCEPT")} if answered else {("ingress", "REJECT")})


def test_security_group_denying_ping_gives_one_reject_record_and_no_reply():
    [record] = records(ping(LAPTOP, eni(SSH_FROM_LAPTOP), at=T0))
    assert (record.action, record.flow_direction, record.protocol) == ("REJECT", "ingress", 1)
    assert (record.srcport, record.dstport, record.tcp_flags) == (0, 0, 0)


# --- network ACLs -------------------------------------------------------------------------------------------

def acl(*entries: NetworkAclEntry, allow_all_out: bool = True) -> NetworkAcl:
    out = (NetworkAclEntry(100, "-1", "allow", egress=True, cidr_block="0.0.0.0/0"),) if allow_all_out else ()
    return NetworkAcl(entries + out)


def test_network_acl_lowest_rule_number_wins():
    deny_laptop = NetworkAclEntry(100, "6", "deny", egress=False, cidr_block="203.0.113.0/24", port_range=(22, 22))
    allow_all = NetworkAclEntry(200, "-1", "allow", egress=False, cidr_block="0.0.0.0/0")
    rng = random.Random(6)

    denied = ConnectionTracker().connect(LAPTOP, eni(SSH_FROM_LAPTOP, acl=acl(allow_all, deny_laptop)), 22,
                                         at=T0, rng=rng)
    [record] = records(denied.traffic)
    assert (record.action, record.flow_direction, record.packets) == ("REJECT", "ingress", 4)

    allow_first = acl(replace(allow_all, rule_number=50), deny_laptop)
    assert ConnectionTracker().connect(LAPTOP, eni(SSH_FROM_LAPTOP, acl=allow_first), 22, at=T0, rng=rng).accepted


def test_network_acl_denies_what_no_rule_matches():
    web_only = acl(NetworkAclEntry(100, "tcp", "allow", egress=False, cidr_block="0.0.0.0/0", port_range=(80, 80)))
    server = eni(SSH_FROM_ANYWHERE, HTTP_ONLY, acl=web_only)
    rng = random.Random(7)
    assert ConnectionTracker().connect(LAPTOP, server, 80, at=T0, rng=rng).accepted
    assert not ConnectionTracker().connect(LAPTOP, server, 22, at=T0, rng=rng).accepted
    assert records(ping(LAPTOP, eni(acl=NetworkAcl()), at=T0))[0].action == "REJECT"  # a new custom ACL


def test_network_acl_denying_the_reply_gives_accept_in_and_reject_out():
    inbound_ssh_only = acl(NetworkAclEntry(100, "6", "allow", egress=False, cidr_block="0.0.0.0/0",
                                           port_range=(22, 22)), allow_all_out=False)
    attempt = ConnectionTracker().connect(LAPTOP, eni(SSH_FROM_LAPTOP, acl=inbound_ssh_only), 22, at=T0,
                                          rng=random.Random(8))
    assert not attempt.accepted
    flows = by_direction(attempt.traffic)
    assert (flows["ingress"].action, flows["ingress"].tcp_flags, flows["ingress"].packets) == ("ACCEPT", 2, 4)
    assert (flows["egress"].action, flows["egress"].tcp_flags, flows["egress"].packets) == ("REJECT", 18, 4)


def test_network_acl_reply_rule_must_cover_the_clients_ephemeral_port():
    inbound = NetworkAclEntry(100, "6", "allow", egress=False, cidr_block="0.0.0.0/0", port_range=(22, 22))
    ephemeral_out = NetworkAclEntry(100, "6", "allow", egress=True, cidr_block="0.0.0.0/0",
                                    port_range=(1024, 65535))
    well_known_out = replace(ephemeral_out, port_range=(0, 1023))
    rng = random.Random(9)
    assert ConnectionTracker().connect(LAPTOP, eni(SSH_FROM_LAPTOP, acl=NetworkAcl((inbound, ephemeral_out))), 22,
                                       at=T0, rng=rng).accepted
    assert not ConnectionTracker().connect(LAPTOP, eni(SSH_FROM_LAPTOP, acl=NetworkAcl((inbound, well_known_out))),
                                           22, at=T0, rng=rng).accepted


def test_icmp_doc_example_inbound_ping_accepted_reply_rejected_by_the_acl():
    """The VPC user guide's ICMP pair (docs/aws-behaviour.md, "Example records"): the ACL lets the ping in
    but not the reply out."""
    doc_lines = [
        "2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK",
        "2 123456789010 eni-1235b8ca123456789 172.31.16.139 203.0.113.12 0 0 1 4 336 1432917094 1432917142 REJECT OK",
    ]
    no_icmp_out = NetworkAcl((
        NetworkAclEntry(100, "-1", "allow", egress=False, cidr_block="0.0.0.0/0"),
        NetworkAclEntry(100, "6", "allow", egress=True, cidr_block="0.0.0.0/0", port_range=(1024, 65535)),
    ))
    ping_allowed = SecurityGroup("sg-ping", ingress=(SecurityGroupRule("icmp", -1, -1, cidr="0.0.0.0/0"),))
    server = Interface("eni-1235b8ca123456789", "172.31.16.139", "123456789010", (ping_allowed,), no_icmp_out,
                       public_ip="54.0.0.1")

    # Four pings from 1432917027 to 1432917142, as in the records; a 10-minute aggregation interval.
    lines = [format_record(r, LogFormat()) for r in records(ping(LAPTOP, server, at=1432917027, count=4,
                                                                 interval=115 / 3), 600)]
    assert lines[0] == doc_lines[0]
    # An echo reply leaves within the second of its request, so the reply record starts with the
    # first ping; the doc's reply record starts 67 s later. Every other field is the doc's.
    assert lines[1] == doc_lines[1].replace("1432917094", "1432917027")


# --- connection tracking --------------------------------------------------------------------------------------

def test_security_group_swap_keeps_a_tracked_session_but_rejects_a_new_attempt():
    tracker, rng = ConnectionTracker(), random.Random(10)
    before, after = eni(SSH_FROM_LAPTOP), eni(HTTP_ONLY)
    attempt = tracker.connect(LAPTOP, before, 22, at=T0, rng=rng)

    kept = by_direction(tracker.send(attempt.session_id, after, at=T0 + 20, rng=rng))
    assert (kept["ingress"].action, kept["egress"].action) == ("ACCEPT", "ACCEPT")

    retry = tracker.connect(LAPTOP, after, 22, at=T0 + 30, rng=rng)
    [rejected] = records(retry.traffic)
    assert (rejected.action, rejected.tcp_flags, rejected.srcport) == ("REJECT", 2, retry.traffic.packets[0]
                                                                       .packet.remote_port)

    closed = by_direction(tracker.close(attempt.session_id, after, at=T0 + 40))
    assert (closed["ingress"].action, closed["egress"].action) == ("ACCEPT", "ACCEPT")
    assert (closed["ingress"].tcp_flags, closed["egress"].tcp_flags) == (1, 1)


def test_untracked_session_open_to_everyone_is_cut_by_a_security_group_swap():
    """A flow allowed from 0.0.0.0/0 with all egress open is not tracked: every packet meets the current rules."""
    tracker, rng = ConnectionTracker(), random.Random(11)
    attempt = tracker.connect(LAPTOP, eni(SSH_FROM_ANYWHERE), 22, at=T0, rng=rng)
    assert attempt.accepted

    [cut] = records(tracker.send(attempt.session_id, eni(HTTP_ONLY), at=T0 + 20, rng=rng))
    assert (cut.action, cut.flow_direction) == ("REJECT", "ingress")
    still_open = by_direction(tracker.send(attempt.session_id, eni(SSH_FROM_ANYWHERE), at=T0 + 25, rng=rng))
    assert still_open["ingress"].action == still_open["egress"].action == "ACCEPT"


def test_network_acl_change_cuts_even_a_tracked_session():
    tracker, rng = ConnectionTracker(), random.Random(12)
    attempt = tracker.connect(LAPTOP, eni(SSH_FROM_LAPTOP), 22, at=T0, rng=rng)
    blocked = eni(SSH_FROM_LAPTOP, acl=NetworkAcl())
    [record] = records(tracker.send(attempt.session_id, blocked, at=T0 + 10, rng=rng))
    assert (record.action, record.flow_direction) == ("REJECT", "ingress")


def test_reply_of_an_admitted_connection_needs_no_egress_rule():
    server = eni(replace(SSH_FROM_LAPTOP, egress=()))
    flows = by_direction(ssh_session(ConnectionTracker(), server, random.Random(13)))
    assert flows["egress"].action == "ACCEPT"


def test_closed_session_is_gone():
    tracker, rng, server = ConnectionTracker(), random.Random(14), eni(SSH_FROM_LAPTOP)
    attempt = tracker.connect(LAPTOP, server, 22, at=T0, rng=rng)
    assert tracker.open_sessions() == (attempt.session_id,)
    tracker.close(attempt.session_id, server, at=T0 + 1)
    assert tracker.open_sessions() == ()
    with pytest.raises(SessionNotOpen):
        tracker.send(attempt.session_id, server, at=T0 + 2, rng=rng)


def test_session_traffic_must_be_given_the_sessions_own_eni():
    tracker, rng = ConnectionTracker(), random.Random(15)
    attempt = tracker.connect(LAPTOP, eni(SSH_FROM_LAPTOP), 22, at=T0, rng=rng)
    with pytest.raises(ValueError):
        tracker.send(attempt.session_id, eni(SSH_FROM_LAPTOP, interface_id="eni-other"), at=T0, rng=rng)


# --- outbound traffic -----------------------------------------------------------------------------------------

def test_outbound_connection_uses_egress_rules_and_gets_its_reply_by_statefulness():
    server_on_internet = Peer.internet("93.184.216.34")
    instance = eni(NO_RULES, SecurityGroup("sg-out", egress=(SecurityGroupRule("tcp", 443, 443, cidr="0.0.0.0/0"),)))
    tracker, rng = ConnectionTracker(), random.Random(16)

    attempt = tracker.connect(instance, server_on_internet, 443, at=T0, rng=rng)
    assert attempt.accepted  # no inbound rule at all, yet the SYN-ACK comes in
    flows = by_direction(attempt.traffic + tracker.close(attempt.session_id, instance, at=T0 + 3))
    out, back = flows["egress"], flows["ingress"]
    assert (out.srcaddr, out.dstaddr, out.dstport, out.tcp_flags, out.traffic_path) == (
        "10.0.1.25", "93.184.216.34", 443, 3, 8)
    assert (back.srcaddr, back.srcport, back.dstport, back.tcp_flags) == ("93.184.216.34", 443, out.srcport, 19)

    blocked = tracker.connect(instance, server_on_internet, 80, at=T0, rng=rng)
    [record] = records(blocked.traffic)
    assert (record.action, record.flow_direction, record.packets, record.tcp_flags) == ("REJECT", "egress", 4, 2)


def test_outbound_reply_is_judged_by_the_inbound_acl_rules():
    instance = eni(SSH_FROM_LAPTOP, acl=acl(allow_all_out=True))  # no inbound ACL entry: the SYN-ACK is denied
    attempt = ConnectionTracker().connect(instance, Peer.internet("93.184.216.34"), 443, at=T0,
                                          rng=random.Random(17))
    flows = by_direction(attempt.traffic)
    assert (flows["egress"].action, flows["ingress"].action, flows["ingress"].tcp_flags) == ("ACCEPT", "REJECT", 18)


def test_egress_without_internet_gateway_has_no_traffic_path():
    instance = eni(NO_RULES, SecurityGroup("sg-out"), internet_gateway=False)
    attempt = ConnectionTracker().connect(instance, Peer.internet("93.184.216.34"), 443, at=T0,
                                          rng=random.Random(18))
    assert by_direction(attempt.traffic)["egress"].traffic_path is None


def test_internet_cannot_reach_an_eni_without_a_public_ip():
    with pytest.raises(Unreachable):
        ConnectionTracker().connect(LAPTOP, eni(SSH_FROM_LAPTOP, public_ip=None), 22, at=T0, rng=random.Random())


# --- UDP --------------------------------------------------------------------------------------------------------

def test_udp_request_and_reply():
    dns = SecurityGroup("sg-dns", ingress=(SecurityGroupRule("udp", 53, 53, cidr="0.0.0.0/0"),))
    flows = by_direction(udp_exchange(LAPTOP, eni(dns), 53, at=T0, rng=random.Random(19), datagrams=3))
    assert (flows["ingress"].protocol, flows["ingress"].dstport, flows["ingress"].packets) == (17, 53, 3)
    assert (flows["egress"].srcport, flows["egress"].action, flows["egress"].tcp_flags) == (53, "ACCEPT", 0)

    [request_only] = records(udp_exchange(LAPTOP, eni(dns), 53, at=T0, rng=random.Random(19), reply=False))
    assert request_only.flow_direction == "ingress"
    [rejected] = records(udp_exchange(LAPTOP, eni(dns), 123, at=T0, rng=random.Random(19)))
    assert (rejected.action, rejected.dstport) == ("REJECT", 123)


def test_outbound_udp_uses_egress_rules():
    instance = eni(NO_RULES, SecurityGroup("sg-out", egress=(SecurityGroupRule("udp", 123, 123, cidr="0.0.0.0/0"),)))
    ntp = Peer.internet("162.159.200.1")
    flows = by_direction(udp_exchange(instance, ntp, 123, at=T0, rng=random.Random(20)))
    assert flows["egress"].action == flows["ingress"].action == "ACCEPT"
    [record] = records(udp_exchange(instance, ntp, 53, at=T0, rng=random.Random(20)))
    assert (record.action, record.flow_direction) == ("REJECT", "egress")


# --- capture windows --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("interval", [60, 600])
def test_records_never_straddle_a_capture_window(interval):
    tracker, rng, server = ConnectionTracker(), random.Random(21), eni(SSH_FROM_LAPTOP)
    attempt = tracker.connect(LAPTOP, server, 22, at=T0 + interval - 2, rng=rng)
    traffic = (attempt.traffic + tracker.send(attempt.session_id, server, at=T0 + interval + 3, rng=rng)
               + tracker.close(attempt.session_id, server, at=T0 + 2 * interval + 1))
    found = records(traffic, interval)
    assert len(found) == 6  # both directions in each of three windows
    for record in found:
        assert record.start // interval == record.end // interval
    first, last = found[:2], found[-2:]
    assert {r.tcp_flags for r in first} == {2, 18} and {r.tcp_flags for r in last} == {1}


def test_traffic_of_one_flow_in_one_window_is_one_record():
    tracker, rng, server = ConnectionTracker(), random.Random(22), eni(SSH_FROM_LAPTOP)
    attempt = tracker.connect(LAPTOP, server, 22, at=T0, rng=rng)
    sends = [tracker.send(attempt.session_id, server, at=T0 + s, rng=rng) for s in (10, 20, 30)]
    traffic = sum(sends, attempt.traffic)
    flows = by_direction(traffic)
    assert flows["ingress"].packets == sum(1 for seen in traffic.packets if seen.packet.direction == "ingress")
    assert (flows["ingress"].start, flows["ingress"].end) == (T0, T0 + 30)


def test_aggregation_interval_must_be_60_or_600():
    with pytest.raises(ValueError):
        ping(LAPTOP, eni(), at=T0).flow_records(300)


# --- a server host that is still booting (AWS's timing) ---------------------------------------------------

def test_a_booting_host_with_nothing_listening_resets_the_first_syn():
    """Up but sshd not yet listening: its kernel answers the SYN with a RST, the client gives up at once;
    both records are ACCEPTs (the security group let the SYN in), the reply's flags the RST's."""
    attempt = ConnectionTracker().connect(LAPTOP, eni(SSH_FROM_LAPTOP), 22, at=T0, rng=random.Random(3),
                                          connect_timeout=5, server_host=REFUSING)

    assert attempt.refused and not attempt.accepted
    found = by_direction(attempt.traffic)
    assert (found["ingress"].action, found["ingress"].packets, found["ingress"].tcp_flags) == ("ACCEPT", 1, 2)
    assert (found["egress"].action, found["egress"].packets, found["egress"].bytes) == ("ACCEPT", 1, 40)
    assert found["egress"].tcp_flags == 4 and found["egress"].dstport == attempt.client_port


def test_a_host_whose_network_is_not_up_answers_nothing_until_the_timeout():
    attempt = ConnectionTracker().connect(LAPTOP, eni(SSH_FROM_LAPTOP), 22, at=T0, rng=random.Random(3),
                                          connect_timeout=5, server_host=SILENT)

    assert not attempt.accepted and not attempt.refused
    [record] = records(attempt.traffic)
    assert (record.action, record.flow_direction, record.packets) == ("ACCEPT", "ingress", 3)  # SYNs at 0, 1, 3 s


def test_a_booting_host_behind_a_security_group_that_refuses_ssh_gives_the_usual_reject():
    attempt = ConnectionTracker().connect(LAPTOP, eni(HTTP_ONLY), 22, at=T0, rng=random.Random(3),
                                          connect_timeout=5, server_host=REFUSING)

    assert not attempt.refused
    [record] = records(attempt.traffic)
    assert (record.action, record.packets) == ("REJECT", 3)
