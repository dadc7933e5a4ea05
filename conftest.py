"""The committed notebooks run under nbval against a local cloud of their own, started here before any
kernel (kernels inherit AWS_ENDPOINT_URL and LABKIT_HOME from this process). It lives at the root so
that it applies however pytest is pointed at the notebooks. Unit tests never use it."""

from __future__ import annotations

import os
import tempfile

import pytest

from labkit.localcloud.server import InProcessServer

_notebook_cloud: InProcessServer | None = None
_notebook_home: tempfile.TemporaryDirectory | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _notebook_cloud, _notebook_home
    if getattr(config.option, "nbval", False):
        _notebook_home = tempfile.TemporaryDirectory(prefix="labkit-nbval-")
        _notebook_cloud = InProcessServer().__enter__()
        os.environ.update(LABKIT_HOME=_notebook_home.name, AWS_ENDPOINT_URL=_notebook_cloud.endpoint,
                          LABKIT_TARGET="local")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _notebook_cloud:
        _notebook_cloud.__exit__(None, None, None)
    if _notebook_home:
        _notebook_home.cleanup()


