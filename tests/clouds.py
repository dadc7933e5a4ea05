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
