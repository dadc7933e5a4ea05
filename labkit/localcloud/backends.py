"""Access to moto's in-memory service state, for the behaviours that act on it directly; how moto makes a backend."""

from __future__ import annotations

import functools
from typing import Any

from botocore.exceptions import UnknownServiceError
from botocore.loaders import create_loader
from botocore.regions import EndpointResolver
from moto.backends import get_backend
from moto.core.utils import get_service_model
from moto.settings import load_iam_aws_managed_policies


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


def models_without_documentation(load_service_model: Any) -> Any:
    """moto's parsers and the validation hold one botocore model of each service a lab calls (EC2's:
    4,400 shapes, 14 MiB of dicts); about a quarter of it is the documentation of each shape and member,
    which neither reads."""

    def _load_service_model(service_name: str, model_name: str) -> dict[str, Any]:
        return _without_documentation(load_service_model(service_name, model_name))

    get_service_model.cache_clear()  # a model read before (moto's own mock, in tests) is read again
    return _load_service_model


def _without_documentation(node: Any) -> Any:
    if isinstance(node, dict):
        node.pop("documentation", None)
        for value in node.values():
            _without_documentation(value)
    elif isinstance(node, list):
        for value in node:
            _without_documentation(value)
    return node


def regions_listed_from_the_endpoints(_original: Any) -> Any:
    """moto lists the regions of each service it makes a backend for with a boto3 Session it keeps for
    the process, whose loader then keeps that service's whole model a second time (EC2's: 14 MiB), only
    to read its endpoint prefix, and botocore's endpoints (7 MiB). The prefix is read from the model moto
    keeps anyway (its get_service_model, which the validation uses), the regions from botocore's
    endpoints, as boto3's get_available_regions reads them, once for each service."""

    def _generate_regions(self: Any, service_name: str) -> list[str]:
        return list(_regions(service_name))

    return _generate_regions


@functools.cache
def _regions(service_name: str) -> tuple[str, ...]:
    try:
        prefix = get_service_model(service_name).metadata.get("endpointPrefix", service_name)
    except UnknownServiceError:
        return ()
    resolver = EndpointResolver(create_loader().load_data("endpoints"))  # then let go
    return tuple(region for partition in resolver.get_available_partitions()
                 for region in resolver.get_available_endpoints(prefix, partition))


def managed_policies_kept_only_if_loaded(policies: str) -> str:
    """moto keeps AWS's managed policies as one JSON text (4.5 MiB), read only with
    MOTO_IAM_LOAD_MANAGED_POLICIES=true; the lab's account does not load them."""
    return policies if load_iam_aws_managed_policies() else "{}"
