"""What S3 refuses in the lab's calls, checked before moto acts (each check raises AWS's error, and
nothing is stored): bucket names, a bucket created twice outside us-east-1, keys over 1,024 bytes, a
body whose Content-MD5 differs, bucket policies that are no policy, a versioned bucket deleted with
versions in it (docs/aws-behaviour.md, "Input validation"; tests/data/bad_inputs.jsonl).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re

from .. import backends
from ..wire import AwsCall, AwsError, service_model

MAX_KEY_BYTES = 1024
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# IAM's names for S3 actions that are not an operation's name.
_IAM_ONLY_ACTIONS = {"ListBucket", "ListBucketVersions", "ListBucketMultipartUploads", "ListMultipartUploadParts",
                     "GetObjectVersion", "DeleteObjectVersion", "PutObjectVersionAcl", "GetObjectVersionAcl",
                     "ListAllMyBuckets", "GetBucketAcl", "PutBucketAcl", "GetBucketPolicyStatus",
                     "GetObjectAttributes", "PutObjectRetention", "GetObjectRetention", "BypassGovernanceRetention"}


def create_bucket(call: AwsCall) -> None:
    name = call.bucket
    if not _valid_bucket_name(name):
        raise AwsError("InvalidBucketName", "The specified bucket is not valid.", fields={"BucketName": name})
    if call.region != "us-east-1" and name in backends.s3(call.account_id).buckets:  # us-east-1 answers 200
        raise AwsError("BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you "
                       "already own it.", 409, {"BucketName": name})


def _valid_bucket_name(name: str) -> bool:
    if not _BUCKET_NAME.fullmatch(name) or ".." in name or ".-" in name or "-." in name:
        return False
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        return False
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return True
    return False


def put_object(call: AwsCall) -> None:
    size = len(call.key.encode())
    if size > MAX_KEY_BYTES:
        raise AwsError("KeyTooLongError", "Your key is too long", fields={"Size": str(size),
                                                                            "MaxSizeAllowed": str(MAX_KEY_BYTES)})
    expected = call.headers.get("content-md5")
    chunked = "aws-chunked" in call.headers.get("content-encoding", "") or \
        call.headers.get("x-amz-content-sha256", "").startswith("STREAMING-")
    if expected and not chunked:
        received = base64.b64encode(hashlib.md5(call.body).digest()).decode()  # noqa: S324 - S3's own digest
        if received != expected:
            raise AwsError("BadDigest", "The Content-MD5 you specified did not match what we received.",
                           fields={"ExpectedDigest": expected, "CalculatedDigest": received})


def put_bucket_policy(call: AwsCall) -> None:
    text = call.body.decode("utf-8", "replace")
    try:
        policy = json.loads(text) if text.lstrip().startswith("{") else None
    except ValueError:
        policy = None
    if not isinstance(policy, dict):
        raise _malformed("Policies must be valid JSON and the first byte must be '{'")
    statements = policy.get("Statement")
    if statements is None:
        raise _malformed("Missing required field Statement")
    for statement in statements if isinstance(statements, list) else [statements]:
        _check_statement(statement, call.bucket)


def _check_statement(statement: dict, bucket: str) -> None:
    principal = statement.get("Principal")
    accounts = _listed(principal.get("AWS")) if isinstance(principal, dict) else []
    if any(not re.fullmatch(r"\*|\d{12}|arn:aws[a-z-]*:iam::\d{12}:\S+", account) for account in accounts):
        raise _malformed("Invalid principal in policy")
    for resource in _listed(statement.get("Resource")):
        if resource != "*" and not re.fullmatch(rf"arn:aws[a-z-]*:s3:::{re.escape(bucket)}(/.*)?", resource):
            raise _malformed("Policy has invalid resource")
    for action in _listed(statement.get("Action")):
        service, _, name = action.partition(":")
        if action != "*" and (service.lower() != "s3" or not _known_action(name)):
            raise _malformed("Policy has invalid action")


def _listed(value: object) -> list[str]:
    return [] if value is None else [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _known_action(name: str) -> bool:
    if "*" in name or "?" in name:
        pattern = re.compile(re.escape(name).replace(r"\*", ".*").replace(r"\?", "."), re.IGNORECASE)
        return any(pattern.fullmatch(known) for known in _s3_actions())
    return name.lower() in {known.lower() for known in _s3_actions()}


def _s3_actions() -> set[str]:
    return set(service_model("s3").operation_names) | _IAM_ONLY_ACTIONS


def _malformed(message: str) -> AwsError:
    return AwsError("MalformedPolicy", message)


def delete_bucket(call: AwsCall) -> None:
    bucket = backends.s3(call.account_id).buckets.get(call.bucket)
    if bucket is not None and bucket.is_versioned and any(versions for _key, versions in bucket.keys.iterlists()):
        raise AwsError("BucketNotEmpty", "The bucket you tried to delete is not empty. You must delete all versions "
                       "in the bucket.", 409, {"BucketName": call.bucket})


CHECKS = {
    "CreateBucket": create_bucket,
    "PutObject": put_object,
    "PutBucketPolicy": put_bucket_policy,
    "DeleteBucket": delete_bucket,
}
