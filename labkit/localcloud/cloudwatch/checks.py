"""What CloudWatch refuses beyond its model, checked before moto acts (each check raises AWS's error, and
nothing is done): an alarm's periods, thresholds, statistics and actions, the size of a metric query,
PutMetricData's rules (docs/aws-behaviour.md, "Input validation"; tests/data/bad_inputs.jsonl).
Messages name parameters as the query protocol does (`MetricData.member.1.Value`), as AWS's do.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from botocore.utils import parse_timestamp

from .. import backends
from ..wire import AwsCall, AwsError

RANGE_OPERATORS = ("LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold")
TREAT_MISSING_DATA = ("breaching", "notBreaching", "ignore", "missing")
MAX_DATAPOINTS = 1440
MAX_METRICS_PER_PUT = 1000
_QUERY_ID = re.compile(r"[a-z][A-Za-z0-9_]*")


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationError", message)


def put_metric_alarm(call: AwsCall) -> None:
    params = call.params
    metrics = params.get("Metrics")
    if metrics:
        for name in ("Statistic", "Unit"):
            if params.get(name) is not None:
                raise _invalid(f"{name} should not be set if list of Metrics is set.")
    elif params.get("MetricName") is None:
        raise _invalid("MetricName must not be null")
    if params.get("Threshold") is not None and params.get("ThresholdMetricId") is not None:
        raise _invalid("Threshold and ThresholdMetricId cannot both be set")
    if params.get("ComparisonOperator") in RANGE_OPERATORS and params.get("ThresholdMetricId") is None:
        raise _invalid("ComparisonOperators for ranges require ThresholdMetricId to be set")
    if params.get("Threshold") is None and params.get("ThresholdMetricId") is None:
        raise _invalid("Threshold must not be null")
    if params.get("Statistic") is not None and params.get("ExtendedStatistic") is not None:
        raise AwsError("InvalidParameterCombination", "The parameters Statistic and ExtendedStatistic are mutually "
                       "exclusive and you have specified both.")
    period = params.get("Period")
    if period is not None and period not in (10, 30) and period % 60:
        raise _invalid("Period must be 10, 30 or a multiple of 60")
    if params.get("DatapointsToAlarm", 0) > params.get("EvaluationPeriods", 0):
        raise _invalid("DatapointsToAlarm must be less than or equal to EvaluationPeriods")
    treat = params.get("TreatMissingData")
    if treat is not None and treat not in TREAT_MISSING_DATA:
        raise _invalid(f"Option {treat} is not supported. Supported options for parameter TreatMissingData are "
                       f"{', '.join(TREAT_MISSING_DATA[:-1])} and {TREAT_MISSING_DATA[-1]}.")
    for name in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        for action in params.get(name) or []:
            _check_action(action, call.region)


def _check_action(action: str, region: str) -> None:
    parts = action.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise _invalid("")  # AWS says nothing more (recorded)
    if parts[2] in ("sns", "lambda", "ssm", "autoscaling", "ec2", "swf") and parts[3] and parts[3] != region:
        raise _invalid(f"Invalid region {parts[3]} specified. Only {region} is supported.")


def describe_alarms(call: AwsCall) -> None:
    if call.params.get("NextToken") is not None:  # the local cloud answers in one page and gives out no token
        raise AwsError("InvalidNextToken", "The service returned an invalid NextToken.")


def delete_alarms(call: AwsCall) -> None:
    alarms = backends.cloudwatch(call.account_id, call.region).alarms
    missing = [name for name in call.params.get("AlarmNames") or [] if name not in alarms]
    if missing:  # none is deleted then
        raise AwsError("ResourceNotFound", "", 404)


def get_metric_data(call: AwsCall) -> None:
    params = call.params
    if _moment(params["StartTime"]) == _moment(params["EndTime"]):
        raise _invalid("The parameter StartTime must not equal parameter EndTime.")
    for index, query in enumerate(params.get("MetricDataQueries") or [], 1):
        if not _QUERY_ID.fullmatch(query.get("Id", "")):
            raise _invalid(f"The value {query.get('Id')} for parameter MetricDataQueries.member.{index}.Id is invalid. "
                           f"It must start with a lowercase letter and contain only letters, numbers and underscores.")


def get_metric_statistics(call: AwsCall) -> None:
    params = call.params
    seconds = (_moment(params["EndTime"]) - _moment(params["StartTime"])).total_seconds()
    if seconds > 0 and params["Period"] > 0:
        datapoints = math.ceil(seconds / params["Period"])
        if datapoints > MAX_DATAPOINTS:
            raise AwsError("InvalidParameterCombination", f"You have requested up to {datapoints} datapoints, which "
                           f"exceeds the limit of {MAX_DATAPOINTS}. You may reduce the datapoints requested by "
                           f"increasing Period, or decreasing the time range.")


def put_metric_data(call: AwsCall) -> None:
    params = call.params
    if params.get("Namespace", "").startswith("AWS/"):
        raise AwsError("InvalidParameterValue", f"The value {params['Namespace']} for parameter Namespace is invalid: "
                       f"a namespace must not begin with AWS/, which AWS's own services use.")
    data = params.get("MetricData") or []
    if len(data) > MAX_METRICS_PER_PUT:
        raise AwsError("InvalidParameterValue", f"The collection MetricData must not have a size greater than "
                       f"{MAX_METRICS_PER_PUT}.")
    for index, datum in enumerate(data, 1):
        _check_datum(datum, f"MetricData.member.{index}")


def _check_datum(datum: dict[str, Any], name: str) -> None:
    for other in ("Values", "StatisticValues"):
        if datum.get("Value") is not None and datum.get(other) is not None:
            raise AwsError("InvalidParameterCombination", f"The parameters {name}.Value and {name}.{other} are "
                           f"mutually exclusive and you have specified both.")
    value = datum.get("Value")
    if isinstance(value, str) or (isinstance(value, float) and not math.isfinite(value)):  # JSON says "NaN"
        raise AwsError("InvalidParameterValue", f"The value {_java_double(value)} for parameter {name}.Value is invalid.")


def _java_double(value: float | str) -> str:
    value = float(value)
    return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"


def _moment(value: Any) -> datetime:
    """A timestamp parameter as a UTC datetime (JSON sends epoch seconds or ISO text, query a datetime)."""
    moment = value if isinstance(value, datetime) else parse_timestamp(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=parse_timestamp(0).tzinfo)


CHECKS = {
    "PutMetricAlarm": put_metric_alarm,
    "DescribeAlarms": describe_alarms,
    "DeleteAlarms": delete_alarms,
    "GetMetricData": get_metric_data,
    "GetMetricStatistics": get_metric_statistics,
    "PutMetricData": put_metric_data,
}
