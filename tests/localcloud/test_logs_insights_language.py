"""Logs Insights language details over a handful of known events: parse, dedup, display, sort and
limit, bin(), comparisons, functions, and the MalformedQueryException a bad query gets."""
from __future__ import annotations

import pytest

from labkit.localcloud.logs.insights import MalformedQueryError, events_relation, run_query

# Example records from the VPC Flow Logs documentation (docs/aws-behaviour.md, "Example records"), one event each.
RECORDS = [
    "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
    "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
    "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
    "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA",
    "2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK",
    "2 123456789010 eni-1235b8ca123456789 172.31.16.139 203.0.113.12 0 0 1 4 336 1432917094 1432917142 REJECT OK",
    "2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 "
    "2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK",
]
APP_MESSAGES = ["user=alice, method:GET, latency := 9", "user=bob, method:POST, latency := 120",
                "user=carol, method:GET, latency := 35", "no user here"]


def _events() -> list[dict]:
    events = []
    for index, message in enumerate(RECORDS):
        start = int(message.split(" ")[10])
        events.append(dict(log_group="/vpc/flow", log_stream=message.split(" ")[2] + "-all",
                           timestamp_ms=start * 1000 + index, ingestion_time_ms=start * 1000 + 300_000,
                           message=message))
    for index, message in enumerate(APP_MESSAGES):
        events.append(dict(log_group="/app", log_stream="app-1", timestamp_ms=1_500_000_000_000 + index * 61_000,
                           ingestion_time_ms=1_500_000_000_000, message=message))
    return events


@pytest.fixture(scope="module")
def events():
    return events_relation(_events())


def rows(events, query: str, **options) -> list[dict[str, str]]:
    result = run_query(query, events, 0, 2_000_000_000, **options)
    return [{cell["field"]: cell["value"] for cell in row if cell["field"] != "@ptr"} for row in result.results]


def values(events, query: str, field: str) -> list[str | None]:
    return [row.get(field) for row in rows(events, query)]


# --- parse ----------------------------------------------------------------------------------------

def test_parse_glob_fills_one_field_per_star(events):
    result = rows(events, 'parse @message "user=*, method:*, latency := *" as @user, @method, @latency '
                          "| filter ispresent(@user) | sort @user | display @user, @method, @latency")
    assert result == [
        {"@user": "alice", "@method": "GET", "@latency": "9"},
        {"@user": "bob", "@method": "POST", "@latency": "120"},
        {"@user": "carol", "@method": "GET", "@latency": "35"},
    ]


def test_parse_regex_named_groups_and_stats_over_them(events):
    result = rows(events, r"parse @message /user=(?<user2>.*?), method:(?<method2>\w+)/ "
                          "| stats count(*) as n by method2 | sort method2")
    assert {row.get("method2"): row["n"] for row in result} == {"GET": "2", "POST": "1", None: "8"}


def test_parsed_numbers_compare_as_numbers(events):
    # As strings "9" > "100" would hold; Insights compares a parsed value with a number numerically.
    result = values(events, 'parse @message "latency := *" as latency | filter latency > 100 | display latency',
                    "latency")
    assert result == ["120"]


def test_parse_that_does_not_match_leaves_the_field_absent(events):
    result = rows(events, 'parse @message "user=*," as user | filter @message = "no user here" | fields user')
    assert result == [{}]


def test_parse_custom_format_records_by_position(events):
    result = values(events, 'parse @message "* * * * * * * * * * * * * *" as v, acct, eni, src, dst, sp, dp, '
                            "proto, pk, bytes_, st, en, act, status | filter act = \"REJECT\" | sort src | display src",
                    "src")
    assert result == ["172.31.16.139", "172.31.9.69"]


# --- dedup, display, sort, limit -------------------------------------------------------------------

def test_dedup_keeps_the_first_row_in_sort_order_and_rows_without_the_field(events):
    result = rows(events, "fields interfaceId, @timestamp | sort @timestamp asc | dedup interfaceId")
    by_eni = {row.get("interfaceId"): row["@timestamp"] for row in result if "interfaceId" in row}
    assert by_eni == {"eni-1235b8ca123456789": "2014-12-14 04:06:50.000",
                      "eni-11111111aaaaaaaaa": "2015-05-10 18:01:16.003"}
    assert sum("interfaceId" not in row for row in result) == len(APP_MESSAGES)  # nulls are never duplicates


def test_dedup_without_sort_keeps_the_newest(events):
    result = rows(events, 'filter @log like "flow" | fields @timestamp, interfaceId | dedup interfaceId')
    assert {row["interfaceId"]: row["@timestamp"] for row in result} == {
        "eni-1235b8ca123456789": "2016-10-31 11:35:08.006", "eni-11111111aaaaaaaaa": "2015-05-10 18:01:16.003"}


def test_only_the_last_display_counts(events):
    result = rows(events, 'fields srcAddr, dstAddr | display srcAddr | filter action = "REJECT" '
                          "| display dstAddr | sort dstAddr")
    assert result == [{"dstAddr": "172.31.9.12"}, {"dstAddr": "203.0.113.12"}]


