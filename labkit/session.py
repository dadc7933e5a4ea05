"""Connect the lab to its target and check it before anything is created.

Both targets make the same boto3 calls. On the local target the only difference is the endpoint:
labkit points `AWS_ENDPOINT_URL` at the local cloud (starting it, detached, on first use) and uses the
credentials of the learner's own local cloud (made with it, in LABKIT_HOME), so boto3, botocore and
pyathena reach it on their own, and nobody else's calls are answered.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from .config import ConfigError, LabConfig


CONFIRM = ("To go ahead, set the notebook parameter confirm_billable=True (papermill and labkit run: "
           "-p confirm_billable True; or LABKIT_CONFIRM_BILLABLE=1).")


@dataclass
class Lab:
    """A connected lab: its configuration, a boto3 session, and who we are on the target."""

    config: LabConfig
    session: boto3.Session
    account_id: str
    caller_arn: str
    endpoint: str | None = None  # the local cloud's endpoint; None on AWS

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.region)

    @property
    def region(self) -> str:
        return self.config.region

    @property
    def bucket(self) -> str:
        return self.config.bucket_name(self.account_id)

    def require_billable_ok(self, what: str) -> None:
        """Refuse to create billable resources on AWS unless the learner said yes, showing what the lab
        creates, where, and its estimated cost first."""
        if self.config.target == "aws" and not self.config.confirm_billable:
            raise ConfigError(f"Creating {what} in AWS account {self.account_id} costs money.\n"
                              f"{self.preflight()}\n{CONFIRM}")

    def preflight(self) -> str:
        from .preflight import plan

        return plan(self.config, self.account_id)

    def summary(self) -> str:
        where = f"local cloud at {self.endpoint}" if self.endpoint else "AWS"
        return (f"target={self.config.target} ({where}), region={self.region}, "
                f"account={self.account_id}, run_id={self.config.run_id}")


def connect(config: LabConfig) -> Lab:
    """Resolve the target, run the preflight, and return the connected lab."""
    endpoint = _use_local_cloud(config) if config.target == "local" else _use_aws()
    session = boto3.Session(region_name=config.region)
    try:
        identity = session.client("sts").get_caller_identity()
    except NoCredentialsError:
        raise ConfigError(
            "No AWS credentials found for target='aws'. Configure them first: `aws configure`, "
            "`aws sso login --profile NAME` with AWS_PROFILE=NAME, or the AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY environment variables. Or run offline with target='local'."
        ) from None
    except (ClientError, BotoCoreError) as error:
        raise ConfigError(f"The credentials for target='{config.target}' were refused: {error}") from None
    return Lab(config=config, session=session, account_id=identity["Account"],
               caller_arn=identity["Arn"], endpoint=endpoint)


def _use_local_cloud(config: LabConfig) -> str:
    from .localcloud import lifecycle
    from .localcloud.home import credentials

    endpoint, _started, lost = lifecycle.ensure_running_reporting_loss()
    if lost is not None:
        print(f"The local cloud that was running at {lost.endpoint} (pid {lost.pid}) is gone: it was stopped or "
              f"crashed, and what the lab had made in it is lost. A new, empty local cloud now runs at {endpoint}: "
              f"run the notebooks from 01_flow_logs_setup again.")
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_REGION=config.region,
                      AWS_DEFAULT_REGION=config.region, **credentials().environment())
    os.environ.pop("AWS_PROFILE", None)  # a learner's profile must not shadow the local cloud's keys
    os.environ.pop("AWS_SESSION_TOKEN", None)
    return endpoint


def _use_aws() -> None:
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if endpoint.startswith("http://127.0.0.1"):
        raise ConfigError(
            f"AWS_ENDPOINT_URL points at the local cloud ({endpoint}) but target='aws'. Restart the "
            f"kernel (or unset AWS_ENDPOINT_URL) before switching this session to AWS."
        )
    return None
