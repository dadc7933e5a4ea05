"""Access to moto's in-memory service state, for the behaviours that act on it directly."""

from __future__ import annotations

from typing import Any

from moto.backends import get_backend


def ec2(account_id: str, region: str) -> Any:
    return get_backend("ec2")[account_id][region]


def s3(account_id: str) -> Any:
    return get_backend("s3")[account_id]["aws"]


def logs(account_id: str, region: str) -> Any:
    return get_backend("logs")[account_id][region]


def cloudwatch(account_id: str, region: str) -> Any:
    return get_backend("cloudwatch")[account_id][region]


def sns(account_id: str, region: str) -> Any:
    return get_backend("sns")[account_id][region]


def iam(account_id: str) -> Any:
    return get_backend("iam")[account_id]["global"]
