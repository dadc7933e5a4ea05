"""CloudWatch Logs filter patterns (terms, JSON, space-delimited, %regex%) as AWS evaluates them.

Used by TestMetricFilter, metric filters on PutLogEvents and FilterLogEvents in the local cloud.
"""

from .errors import ERROR_CODE, InvalidFilterPattern, InvalidMetricTransformation
from .pattern import (
    FilterPattern,
    MatchResult,
    PatternKind,
    compile_filter_pattern,
    evaluate_test_metric_filter,
)
from .references import validate_metric_value

__all__ = [
    "ERROR_CODE",
    "FilterPattern",
    "InvalidFilterPattern",
    "InvalidMetricTransformation",
    "MatchResult",
    "PatternKind",
    "compile_filter_pattern",
    "evaluate_test_metric_filter",
    "validate_metric_value",
]
