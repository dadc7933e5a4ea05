"""The parts of moto the local cloud changes or reads, as the installed moto has them: a moto upgrade
that renames or reshapes one fails here, by name, instead of somewhere at run time."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping

import boto3
import pytest
from moto import mock_aws

from labkit.localcloud.registry import MOTO_INTERNALS, PATCHES


def _plain(signature: inspect.Signature) -> str:
    """A signature without annotations: `(self, name, unit=None)`."""
    return str(signature.replace(parameters=[p.replace(annotation=inspect.Parameter.empty)
                                             for p in signature.parameters.values()],
                                 return_annotation=inspect.Signature.empty))


def _shape(data: object) -> str:
    """The type of moto's data, its containers named as `dict[str, list]` by their first member (a
    mapping the local cloud made in place of moto's dict is a dict of the same shape to moto's code)."""
    if isinstance(data, Mapping):
        key, value = next(iter(data.items()))
        return f"dict[{type(key).__name__}, {_shape(value)}]"
    return type(data).__name__


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: f"{p.owner.__name__}.{p.name}")
def test_each_patched_moto_function_has_the_signature_its_patch_expects(patch):
    original = patch.original
    if patch.signature is None:  # the patch adds what moto lacks: moto adding its own deserves a look
        assert original is None, f"moto now has {patch.owner.__name__}.{patch.name}: does the patch still fit?"
        return
    assert original is not None, f"moto no longer has {patch.owner.__name__}.{patch.name}"
    if isinstance(original, property):
        accessor = original.fset if original.fset else original.fget
        assert _plain(inspect.signature(accessor)) == patch.signature
    elif not callable(original):  # moto's data
        assert _shape(original) == patch.signature
    else:
        assert _plain(inspect.signature(original)) == patch.signature


@pytest.fixture(scope="module")
def moto_objects() -> dict[str, object]:
    """One object of each moto class whose private attributes the local cloud uses, made by moto."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        patch.delenv("AWS_ENDPOINT_URL", raising=False)  # moto's in-process mock, not a local cloud
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        ec2, s3, sns = (session.client(name) for name in ("ec2", "s3", "sns"))
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
        instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0]
        s3.create_bucket(Bucket="contract")
        s3.put_object(Bucket="contract", Key="k", Body=b"body")
        topic = sns.create_topic(Name="contract")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:123456789012:q")

        from moto.backends import get_backend
        ec2_backend = get_backend("ec2")["123456789012"]["us-east-1"]
        sns_backend = get_backend("sns")["123456789012"]["us-east-1"]
        moto_instance = ec2_backend.get_instance(instance["InstanceId"])
        yield {
            "Instance": moto_instance,
            "NetworkInterface": moto_instance.nics[0],
            "RouteTable": ec2_backend.route_tables[table],
            "FakeKey": get_backend("s3")["123456789012"]["aws"].buckets["contract"].keys["k"],
            "SNSBackend": sns_backend,
            "Subscription": next(iter(sns_backend.subscriptions.values())),
        }


@pytest.mark.parametrize("module, name, attribute", MOTO_INTERNALS, ids=lambda v: v if isinstance(v, str) else None)
def test_the_private_parts_of_moto_the_local_cloud_uses_exist(module, name, attribute, moto_objects):
    owner = getattr(importlib.import_module(module), name)
    found = moto_objects.get(name, owner)
    assert isinstance(found, owner) or found is owner
    assert hasattr(found, attribute), f"moto's {name} has no {attribute} any more"
