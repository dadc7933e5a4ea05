"""Logs Insights: the console and documentation sample queries for VPC flow logs
(docs/aws-behaviour.md, "Sample queries"), each checked against the same answer computed in plain Python
over the same generated flow-log events.
"""
from __future__ import annotations

import random
import statistics
from collections import Counter, defaultdict
from datetime import datetime, timezone

import pytest

from labkit.localcloud.logs.insights import decode_ptr, events_relation, run_query

FLOW_GROUP = "/vpc/flow-logs"
APP_GROUP = "/app/web"
START_S = 1_700_000_000          # 800 s past an hour boundary, so bins do not line up with the data
END_S = START_S + 6 * 3600
NAT_IP = "10.0.0.9"
VPC_PREFIX = "10.0."
NAMES = ["version", "accountId", "interfaceId", "srcAddr", "dstAddr", "srcPort", "dstPort", "protocol",
         "packets", "bytes", "startTime", "endTime", "action", "logStatus"]
NUMERIC = {"version", "srcPort", "dstPort", "protocol", "packets", "bytes", "startTime", "endTime"}


# --- the data and its plain-Python reading ------------------------------------------------------

def _address(rng: random.Random) -> str:
    return rng.choice([
        lambda: f"10.0.1.{rng.randint(1, 30)}", lambda: f"192.0.2.{rng.randint(1, 20)}",
        lambda: f"203.0.113.{rng.randint(1, 40)}", lambda: NAT_IP,
    ])()


def _flow_message(rng: random.Random, start: int) -> str:
    eni = f"eni-{rng.randint(1, 4):017d}"
    status = rng.choices(["OK", "NODATA", "SKIPDATA"], [96, 2, 2])[0]
    if status != "OK":
        return f"2 123456789012 {eni} - - - - - - - {start} {start + 59} - {status}"
    if rng.random() < 0.01:
        src, dst = "2001:db8:1234:a100::5", "2001:db8:1234:a102::9"
    else:
        src, dst = _address(rng), _address(rng)
    packets = rng.randint(1, 50)
    return " ".join(map(str, [
        2, "123456789012", eni, src, dst, rng.randint(1024, 65535), rng.choice([22, 80, 443, 3389, 53]),
        rng.choices([6, 17, 1], [80, 15, 5])[0], packets, packets * rng.randint(40, 1500), start, start + 59,
        rng.choices(["ACCEPT", "REJECT"], [75, 25])[0], "OK",
    ]))


def _make_events() -> list[dict]:
    rng = random.Random(20240601)
    events = []
    for _ in range(3000):
        start = START_S + rng.randint(0, END_S - START_S - 60)
        message = _flow_message(rng, start)
        stream = message.split(" ")[2] + "-all"
        events.append(dict(log_group=FLOW_GROUP, log_stream=stream, timestamp_ms=start * 1000 + rng.randint(0, 999),
                           ingestion_time_ms=(start + 300) * 1000, message=message))
    for index in range(200):
        timestamp = (START_S + rng.randint(0, END_S - START_S)) * 1000
        message = rng.choice(["GET /index.html 200 12ms", "NullPointerException at Handler.java:42",
                              "POST /login 500 340ms", "IOException: broken pipe"])
        events.append(dict(log_group=APP_GROUP, log_stream=f"web-{index % 3}", timestamp_ms=timestamp,
                           ingestion_time_ms=timestamp + 1000, message=message))
    return events


EVENTS = _make_events()


def _record(event: dict) -> dict | None:
    """The discovered fields of a flow-log event, numbers as ints; None for other events."""
    parts = event["message"].split(" ")
    if event["log_group"] != FLOW_GROUP:
        return None
    record = dict(zip(NAMES, parts))
    for name in NUMERIC:
        record[name] = None if record[name] == "-" else int(record[name])
    record["@timestamp"] = event["timestamp_ms"]
    return record


RECORDS = [r for r in map(_record, EVENTS) if r is not None]


