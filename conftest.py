"""The committed notebooks run under nbval against a local cloud of their own, with a LABKIT_HOME of their
own, started here once the notebooks are collected and before any kernel (kernels inherit
AWS_ENDPOINT_URL and LABKIT_HOME from this process). It lives at the root so that it applies however
pytest is pointed at the notebooks. Unit tests never use it: a run that collects no notebook starts none."""

from __future__ import annotations

import os
import tempfile

import pytest

_notebook_cloud = None  # InProcessServer | None
_notebook_home: tempfile.TemporaryDirectory | None = None


def pytest_collection_finish(session: pytest.Session) -> None:
    global _notebook_cloud, _notebook_home
    if not any(str(item.path).endswith(".ipynb") for item in session.items):
        return
    from labkit.localcloud.server import InProcessServer

    _notebook_home = tempfile.TemporaryDirectory(prefix="labkit-nbval-")
    os.environ.update(LABKIT_HOME=_notebook_home.name, LABKIT_TARGET="local")
    _notebook_cloud = InProcessServer().__enter__()
    os.environ["AWS_ENDPOINT_URL"] = _notebook_cloud.endpoint


def pytest_unconfigure(config: pytest.Config) -> None:
    if _notebook_cloud:
        _notebook_cloud.__exit__(None, None, None)
    if _notebook_home:
        _notebook_home.cleanup()
