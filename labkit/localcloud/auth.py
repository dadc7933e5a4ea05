"""Who may call the local cloud: only requests signed (AWS Signature Version 4) with its owner's
credentials. The signature is computed again with botocore's own signer (SigV4Auth, S3's variants for S3
and its presigned URLs, and HmacV1 for the Signature Version 2 URLs boto3 presigns by default) over the
request as it arrived, and compared.

A request that fails gets the error AWS gives for that failure (`Refusal`, worded per protocol by
`wire`), and nothing is done. The failures, in the order they are checked: no signature at all,
a malformed one, a session token (the local cloud's credentials have none), another access key, a
signing time more than 15 minutes from now (a presigned URL past its expiry), and a wrong signature.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, unquote, urlsplit

from botocore.auth import HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials as BotocoreCredentials

from .home import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_HEADER_PARTS = re.compile(r"(Credential|SignedHeaders|Signature)=([^,\s]*)")
# What a presigned (query-string) request must carry.
_QUERY_PARAMETERS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders",
                     "X-Amz-Expires")

# The kinds of refusal; `wire` words each as the service's protocol does.
MISSING, INCOMPLETE, TOKEN, UNKNOWN_KEY, EXPIRED, NOT_YET_CURRENT, URL_EXPIRED, BAD_SIGNATURE = (
    "missing", "incomplete", "token", "unknown-key", "expired", "not-yet-current", "url-expired", "bad-signature")


@dataclass
class Refusal(Exception):
    """Why a request is not the owner's; `details` feed the error message and S3's extra elements."""

    kind: str
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Scope:
    """The credential scope a request was signed for: region and service (the signing name)."""

    access_key_id: str
    region: str
    service: str


@dataclass(frozen=True)
class ArrivedRequest:
    """A request as it arrived: what a signature covers."""

    method: str
    url: str  # scheme, host, and the path and query exactly as sent
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.url.partition("?")[2], keep_blank_values=True)


def verify(request: ArrivedRequest, owner: Credentials, now: datetime | None = None) -> Scope:
    """The request's scope if it is signed with the owner's credentials; Refusal otherwise."""
    now = now or datetime.now(timezone.utc)
    authorization = request.headers.get("authorization")
    query = dict(request.query)
    if authorization is not None:
        return _verify_header(request, authorization, owner, now)
    if any(name in query for name in _QUERY_PARAMETERS):
        return _verify_query(request, query, owner, now)
    if {"AWSAccessKeyId", "Signature", "Expires"} <= query.keys():  # boto3's default presigned S3 URL (SigV2)
        return _verify_query_v2(request, query, owner, now)
    raise Refusal(MISSING)


def _verify_header(request: ArrivedRequest, authorization: str, owner: Credentials, now: datetime) -> Scope:
    algorithm, _, rest = authorization.strip().partition(" ")
    parts = dict(_HEADER_PARTS.findall(rest))
    missing = [name for name in ("Credential", "Signature", "SignedHeaders") if not parts.get(name)]
    if algorithm != ALGORITHM or missing:
        raise Refusal(INCOMPLETE, {"authorization": authorization, "missing": ",".join(missing)})
    scope = _scope(parts["Credential"], authorization)
    signed_at = request.headers.get("x-amz-date", "")
    _check_identity(request.headers.get("x-amz-security-token"), scope, owner)
    _check_time(signed_at, now)
    signer = (S3SigV4Auth if scope.service == "s3" else SigV4Auth)(_botocore(owner), scope.service, scope.region)
    _check_signature(signer, request, parts["SignedHeaders"], signed_at, parts["Signature"], request.url)
    return scope


def _verify_query(request: ArrivedRequest, query: dict[str, str], owner: Credentials, now: datetime) -> Scope:
    if any(not query.get(name) for name in _QUERY_PARAMETERS) or query["X-Amz-Algorithm"] != ALGORITHM:
        raise Refusal(INCOMPLETE, {"authorization": request.url})
    scope = _scope(query["X-Amz-Credential"], request.url)
    _check_identity(query.get("X-Amz-Security-Token"), scope, owner)
    signed_at = query["X-Amz-Date"]
    try:
        expires = int(query["X-Amz-Expires"])
        signed = datetime.strptime(signed_at, _AMZ_DATE).replace(tzinfo=timezone.utc)
    except ValueError:
        raise Refusal(INCOMPLETE, {"authorization": request.url}) from None
    if now > signed + timedelta(seconds=expires):
        raise Refusal(URL_EXPIRED, {"X-Amz-Expires": str(expires), "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                    "Expires": (signed + timedelta(seconds=expires)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    signer_class = S3SigV4QueryAuth if scope.service == "s3" else SigV4QueryAuth
    signer = signer_class(_botocore(owner), scope.service, scope.region, expires=expires)
    base, _, raw_query = request.url.partition("?")
    unsigned_url = base + "?" + "&".join(pair for pair in raw_query.split("&")
                                          if not pair.startswith("X-Amz-Signature="))
    _check_signature(signer, request, query["X-Amz-SignedHeaders"], signed_at, query["X-Amz-Signature"], unsigned_url)
    return scope


def _verify_query_v2(request: ArrivedRequest, query: dict[str, str], owner: Credentials, now: datetime) -> Scope:
    """An S3 URL presigned with Signature Version 2 (what boto3's generate_presigned_url makes by default)."""
    scope = Scope(access_key_id=query["AWSAccessKeyId"], region="us-east-1", service="s3")
    _check_identity(query.get("x-amz-security-token"), scope, owner)
    try:
        expires = datetime.fromtimestamp(int(query["Expires"]), timezone.utc)
    except (ValueError, OverflowError):
        raise Refusal(INCOMPLETE, {"authorization": request.url}) from None
    if now > expires:
        raise Refusal(URL_EXPIRED, {"X-Amz-Expires": query["Expires"], "Expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                    "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ")})
    headers = HTTPHeaders()
    for name, value in request.headers.items():
        if name in ("content-type", "content-md5") or name.startswith("x-amz-"):
            headers[name] = value
    signer = _PresignedV2(_botocore(owner), query["Expires"])
    string_to_sign = signer.canonical_string(request.method, urlsplit(request.url), headers)
    if not hmac.compare_digest(signer.sign_string(string_to_sign), query["Signature"]):
        raise Refusal(BAD_SIGNATURE, {"SignatureProvided": query["Signature"], "StringToSign": string_to_sign,
                                      "CanonicalRequest": ""})
    return scope


class _PresignedV2(HmacV1QueryAuth):
    """botocore's SigV2 presigner, signing for the URL's own Expires (it stands where a Date header would)."""

    def __init__(self, credentials: BotocoreCredentials, expires: str):
        super().__init__(credentials)
        self._expires_at = expires

    def _get_date(self) -> str:
        return self._expires_at


def _scope(credential: str, authorization: str) -> Scope:
    parts = unquote(credential).split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not parts[0]:
        raise Refusal(INCOMPLETE, {"authorization": authorization, "credential": credential})
    return Scope(access_key_id=parts[0], region=parts[2], service=parts[3])


def _check_identity(token: str | None, scope: Scope, owner: Credentials) -> None:
    if token:
        raise Refusal(TOKEN)
    if not hmac.compare_digest(scope.access_key_id, owner.access_key_id):
        raise Refusal(UNKNOWN_KEY, {"AWSAccessKeyId": scope.access_key_id})


def _check_time(signed_at: str, now: datetime) -> None:
    try:
        signed = datetime.strptime(signed_at, _AMZ_DATE).replace(tzinfo=timezone.utc)
    except ValueError:
        raise Refusal(INCOMPLETE, {"authorization": f"X-Amz-Date={signed_at}"}) from None
    times = {"signed": signed_at, "now": now.strftime(_AMZ_DATE),
             "earliest": (now - MAX_SKEW).strftime(_AMZ_DATE), "latest": (now + MAX_SKEW).strftime(_AMZ_DATE),
             "RequestTime": signed_at, "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
             "MaxAllowedSkewMilliseconds": str(int(MAX_SKEW.total_seconds() * 1000))}
    if signed < now - MAX_SKEW:
        raise Refusal(EXPIRED, times)
    if signed > now + MAX_SKEW:
        raise Refusal(NOT_YET_CURRENT, times)


def _check_signature(signer: SigV4Auth, request: ArrivedRequest, signed_headers: str, signed_at: str,
                     provided: str, url: str) -> None:
    names = [name for name in signed_headers.lower().split(";") if name]
    headers = {name: request.headers.get(name, "") for name in names}
    again = AWSRequest(method=request.method, url=url, headers=headers, data=request.body)
    again.context["timestamp"] = signed_at
    canonical = signer.canonical_request(again)
    string_to_sign = signer.string_to_sign(again, canonical)
    expected = signer.signature(string_to_sign, again)
    if not hmac.compare_digest(expected, provided):
        raise Refusal(BAD_SIGNATURE, {"SignatureProvided": provided, "StringToSign": string_to_sign,
                                      "CanonicalRequest": canonical})


def _botocore(owner: Credentials) -> BotocoreCredentials:
    return BotocoreCredentials(owner.access_key_id, owner.secret_access_key)
