"""AWS's own input validation, before a call reaches moto: the request parsed by the service's model
(botocore's), each value checked against its shape, and a bad input refused as AWS refuses it.

1. The operation must exist (UnknownOperationException, InvalidAction).
2. Types: a JSON value of the wrong kind is a SerializationException (`STRING_VALUE cannot be converted
   to Double`), a query parameter that is no number or boolean the service's type error.
3. Constraints of the model (required members, lengths, ranges, patterns, enums), in the format of
   AWS's generic validator (docs/aws-behaviour.md, "Input validation"):
   `1 validation error detected: Value 'x' at 'logEvents.1.member.message' failed to satisfy
   constraint: Member must have length greater than or equal to 1`, with each service's error code.
   EC2, which has no such validator, words them its own way (MissingParameter, InvalidParameterValue).
What a service checks beyond its model (an email address, a period of 7 seconds) is a check of that
service's own (`app.check`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import parse_qsl

from botocore.model import OperationNotFoundError, Shape
from moto.core.parse import PROTOCOL_PARSERS
from werkzeug.datastructures import Headers, MultiDict

from .wire import AwsCall, AwsError, protocol, service_model

# The code each service gives its generic validator's failures (default: ValidationException).
_VALIDATION_CODES = {"logs": "InvalidParameterException", "athena": "InvalidRequestException",
                     "monitoring": "ValidationError", "sns": "ValidationError", "sts": "ValidationError",
                     "iam": "ValidationError"}
# Athena's validator does not repeat a value it refuses ("Value at 'x'"), only a missing one.
_VALUES_OMITTED = {"athena"}
_EXTRA_FIELDS = {"athena": {"AthenaErrorCode": "INVALID_INPUT", "ErrorCode": "INVALID_INPUT"}}
MAX_ERRORS_LISTED = 10
# Java's names for the model's types, as AWS's JSON deserializer says them.
_JAVA_TYPES = {"integer": "Integer", "long": "Long", "float": "Float", "double": "Double", "boolean": "Boolean",
               "string": "String", "timestamp": "Date", "blob": "ByteBuffer"}
# The newer JSON stack (Athena, Glue) says "STRING_VALUE can not be converted to an Integer"; CloudWatch Logs
# and CloudWatch say "STRING_VALUE cannot be converted to Double" (tests/data/conformance).
_ARTICLE_WORDING = {"athena", "glue"}
_JSON_SPECIAL_DOUBLES = ("NaN", "Infinity", "-Infinity")
# Where AWS's (Java) validator lists a structure's fields or an enum's values in another order than the
# model's: recorded answers (docs/aws-behaviour.md, "Input validation").
_JAVA_FIELD_ORDER = {"MetricTransformation": ("metricName", "metricNamespace", "metricValue", "defaultValue", "unit",
                                              "dimensions")}
_JAVA_ENUM_ORDER = {"StateValue": ("INSUFFICIENT_DATA", "ALARM", "OK")}
# EC2's newer (flow-log) calls word a missing required member like a bad one.
_EC2_CORAL_WORDING = {"CreateFlowLogs", "DeleteFlowLogs", "DescribeFlowLogs"}


class _Malformed:
    """A query-protocol value that is not of its shape's type (kept to be reported, not parsed)."""

    def __init__(self, text: str, type_name: str):
        self.text, self.type_name = text, type_name


def _tolerant(parser_class: type) -> type:
    """moto's query parser, with a value that is no number or boolean kept as _Malformed instead of
    raising deep inside moto."""
    class Tolerant(parser_class):
        def _typed(self, parse: Any, shape: Shape, query_params: Any, prefix: str = "") -> Any:
            try:
                return parse(shape, query_params, prefix)
            except (ValueError, TypeError, OverflowError):
                return _Malformed(str(query_params.get(prefix)), shape.type_name)

        def _parse_integer(self, shape, query_params, prefix=""):
            return self._typed(super()._parse_integer, shape, query_params, prefix)

        def _parse_float(self, shape, query_params, prefix=""):
            return self._typed(super()._parse_float, shape, query_params, prefix)

        def _parse_timestamp(self, shape, query_params, prefix=""):
            return self._typed(super()._parse_timestamp, shape, query_params, prefix)

        def _parse_blob(self, shape, query_params, prefix=""):
            return self._typed(super()._parse_blob, shape, query_params, prefix)

        def _parse_boolean(self, shape, query_params, prefix=""):
            value = query_params.get(prefix)
            if value is not None and str(value).lower() not in ("true", "false"):
                return _Malformed(str(value), "boolean")
            return super()._parse_boolean(shape, query_params, prefix)

        _parse_double = _parse_float
        _parse_long = _parse_integer

    return Tolerant


