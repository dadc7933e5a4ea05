"""Helpers for tests that run local clouds of their own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from labkit.localcloud.lifecycle import signed_post
from labkit.localcloud.server import InProcessServer


def reset(cloud: InProcessServer) -> None:
    """moto's reset (/moto-api/reset), signed by the cloud's owner as every request must be."""
    with labkit_home_at(cloud.home):
        signed_post(f"{cloud.endpoint}/moto-api/reset")


@contextmanager
def labkit_home_at(path) -> Iterator[None]:
    """LABKIT_HOME set to `path` for the duration."""
    saved = os.environ.get("LABKIT_HOME")
    os.environ["LABKIT_HOME"] = str(path)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("LABKIT_HOME")
        else:
            os.environ["LABKIT_HOME"] = saved


def as_owner(patch, cloud: InProcessServer, region: str = "us-east-1") -> None:
    """Point boto3 (and labkit.connect, pyathena) at `cloud`, signing as its owner, through `patch` (a
    pytest MonkeyPatch: a test's own, or a module fixture's MonkeyPatch.context())."""
    import boto3

    for name, value in {"AWS_ENDPOINT_URL": cloud.endpoint, "AWS_DEFAULT_REGION": region,
                        "LABKIT_HOME": str(cloud.home), **cloud.credentials.environment()}.items():
        patch.setenv(name, value)
    # A module fixture is set up before the per-test reset of boto3's default session, which may still hold
    # an earlier module's local cloud credentials
    patch.setattr(boto3, "DEFAULT_SESSION", None)
