"""No Logs Insights query gets an HTTP 500: each of a generated set of odd queries (fields no event has,
every command and function with odd arguments, keywords in any case) over events of every kind either
answers, every value a string, or is refused with MalformedQueryException
(docs/aws-behaviour.md, "Query language")."""
from __future__ import annotations

import json
import random

import pytest

from labkit.localcloud.logs.insights import MalformedQueryError, events_relation, run_query
from labkit.localcloud.logs.insights.functions import FUNCTIONS

MESSAGES = [
    "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
    "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
    "2 123456789010 eni-1 2001:db8::5 2001:db8::9 34892 22 6 54 8855 1477913708 1477913820 REJECT OK",
    json.dumps({"f1": 10, "f2": "a", "a": {"b": 1.50}, "arr": [1, {"x": "y"}], "ok": True, "none": None,
                "@at": "doubled", "bytes": 1.5, "action": "JSON", "big": 10 ** 30, "neg": -7, "s": "12abc"}),
    json.dumps({"f1": "text", "nested": {"deeper": {"deepest": [[], {}]}}, "unicode": "\u00e9\u4e2d"}),
    '{"unterminated": ',
    "[1, 2, 3]",
    "   {\"spaced\": 1}",
    "user=alice, method:GET, latency := 9",
    "caf\u00e9 \u2014 no fields",
    "\u0000 control \t characters",
]
FIELDS = ["noSuchField", "`no such field`", "@timestamp", "@message", "@logStream", "@log", "@ingestionTime",
          "srcAddr", "bytes", "dstPort", "action", "startTime", "f1", "a.b", "arr.0", "arr.1.x", "@@at", "ok",
          "big", "neg", "s", "none", "@noSuchSystemField"]
LITERALS = ["0", "-1", "1.5", "99999999999999999999999", "2147483648", "-9223372036854775808", '""', '"x"',
            "'2'", '"10.0.0.0/8"', '"::/0"', '"not-a-subnet"', "5m", "1mo", "0s", "/x/", "/(?i)A|b/", "*"]
OPERATORS = ["+", "-", "*", "/", "%", "^", "=", "!=", "<", "<=", ">", ">=", "and", "or", "AND", "Or"]
AGGREGATES = [name for name, function in FUNCTIONS.items() if function.aggregate]
SCALARS = [name for name, function in FUNCTIONS.items() if not function.aggregate]
PATTERNS = ["/2\\d\\d/", '"a"', "/^$/", "/(?<g>x)/"]
COMMANDS = ["fields", "display", "filter", "stats", "sort", "limit", "parse", "dedup"]


class _Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def case(self, word: str) -> str:
        """Keywords and names of commands and functions in any case, as AWS reads them."""
        return self.rng.choice([word, word.upper(), word.capitalize()])

    def value(self, depth: int = 0) -> str:
        roll = self.rng.random()
        if roll < 0.35 or depth > 2:
            return self.rng.choice(FIELDS)
        if roll < 0.55:
            return self.rng.choice(LITERALS)
        if roll < 0.75:
            return self.call(self.rng.choice(SCALARS), depth)
        if roll < 0.9:
            return f"{self.value(depth + 1)} {self.case(self.rng.choice(OPERATORS))} {self.value(depth + 1)}"
        return self.rng.choice([f"-{self.value(depth + 1)}", f"{self.case('not')} {self.value(depth + 1)}",
                                f"({self.value(depth + 1)})"])

    def call(self, name: str, depth: int) -> str:
        function = FUNCTIONS[name]
        count = function.min_args + self.rng.randint(0, 2 if function.max_args is None else
                                                     function.max_args - function.min_args)
        count = max(0, count + self.rng.choice([0, 0, 0, 0, -1, 1]))  # now and then a wrong arity
        return f"{self.case(name)}({', '.join(self.value(depth + 1) for _ in range(count))})"

    def condition(self) -> str:
        subject = self.value(1)
        return self.rng.choice([
            self.value(),
            f"{subject} {self.case('like')} {self.rng.choice(PATTERNS)}",
            f"{subject} {self.case('not')} {self.case('like')} /./",
            f"{subject} =~ /[0-9]+/",
            f"{subject} {self.case('in')} [{', '.join(self.rng.choice(LITERALS[:10]) for _ in range(3))}]",
            f"{subject} {self.case('not')} {self.case('in')} ['ACCEPT', 22, {self.value(2)}]",
        ])

    def projection(self, aggregate: bool) -> str:
        value = self.call(self.rng.choice(AGGREGATES), 1) if aggregate else self.value()
        return f"{value} {self.case('as')} {self.rng.choice(['x', 'y', 'bytes', '@message', '`odd name`'])}" \
            if self.rng.random() < 0.3 else value

    def names(self) -> str:
        return ", ".join(self.rng.choice(FIELDS + ["x", "y"]) for _ in range(self.rng.randint(1, 3)))

    def command(self) -> str:
        name = self.rng.choice(COMMANDS)
        word = self.case(name)
        if name == "fields":
            return f"{word} {', '.join(self.projection(False) for _ in range(self.rng.randint(1, 3)))}"
        if name == "display":
            return f"{word} {self.names()}"
        if name == "filter":
            return f"{word} {self.condition()}"
        if name == "stats":
            groups = ", ".join(self.rng.choice([self.value(1), "bin(5m)", "bin(1mo)", "noSuchField"])
                               for _ in range(self.rng.randint(0, 2)))
            return f"{word} {self.projection(True)}" + (f" {self.case('by')} {groups}" if groups else "")
        if name == "sort":
            keys = ", ".join(f"{self.rng.choice(FIELDS + ['x'])} {self.case(self.rng.choice(['asc', 'desc', '']))}"
                             for _ in range(self.rng.randint(1, 2)))
            return f"{word} {keys}"
        if name == "limit":
            return f"{word} {self.rng.choice(['1', '0', '10000', '10001', '-1', '2.5', 'x'])}"
        if name == "parse":
            pattern = self.rng.choice(['"* *" as p1, p2', '"user=*," as p1', "/(?<p1>\\d+)/", '"*" as bytes',
                                       "/(?<p1>[/", '"no star" as p1', "/(unnamed)/"])
            return f"{word} {self.rng.choice(FIELDS)} {pattern}"
        return f"{word} {self.names()}"

    def query(self) -> str:
        return " | ".join(self.command() for _ in range(self.rng.randint(1, 4)))


