"""A rehearsal of Parts 1 to 3 on a local cloud that takes AWS's time (LABKIT_DELIVERY=realistic), every
delay shrunk by one factor (docs/aws-behaviour.md, "AWS's timings"): the server pending, then refusing
SSH while it boots; flow logs that miss their first moments; records 5 and 10 (scaled) minutes late; alarms
evaluated every (scaled) minute. The notebooks' waits are those they make on AWS, so a wait that looks
for the wrong thing fails here, naming the cell. `make rehearse` runs the whole lab the same way.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from labkit.localcloud.server import InProcessServer
from labkit.runner import execute

from .clouds import labkit_home_at, reset

pytestmark = pytest.mark.slow  # about 3 minutes (Part 3 waits for its rejected minute to end, as on AWS)

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TIME_SCALE = "0.1"  # a 5-minute delivery takes 30 s; the server is pending 3 s, then refuses SSH for 4 s


@pytest.fixture(scope="module")
def aws_timed_cloud(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("LABKIT_DELIVERY", "realistic")
        environment.setenv("LABKIT_TIME_SCALE", TIME_SCALE)
        with labkit_home_at(tmp_path_factory.mktemp("aws-timed-home")):
            cloud = InProcessServer()
        with cloud:
            reset(cloud)
            yield cloud


def _stdout(notebook_path: Path) -> str:
    notebook = nbformat.read(notebook_path, as_version=4)
    return "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)


def test_parts_2_and_3_wait_for_what_aws_does_in_its_own_time(aws_timed_cloud, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_timed_cloud.endpoint)
    monkeypatch.setenv("LABKIT_HOME", str(aws_timed_cloud.home))
    for name, value in aws_timed_cloud.credentials.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LABKIT_DELIVERY", "realistic")  # the alarm evaluator reads it in this process
    monkeypatch.setenv("LABKIT_TIME_SCALE", TIME_SCALE)
    for notebook in ("01_flow_logs_setup", "02_generate_traffic", "03_monitoring_alerting"):
        result = execute(NOTEBOOKS / f"{notebook}.ipynb", tmp_path, {}, cell_timeout=300)
        assert result.status == "ok", f"{notebook}: {result.detail}"

    part2 = _stdout(tmp_path / "02_generate_traffic.ipynb")
    waited = [line for line in part2.splitlines() if line.startswith("Waiting for sshd")]
    assert len(waited) >= 2 and waited[-1].endswith("listening")  # the server refused SSH while it booted
    assert "connection refused" in part2 or "no answer" in part2
    assert "✅ SSH worked, was blocked after the swap, and works again." in part2
    assert "✅ Inbound SSH: ACCEPT, then REJECT after the swap, then ACCEPT again." in part2
    assert "✅ CloudWatch Logs shows the same outcome of each SSH attempt as S3." in part2
    part3 = _stdout(tmp_path / "03_monitoring_alerting.ipynb")
    assert "❌" not in part3 and "went to ALARM" in part3 and "The email arrived" in part3
