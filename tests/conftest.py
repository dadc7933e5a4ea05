"""Fixtures for the unit tests: an isolated environment, and local clouds of their own (the notebooks'
local cloud is started by the root conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from labkit.localcloud.server import InProcessServer

from .clouds import as_owner, labkit_home_at, reset

@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Unit tests see no AWS configuration of the machine, and a LABKIT_HOME of their own."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "LABKIT_TARGET", "LABKIT_REGION",
                 "LABKIT_RUN_ID", "LABKIT_NAME_PREFIX", "LABKIT_CONFIRM_BILLABLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "labkit-home"))
    # boto3's default session keeps the credentials it first found: each test's clients resolve their own
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


@pytest.fixture(scope="module")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """A local cloud for one test module, with a LABKIT_HOME of its own. moto keeps its state per process,
    so the module starts from a reset account rather than from what earlier modules left."""
    with labkit_home_at(tmp_path_factory.mktemp("cloud-home")):
        cloud = InProcessServer()
    with cloud:
        reset(cloud)
        yield cloud


@pytest.fixture
def local_env(local_cloud: InProcessServer, monkeypatch: pytest.MonkeyPatch) -> InProcessServer:
    """Point boto3 (and labkit.connect) at this module's local cloud, as its owner."""
    as_owner(monkeypatch, local_cloud)
    return local_cloud


@pytest.fixture
def clients(local_env: InProcessServer):
    """boto3 clients for the local cloud, by service name."""
    return lambda service: boto3.client(service, region_name="us-east-1")
