"""`labkit doctor`: the readiness check a workshop starts with."""

from __future__ import annotations

from importlib import metadata

from labkit import doctor
from labkit.cli import main
from labkit.localcloud import lifecycle, server


def test_a_ready_machine_passes_every_check_and_leaves_nothing_running(capsys):
    for _ in range(2):  # a second run in the same process finds the same
        assert main(["doctor"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[-1] == "Ready for the lab."
        assert all(line.startswith("✅") for line in lines[:-1]) and len(lines) == 6
        assert "answers STS, EC2, S3, CloudWatch Logs, CloudWatch, SNS, Athena" in "\n".join(lines)
    assert lifecycle.reachable_endpoint() is None


def test_a_missing_package_is_named_with_the_fix(monkeypatch):
    requires = metadata.requires("labkit")
    monkeypatch.setattr(metadata, "requires", lambda name: [*requires, "no-such-package>=1"])
    finding = doctor.packages()
    assert not finding.ok
    assert str(finding) == "❌ Missing packages: no-such-package. Run `make venv` (or `pip install -e .`)."


def test_a_local_cloud_of_other_code_is_reported_with_the_fix(monkeypatch):
    with server.InProcessServer() as cloud:
        monkeypatch.setenv("AWS_ENDPOINT_URL", cloud.endpoint)
        finding = doctor.running_local_cloud()
        assert finding.ok and finding.text.endswith("runs this checkout's code, delivering flow records at once")
        monkeypatch.setattr(lifecycle, "code_version", lambda: "another-checkout")
        finding = doctor.running_local_cloud()
    assert not finding.ok and "`labkit local stop`" in finding.text


def test_the_aws_target_needs_credentials_and_a_region(monkeypatch, capsys):
    assert main(["doctor", "--target", "aws"]) == 1
    out = capsys.readouterr().out
    assert "❌ No AWS region is set for target='aws'" in out and "Athena" not in out
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role either, wherever this runs
    finding = doctor.aws_identity()
    assert not finding.ok and finding.text.startswith("No AWS credentials found for target='aws'")