_QUERY_PARSERS = {"query": _tolerant(PROTOCOL_PARSERS["query"]), "ec2": _tolerant(PROTOCOL_PARSERS["ec2"])}


def checked_params(call: AwsCall) -> dict[str, Any]:
    """The call's parameters as its model shapes them; AwsError for an input AWS refuses."""
    model = service_model(call.service)
    spoken = protocol(call.service, call.content_type)
    if model is None or spoken not in ("json", "query", "ec2"):
        return {}  # S3's REST calls are moto's to parse and check
    try:
        operation = model.operation_model(call.action)
    except OperationNotFoundError:
        if spoken == "json":
            raise AwsError("UnknownOperationException", "") from None
        raise AwsError("InvalidAction", f"The action {call.action} is not valid for this web service.") from None
    shape = operation.input_shape
    if spoken == "json":
        params = _json_params(call)
        if shape is not None:
            _check_json_types(shape, params, call.service in _ARTICLE_WORDING)
    else:
        form = MultiDict(_form(call.body))
        parser = _QUERY_PARSERS[spoken](operation)
        params = parser.parse({"method": call.method, "values": form, "headers": Headers(), "body": call.body,
                               "url_path": "/", "url_params": {}}) if shape is not None else {}
        _check_query_types(call.service, spoken, shape, params)
    if shape is not None:
        violations = list(_violations(shape, params, "", spoken == "ec2"))
        if violations:
            raise _violation_error(call.service, call.action, spoken, violations)
    return params


