"""Simulated connections between an ENI and a peer, and the connection tracker the security groups keep.

Each simulation takes the current `Interface` view, the time (Unix seconds) and, where sizes or ports
are drawn, a seeded `random.Random`, and returns the `Traffic` the ENI's flow logs saw. Choices, so
records look like the real thing:
- A TCP client (a laptop, or the instance) picks an ephemeral port in 32768-60999 (Linux's range) and
  retransmits an unanswered SYN after 1, 3, 7, 15 s, ... (Linux: a 1 s first timeout, doubled each time)
  until its connect timeout, 10 s by default: then a rejected attempt is 4 SYNs of 60 bytes over 7 s.
- Segment sizes are those of Linux with TCP timestamps: SYN and SYN-ACK 60 bytes, a bare ACK or FIN 52,
  data in segments of up to 1448 bytes (1500 on the wire); the receiver ACKs every second segment.
- A ping is an 84-byte echo request (ping's default 56 data bytes) and an 84-byte echo reply.
- A packet that is rejected gets no answer; a sender does not retransmit data or FINs.
- A server host that is still booting answers as Linux does: not at all before its network is up
  (SILENT: the client's SYNs time out), then, until the service listens, with a 40-byte RST+ACK to the
  first SYN (REFUSING: the client gives up at once, "connection refused").
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Container
from dataclasses import dataclass

from .flows import ObservedPacket, Traffic
from .interfaces import Interface, decide
from .packets import ACK, FIN, RST, SYN, SYN_ACK, Packet, Peer
from .protocols import ICMP, TCP, UDP
from .security_groups import connection_is_tracked

EPHEMERAL_PORTS = (32768, 60999)
CONNECT_TIMEOUT = 10
SYN_SIZE = 60  # IPv4 20 + TCP 20 + options 20 (MSS, SACK permitted, timestamps, window scale)
ACK_SIZE = 52  # IPv4 20 + TCP 20 + timestamps 12
MAX_SEGMENT_PAYLOAD = 1448
IP_UDP_HEADERS = 28
ECHO_SIZE = 84
ECHO_REPLY, ECHO_REQUEST = 0, 8  # ICMP types
RST_SIZE = 40  # IPv4 20 + TCP 20, no options
# How the server's host answers a SYN to the port: a listening service, a host up with nothing
# listening there yet (its kernel resets the connection), a host whose network is not up yet.
LISTENING, REFUSING, SILENT = "listening", "refusing", "silent"
# Single packets back and forth: (from the client?, TCP flags, size).
HANDSHAKE = ((True, SYN, SYN_SIZE), (False, SYN_ACK, SYN_SIZE), (True, ACK, ACK_SIZE))
TEARDOWN = ((True, FIN | ACK, ACK_SIZE), (False, FIN | ACK, ACK_SIZE), (True, ACK, ACK_SIZE))


class Unreachable(ValueError):
    """The peer has no route to the ENI (an internet host, and the ENI has no public IP address)."""


class SessionNotOpen(LookupError):
    """No open session has this id (it was closed, or never opened)."""


@dataclass
class _Conversation:
    """Packets between an ENI and a peer on one 5-tuple, and whether the ENI's security groups track them.

    "Forward" packets go from the client (who opened it) to the server, the others are replies.
    """

    interface_id: str
    peer: Peer
    peer_is_client: bool
    protocol: int
    client_port: int
    server_port: int
    tracked: bool | None = None  # set when the security groups admit the first packet

    def packet(self, time: int, *, forward: bool, size: int, tcp_flags: int = 0, icmp_type: int | None = None,
               icmp_code: int | None = None) -> Packet:
        local_port, remote_port = ((self.server_port, self.client_port) if self.peer_is_client
                                   else (self.client_port, self.server_port))
        return Packet(time, "ingress" if forward == self.peer_is_client else "egress", self.peer, local_port,
                      remote_port, self.protocol, size, tcp_flags, icmp_type, icmp_code)

    def flight(self, interface: Interface, packets: list[Packet]) -> tuple[Traffic, bool]:
        """Packets sent one way at one moment, which all get the same decision; and whether they got through."""
        if interface.interface_id != self.interface_id:
            raise ValueError(f"this traffic is on {self.interface_id}, not {interface.interface_id}")
        action = decide(interface, packets[0], tracked=bool(self.tracked))
        if action == "ACCEPT" and self.tracked is None:
            self.tracked = connection_is_tracked(interface.security_groups, packets[0])
        return Traffic(tuple(ObservedPacket(interface, p, action) for p in packets)), action == "ACCEPT"

    def exchange(self, interface: Interface, time: int, steps: tuple[tuple[bool, int, int], ...]
                 ) -> tuple[Traffic, bool]:
        """TCP packets back and forth (HANDSHAKE, TEARDOWN) until one is rejected; and whether all got through."""
        traffic = Traffic()
        for forward, flags, size in steps:
            sent, delivered = self.flight(interface, [self.packet(time, forward=forward, size=size, tcp_flags=flags)])
            traffic += sent
            if not delivered:
                return traffic, False
        return traffic, True


def _ends(client: Peer | Interface, server: Interface | Peer) -> tuple[Interface, Peer, bool]:
    """The ENI, the peer, and whether the peer is the client."""
    if isinstance(client, Peer) and isinstance(server, Interface):
        interface, peer, peer_is_client = server, client, True
    elif isinstance(client, Interface) and isinstance(server, Peer):
        interface, peer, peer_is_client = client, server, False
    else:
        raise TypeError("one end must be an Interface (whose flow logs see the traffic), the other a Peer")
    if peer_is_client and not peer.in_vpc and interface.public_ip is None:
        raise Unreachable(f"{interface.interface_id} has no public IP address: {peer.address} cannot reach it")
    return interface, peer, peer_is_client


@dataclass(frozen=True)
class Attempt:
    traffic: Traffic
    session_id: str | None  # the session, when the handshake completed
    refused: bool = False  # the server's host answered the SYN with a RST (nothing listens on the port)
    client_port: int = 0

    @property
    def accepted(self) -> bool:
        return self.session_id is not None


class ConnectionTracker:
    """Open TCP sessions, each with the tracking state the security groups keep for it; one per local cloud.

    A tracked session keeps flowing after the ENI's security groups change or are swapped; only new
    connections meet the new rules. An untracked one (see `connection_is_tracked`) meets the current
    rules with every packet. The network ACL judges every packet of every session.
    """

    def __init__(self) -> None:
        self._sessions: dict[str, _Conversation] = {}
        self._opened = 0

    def open_sessions(self) -> tuple[str, ...]:
        return tuple(self._sessions)

    def connect(self, client: Peer | Interface, server: Interface | Peer, port: int, *, at: int,
                rng: random.Random, connect_timeout: float = CONNECT_TIMEOUT, server_host: str = LISTENING) -> Attempt:
        """A TCP handshake to `port`, inbound (client a Peer) or outbound (client the Interface).

        Rejected SYNs, or SYN-ACKs rejected on the way back, repeat until the client's connect timeout,
        as do SYNs a SILENT server host never answers; a REFUSING one resets the first SYN that reaches it.
        """
        interface, peer, peer_is_client = _ends(client, server)
        taken = {c.client_port for c in self._sessions.values()
                 if (c.interface_id, c.peer.address, c.peer_is_client, c.server_port)
                 == (interface.interface_id, peer.address, peer_is_client, port)}
        conversation = _Conversation(interface.interface_id, peer, peer_is_client, TCP,
                                     _ephemeral_port(rng, taken), port)
        traffic, client_port = Traffic(), conversation.client_port
        answer = {LISTENING: HANDSHAKE, REFUSING: (HANDSHAKE[0], (False, RST | ACK, RST_SIZE)),
                  SILENT: HANDSHAKE[:1]}[server_host]
        for time in syn_times(at, connect_timeout):
            sent, delivered = conversation.exchange(interface, time, answer)
            traffic += sent
            if delivered and server_host == REFUSING:
                return Attempt(traffic, None, refused=True, client_port=client_port)
            if delivered and server_host == LISTENING:
                self._opened += 1
                session_id = f"session-{self._opened}"
                self._sessions[session_id] = conversation
                return Attempt(traffic, session_id, client_port=client_port)
        return Attempt(traffic, None, client_port=client_port)

    def send(self, session_id: str, interface: Interface, *, at: int, rng: random.Random,
             request_bytes: int | None = None, response_bytes: int | None = None) -> Traffic:
        """The client sends `request_bytes` of data and the server answers with `response_bytes`.

        Sizes left out are drawn from `rng`: a request of 100-2000 bytes, a response of 200-8000.
        """
        conversation = self._session(session_id)
        request = rng.randint(100, 2000) if request_bytes is None else request_bytes
        response = rng.randint(200, 8000) if response_bytes is None else response_bytes
        sent, delivered = conversation.flight(interface, _data(conversation, at, forward=True, payload=request))
        if not delivered:
            return sent
        answer, answered = conversation.flight(interface, _data(conversation, at, forward=False, payload=response))
        if not answered or not response:
            return sent + answer
        ack = conversation.packet(at, forward=True, size=ACK_SIZE, tcp_flags=ACK)
        acks, _ = conversation.flight(interface, [ack] * math.ceil(len(answer.packets) / 2))
        return sent + answer + acks

    def close(self, session_id: str, interface: Interface, *, at: int) -> Traffic:
        """The client closes: FIN, the server's FIN, the last ACK. The session is gone even if they were rejected."""
        conversation = self._session(session_id)
        del self._sessions[session_id]
        return conversation.exchange(interface, at, TEARDOWN)[0]

    def _session(self, session_id: str) -> _Conversation:
        try:
            return self._sessions[session_id]
        except KeyError:
            raise SessionNotOpen(f"no open session {session_id!r}") from None


