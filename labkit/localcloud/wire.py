"""AWS's errors on the wire, in the protocol each service speaks: the local cloud's refusals (a bad
signature, a bad input) reach every client as the AWS error it knows.

| protocol | services (signing name) | error body |
|---|---|---|
| json | logs, athena, glue, monitoring (query-compatible) | `{"__type": code, "message": ...}` |
| query | sns, sts, iam | `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>` |
| ec2 | ec2 | `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>` |
| rest-xml | s3 | `<Error><Code/><Message/>...<RequestId/><HostId/></Error>` |
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

from botocore.exceptions import UnknownServiceError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.model import ServiceModel
from moto.core.utils import get_service_model

from . import auth
from .s3.routes import operation as s3_operation

@dataclass
class AwsCall:
    """One AWS API request as the local cloud sees it, once its signature is checked."""

    service: str  # the signing name: ec2, s3, logs, monitoring, sns, athena, ...
    region: str
    action: str | None
    params: dict[str, Any]  # as the service's model shapes them (typed; nested structures and lists)
    body: bytes
    account_id: str = DEFAULT_ACCOUNT_ID
    content_type: str = ""
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    bucket: str = ""  # S3: the bucket and key the request's host and path name
    key: str = ""

    @classmethod
    def arrived(cls, request: auth.ArrivedRequest, scope: auth.Scope) -> AwsCall:
        """The call a signed request makes (its parameters are parsed later, by `validation`)."""
        content_type = request.headers.get("content-type", "")
        action = None
        target = request.headers.get("x-amz-target", "")
        if target:  # JSON protocols: "Logs_20140328.TestMetricFilter"
            action = target.rsplit(".", 1)[-1]
        elif content_type.startswith("application/x-www-form-urlencoded"):  # query protocols
            action = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)).get("Action")
        if action is None:
            action = dict(request.query).get("Action")
        bucket = key = ""
        if scope.service == "s3":  # a REST API: the method, host and path say which call it is
            url = urlsplit(request.url)
            action, bucket, key = s3_operation(request.method, url.netloc, url.path, dict(request.query))
        # moto's own choice of account: its x-moto-account-id header, else the default account
        account_id = request.headers.get("x-moto-account-id") or DEFAULT_ACCOUNT_ID
        return cls(service=scope.service, region=scope.region, action=action, params={}, body=request.body,
                   account_id=account_id, content_type=content_type, method=request.method,
                   headers=dict(request.headers), bucket=bucket, key=key)


@dataclass
class Response:
    status: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def ok(self) -> bool:
        return self.status.startswith("2")

    @classmethod
    def json(cls, payload: Any, status: str = "200 OK", content_type: str = "application/json") -> Response:
        return cls(status, [("Content-Type", content_type)], json.dumps(payload).encode())

    @classmethod
    def aws_json_error(cls, code: str, message: str, status: str = "400 Bad Request") -> Response:
        """An error in the awsJson protocol, as botocore parses it into ClientError."""
        return cls.json({"__type": code, "message": message}, status, "application/x-amz-json-1.1")


# Signing names that are not the service's botocore name.
_SERVICES_BY_SIGNING_NAME = {"monitoring": "cloudwatch", "tagging": "resourcegroupstaggingapi", "email": "ses",
                             "states": "stepfunctions", "execute-api": "apigateway"}
# JSON services whose error body spells the message with a capital M.
_CAPITAL_MESSAGE = {"athena", "glue"}


@dataclass
class AwsError(Exception):
    """An error as AWS answers it: code, message, HTTP status, and extra members (S3's `<BucketName>`,
    Athena's `AthenaErrorCode`)."""

    code: str
    message: str = ""
    status: int = 400
    fields: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@functools.cache
def service_model(signing_name: str) -> ServiceModel | None:
    """The service's model (botocore's, in moto's classes, which moto's parsers take), if it is a service."""
    try:
        return get_service_model(_SERVICES_BY_SIGNING_NAME.get(signing_name, signing_name))
    except UnknownServiceError:
        return None


def query_compatible(signing_name: str) -> bool:
    """A JSON service that answers with its former query protocol's error codes (CloudWatch)."""
    model = service_model(signing_name)
    return model is not None and "awsQueryCompatible" in model.metadata


def protocol(signing_name: str, content_type: str = "") -> str:
    """json, query, ec2, rest-xml or rest-json: what the request speaks (CloudWatch takes JSON and query)."""
    model = service_model(signing_name)
    if model is None:
        return "json" if "json" in content_type else "query"
    if model.protocol in ("ec2", "rest-xml", "rest-json"):
        return model.protocol
    supported = model.metadata.get("protocols", [model.protocol])
    if content_type.startswith("application/x-www-form-urlencoded") and "query" in supported:
        return "query"
    return "json" if "json" in supported else model.protocol


def error_response(error: AwsError, signing_name: str, content_type: str = "", method: str = "POST") -> Response:
    """`error` in the protocol the request spoke."""
    spoken = protocol(signing_name, content_type)
    request_id = str(uuid.uuid4())
    status = f"{error.status} {_REASONS.get(error.status, 'Error')}"
    if spoken in ("json", "rest-json"):
        message_key = "Message" if signing_name in _CAPITAL_MESSAGE else "message"
        body = {"__type": error.code, message_key: error.message, **error.fields}
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id),
                   ("x-amzn-ErrorType", error.code)]
        if query_compatible(signing_name):  # CloudWatch: botocore reads the code from this header
            headers.append(("x-amzn-query-error", f"{error.code};Sender"))
        return Response(status, headers, json.dumps(body).encode())
    if spoken == "ec2":
        xml = (f"<Response><Errors><Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
               f"</Error></Errors><RequestID>{request_id}</RequestID></Response>")
    elif spoken == "rest-xml":
        extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in error.fields.items())
        xml = (f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>{extra}"
               f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>")
    else:
        namespace = (service_model(signing_name).metadata.get("xmlNamespace", "") if service_model(signing_name)
                     else "")
        xml = (f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{escape(error.code)}</Code>'
               f"<Message>{escape(error.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    body = b"" if method == "HEAD" else ('<?xml version="1.0" encoding="UTF-8"?>\n' + xml).encode()
    return Response(status, [("Content-Type", "text/xml"), ("x-amz-request-id", request_id)], body)


_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
            413: "Request Entity Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}


# --- refused signatures, as each protocol words them ---------------------------------------------------

_SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your "
                       "AWS Secret Access Key and signing method. Consult the service documentation for details.")
_INVALID_TOKEN = "The security token included in the request is invalid."
_MISSING_TOKEN = "Request is missing Authentication Token"


def refusal_error(refusal: auth.Refusal, signing_name: str, content_type: str = "") -> AwsError:
    """The error AWS gives for this refusal in the service's protocol (docs/aws-behaviour.md, "Signatures")."""
    kind, details = refusal.kind, refusal.details
    spoken = protocol(signing_name, content_type)
    if spoken == "rest-xml":
        return _s3_refusal(kind, details)
    if spoken == "ec2":
        return {
            auth.MISSING: AwsError("MissingParameter", "The request must contain the parameter AWSAccessKeyId"),
            auth.EXPIRED: AwsError("RequestExpired", "Request has expired."),
            auth.NOT_YET_CURRENT: AwsError("RequestExpired", "Request has expired."),
            auth.INCOMPLETE: AwsError("IncompleteSignature", _incomplete(details)),
            auth.BAD_SIGNATURE: AwsError("SignatureDoesNotMatch", _SIGNATURE_MISMATCH, 403),
        }.get(kind, AwsError("AuthFailure", "AWS was not able to validate the provided access credentials", 401))
    # A query-compatible JSON service (CloudWatch) keeps its query codes and statuses (botocore asks for them)
    json_protocol = spoken in ("json", "rest-json") and not query_compatible(signing_name)
    status = 400 if json_protocol else 403
    if kind == auth.MISSING:
        return AwsError("MissingAuthenticationTokenException" if json_protocol else "MissingAuthenticationToken",
                        _MISSING_TOKEN, status)
    if kind == auth.INCOMPLETE:
        return AwsError("IncompleteSignatureException" if json_protocol else "IncompleteSignature",
                        _incomplete(details), 400)
    if kind in (auth.UNKNOWN_KEY, auth.TOKEN):
        return AwsError("UnrecognizedClientException" if json_protocol else "InvalidClientTokenId", _INVALID_TOKEN,
                        status)
    code = "InvalidSignatureException" if json_protocol else "SignatureDoesNotMatch"
    if kind == auth.EXPIRED:
        return AwsError(code, f"Signature expired: {details['signed']} is now earlier than {details['earliest']} "
                              f"({details['now']} - 15 min.)", status)
    if kind == auth.NOT_YET_CURRENT:
        return AwsError(code, f"Signature not yet current: {details['signed']} is still later than "
                              f"{details['latest']} ({details['now']} + 15 min.)", status)
    return AwsError(code, _SIGNATURE_MISMATCH, status)


def _incomplete(details: dict[str, str]) -> str:
    missing = [name for name in details.get("missing", "").split(",") if name]
    if missing:
        said = " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
        return f"{said} Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. " \
               f"Authorization={details.get('authorization', '')}"
    return f"Credential should be scoped to a valid region and service. Authorization={details.get('authorization', '')}"


def _s3_refusal(kind: str, details: dict[str, str]) -> AwsError:
    if kind == auth.MISSING:
        return AwsError("AccessDenied", "Access Denied", 403)
    if kind == auth.INCOMPLETE:
        if "missing" not in details and "credential" not in details and details.get("authorization", "").startswith("http"):
            return AwsError("AuthorizationQueryParametersError",
                            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
        return AwsError("AuthorizationHeaderMalformed", "The authorization header is malformed; a non-empty Access Key "
                        "(AKID) must be provided in the credential.")
    if kind == auth.TOKEN:
        return AwsError("InvalidToken", "The provided token is malformed or otherwise invalid.")
    if kind == auth.UNKNOWN_KEY:
        return AwsError("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403,
                        {"AWSAccessKeyId": details["AWSAccessKeyId"]})
    if kind in (auth.EXPIRED, auth.NOT_YET_CURRENT):
        return AwsError("RequestTimeTooSkewed", "The difference between the request time and the current time is too "
                        "large.", 403, {name: details[name] for name in
                                        ("RequestTime", "ServerTime", "MaxAllowedSkewMilliseconds")})
    if kind == auth.URL_EXPIRED:
        return AwsError("AccessDenied", "Request has expired", 403,
                        {name: details[name] for name in ("X-Amz-Expires", "Expires", "ServerTime")})
    return AwsError("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you "
                    "provided. Check your key and signing method.", 403,
                    {name: details[name] for name in ("SignatureProvided", "StringToSign", "CanonicalRequest")})
