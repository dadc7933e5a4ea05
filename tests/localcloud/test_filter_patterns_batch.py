"""The batch API must give exactly the answers of per-event matching, whatever the events look like."""

from __future__ import annotations

import random

import pytest

from labkit.localcloud.logs.filter_patterns import compile_filter_pattern
from labkit.localcloud.logs.filter_patterns.delimited import parse_delimited_pattern

REJECTED_SSH = (
    '[version, account, eni, source, destination, srcport, destport="22", protocol="6", packets, bytes, '
    'windowstart, windowend, action="REJECT", flowlogstatus]'
)
FIELDS = ["22", "6", "17", "REJECT", "ACCEPT", "OK", "NODATA", "-", "22.0", "022", "2222", "1", "1.0", "x"]
FIELDS += ["ERROR", "404", "index.html", "*", "é", '"two words"', '"22"', "[22]", '""', '"unclosed', "[open", 'a"b']
SEPARATORS = [" ", " ", " ", "  ", "\t", " \t ", "\n", "\r", "\x0b"]


def varied_events(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    events = []
    for _ in range(count):
        fields = [rng.choice(FIELDS) for _ in range(rng.randrange(0, 17))]
        text = "".join(field + rng.choice(SEPARATORS) for field in fields)
        events.append(rng.choice(["", " ", "\t"]) + (text if rng.random() < 0.5 else text.rstrip()))
    return events


def flow_log_events(count: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    events = []
    for _ in range(count):
        if rng.random() < 0.1:
            events.append("2 123456789010 eni-0a1b2c3d - - - - - - - 1431280876 1431280934 - NODATA")
            continue
        port = rng.choice(["22", "80", "443", "3389", "2222"])
        events.append(
            f"2 123456789010 eni-0a1b2c3d 198.51.100.{rng.randrange(256)} 172.31.9.12 {rng.randrange(1024, 65536)} "
            f"{port} {rng.choice(['6', '17'])} 1 40 1418530010 1418530070 {rng.choice(['ACCEPT', 'REJECT'])} OK"
        )
    return events


EVENTS = varied_events(3000) + flow_log_events(1000)

PATTERNS = [
    REJECTED_SSH,
    "[]",
    "[a]",
    "[a, b]",
    "[a, b, c]",
    "[, b,]",
    "[a,]",
    "[a=22, rest]",
    "[a=%2+%, rest]",
    "[a, b=22]",
    '[a, b="two words"]',
    "[a, b!=x]",
    '[a="22" || a=REJECT, b]',
    "[a!=22 && a!=6, b, c]",
    "[a=2*, b=*.html*, c]",
    '[a="", b]',
    "[a=*, b]",
    "[a>=6, b<=22, c]",
    "[a=1 || a=x, b]",
    "[..., a=REJECT, b]",
    "[a, ...]",
]


@pytest.mark.parametrize("text", PATTERNS)
def test_match_many_agrees_with_match(text: str) -> None:
    pattern = compile_filter_pattern(text)
    tokenizer_only = parse_delimited_pattern(text.strip()[1:-1])
    expected = [tokenizer_only.match(event) is not None for event in EVENTS]
    assert pattern.match_many(EVENTS) == expected
    assert [pattern.match(event) is not None for event in EVENTS] == expected
    if text != "[]":  # `[]` matches every event
        assert 0 < sum(expected) < len(expected), "the sample must both match and miss"


def test_match_many_without_special_characters_uses_the_same_answers() -> None:
    # flow-log events alone take the all-regex path (no quotes, brackets or tabs anywhere in the batch)
    events = flow_log_events(2000, seed=9)
    pattern = compile_filter_pattern(REJECTED_SSH)
    assert pattern.match_many(events) == [pattern.match(event) is not None for event in events]
    assert 0 < sum(pattern.match_many(events)) < len(events)


@pytest.mark.parametrize("text", ["ERROR -timeout", "?ERROR ?WARN", "%ERR.R%", '{ $.a = 1 }'])
def test_match_many_for_other_pattern_kinds(text: str) -> None:
    events = ["ERROR", "ERROR timeout", "WARN", '{"a": 1}', '{"a": 2}', ""]
    pattern = compile_filter_pattern(text)
    assert pattern.match_many(events) == [pattern.match(event) is not None for event in events]