def _bin(timestamp_ms: int, period_ms: int) -> str:
    start = timestamp_ms // period_ms * period_ms
    return datetime.fromtimestamp(start / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


@pytest.fixture(scope="module")
def events():
    return events_relation(EVENTS)


def run(events, query: str, **options):
    return run_query(query, events, START_S, END_S, **options)


def rows(result) -> list[dict[str, str]]:
    return [{cell["field"]: cell["value"] for cell in row if cell["field"] != "@ptr"} for row in result.results]


def assert_top(actual: list[dict], expected: list[dict], sort_field: str, limit: int) -> None:
    """Top-N with ties: the sort values must match in order, and every row must be a true row."""
    assert [row[sort_field] for row in actual] == [row[sort_field] for row in expected[:limit]]
    for row in actual:
        assert row in expected


def python_group(records, keys, value=None, predicate=lambda r: True) -> dict[tuple, list]:
    groups = defaultdict(list)
    for record in records:
        if predicate(record):
            groups[tuple(record[k] for k in keys)].append(record[value] if value else record)
    return groups


def python_sum_top(records, keys, value, alias, predicate=lambda r: True) -> list[dict]:
    """`stats sum(value) as alias by keys | sort alias desc` in plain Python."""
    out = []
    for key, values in python_group(records, keys, value, predicate).items():
        present = [v for v in values if v is not None]
        row = dict(zip(keys, key))
        if present:
            row[alias] = str(sum(present))
        out.append(row)
    return sorted(out, key=lambda row: -int(row.get(alias, -1)))


# --- console "Sample queries -> VPC Flow Logs" (docs/aws-behaviour.md, "Sample queries") ------

def test_console_average_min_max_bytes_by_source_and_destination(events):
    result = run(events, "stats avg(bytes), min(bytes), max(bytes) by srcAddr, dstAddr",
                 limit=10_000, log_groups=[FLOW_GROUP])
    expected = {}
    for (src, dst), values in python_group(RECORDS, ["srcAddr", "dstAddr"], "bytes").items():
        present = [v for v in values if v is not None]
        expected[(src, dst)] = (statistics.fmean(present), min(present), max(present)) if present else None
    actual = rows(result)
    assert len(actual) == len(expected)
    for row in actual:
        want = expected[(row["srcAddr"], row["dstAddr"])]
        if want is None:  # NODATA/SKIPDATA groups have no bytes at all
            assert set(row) == {"srcAddr", "dstAddr"}
            continue
        assert list(row) == ["srcAddr", "dstAddr", "avg(bytes)", "min(bytes)", "max(bytes)"]
        assert float(row["avg(bytes)"]) == pytest.approx(want[0], rel=1e-12)
        assert (row["min(bytes)"], row["max(bytes)"]) == (str(want[1]), str(want[2]))


def test_console_ip_addresses_using_udp(events):
    result = run(events, "filter protocol=17 | stats count(*) by srcAddr")
    expected = Counter(r["srcAddr"] for r in RECORDS if r["protocol"] == 17)
    assert {row["srcAddr"]: row["count(*)"] for row in rows(result)} == {k: str(v) for k, v in expected.items()}
    assert result.statistics["recordsMatched"] == sum(expected.values())


def test_console_top_10_byte_transfers(events):
    result = run(events, "stats sum(bytes) as bytesTransferred by srcAddr, dstAddr "
                         "| sort bytesTransferred desc | limit 10")
    expected = python_sum_top(RECORDS, ["srcAddr", "dstAddr"], "bytes", "bytesTransferred")
    assert_top(rows(result), expected, "bytesTransferred", 10)


def test_console_top_20_rejected_sources(events):
    result = run(events, 'filter action="REJECT" | stats count(*) as numRejections by srcAddr '
                         '| sort numRejections desc | limit 20')
    counts = Counter(r["srcAddr"] for r in RECORDS if r["action"] == "REJECT")
    expected = [{"srcAddr": k, "numRejections": str(v)} for k, v in sorted(counts.items(), key=lambda kv: -kv[1])]
    assert_top(rows(result), expected, "numRejections", 20)
    assert len(result.results) == 20


def test_console_top_15_packet_transfers(events):
    result = run(events, "stats sum(packets) as packetsTransferred by srcAddr, dstAddr "
                         "| sort packetsTransferred desc | limit 15")
    expected = python_sum_top(RECORDS, ["srcAddr", "dstAddr"], "packets", "packetsTransferred")
    assert_top(rows(result), expected, "packetsTransferred", 15)


def test_console_skipped_records_by_hour(events):
    result = run(events, 'filter logStatus="SKIPDATA" | stats count(*) by bin(1h) as t | sort t')
    counts = Counter(_bin(r["@timestamp"], 3_600_000) for r in RECORDS if r["logStatus"] == "SKIPDATA")
    assert rows(result) == [{"t": t, "count(*)": str(n)} for t, n in sorted(counts.items())]


# --- documentation samples (docs/aws-behaviour.md, "Sample queries") and community variants -------

def test_doc_bytes_from_a_subnet_by_destination(events):
    result = run(events, 'filter isIpv4InSubnet(srcAddr, "192.0.2.0/24") | stats sum(bytes) as bytesTransferred '
                         'by dstAddr | sort bytesTransferred desc | limit 15')
    expected = python_sum_top(RECORDS, ["dstAddr"], "bytes", "bytesTransferred",
                              lambda r: r["srcAddr"].startswith("192.0.2."))
    assert_top(rows(result), expected, "bytesTransferred", 15)


NAT_QUERIES = {
    "into the NAT gateway from the VPC": (
        f"filter (dstAddr like '{NAT_IP}' and srcAddr like '{VPC_PREFIX}')",
        lambda r: NAT_IP in r["dstAddr"] and VPC_PREFIX in r["srcAddr"]),
    "through the NAT gateway both ways": (
        f"filter (dstAddr like '{NAT_IP}' and srcAddr like '{VPC_PREFIX}') "
        f"or (srcAddr like '{NAT_IP}' and dstAddr like '{VPC_PREFIX}')",
        lambda r: (NAT_IP in r["dstAddr"] and VPC_PREFIX in r["srcAddr"])
        or (NAT_IP in r["srcAddr"] and VPC_PREFIX in r["dstAddr"])),
    "from the NAT gateway to the internet": (
        f"filter (srcAddr like '{NAT_IP}' and dstAddr not like '{VPC_PREFIX}')",
        lambda r: NAT_IP in r["srcAddr"] and VPC_PREFIX not in r["dstAddr"]),
    "into the NAT gateway from the internet": (
        f"filter (dstAddr like '{NAT_IP}' and srcAddr not like '{VPC_PREFIX}')",
        lambda r: NAT_IP in r["dstAddr"] and VPC_PREFIX not in r["srcAddr"]),
}


@pytest.mark.parametrize("title", NAT_QUERIES)
def test_doc_nat_gateway_top_contributors(events, title):
    condition, predicate = NAT_QUERIES[title]
    query = (f"{condition}\n| stats sum(bytes) as bytesTransferred by srcAddr, dstAddr"
             "\n| sort bytesTransferred desc\n| limit 10")
    expected = python_sum_top(RECORDS, ["srcAddr", "dstAddr"], "bytes", "bytesTransferred", predicate)
    assert expected, "the generated data must exercise this query"
    assert_top(rows(run(events, query)), expected, "bytesTransferred", 10)


def test_doc_latest_events(events):
    result = run(events, "fields @timestamp, @message | sort @timestamp desc | limit 25")
    newest = sorted(EVENTS, key=lambda e: -e["timestamp_ms"])[:25]
    assert [row["@timestamp"] for row in rows(result)] == [
        datetime.fromtimestamp(e["timestamp_ms"] / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        for e in newest]
    assert {row["@message"] for row in rows(result)} <= {e["message"] for e in newest}


def test_doc_exceptions_by_hour(events):
    result = run(events, "filter @message like /Exception/ | stats count(*) as exceptionCount by bin(1h) "
                         "| sort exceptionCount desc")
    counts = Counter(_bin(e["timestamp_ms"], 3_600_000) for e in EVENTS if "Exception" in e["message"])
    assert sorted((row["bin(1h)"], row["exceptionCount"]) for row in rows(result)) == \
        sorted((t, str(n)) for t, n in counts.items())
    assert [int(row["exceptionCount"]) for row in rows(result)] == sorted(counts.values(), reverse=True)


def test_community_rejects_from_inside_the_vpc(events):
    result = run(events, r'filter action="REJECT" and srcAddr like /^10\./ '
                         "| stats count(*) as numRejections by srcAddr | sort numRejections desc")
    counts = Counter(r["srcAddr"] for r in RECORDS if r["action"] == "REJECT" and r["srcAddr"].startswith("10."))
    assert {row["srcAddr"]: int(row["numRejections"]) for row in rows(result)} == counts


def test_lab_ssh_rejects_by_source_in_5_minute_bins(events):
    result = run(events, 'filter action="REJECT" and dstPort=22 and protocol=6 '
                         "| stats count(*) as attempts by srcAddr, bin(5m)")
    counts = Counter((r["srcAddr"], _bin(r["@timestamp"], 300_000)) for r in RECORDS
                     if r["action"] == "REJECT" and r["dstPort"] == 22 and r["protocol"] == 6)
    assert {(row["srcAddr"], row["bin(5m)"]): int(row["attempts"]) for row in rows(result)} == counts
    assert all(list(row) == ["srcAddr", "bin(5m)", "attempts"] for row in rows(result))


# --- result shape ---------------------------------------------------------------------------------

def test_event_rows_carry_a_pointer_to_their_record(events):
    result = run(events, 'filter action="REJECT" | fields srcAddr, dstPort | limit 5')
    for row in result.results:
        assert [cell["field"] for cell in row] == ["srcAddr", "dstPort", "@ptr"]
        assert all(isinstance(cell["value"], str) for cell in row)
        pointer = decode_ptr(row[-1]["value"])
        assert pointer.log_group == FLOW_GROUP
        event = next(e for e in EVENTS if e["log_stream"] == pointer.log_stream
                     and e["timestamp_ms"] == pointer.timestamp_ms)
        assert event["message"].split(" ")[3] == row[0]["value"]


def test_aggregated_rows_have_no_pointer(events):
    result = run(events, "stats count(*)")
    assert result.results == [[{"field": "count(*)", "value": str(len(EVENTS))}]]


def test_statistics_count_scanned_and_matched_events(events):
    result = run(events, 'filter action="ACCEPT" | limit 3', log_groups=[FLOW_GROUP])
    assert result.status == "Complete"
    assert result.statistics == {
        "recordsMatched": float(sum(r["action"] == "ACCEPT" for r in RECORDS)),
        "recordsScanned": float(len(RECORDS)),
        "bytesScanned": float(sum(len(e["message"].encode()) for e in EVENTS if e["log_group"] == FLOW_GROUP)),
    }


def test_time_range_is_inclusive_and_in_seconds(events):
    first = min(e["timestamp_ms"] for e in EVENTS) // 1000
    result = run_query("stats count(*)", events, first, first)
    expected = sum(first * 1000 <= e["timestamp_ms"] <= first * 1000 for e in EVENTS)
    assert rows(result) == ([{"count(*)": str(expected)}] if expected else [])


def test_without_limit_at_most_1000_rows_and_the_api_limit_applies(events):
    assert len(run(events, "fields @timestamp").results) == 1000
    assert len(run(events, "fields @timestamp", limit=7).results) == 7
    assert len(run(events, "fields @timestamp | limit 1500").results) == 1500


def test_fields_without_a_value_are_left_out(events):
    result = run(events, 'filter logStatus="NODATA" | fields srcAddr, bytes, logStatus | limit 1')
    assert rows(result) == [{"srcAddr": "-", "logStatus": "NODATA"}]


def test_query_without_fields_returns_every_field(events):
    row = rows(run(events, 'filter logStatus="OK" and protocol=6 | limit 1'))[0]
    assert {"@timestamp", "@message", "@logStream", "@log", "@ingestionTime"} <= set(row)
    assert set(NAMES) <= set(row)
    assert row["@log"] == f"123456789012:{FLOW_GROUP}"