ODD_QUERIES = [_Generator(seed).query() for seed in range(600)] + [
    "sort noSuchField desc",
    "stats count(*) by noSuchField | sort noSuchField",
    "filter noSuchField > 1 or noSuchField like /x/ or noSuchField in [1]",
    "display noSuchField, `other missing field`",
    "fields abs(noSuchField), concat(noSuchField), bin(5m), fromMillis(noSuchField)",
    "stats sum(noSuchField), pct(noSuchField, 50), earliest(noSuchField), latest(noSuchField) by noSuchField",
    "dedup noSuchField | limit 3",
    "fields fromMillis(99999999999999999999) as t, datefloor(t, 1mo), dateceil(t, 1y)",
    "fields toMillis(@message), datefloor(-99999999999999, 1w), fromMillis(-1), toMillis(10 ^ 400)",
    "fields dateceil(fromMillis(253402300799999), 1y), datefloor(9000000000000000000, 1mo), bin(1y)",
    "fields datefloor(10 ^ 400, 1d), dateceil(-(10 ^ 400), 1q), datefloor(@message, 1mo)",
    "fields 10 ^ 400, -(10 ^ 400), 1 / 0, 1 % 0, round(1.5, 99999999999), substr('abc', 99999999999, -5)",
    'filter isIpInSubnet(noSuchField, "::/0") or isIpv4InSubnet(srcAddr, "0.0.0.0/0")',
    "stats count(*) as c by bin(1ms) | sort c desc | limit 10000",
    "fields abs(-9223372036854775808), ceil(10 ^ 400), log(-1), sqrt(-1), log(0), (-8) ^ (1 / 3), 0 ^ -1",
]


@pytest.fixture(scope="module")
def events():
    return events_relation([dict(log_group="/odd", log_stream=f"s{index % 3}", timestamp_ms=1_500_000_000_000 + index,
                                 ingestion_time_ms=1_500_000_000_000, message=message)
                            for index, message in enumerate(MESSAGES)])


def test_every_odd_query_answers_or_is_malformed(events):
    failures, answered = [], 0
    for query in ODD_QUERIES:
        try:
            result = run_query(query, events, 0, 2_000_000_000)
        except MalformedQueryError:
            continue
        except Exception as error:  # anything else is an HTTP 500 through StartQuery
            failures.append(f"{query!r}: {type(error).__name__}: {str(error)[:160]}")
            continue
        answered += 1
        if any(not isinstance(cell["value"], str) for row in result.results for cell in row):
            failures.append(f"{query!r}: a value that is no string")
    assert not failures, "\n".join(failures)
    # The set is worth running only if many queries get past the parser.
    assert answered > len(ODD_QUERIES) // 4
