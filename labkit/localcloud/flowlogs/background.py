"""Seeded internet background noise against a set of ENIs, as flow records.

What an internet-facing ENI sees in its flow logs:
- scanners knocking on SSH (22), Telnet (23), RDP (3389) and SMB (445), which the security group
  rejects: one inbound REJECT record with a SYN (tcp-flags 2), one or two packets; a few scanners
  make most of the knocks;
- now and then a port sweep: one scanner trying a hundred or more low ports within one window;
- a few SSH brute-forcers, each trying port 22 again and again for hours;
- web clients on 80/443, accepted both ways: the request (ingress) and the stateful reply (egress,
  traffic-path 8, through the internet gateway), tcp-flags 3/19 when the connection closed within
  the window, else 2/18; they follow a daily rhythm (people browse by day), the scanners do not;
- now and then a capture window in which one ENI had no traffic (a NODATA record, and no other
  record of that ENI in that window), and a rare SKIPDATA record.

Records are aggregated per capture window of MaxAggregationInterval (60 or 600 s), counted from
`start`: each record's start and end lie inside its window. The output is a stream of record
tables (`records.RECORD_SCHEMA`) in window order, which `s3_files.S3FlowLogWriter` consumes.
All of it is vectorised with numpy and pyarrow, and the same seed and parameters give the same records.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .records import RECORD_SCHEMA

AGGREGATION_INTERVALS = (60, 600)
SCAN_PORTS = np.array([22, 23, 3389, 445])
SCAN_PORT_WEIGHTS = np.array([0.4, 0.2, 0.25, 0.15])
INTERNET_GATEWAY_PATH = 8
# First octets left out of made-up internet addresses: private, loopback, link-local, CGNAT, test nets.
_NON_PUBLIC_FIRST_OCTETS = {0, 10, 100, 127, 169, 172, 192, 198}


@dataclass(frozen=True)
class NetworkInterface:
    interface_id: str
    private_ip: str
    account_id: str
    vpc_id: str | None = None
    subnet_id: str | None = None
    instance_id: str | None = None
    region: str | None = None
    az_id: str | None = None


@dataclass(frozen=True)
class TrafficMix:
    records_per_minute_per_eni: float = 6.0  # the rate when sized by a time range alone
    web_share: float = 0.3  # share of records that are web requests and their replies
    quiet_window_chance: float = 0.05  # a capture window with one quiet ENI (NODATA); needs 2+ ENIs
    skipdata_chance: float = 0.005  # a capture window with one SKIPDATA record
    daily_swing: float = 0.8  # web traffic at its daily peak is 1 + swing times the mean, at night 1 - swing
    peak_hour_utc: int = 14
    port_sweeps_per_day: float = 4.0
    ports_per_sweep: int = 150
    brute_forcers: int = 3
    brute_force_share: float = 0.1  # of the records, when sized by count
    brute_force_attempts_per_minute: float = 1.0  # each, while active, when sized by a time range


def generate_background_traffic(interfaces: Sequence[NetworkInterface], *, seed: int, start: int,
                                end: int | None = None, records: int | None = None,
                                aggregation_interval: int = 600, mix: TrafficMix = TrafficMix(),
                                batch_rows: int = 250_000) -> Iterator[pa.Table]:
    """Record tables of background noise from `start` (Unix seconds).

    Sized by `records` (exactly that many), by the time range `[start, end)` (at the mix's rate),
    or both (exactly `records` spread over the range). Each table holds whole capture windows and
    about `batch_rows` records; the output depends on every argument, including `batch_rows`.
    """
    if aggregation_interval not in AGGREGATION_INTERVALS:
        raise ValueError(f"aggregation_interval must be one of {AGGREGATION_INTERVALS}")
    if not interfaces:
        raise ValueError("background traffic needs at least one network interface")
    if end is None and records is None:
        raise ValueError("give the number of records, the end of the time range, or both")
    if end is None:
        per_window = mix.records_per_minute_per_eni * len(interfaces) * aggregation_interval / 60
        end = start + max(1, math.ceil(records / per_window)) * aggregation_interval
    if end <= start:
        raise ValueError("the time range is empty")
    return _Generator(interfaces, seed, mix, start, end, records, aggregation_interval).tables(batch_rows)


class _Generator:
    """Plans how many records of each kind every capture window gets, then makes them in chunks."""

    def __init__(self, interfaces: Sequence[NetworkInterface], seed: int, mix: TrafficMix, start: int, end: int,
                 records: int | None, interval: int):
        self.rng = rng = np.random.default_rng(seed)
        self.eni_count = len(interfaces)
        self.eni = {name: pa.array([getattr(i, name) for i in interfaces], pa.string())
                    for name in ("interface_id", "private_ip", "account_id", "vpc_id", "subnet_id",
                                 "instance_id", "region", "az_id")}
        self.scanners = self._public_addresses(4096)
        ranks = np.arange(1, len(self.scanners) + 1)
        self.scanner_popularity = ranks ** -0.8 / (ranks ** -0.8).sum()  # a few scanners make much of the noise
        self.web_clients = self._public_addresses(65536)

        self.window_start = np.arange(start, end, interval, dtype=np.int64)
        self.window_length = np.minimum(self.window_start + interval, end) - self.window_start
        windows = len(self.window_start)
        hours = (self.window_start % 86400) / 3600
        web_rhythm = 1 + mix.daily_swing * np.cos(2 * np.pi * (hours - mix.peak_hour_utc) / 24)
        weight = self.window_length * (mix.web_share * web_rhythm + 1 - mix.web_share)
        self.brute_sources = self._public_addresses(mix.brute_forcers)
        active = self._brute_force_spans(mix.brute_forcers, windows)
        self.sweep_windows = np.sort(rng.choice(windows, min(windows, rng.poisson(
            mix.port_sweeps_per_day * (end - start) / 86400)), replace=False))
        if records is None:
            rate = mix.records_per_minute_per_eni * self.eni_count / 60
            typical = rng.poisson(rate * weight)
            self.brute = rng.poisson(active * mix.brute_force_attempts_per_minute * self.window_length / 60)
            sweep_total = len(self.sweep_windows) * mix.ports_per_sweep
        else:
            brute_total = round(records * mix.brute_force_share) if active.any() else 0
            stretches = (active * self.window_length).ravel()
            self.brute = (rng.multinomial(brute_total, stretches / stretches.sum()).reshape(active.shape)
                          if brute_total else np.zeros(active.shape, dtype=np.int64))
            sweep_total = min(len(self.sweep_windows) * mix.ports_per_sweep, records // 10)
            typical = rng.multinomial(records - brute_total - sweep_total, weight / weight.sum())
        self.sweep = np.zeros(windows, dtype=np.int64)
        if len(self.sweep_windows):
            self.sweep[self.sweep_windows] = rng.multinomial(sweep_total, np.ones(len(self.sweep_windows))
                                                             / len(self.sweep_windows))
        self.counts = typical + self.brute.sum(axis=0) + self.sweep
        self.quiet = (rng.random(windows) < mix.quiet_window_chance) & (self.eni_count > 1) & (typical > 0)
        self.quiet_eni = rng.integers(0, self.eni_count, windows)
        self.skip = (rng.random(windows) < mix.skipdata_chance) & (typical - self.quiet > 0)
        rest = typical - self.quiet - self.skip
        web_chance = mix.web_share * web_rhythm / (mix.web_share * web_rhythm + 1 - mix.web_share)
        self.web_pairs = rng.binomial(rest // 2, web_chance)
        self.scans = rest - 2 * self.web_pairs

    def _brute_force_spans(self, brute_forcers: int, windows: int) -> np.ndarray:
        """Which windows each brute-forcer is active in: one stretch of a tenth to three tenths of the
        range each (boolean, brute-forcers x windows)."""
        active = np.zeros((brute_forcers, windows), dtype=bool)
        for k in range(brute_forcers):
            length = max(1, int(windows * self.rng.uniform(0.1, 0.3)))
            first = int(self.rng.integers(0, windows - length + 1))
            active[k, first:first + length] = True
        return active

    def tables(self, batch_rows: int) -> Iterator[pa.Table]:
        """Consecutive runs of whole windows holding about `batch_rows` records each."""
        cumulative = np.cumsum(self.counts)
        first = 0
        while first < len(cumulative):
            done = cumulative[first - 1] if first else 0
            last = max(int(np.searchsorted(cumulative, done + batch_rows, side="right")), first + 1)
            if cumulative[last - 1] > done:
                yield self._chunk(np.arange(first, last))
            first = last

    def _chunk(self, windows: np.ndarray) -> pa.Table:
        parts = [self._scans(np.repeat(windows, self.scans[windows])),
                 self._brute_force(windows), self._sweeps(windows[self.sweep[windows] > 0]),
                 *self._web(np.repeat(windows, self.web_pairs[windows])),
                 self._status_rows(windows[self.quiet[windows]], "NODATA"),
                 self._status_rows(windows[self.skip[windows]], "SKIPDATA")]
        return pa.concat_tables(parts)

    def _scans(self, window: np.ndarray) -> pa.Table:
        """Knocks on the admin ports, mostly by the few most active scanners."""
        n = len(window)
        source = self.scanners.take(self.rng.choice(len(self.scanners), n, p=self.scanner_popularity))
        return self._rejected_syns(window, source, self.rng.choice(SCAN_PORTS, n, p=SCAN_PORT_WEIGHTS))

    def _brute_force(self, windows: np.ndarray) -> pa.Table:
        """The brute-forcers' SSH attempts in these windows, rejected like any scan."""
        attempts = self.brute[:, windows]
        who = np.repeat(np.arange(len(attempts)), attempts.sum(axis=1))
        window = np.concatenate([np.repeat(windows, row) for row in attempts]) if len(attempts) else windows[:0]
        return self._rejected_syns(window, self.brute_sources.take(who), np.full(len(window), 22))

    def _sweeps(self, windows: np.ndarray) -> pa.Table:
        """Port sweeps: in each window, one scanner tries that many distinct ports up to 1024."""
        sizes = self.sweep[windows]
        ports = np.concatenate([self.rng.choice(np.arange(1, 1025), size, replace=False) for size in sizes]
                               ) if len(sizes) else np.zeros(0, dtype=np.int64)
        sweeper = self.rng.choice(len(self.scanners), len(windows), p=self.scanner_popularity)
        return self._rejected_syns(np.repeat(windows, sizes), self.scanners.take(np.repeat(sweeper, sizes)), ports)

    def _rejected_syns(self, window: np.ndarray, source: pa.Array, dstport: np.ndarray) -> pa.Table:
        """Inbound SYNs the security group rejects, one record each: a SYN, sometimes retried."""
        rng, n = self.rng, len(window)
        eni = self._traffic_eni(window)
        packets = 1 + (rng.random(n) < 0.3)
        target = self.eni["private_ip"].take(eni)
        first, last = self._times(window, (packets - 1) * rng.integers(1, 4, n))
        return self._table(n, eni, srcaddr=source, dstaddr=target, pkt_srcaddr=source, pkt_dstaddr=target,
                           srcport=rng.integers(1024, 65536, n), dstport=dstport, protocol=np.full(n, 6),
                           packets=packets, bytes=packets * rng.choice([40, 44, 60], n), start=first, end=last,
                           action=_repeat("REJECT", n), log_status=_repeat("OK", n), tcp_flags=np.full(n, 2),
                           type=_repeat("IPv4", n), flow_direction=_repeat("ingress", n))

    def _web(self, window: np.ndarray) -> tuple[pa.Table, pa.Table]:
        """Requests from web clients and the servers' replies, one pair per connection."""
        rng, n = self.rng, len(window)
        eni = self._traffic_eni(window)
        client = self.web_clients.take(rng.integers(0, len(self.web_clients), n))
        server = self.eni["private_ip"].take(eni)
        client_port = rng.integers(32768, 61000, n)
        server_port = np.where(rng.random(n) < 0.7, 443, 80)
        request_packets = rng.integers(3, 40, n)
        reply_packets = request_packets + rng.integers(0, 20, n)
        closed = rng.random(n) < 0.8  # FIN seen within the window
        request_flags = np.where(closed, 3, 2)  # SYN (+FIN)
        first, last = self._times(window, rng.integers(0, 30, n))
        shared = dict(protocol=np.full(n, 6), start=first, end=last, action=_repeat("ACCEPT", n),
                      log_status=_repeat("OK", n), type=_repeat("IPv4", n))
        request = self._table(n, eni, srcaddr=client, dstaddr=server, pkt_srcaddr=client, pkt_dstaddr=server,
                              srcport=client_port, dstport=server_port, packets=request_packets,
                              bytes=request_packets * rng.integers(52, 300, n), tcp_flags=request_flags,
                              flow_direction=_repeat("ingress", n), **shared)
        reply = self._table(n, eni, srcaddr=server, dstaddr=client, pkt_srcaddr=server, pkt_dstaddr=client,
                            srcport=server_port, dstport=client_port, packets=reply_packets,
                            bytes=reply_packets * rng.integers(200, 1400, n), tcp_flags=request_flags + 16,  # SYN-ACK
                            flow_direction=_repeat("egress", n), traffic_path=np.full(n, INTERNET_GATEWAY_PATH),
                            **shared)
        return request, reply

    def _status_rows(self, window: np.ndarray, log_status: str) -> pa.Table:
        """NODATA (for the window's quiet ENI) or SKIPDATA records spanning their capture window."""
        n = len(window)
        eni = self.quiet_eni[window] if log_status == "NODATA" else self._traffic_eni(window)
        first = self.window_start[window]
        return _record_table(n, {"account_id": self.eni["account_id"].take(eni),
                                 "interface_id": self.eni["interface_id"].take(eni),
                                 "start": first, "end": first + self.window_length[window] - 1,
                                 "log_status": _repeat(log_status, n)})

    def _traffic_eni(self, window: np.ndarray) -> np.ndarray:
        """A random ENI per record, never the quiet ENI of that record's window."""
        n = len(window)
        if self.eni_count == 1:
            return np.zeros(n, dtype=np.int64)
        anyone = self.rng.integers(0, self.eni_count, n)
        not_quiet = (self.quiet_eni[window] + 1 + self.rng.integers(0, self.eni_count - 1, n)) % self.eni_count
        return np.where(self.quiet[window], not_quiet, anyone)

    def _times(self, window: np.ndarray, durations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Start and end of each record: inside its capture window, `durations` apart where room allows."""
        window_first = self.window_start[window]
        window_last = window_first + self.window_length[window] - 1
        first = window_first + self.rng.integers(0, self.window_length[window])
        return first, np.minimum(first + durations, window_last)

    def _table(self, n: int, eni: np.ndarray, **columns) -> pa.Table:
        """A record table: the given columns, the ENI's own fields, and nulls for the rest."""
        for name in ("account_id", "interface_id", "vpc_id", "subnet_id", "instance_id", "region", "az_id"):
            columns[name] = self.eni[name].take(eni)
        return _record_table(n, columns)

    def _public_addresses(self, count: int) -> pa.Array:
        first_octets = np.array([o for o in range(1, 224) if o not in _NON_PUBLIC_FIRST_OCTETS])
        octets = np.column_stack([self.rng.choice(first_octets, count), self.rng.integers(0, 256, (count, 2)),
                                  self.rng.integers(1, 255, count)])
        return pa.array([".".join(map(str, row)) for row in octets.tolist()], pa.string())


def _record_table(n: int, columns: dict) -> pa.Table:
    """A table of `RECORD_SCHEMA` with the given columns; the others are null."""
    return pa.table({f.name: pa.array(columns[f.name], f.type) if f.name in columns else pa.nulls(n, f.type)
                     for f in RECORD_SCHEMA}, schema=RECORD_SCHEMA)


def _repeat(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), n)