def test_sort_numeric_fields_numerically_and_limit(events):
    assert values(events, "filter ispresent(bytes) | sort bytes desc, srcAddr asc | limit 3 | fields bytes",
                  "bytes") == ["8855", "4249", "4249"]
    assert values(events, "filter ispresent(dstPort) | sort dstPort asc | fields dstPort", "dstPort") == \
        ["0", "0", "22", "22", "3389"]


def test_limit_then_filter_filters_the_limited_rows(events):
    assert values(events, "sort @timestamp asc | limit 2 | filter action = 'REJECT' | fields action", "action") \
        == ["REJECT"]


# --- bin() and time functions -----------------------------------------------------------------------

def test_bin_buckets_by_period_and_formats_timestamps(events):
    result = rows(events, 'filter @log like "app" | stats count(*) by bin(2m)')
    # App events at +0, +61, +122, +183 s from 2017-07-14 02:40:00 UTC.
    assert result == [
        {"bin(2m)": "2017-07-14 02:40:00.000", "count(*)": "2"},
        {"bin(2m)": "2017-07-14 02:42:00.000", "count(*)": "2"},
    ]


@pytest.mark.parametrize("expression, expected", [
    ("datefloor(@timestamp, 1h)", "2017-07-14 02:00:00.000"),
    ("dateceil(@timestamp, 1h)", "2017-07-14 03:00:00.000"),
    ("datefloor(@timestamp, 1d)", "2017-07-14 00:00:00.000"),
    ("datefloor(@timestamp, 1mo)", "2017-07-01 00:00:00.000"),
    ("datefloor(@timestamp, 1y)", "2017-01-01 00:00:00.000"),
    ("datefloor(@timestamp, 1w)", "2017-07-10 00:00:00.000"),  # a Monday
    ("fromMillis(1418530010000)", "2014-12-14 04:06:50.000"),
    ("toMillis(@timestamp)", "1500000061000"),
    ("@ingestionTime", "2017-07-14 02:40:00.000"),
])
def test_time_functions(events, expression, expected):
    assert values(events, f'filter @message like "bob" | fields {expression} as v', "v") == [expected]


def test_earliest_latest_min_max(events):
    result = rows(events, 'filter @log like "app" | stats earliest(@message) as first, latest(@message) as last, '
                          "earliest(@timestamp) as t0, max(@timestamp) as t1")
    assert result == [{"first": APP_MESSAGES[0], "last": APP_MESSAGES[-1], "t0": "1500000000000",
                       "t1": "1500000183000"}]


# --- comparisons and functions ----------------------------------------------------------------------

@pytest.mark.parametrize("condition, expected", [
    ("dstPort = 22", 2),
    ('dstPort = "22"', 2),
    ("dstPort >= 22 and dstPort < 3389", 2),
    ('srcAddr = "172.31.16.139"', 2),
    ('srcAddr != "172.31.16.139" and ispresent(srcAddr)', 5),
    ("protocol in [1, 17]", 2),
    ('action in ["REJECT"]', 2),
    ('action not in ["REJECT", "ACCEPT"]', 2),
    ('interfaceId like "111"', 1),
    ("interfaceId like /^eni-1235/", 6),
    ("interfaceId =~ /A{3}/", 0),
    ("interfaceId like /(?i)A{3}/", 1),
    ('not (action = "ACCEPT") and ispresent(action)', 4),
    ("bytes * 2 > 8000 and bytes % 2 = 1", 3),
    ("packets / 4 = 5", 2),
    ("2 ^ protocol = 64", 3),
    ("isValidIpV4(srcAddr)", 4),
    ("isValidIp(srcAddr)", 5),
    ("isValidIpV6(dstAddr)", 1),
    ('isIpv4InSubnet(srcAddr, "172.31.0.0/16")', 3),
    ('isIpv4InSubnet(srcAddr, "172.31.0.0/20")', 1),
    ('isIpv4InSubnet(srcAddr, "172.31.16.139/32")', 2),
    ('isIpInSubnet(srcAddr, "2001:db8:1234:a100::/64")', 1),
    ('isIpv6InSubnet(dstAddr, "2001:db8:1234:a100::/64")', 0),
    ('strcontains(@message, "NODATA")', 1),
])
def test_filter_conditions(events, condition, expected):
    assert len(rows(events, f"filter {condition}")) == expected


@pytest.mark.parametrize("expression, expected", [
    ("strlen(interfaceId)", "21"),
    ("toupper(action)", "REJECT"),
    ("tolower(logStatus)", "ok"),
    ('concat(srcAddr, ":", srcPort)', "172.31.9.69:49761"),
    ("substr(interfaceId, 4, 4)", "1235"),
    ('replace(srcAddr, ".", "-")', "172-31-9-69"),
    ('ltrim("  x ")', "x "),
    ("bytes / 2", "2124.5"),
    ("bytes / 1", "4249"),
    ("abs(-3)", "3"),
    ("ceil(bytes / 1000)", "5"),
    ("greatest(srcPort, dstPort, 7)", "49761"),
    ('coalesce(nosuchfield, "fallback")', "fallback"),
    ('if(dstPort = 3389, "rdp", "other")', "rdp"),
    ("ispresent(nosuchfield)", "0"),
    ("isempty(nosuchfield)", "1"),
    ("`dstPort` + 1", "3390"),
    ('concat(bytes * 2, "|", bytes / 2, "|", 10 ^ 400, sqrt(-1), "|")', "8498|2124.5||"),  # no inf, nan or .0
])
def test_field_expressions(events, expression, expected):
    assert values(events, f'filter action = "REJECT" and dstPort = 3389 | fields {expression} as v', "v") == \
        [expected]


