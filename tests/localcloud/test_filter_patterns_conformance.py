"""Replays every TestMetricFilter case recorded on live AWS against the filter-pattern engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.localcloud.logs.filter_patterns import InvalidFilterPattern, evaluate_test_metric_filter

CONFORMANCE = Path(__file__).parents[1] / "data" / "conformance" / "cloudwatch-logs"
RECORDINGS = ("filter-pattern-aws.json", "filter-pattern-aws-edges.json", "filter-pattern-aws-boundaries.json")


def _recorded_cases() -> list:
    params = []
    for recording in RECORDINGS:
        for case in json.loads((CONFORMANCE / recording).read_text())["cases"]:
            params.append(pytest.param(case, id=f"{case['id']}: {case['request']['filterPattern']}"))
    return params


def test_all_recorded_cases_are_replayed() -> None:
    assert len(_recorded_cases()) == 148


@pytest.mark.parametrize("case", _recorded_cases())
def test_matches_live_aws(case: dict) -> None:
    request = case["request"]
    if "error" in case:
        with pytest.raises(InvalidFilterPattern) as raised:
            evaluate_test_metric_filter(request["filterPattern"], request["logEventMessages"])
        assert raised.value.error_code == case["error"]["code"]
        assert raised.value.message == case["error"]["message"]
    else:
        response = evaluate_test_metric_filter(request["filterPattern"], request["logEventMessages"])
        assert response == case["response"]
