import functools
import ipaddress

import pandas as pd
import pyarrow as pa
import pytest

from labkit.localcloud.flowlogs.background import NetworkInterface, TrafficMix, generate_background_traffic
from labkit.localcloud.flowlogs.records import RECORD_SCHEMA

START = 1_735_689_600  # 2025-01-01T00:00:00Z
ENIS = [NetworkInterface(f"eni-0{i}aaaaaaaaaaaaaaa", f"10.0.1.{i + 10}", "123456789012", "vpc-0abc", "subnet-0abc",
                         f"i-0{i}bbbbbbbbbbbbbbb", "us-east-1", "use1-az1") for i in range(4)]
ENI_ADDRESSES = {eni.private_ip for eni in ENIS}


def generate(**kwargs) -> pa.Table:
    kwargs = {"seed": 1, "start": START, **kwargs}
    return pa.concat_tables(generate_background_traffic(ENIS, **kwargs))


def rows(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def test_same_seed_same_records_and_another_seed_other_records():
    first = generate(records=5_000, seed=11)
    assert first.equals(generate(records=5_000, seed=11))
    assert not first.equals(generate(records=5_000, seed=12))


def test_sized_by_record_count_gives_exactly_that_many():
    assert generate(records=12_345).num_rows == 12_345
    assert generate(records=1).num_rows == 1
    assert generate(records=999, end=START + 7200).num_rows == 999


def test_sized_by_time_range_stays_inside_it_at_the_mix_rate():
    steady = TrafficMix(records_per_minute_per_eni=10, daily_swing=0, port_sweeps_per_day=0, brute_forcers=0)
    table = generate(end=START + 3600, mix=steady)
    expected = 10 * len(ENIS) * 60
    assert 0.9 * expected < table.num_rows < 1.1 * expected
    assert min(table.column("start").to_pylist()) >= START
    assert max(table.column("end").to_pylist()) < START + 3600


@pytest.mark.parametrize("interval", [60, 600])
def test_start_and_end_lie_inside_one_capture_window(interval):
    table = generate(records=5_000, start=START + 7, aggregation_interval=interval)
    for row in rows(table):
        assert row["start"] <= row["end"]
        assert (row["start"] - START - 7) // interval == (row["end"] - START - 7) // interval


def test_output_follows_the_record_schema_in_batches_of_whole_windows():
    tables = list(generate_background_traffic(ENIS, seed=3, start=START, records=10_000, aggregation_interval=60,
                                              batch_rows=1_000))
    assert len(tables) > 5 and all(t.schema == RECORD_SCHEMA for t in tables)
    last_end_so_far = START
    for table in tables:  # each batch starts in a later capture window than the previous one ended
        assert min(table.column("start").to_pylist()) // 60 >= last_end_so_far // 60
        last_end_so_far = max(table.column("end").to_pylist())


def test_scanners_are_rejected_on_admin_ports_from_public_addresses():
    scans = [r for r in rows(generate(records=5_000, mix=TrafficMix(port_sweeps_per_day=0)))
             if r["action"] == "REJECT"]

    assert {r["dstport"] for r in scans} == {22, 23, 3389, 445}
    assert all(r["dstaddr"] in ENI_ADDRESSES and r["flow_direction"] == "ingress" and r["tcp_flags"] == 2
               and r["protocol"] == 6 and r["packets"] in (1, 2) for r in scans)
    assert all(ipaddress.ip_address(r["srcaddr"]).is_global for r in scans)
    assert len({r["srcaddr"] for r in scans}) > 500  # a spread of sources


@functools.lru_cache
def _day(**mix) -> pd.DataFrame:
    return generate(records=20_000, end=START + 86400, mix=TrafficMix(**mix)).to_pandas()


def test_web_traffic_follows_a_daily_rhythm_and_the_scanners_do_not():
    day = _day()
    hour = pd.to_datetime(day["start"], unit="s").dt.hour
    web = day[day["dstport"].isin([80, 443])].groupby(hour).size()
    knocks = day[day["action"].eq("REJECT")].groupby(hour).size()
    assert web.loc[12:16].mean() > 3 * web.loc[[0, 1, 2, 3, 4]].mean()  # peak at 14:00 UTC, trough at 02:00
    assert knocks.max() < 3 * knocks.median()


def test_port_sweeps_try_many_low_ports_from_one_source_in_one_window():
    day = _day(port_sweeps_per_day=4, ports_per_sweep=150)
    rejected = day[day["action"].eq("REJECT")]
    window = rejected["start"] // 600
    ports = rejected.groupby([rejected["srcaddr"], window])["dstport"].nunique()
    sweeps = ports[ports >= 100]
    assert 1 <= len(sweeps) <= 10
    swept = rejected.set_index(["srcaddr", window]).loc[sweeps.index]
    assert set(swept["dstport"]) - {22, 23, 3389, 445} <= set(range(1, 1025))
    calm = _day(port_sweeps_per_day=0).pipe(lambda d: d[d["action"].eq("REJECT")])
    assert calm.groupby("srcaddr")["dstport"].nunique().max() <= 4


def _ssh_per_hour(day: pd.DataFrame) -> pd.Series:
    ssh = day[day["dstport"].eq(22) & day["action"].eq("REJECT")]
    return ssh.groupby([ssh["srcaddr"], ssh["start"] // 3600]).size()


def test_brute_forcers_try_ssh_dozens_of_times_an_hour_for_hours():
    hard = _ssh_per_hour(_day(brute_forcers=3)).loc[lambda n: n >= 30]
    assert hard.groupby(level="srcaddr").size().ge(2).sum() == 3
    assert _ssh_per_hour(_day(brute_forcers=0)).max() < 20  # the busiest scanner knocks far less


def test_web_connections_are_accepted_in_both_directions():
    accepted = [r for r in rows(generate(records=5_000)) if r["action"] == "ACCEPT"]
    requests = [r for r in accepted if r["flow_direction"] == "ingress"]
    replies = {(r["interface_id"], r["srcaddr"], r["srcport"], r["dstaddr"], r["dstport"], r["start"]): r
               for r in accepted if r["flow_direction"] == "egress"}

    assert requests and len(requests) == len(replies)
    assert {r["dstport"] for r in requests} == {80, 443}
    for request in requests:
        reply = replies[(request["interface_id"], request["dstaddr"], request["dstport"], request["srcaddr"],
                         request["srcport"], request["start"])]
        assert reply["end"] == request["end"]
        assert (request["tcp_flags"], reply["tcp_flags"]) in {(2, 18), (3, 19)}
        assert reply["traffic_path"] == 8 and request["traffic_path"] is None


def test_nodata_and_skipdata_rows_appear_and_a_quiet_eni_has_nothing_else():
    table = generate(records=20_000, aggregation_interval=60, mix=TrafficMix(quiet_window_chance=0.5,
                                                                             skipdata_chance=0.2))
    all_rows = rows(table)
    nodata = [r for r in all_rows if r["log_status"] == "NODATA"]
    skipdata = [r for r in all_rows if r["log_status"] == "SKIPDATA"]

    assert nodata and skipdata
    blank = ("srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "action")
    assert all(r[name] is None for r in nodata + skipdata for name in blank)
    busy = {(r["interface_id"], (r["start"] - START) // 60) for r in all_rows if r["log_status"] != "NODATA"}
    quiet = [(r["interface_id"], (r["start"] - START) // 60) for r in nodata]
    assert len(set(quiet)) == len(quiet) and not busy & set(quiet)


def test_traffic_is_spread_over_all_enis():
    table = generate(records=2_000)
    assert set(table.column("interface_id").to_pylist()) == {eni.interface_id for eni in ENIS}


@pytest.mark.parametrize("kwargs", [
    {"records": 10, "aggregation_interval": 300},
    {},
    {"end": START},
])
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ValueError):
        generate(**kwargs)


def test_at_least_one_interface_is_needed():
    with pytest.raises(ValueError):
        generate_background_traffic([], seed=1, start=START, records=10)