def test_unaliased_columns_are_named_after_their_expression(events):
    result = rows(events, 'filter action = "REJECT" | stats count(*), count(), count(srcAddr), sum(bytes), '
                          "avg(packets), pct(bytes, 50), count_distinct(dstAddr) by action")
    assert result == [{"action": "REJECT", "count(*)": "2", "count()": "2", "count(srcAddr)": "2",
                       "sum(bytes)": "4585", "avg(packets)": "12", "pct(bytes, 50)": "336",
                       "count_distinct(dstAddr)": "2"}]


def test_an_unaliased_operation_is_named_by_its_whole_text(events):
    # Both operands: the name was cut before the right one was read ("bytes *").
    result = rows(events, 'filter action = "REJECT" and dstPort = 3389 | fields bytes * 2, bytes - 1 > 0, '
                          "srcPort + dstPort")
    assert result == [{"bytes * 2": "8498", "bytes - 1 > 0": "1", "srcPort + dstPort": "53150"}]


def test_commands_keywords_and_functions_in_any_case(events):
    query = ('FILTER action = "REJECT" AND NOT (dstPort = 22) Or interfaceId LIKE "111" | '
             "STATS COUNT(*) AS n BY action | Sort n DESC | LIMIT 5")
    assert rows(events, query) == [{"action": "REJECT", "n": "2"}, {"action": "-", "n": "1"}]
    assert rows(events, "Filter dstPort IN [3389] | DISPLAY srcAddr, dstPort") == \
        [{"srcAddr": "172.31.9.69", "dstPort": "3389"}]


def test_count_of_a_field_counts_events_that_have_it(events):
    assert rows(events, "stats count(*) as all, count(bytes) as withBytes") == [{"all": "11", "withBytes": "5"}]


def test_comments_and_backticked_names(events):
    query = "# rejected traffic only\nfilter action = 'REJECT'  # inline note\n| stats count(*) as `rejected-count`"
    assert rows(events, query) == [{"rejected-count": "2"}]


def test_stats_over_no_events_returns_no_rows(events):
    assert rows(events, 'filter action = "NONE" | stats count(*)') == []


# --- malformed queries ----------------------------------------------------------------------------

@pytest.mark.parametrize("query, message, start", [
    ("", "unexpected symbol found <EOF> at line 1 and position 0", 0),
    ("filter action =", "unexpected symbol found <EOF> at line 1 and position 15", 15),
    ("stats count(*) by bin(5m) | sort bin(5m)", "unexpected symbol found ( at line 1 and position 36", 36),
    ("fields @message | dedup srcAddr | sort @timestamp desc",
     "unexpected symbol found sort at line 1 and position 34", 34),
    ("filter @message like /error/i", "unexpected symbol found i at line 1 and position 28", 28),
    ("fields @message\n| filtr action = 'REJECT'", "unexpected symbol found filtr at line 2 and position 2", 18),
    ("fields nosuchfunction(@message)", "unexpected symbol found ( at line 1 and position 21", 21),
    ("filter action = 'REJECT", "unexpected symbol found ' at line 1 and position 16", 16),
    ("fields count(*)", "unexpected symbol found count at line 1 and position 7", 7),
    ("stats count(*) by srcAddr | limit 20000", "unexpected symbol found 20000 at line 1 and position 34", 34),
    ('parse @message "* *" as a', "unexpected symbol found a at line 1 and position 24", 24),
    ("stats sum(bytes) by bin(5x)", "unexpected symbol found 5x at line 1 and position 24", 24),
    ('filter isIpv4InSubnet(srcAddr, "10.0.0.0/33")',
     'unexpected symbol found "10.0.0.0/33" at line 1 and position 31', 31),
])
def test_malformed_queries_report_the_symbol_and_its_position(events, query, message, start):
    with pytest.raises(MalformedQueryError) as raised:
        run_query(query, events, 0, 1)
    assert str(raised.value) == message
    error = raised.value.to_aws()
    assert error["__type"] == "MalformedQueryException"
    assert error["queryCompileError"]["location"]["startCharOffset"] == start


@pytest.mark.parametrize("query, command, start", [
    ("pattern @message", "pattern", 0), ("fields @message | unnest x into y", "unnest", 18),
    ("stats count(*) by srcAddr | diff", "diff", 28),
])
def test_aws_commands_the_local_cloud_does_not_run_are_named_as_such(events, query, command, start):
    with pytest.raises(MalformedQueryError, match=f"^The local cloud does not run the `{command}` command") as raised:
        run_query(query, events, 0, 1)
    assert raised.value.to_aws()["queryCompileError"]["location"]["startCharOffset"] == start
