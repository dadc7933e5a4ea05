"""What the local cloud no longer keeps in memory (issue 12: at most 250 MiB at the end of a lab) answers
as moto answered before: the instance types, each backend's regions, the services' models."""

from __future__ import annotations

import socket
from pathlib import Path

import boto3
import pytest
from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID
from moto.utilities.utils import load_resource

from labkit.localcloud import lifecycle
from labkit.localcloud.wire import service_model

from ..labs import provision_part2


def test_describe_instance_types_answers_moto_s_descriptions(clients):
    ec2 = clients("ec2")
    described = ec2.describe_instance_types(InstanceTypes=["t3.micro"])["InstanceTypes"]
    expected = load_resource("ec2/resources/instance_types.json")["t3.micro"]
    assert [(t["InstanceType"], t["VCpuInfo"]["DefaultVCpus"], t["MemoryInfo"]["SizeInMiB"]) for t in described] == \
        [("t3.micro", expected["VCpuInfo"]["DefaultVCpus"], expected["MemoryInfo"]["SizeInMiB"])]
    filtered = ec2.describe_instance_types(Filters=[{"Name": "vcpu-info.default-vcpus", "Values": ["2"]}])
    assert "t3.micro" in {t["InstanceType"] for t in filtered["InstanceTypes"]}


@pytest.mark.parametrize("service", ["ec2", "logs", "athena", "glue", "cloudwatch"])
def test_each_backend_has_the_regions_boto3_lists(local_env, service):
    session = boto3.Session()
    expected = [region for partition in session.get_available_partitions()
                for region in session.get_available_regions(service, partition_name=partition)]
    assert get_backend(service)[DEFAULT_ACCOUNT_ID].regions == expected


def test_the_models_moto_and_the_validation_read_keep_no_documentation(local_env):
    ec2 = service_model("ec2")
    operation = ec2.operation_model("CreateFlowLogs")
    assert (ec2.documentation, operation.documentation, operation.input_shape.documentation) == ("", "", "")
    assert operation.input_shape.members["LogFormat"].type_name == "string"  # the rest is there


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc")
def test_the_local_clouds_own_process_makes_flow_records_without_pandas(monkeypatch):
    """pyarrow imports pandas when it makes its first array from Python values (the records of a
    connection attempt); the local cloud's process does not let it (30 MiB)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    info, _ = lifecycle.start_detached(port)
    try:
        from labkit.config import LabConfig
        from labkit.session import connect
        from labkit import traffic

        lab = connect(LabConfig.resolve(run_id="footprint"))
        part2 = provision_part2(lab)
        assert traffic.attempt_connection(lab, part2.server, 22).connected
        mapped = Path(f"/proc/{info.pid}/maps").read_text()
        assert "pyarrow" in mapped and "pandas" not in mapped
    finally:
        lifecycle.stop()
