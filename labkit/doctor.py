"""`labkit doctor`: is this machine ready for the lab? Each check says what it found, or what to do.

Meant for the start of a workshop (`make check`): every learner runs it, and whatever is wrong shows
up before the first notebook. On the local target it starts a throwaway local cloud inside this
process (nothing is left running) and makes one call to each AWS service the lab uses, Athena
through pyathena; on the aws target it asks STS who the credentials belong to.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata

from .checks import mark
from .config import ConfigError, LabConfig, resolve_target

MINIMUM_PYTHON = (3, 11)
_DELIVERY_MODES = {"instant": "at once", "realistic": "with AWS's delays (LABKIT_DELIVERY=realistic)"}


@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str  # what was found, or what is wrong and how to fix it

    def __str__(self) -> str:
        return f"{mark(self.ok)} {self.text}"


def python_version() -> Finding:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] >= MINIMUM_PYTHON:
        return Finding(True, f"Python {version}")
    return Finding(False, f"Python {version} is too old: the lab needs {'.'.join(map(str, MINIMUM_PYTHON))} or "
                          f"newer. Install it, then `make clean venv`.")


def packages() -> Finding:
    """Every dependency labkit declares is installed (the list is pyproject's, read from labkit's metadata)."""
    names = [re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0] for requirement in metadata.requires("labkit") or []
             if "extra ==" not in requirement]
    missing, found = [], []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        return Finding(False, f"Missing packages: {', '.join(missing)}. Run `make venv` (or `pip install -e .`).")
    return Finding(True, f"{len(found)} packages installed: {', '.join(found)}")


def jupyter_kernel() -> Finding:
    """The notebooks' kernel (`python3`, as papermill and JupyterLab pick it) can import labkit."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        python = KernelSpecManager().get_kernel_spec("python3").argv[0]
    except NoSuchKernel:
        return Finding(False, "No `python3` Jupyter kernel. Run `make venv` (it installs ipykernel).")
    if python in ("python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])):
        python = sys.executable  # what jupyter_client runs for a bare `python`
    probe = subprocess.run([python, "-c", "import labkit"], capture_output=True, text=True)
    if probe.returncode != 0:
        return Finding(False, f"The `python3` Jupyter kernel runs {python}, which cannot import labkit. Start "
                              f"Jupyter from this checkout's .venv (`make jupyter`).")
    return Finding(True, f"The notebooks' Jupyter kernel runs {python}, which has labkit")


def local_cloud_answers() -> Finding:
    """A throwaway local cloud starts and answers one call of every service the lab uses."""
    from .localcloud.server import InProcessServer

    began = time.perf_counter()
    try:
        with InProcessServer() as cloud, _environment(
                AWS_ENDPOINT_URL=cloud.endpoint, AWS_DEFAULT_REGION="us-east-1", AWS_SESSION_TOKEN=None,
                AWS_PROFILE=None, **cloud.credentials.environment()):
            services = _call_each_service()
    except Exception as error:  # noqa: BLE001 - whatever breaks, the learner needs to see it
        return Finding(False, f"The local cloud does not work here: {type(error).__name__}: {error}")
    return Finding(True, f"A local cloud starts and answers {', '.join(services)} "
                         f"({time.perf_counter() - began:.1f} s)")


def _call_each_service() -> list[str]:
    import boto3
    from pyathena import connect

    boto3.client("sts").get_caller_identity()
    boto3.client("ec2").describe_vpcs()
    boto3.client("s3").create_bucket(Bucket="labkit-doctor")
    boto3.client("logs").describe_log_groups()
    boto3.client("cloudwatch").describe_alarms()
    boto3.client("sns").list_topics()
    cursor = connect(s3_staging_dir="s3://labkit-doctor/athena/", poll_interval=0.05).cursor()
    if cursor.execute("SELECT 1 + 1").fetchall() != [(2,)]:
        raise RuntimeError("Athena answered SELECT 1 + 1 wrongly")
    return ["STS", "EC2", "S3", "CloudWatch Logs", "CloudWatch", "SNS", "Athena"]


def running_local_cloud() -> Finding:
    """The detached local cloud the lab would use, if any, runs this checkout's code."""
    from .localcloud import lifecycle

    endpoint = lifecycle.reachable_endpoint()
    if endpoint is None:
        return Finding(True, "No local cloud is running yet: the first notebook starts one")
    try:
        answer = lifecycle.checked_health(endpoint)
    except lifecycle.LocalCloudError as error:
        return Finding(False, str(error))
    return Finding(True, f"Your local cloud at {endpoint} (pid {answer.get('pid')}) runs this checkout's code, "
                         f"delivering flow records {_DELIVERY_MODES.get(answer.get('delivery'), 'at once')}")


def aws_identity() -> Finding:
    """Credentials and a region for the aws target (STS GetCallerIdentity, which needs no permissions)."""
    from .session import connect

    try:
        lab = connect(LabConfig.resolve(target="aws"))
    except ConfigError as error:
        return Finding(False, str(error))
    return Finding(True, f"AWS account {lab.account_id} as {lab.caller_arn}, region {lab.region}")


def findings(target: str | None = None) -> Iterator[Finding]:
    """The checks for a target, in the order a learner would fix them."""
    checks: list[Callable[[], Finding]] = [python_version, packages, jupyter_kernel]
    if resolve_target(target) == "local":
        checks += [local_cloud_answers, running_local_cloud]
    else:
        checks.append(aws_identity)
    for check in checks:
        yield check()


@contextmanager
def _environment(**values: str | None) -> Iterator[None]:
    """Environment variables set (None: unset) for the duration, then restored."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        _set(values)
        yield
    finally:
        _set(saved)


def _set(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