def _json_params(call: AwsCall) -> dict[str, Any]:
    try:
        params = json.loads(call.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise AwsError("SerializationException", "") from None
    if not isinstance(params, dict):
        raise AwsError("SerializationException", "Start of structure or map found where not expected."
                       if params is None else _json_mismatch(params, "structure"))
    return params


def _form(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise AwsError("MalformedQueryString", "The query string is not valid UTF-8.") from None


# --- types ---------------------------------------------------------------------------------------------

def _check_json_types(shape: Shape, params: dict[str, Any], with_article: bool) -> None:
    problem = _json_type_problem(shape, params)
    if problem:
        raise AwsError("SerializationException", _with_article(problem) if with_article else problem)


def _with_article(problem: str) -> str:
    """`cannot be converted to Integer` as the newer stack says it: `can not be converted to an Integer`."""
    match = re.fullmatch(r"(\w+) cannot be converted to (\w+)", problem)
    if not match:
        return problem
    article = "an" if match[2][0] in "AEIOU" else "a"
    return f"{match[1]} can not be converted to {article} {match[2]}"


def _json_type_problem(shape: Shape, value: Any) -> str | None:
    """What AWS's JSON deserializer says of the first value of the wrong kind, if any (JSON null is absent)."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return _json_mismatch(value, kind)
        for name, member in shape.members.items():
            problem = _json_type_problem(member, value.get(name))
            if problem:
                return problem
        return None
    if kind == "list":
        if not isinstance(value, list):
            return "Expected list or null" if not isinstance(value, dict) else \
                "Start of structure or map found where not expected."
        return next((p for p in (_json_type_problem(shape.member, item) for item in value) if p), None)
    if kind == "map":
        if not isinstance(value, dict):
            return _json_mismatch(value, kind)
        return next((p for p in (_json_type_problem(shape.value, item) for item in value.values()) if p), None)
    expected = {"string": (str,), "blob": (str,), "boolean": (bool,), "timestamp": (int, float, str),
                "integer": (int,), "long": (int,), "float": (int, float), "double": (int, float)}.get(kind)
    if expected is None:
        return None
    if isinstance(value, bool) and kind != "boolean":
        return _json_mismatch(value, kind)
    if kind in ("float", "double") and value in _JSON_SPECIAL_DOUBLES:  # how botocore sends them
        return None
    if not isinstance(value, expected):
        return _json_mismatch(value, kind)
    return None


def _json_mismatch(value: Any, kind: str) -> str:
    if isinstance(value, list):
        return "Start of list found where not expected"
    if isinstance(value, dict):
        return "Start of structure or map found where not expected."
    token = ("TRUE_VALUE" if value else "FALSE_VALUE") if isinstance(value, bool) else \
        "STRING_VALUE" if isinstance(value, str) else "NUMBER_VALUE"
    return f"{token} cannot be converted to {_JAVA_TYPES.get(kind, kind.capitalize())}"


def _check_query_types(service: str, spoken: str, shape: Shape | None, params: Any, path: str = "") -> None:
    """A _Malformed value anywhere in the parsed parameters: the protocol's type error."""
    if isinstance(params, _Malformed):
        name = path.rsplit(".", 1)[-1] or "parameter"
        if spoken == "ec2":
            raise AwsError("InvalidParameterValue", f"Invalid value '{params.text}' for {_lower_camel(name)}")
        raise AwsError("MalformedInput" if service == "sns" else "ValidationError",
                       f"Invalid value '{params.text}' for parameter {name}: not a valid {params.type_name}")
    if isinstance(params, dict):
        for name, value in params.items():
            _check_query_types(service, spoken, None, value, f"{path}.{name}" if path else name)
    elif isinstance(params, list):
        for index, value in enumerate(params, 1):
            _check_query_types(service, spoken, None, value, f"{path}.{index}")


# --- constraints ------------------------------------------------------------------------------------------

class _Violation:
    def __init__(self, path: str, value: Any, constraint: str, shape: Shape | None = None):
        self.path, self.value, self.constraint, self.shape = path, value, constraint, shape


def _violations(shape: Shape, value: Any, path: str, ec2: bool) -> Any:
    """The constraint violations of `value` and everything in it, in the order AWS lists them."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return
        for name, member in shape.members.items():
            member_path = f"{path}.{_member_name(name, member, ec2)}" if path else _member_name(name, member, ec2)
            if value.get(name) is None:
                if name in shape.required_members:
                    yield _Violation(member_path, None, "Member must not be null", member)
                continue
            yield from _violations(member, value[name], member_path, ec2)
        return
    metadata = shape.metadata
    if kind in ("list", "map"):
        yield from _length(shape, value, path, len(value) if isinstance(value, (list, dict)) else 0)
        if kind == "list" and isinstance(value, list):
            for index, item in enumerate(value, 1):
                yield from _violations(shape.member, item, f"{path}.{index}.member", ec2)
        elif kind == "map" and isinstance(value, dict):
            for key, item in value.items():
                yield from _violations(shape.value, item, f"{path}.{key}.member", ec2)
        return
    if kind == "string" and isinstance(value, str):
        if "pattern" in metadata and not _matches(metadata["pattern"], value):
            yield _Violation(path, value, f"Member must satisfy regular expression pattern: {metadata['pattern']}",
                             shape)
        yield from _length(shape, value, path, len(value))
        if "enum" in metadata and value not in metadata["enum"]:
            listed = _JAVA_ENUM_ORDER.get(shape.name, metadata["enum"])
            yield _Violation(path, value, f"Member must satisfy enum value set: [{', '.join(listed)}]", shape)
    elif kind in ("integer", "long", "float", "double") and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        if "min" in metadata and value < metadata["min"]:
            yield _Violation(path, value, f"Member must have value greater than or equal to {metadata['min']}", shape)
        if "max" in metadata and value > metadata["max"]:
            yield _Violation(path, value, f"Member must have value less than or equal to {metadata['max']}", shape)
        if kind in ("float", "double") and isinstance(value, float) and not math.isfinite(value):
            yield _Violation(path, value, "Member must be a finite number", shape)


def _length(shape: Shape, value: Any, path: str, length: int) -> Any:
    metadata = shape.metadata
    if "max" in metadata and length > metadata["max"]:
        yield _Violation(path, value, f"Member must have length less than or equal to {metadata['max']}", shape)
    if "min" in metadata and length < metadata["min"]:
        yield _Violation(path, value, f"Member must have length greater than or equal to {metadata['min']}", shape)


_PATTERNS: dict[str, re.Pattern[str] | None] = {}


def _matches(pattern: str, value: str) -> bool:
    """The whole value matches the model's (Java) pattern; a pattern Python cannot read is not checked."""
    if pattern not in _PATTERNS:
        try:
            _PATTERNS[pattern] = re.compile(_python_pattern(pattern), re.DOTALL)
        except re.error:
            _PATTERNS[pattern] = None
    compiled = _PATTERNS[pattern]
    return compiled is None or compiled.fullmatch(value) is not None


def _python_pattern(java: str) -> str:
    """A Java pattern for Python: a UTF-16 surrogate pair (`\\uD800\\uDC00`) is one code point."""
    def code_point(match: re.Match[str]) -> str:
        high, low = int(match[1], 16), int(match[2], 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"
    return re.sub(r"\\u(D[89AB][0-9A-Fa-f]{2})\\u(D[C-F][0-9A-Fa-f]{2})", code_point, java)


def _member_name(name: str, member: Shape, ec2: bool) -> str:
    """How AWS names a member in its errors: EC2 by its name on the wire (`GroupDescription` for
    Description), the others in lower camel case."""
    if not ec2:
        return _lower_camel(name)
    wire = member.serialization.get("queryName") or member.serialization.get("name") or name
    return wire[:1].upper() + wire[1:]


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _violation_error(service: str, action: str, spoken: str, violations: list[_Violation]) -> AwsError:
    own = _own_wording(service, action, violations)
    if own is not None:
        return own
    if spoken == "ec2":
        first = violations[0]
        if first.value is None and action in _EC2_CORAL_WORDING:
            return AwsError("InvalidParameterValue", f"1 validation error detected: Value null at "
                            f"'{_lower_camel(first.path)}' has an invalid format")
        if first.value is None:
            return AwsError("MissingParameter", f"The request must contain the parameter {first.path}")
        return AwsError("InvalidParameterValue", f"Value ({_rendered(first.value)}) for parameter "
                        f"{_lower_camel(first.path.rsplit('.', 1)[-1])} is invalid. {first.constraint}.")
    listed = violations[:MAX_ERRORS_LISTED]
    count = f"{len(listed)} validation error{'s' if len(listed) > 1 else ''} detected"
    omit = service in _VALUES_OMITTED
    items = "; ".join(
        f"Value null at '{v.path}' failed to satisfy constraint: {v.constraint}" if v.value is None else
        f"Value at '{v.path}' failed to satisfy constraint: {v.constraint}" if omit else
        f"Value '{_rendered(v.value, v.shape)}' at '{v.path}' failed to satisfy constraint: {v.constraint}"
        for v in listed)
    return AwsError(_VALIDATION_CODES.get(service, "ValidationException"), f"{count}: {items}",
                    fields=dict(_EXTRA_FIELDS.get(service, {})))


def _own_wording(service: str, action: str, violations: list[_Violation]) -> AwsError | None:
    """The few checks of the model that a service words its own way (recorded answers)."""
    first = violations[0]
    too_long = first.constraint.startswith("Member must have length less than or equal to")
    if service == "logs" and too_long and first.path in ("logGroupName", "logStreamName") and action in (
            "CreateLogGroup", "CreateLogStream", "DeleteLogGroup", "DeleteLogStream", "DeleteMetricFilter"):
        return AwsError("InvalidParameterException",
                        "Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
    if service == "sns" and first.value is None and "." not in first.path:  # SNS's own words, but in its maps
        name = first.path[:1].upper() + first.path[1:]
        return AwsError("InvalidParameter", f"Invalid parameter: {name} Reason: no value for required parameter")
    if service == "athena" and action == "GetQueryResults" and first.path == "maxResults" and \
            first.constraint.startswith("Member must have value less than or equal to"):
        return AwsError("InvalidRequestException", "MaxResults is more than maximum allowed length 1000",
                        fields=dict(_EXTRA_FIELDS["athena"]))
    return None


def _rendered(value: Any, shape: Shape | None = None) -> str:
    """A value as AWS's (Java) validator prints it: lists `[a, b]`, structures `Shape(field=value, ...)`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        member = getattr(shape, "member", None)
        return "[" + ", ".join(_rendered(item, member) for item in value) + "]"
    if isinstance(value, dict):
        if shape is not None and shape.type_name == "structure":
            order = _JAVA_FIELD_ORDER.get(shape.name, tuple(shape.members))
            fields = ", ".join(f"{name}={_rendered(value.get(name), shape.members[name])}" for name in order)
            return f"{shape.name}({fields})"
        return "{" + ", ".join(f"{key}={_rendered(item)}" for key, item in value.items()) + "}"
    return str(value)
