"""Filter-pattern behaviour a user relies on: the documented examples, the lab's flow-log patterns,
errors, and what metric filters need from a match. Live-AWS cases are in the conformance test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.localcloud.logs.filter_patterns import (
    InvalidFilterPattern,
    InvalidMetricTransformation,
    PatternKind,
    compile_filter_pattern,
    evaluate_test_metric_filter,
    validate_metric_value,
)

CONFORMANCE = Path(__file__).parents[1] / "data" / "conformance" / "cloudwatch-logs"

REJECTED_SSH = (
    '[version, account, eni, source, destination, srcport, destport="22", protocol="6", packets, bytes, '
    'windowstart, windowend, action="REJECT", flowlogstatus]'
)
ENI = "eni-1235b8ca123456789"
SSH_ACCEPTED = f"2 123456789010 {ENI} 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
RDP_REJECTED = f"2 123456789010 {ENI} 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK"
SSH_REJECTED = f"2 123456789010 {ENI} 198.51.100.7 172.31.9.12 49761 22 6 1 40 1418530010 1418530070 REJECT OK"
NO_DATA = f"2 123456789010 {ENI} - - - - - - - 1431280876 1431280934 - NODATA"
SSH_UDP_REJECTED = f"2 123456789010 {ENI} 198.51.100.7 172.31.9.12 49761 22 17 1 40 1418530010 1418530070 REJECT OK"
PORT_2222_REJECTED = (
    f"2 123456789010 {ENI} 198.51.100.7 172.31.9.12 49761 2222 6 1 40 1418530010 1418530070 REJECT OK"
)


def matching(pattern: str, messages: list[str]) -> list[str]:
    compiled = compile_filter_pattern(pattern)
    return [message for message in messages if compiled.match(message)]


class TestFlowLogPatterns:
    def test_rejected_ssh_matches_only_rejected_tcp_port_22(self) -> None:
        events = [SSH_ACCEPTED, RDP_REJECTED, SSH_REJECTED, NO_DATA, SSH_UDP_REJECTED, PORT_2222_REJECTED]
        assert matching(REJECTED_SSH, events) == [SSH_REJECTED]

    def test_rejected_ssh_extracts_every_field(self) -> None:
        result = compile_filter_pattern(REJECTED_SSH).match(SSH_REJECTED)
        assert result is not None
        assert result.extracted_values == {
            "$version": "2",
            "$account": "123456789010",
            "$eni": ENI,
            "$source": "198.51.100.7",
            "$destination": "172.31.9.12",
            "$srcport": "49761",
            "$destport": "22",
            "$protocol": "6",
            "$packets": "1",
            "$bytes": "40",
            "$windowstart": "1418530010",
            "$windowend": "1418530070",
            "$action": "REJECT",
            "$flowlogstatus": "OK",
        }

    def test_the_last_name_absorbs_the_extra_fields_of_a_longer_record(self) -> None:
        longer = SSH_REJECTED + " vpc-0abc subnet-0def i-0123 3 IPv4"
        result = compile_filter_pattern(REJECTED_SSH).match(longer)
        assert result is not None
        assert result.extracted_values["$flowlogstatus"] == "OK vpc-0abc subnet-0def i-0123 3 IPv4"

    @pytest.mark.parametrize(
        ("condition", "expected"),
        [
            ("dstport = 80 || dstport = 8080", []),
            ("dstport >= 3000 && dstport < 4000", [RDP_REJECTED]),
            ("dstport", [SSH_ACCEPTED, RDP_REJECTED]),
        ],
    )
    def test_search_conditions_on_the_destination_port(self, condition: str, expected: list[str]) -> None:
        pattern = (
            f"[version, accountid, interfaceid, srcaddr, dstaddr, srcport, {condition}, protocol, packets, "
            "bytes, start, end, action, logstatus]"
        )
        assert matching(pattern, [SSH_ACCEPTED, RDP_REJECTED]) == expected

    def test_wildcard_address_numeric_bytes_and_action(self) -> None:
        prefix = "[version, accountid, interfaceid, "
        events = [SSH_ACCEPTED, RDP_REJECTED]
        assert matching(prefix + "srcaddr = 172.31.9.*, dstaddr, ...]", events) == [RDP_REJECTED]
        assert matching(prefix + "..., bytes >= 400, start, end, action, logstatus]", events) == events
        assert matching(prefix + "..., bytes >= 400, start, end, action = REJECT, logstatus]", events) == [
            RDP_REJECTED
        ]

    def test_numeric_and_quoted_values(self) -> None:
        assert matching("[a=22, rest]", ["22 x", "22.0 x", "022 x", "2222 x", "- x"]) == ["22 x", "22.0 x", "022 x"]
        assert matching('[a="22", rest]', ["22 x", "22.0 x", "022 x"]) == ["22 x"]
        assert matching("[a!=22, rest]", ["22 x", "23 x", "- x"]) == ["23 x", "- x"]

    def test_term_patterns_are_substrings(self) -> None:
        assert matching("REJECT -NODATA", [SSH_ACCEPTED, RDP_REJECTED, NO_DATA]) == [RDP_REJECTED]
        # a term matches "22" anywhere (here inside port 2222), so it cannot single out the SSH port
        assert matching("22", [PORT_2222_REJECTED, RDP_REJECTED]) == [PORT_2222_REJECTED]


class TestDocumentedExamples:
    E1 = json.dumps(
        {
            "eventType": "UpdateTrail",
            "sourceIPAddress": "111.111.111.111",
            "arrayKey": ["value", "another value"],
            "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
            "SomeObject": None,
            "cluster.name": "c",
        }
    )
    E2 = json.dumps(
        {
            "user": {"id": 1, "email": "John.Stiles@example.com"},
            "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
            "actions": ["GET", "PUT", "DELETE"],
            "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
        }
    )

    @pytest.mark.parametrize(
        "pattern",
        [
            '{ $.eventType = "UpdateTrail" }',
            "{ $.sourceIPAddress != 123.123.* }",
            '{ $.arrayKey[0] = "value" }',
            "{ $.objectList[1].id = 2 }",
            "{ $.eventType = %Trail% }",
            "{ $.arrayKey[*] = %val.{2}% }",
            r"{ $.* = %111\.111\.111\.1[0-9]{1,2}% }",
            "{ $.['cluster.name'] = \"c\" }",
            "{ $.SomeObject IS NULL }",
            "{ $.SomeOtherObject NOT EXISTS }",
            '{ $.eventType = "*" && $.sourceIPAddress != 123.123.* }',
        ],
    )
    def test_json_examples_match_event_one(self, pattern: str) -> None:
        assert compile_filter_pattern(pattern).match(self.E1) is not None

    @pytest.mark.parametrize(
        ("pattern", "matches"),
        [
            ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
            (
                '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch"'
                ' && $.actions[2] = "nonmatch" }',
                True,
            ),
            (
                '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch")'
                ' && $.actions[2] = "nonmatch" }',
                False,
            ),
            ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
        ],
    )
    def test_and_binds_tighter_than_or(self, pattern: str, matches: bool) -> None:
        assert (compile_filter_pattern(pattern).match(self.E2) is not None) is matches

    APACHE = '127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'

    def test_apache_line_extraction(self) -> None:
        pattern = "[ip, user, username, timestamp, request =*.html*, status_code = 4*, bytes]"
        result = compile_filter_pattern(pattern).match(self.APACHE)
        assert result is not None
        assert result.extracted_values == {
            "$ip": "127.0.0.1",
            "$user": "Prod",
            "$username": "frank",
            "$timestamp": "10/Oct/2000:13:25:15 -0700",
            "$request": "GET /index.html HTTP/1.0",
            "$status_code": "404",
            "$bytes": "1534",
        }

    @pytest.mark.parametrize(
        "pattern",
        [
            "[..., request =*.html*, status_code = 4*, bytes]",
            "[ip, user, username, timestamp, request =*.html*, status_code = 404 || status_code = 410, bytes]",
            "[ip, server, username, timestamp, request, status_code, bytes > 1000]",
            r"[ip=%127\.0\.0\.[1-9]%, user, username, timestamp, request =*.html*, status_code = 4*, bytes]",
        ],
    )
    def test_apache_line_patterns(self, pattern: str) -> None:
        assert compile_filter_pattern(pattern).match(self.APACHE) is not None

    LINES = [
        "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200",
        "INFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310",
        "WARNING 09/25/2014 12:00:02 Invalid user request",
        "ERROR 09/25/2014 12:00:02 Failed to process request",
    ]

    @pytest.mark.parametrize(
        ("pattern", "matched_lines"),
        [
            ("[w1=ERROR, w2]", [4]),
            ("[w1=ERROR || w1=WARNING, w2]", [3, 4]),
            ("[w1!=ERROR && w1!=WARNING, w2]", [1, 2]),
            ("[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]", [1]),
            ("[logLevel, date, time, method, url=%/service/resource/[0-9]+/part/[0-9]+$%, response_time]", [2]),
        ],
    )
    def test_log_level_patterns(self, pattern: str, matched_lines: list[int]) -> None:
        compiled = compile_filter_pattern(pattern)
        assert [n for n, line in enumerate(self.LINES, 1) if compiled.match(line)] == matched_lines


class TestErrors:
    @pytest.mark.parametrize("pattern", ["[a, b", "[a, (b)]", "{ $.a = 1 ", "- ERROR", '"a"b', "{ $.a > 4* }"])
    def test_malformed_patterns_are_rejected(self, pattern: str) -> None:
        with pytest.raises(InvalidFilterPattern):
            compile_filter_pattern(pattern)

    def test_three_regexes_in_a_space_delimited_pattern(self) -> None:
        with pytest.raises(InvalidFilterPattern, match="maximum of 2 regular expressions"):
            compile_filter_pattern("[a=%1%, b=%2%, c=%3%]")

    def test_error_carries_the_aws_error_code(self) -> None:
        with pytest.raises(InvalidFilterPattern) as raised:
            compile_filter_pattern("ERROR!")
        assert raised.value.error_code == "InvalidParameterException"


class TestRegexDialect:
    """AWS regexes behave like RE2 (the live cases pin possessive/lazy quantifiers and escapes)."""

    @pytest.mark.parametrize(
        ("regex", "event", "matches"),
        [
            ("%ERROR$%", "an ERROR", True),
            ("%ERROR$%", "ERROR\n", False),  # `$` is the end of the text, not of a line
            (r"%a\z%", "ba", True),
            ("%[$]%", "a$b", True),
            ("%^[[:digit:]]+$%", "123", True),
            ("%^[[:digit:]]+$%", "12a", False),
            (r"%^\w+$%", "café", False),  # class escapes are ASCII-only
        ],
    )
    def test_re2_syntax(self, regex: str, event: str, matches: bool) -> None:
        assert (compile_filter_pattern(regex).match(event) is not None) is matches

    @pytest.mark.parametrize("regex", ["%a{1001}%", r"%\Z%", "%[[:nope:]]%", "%a*{2}%"])
    def test_what_re2_cannot_compile(self, regex: str) -> None:
        with pytest.raises(InvalidFilterPattern, match=r"^Failed to compile regular expression\.$"):
            compile_filter_pattern(regex)


class TestMetricFilterSupport:
    def test_kinds_dimensions_and_regex_counts(self) -> None:
        cases = {
            "ERROR": (PatternKind.TERMS, False, 0),
            "%ERR%": (PatternKind.REGEX, False, 1),
            "{ $.a = %1% || $.b = 2 }": (PatternKind.JSON, True, 1),
            "[a=%x%, b=%y%]": (PatternKind.DELIMITED, True, 2),
        }
        for text, expected in cases.items():
            pattern = compile_filter_pattern(text)
            assert (pattern.kind, pattern.supports_dimensions, pattern.regex_count) == expected, text

    def test_json_references_resolve_against_the_event(self) -> None:
        pattern = compile_filter_pattern('{ $.probe = "value" || $.value = * }')

        def value_of(event: dict) -> str | None:
            result = pattern.match(json.dumps(event))
            assert result is not None
            return result.reference_value("$.value")

        assert value_of({"probe": "value"}) is None
        assert value_of({"probe": "value", "value": None}) is None
        assert value_of({"probe": "value", "value": "not-a-number"}) == "not-a-number"
        assert value_of({"probe": "value", "value": 3}) == "3"
        assert value_of({"value": 2.5}) == "2.5"

    def test_space_delimited_references_resolve_to_fields(self) -> None:
        result = compile_filter_pattern(REJECTED_SSH).match(SSH_REJECTED)
        assert result is not None
        assert result.reference_value("$bytes") == "40"
        assert result.reference_value("$missing") is None

    def test_metric_value_validation_matches_live_aws(self) -> None:
        recorded = json.loads((CONFORMANCE / "metric-filter-reference-validation-aws.json").read_text())
        for case in recorded["cases"]:
            compile_filter_pattern(case["filterPattern"])
            expected = case["expected"]
            if expected["accepted"]:
                validate_metric_value(case["metricValue"])
            else:
                with pytest.raises(InvalidMetricTransformation) as raised:
                    validate_metric_value(case["metricValue"])
                assert (raised.value.error_code, raised.value.message) == (
                    expected["errorCode"],
                    expected["message"],
                )

    @pytest.mark.parametrize("metric_value", ["1", "2.5", "$bytes", "$.a.b[0]", "$.['x.y']"])
    def test_metric_values_that_are_accepted(self, metric_value: str) -> None:
        validate_metric_value(metric_value)

    def test_test_metric_filter_response_body(self) -> None:
        body = evaluate_test_metric_filter("[a=ERROR, rest]", ["INFO x", "ERROR disk full"])
        assert body == {
            "matches": [
                {
                    "eventNumber": 2,
                    "eventMessage": "ERROR disk full",
                    "extractedValues": {"$a": "ERROR", "$rest": "disk full"},
                }
            ]
        }