def ping(client: Peer | Interface, server: Interface | Peer, *, at: int, count: int = 4,
         interval: float = 1.0) -> Traffic:
    """`count` echo requests, `interval` seconds apart, and the echo replies that get through."""
    if count < 1:
        raise ValueError("a ping sends at least one echo request")
    interface, peer, peer_is_client = _ends(client, server)
    conversation = _Conversation(interface.interface_id, peer, peer_is_client, ICMP, 0, 0)
    times = [at + int(i * interval) for i in range(count)]
    requests, delivered = conversation.flight(interface, [
        conversation.packet(t, forward=True, size=ECHO_SIZE, icmp_type=ECHO_REQUEST, icmp_code=0) for t in times])
    if not delivered:
        return requests
    replies, _ = conversation.flight(interface, [
        conversation.packet(t, forward=False, size=ECHO_SIZE, icmp_type=ECHO_REPLY, icmp_code=0) for t in times])
    return requests + replies


def udp_exchange(client: Peer | Interface, server: Interface | Peer, port: int, *, at: int, rng: random.Random,
                 datagrams: int = 1, reply: bool = True) -> Traffic:
    """`datagrams` requests to `port` (20-512 bytes of payload each) and, if the service replies and the
    requests got through, as many replies (40-1200 bytes each)."""
    if datagrams < 1:
        raise ValueError("a UDP exchange sends at least one datagram")
    interface, peer, peer_is_client = _ends(client, server)
    conversation = _Conversation(interface.interface_id, peer, peer_is_client, UDP, _ephemeral_port(rng), port)
    requests, delivered = conversation.flight(interface, [
        conversation.packet(at, forward=True, size=IP_UDP_HEADERS + rng.randint(20, 512)) for _ in range(datagrams)])
    if not delivered or not reply:
        return requests
    replies, _ = conversation.flight(interface, [
        conversation.packet(at, forward=False, size=IP_UDP_HEADERS + rng.randint(40, 1200))
        for _ in range(datagrams)])
    return requests + replies


def _ephemeral_port(rng: random.Random, taken: Container[int] = ()) -> int:
    while (port := rng.randint(*EPHEMERAL_PORTS)) in taken:
        pass
    return port


def syn_times(at: int, connect_timeout: float) -> list[int]:
    """When a client sends its SYN and retransmits it: after 1, 3, 7, 15, ... s, within the timeout."""
    if not connect_timeout > 0:
        raise ValueError("the connect timeout is more than 0 s")
    offsets = itertools.takewhile(lambda offset: offset < connect_timeout, (2 ** k - 1 for k in itertools.count()))
    return [at + offset for offset in offsets]


def _data(conversation: _Conversation, time: int, *, forward: bool, payload: int) -> list[Packet]:
    """`payload` bytes in full-size segments and a last partial one; a bare ACK when there is no data."""
    full, rest = divmod(payload, MAX_SEGMENT_PAYLOAD)
    sizes = [ACK_SIZE + MAX_SEGMENT_PAYLOAD] * full + ([ACK_SIZE + rest] if rest or not full else [])
    return [conversation.packet(time, forward=forward, size=size, tcp_flags=ACK) for size in sizes]
