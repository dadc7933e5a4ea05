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
_notebooks_started = False


def pytest_collection_finish(session: pytest.Session) -> None:
    global _notebook_cloud, _notebook_home
    if not any(str(item.path).endswith(".ipynb") for item in session.items):
        return
    from labkit.localcloud.server import InProcessServer

    _notebook_home = tempfile.TemporaryDirectory(prefix="labkit-nbval-")
    os.environ.update(LABKIT_HOME=_notebook_home.name, LABKIT_TARGET="local")
    _notebook_cloud = InProcessServer().__enter__()
    os.environ["AWS_ENDPOINT_URL"] = _notebook_cloud.endpoint


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the first notebook: a reset account. moto keeps its state per process, and the unit tests
    that ran before would otherwise leave theirs (and change what the committed outputs show)."""
    global _notebooks_started
    if _notebook_cloud is None or _notebooks_started or not str(item.path).endswith(".ipynb"):
        return
    _notebooks_started = True
    from labkit.localcloud.lifecycle import signed_post

    signed_post(f"{_notebook_cloud.endpoint}/moto-api/reset")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _notebook_cloud:
        _notebook_cloud.__exit__(None, None, None)
    if _notebook_home:
        _notebook_home.cleanup()
