"""Which S3 call a REST request makes: S3 names its operations by method, path and query, and the
local cloud's checks need the name (`AwsCall.action`) as for the other services."""

from __future__ import annotations

from urllib.parse import unquote


def operation(method: str, host: str, path: str, query: dict[str, str]) -> tuple[str | None, str, str]:
    """(S3 operation, bucket, key) of a request, path-style (/bucket/key) or virtual-hosted
    (bucket.localhost:port); None for what the checks leave to moto."""
    parts = unquote(path).lstrip("/").split("/", 1)
    bucket, key = parts[0], parts[1] if len(parts) > 1 else ""
    name = host.split(":", 1)[0]
    if name.endswith(".localhost"):
        bucket, key = name[: -len(".localhost")], unquote(path).lstrip("/")
    if not bucket:
        return None, "", ""
    if key:
        return ("PutObject" if method == "PUT" and not query else None), bucket, key  # a part has a query
    if method == "PUT":
        if "policy" in query:
            return "PutBucketPolicy", bucket, ""
        return ("CreateBucket" if not query else None), bucket, ""
    if method == "DELETE" and not query:
        return "DeleteBucket", bucket, ""
    return None, bucket, ""
