"""The workshop's JupyterHub, for real (`make workshop-test`: as root, with .venv-workshop and the proxy
from npm): four learners at once (what this 2-core machine is to carry), Unix accounts of their own, each
runs the whole lab in their own server through the hub, each on a local cloud of their own; one learner's
tools are refused by another's cloud, and `labkit run` works in a learner's server (no checkout there).
Nothing is left running or on the host."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from hub_driver import (  # noqa: E402
    Hub, LearnerServer, leftover_processes, reach_another_learners_cloud, remove_learners, run_learners)

from labkit import grading  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
VENV = ROOT / ".venv-workshop"
LAB = [ROOT / "notebooks" / name for name in ("01_flow_logs_setup.ipynb", "02_generate_traffic.ipynb",
                                              "03_monitoring_alerting.ipynb", "04_data_analysis.ipynb",
                                              "99_teardown.ipynb")]
LEARNERS = ["labkit-ada", "labkit-bob", "labkit-cy", "labkit-dee"]
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the hub makes Unix accounts: run as root")


@pytest.fixture(scope="module")
def workshop():
    scratch = Path(tempfile.mkdtemp(prefix="labkit-hub-"))
    os.chmod(scratch, 0o755)  # learners pass through to their homes (each 0700) and the release
    homes, release = scratch / "homes", scratch / "release"
    homes.mkdir(mode=0o755)
    grading.release(ROOT / "workshop" / "course", into=release)
    os.chmod(release, 0o755)
    os.environ["LABKIT_HUB_RELEASE"] = str(release)
    hub = Hub(VENV, homes, scratch / "state", port=18600)
    hub.start()
    try:
        yield hub, run_learners(hub, LEARNERS, LAB), release
    finally:
        remove_learners(hub, LEARNERS)
        hub.stop()
        left = leftover_processes(VENV)
        assert not left, f"processes left from the workshop's venv: {left}"
        assert not any(_account_exists(name) for name in LEARNERS)
        shutil.rmtree(scratch)


def _account_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def test_every_learner_runs_the_whole_lab_in_their_own_server_on_their_own_cloud(workshop):
    hub, learners, release = workshop
    for learner in learners:
        assert learner.green, [row for row in learner.notebooks if row["status"] != "ok"]
        assert [row["notebook"] for row in learner.notebooks] == [path.stem for path in LAB]
    assert len({learner.cloud_port for learner in learners}) == len(learners) and None not in {
        learner.cloud_port for learner in learners}
    for name in LEARNERS:
        home, account = hub.home(name), pwd.getpwnam(name)
        assert home.stat().st_uid == account.pw_uid and stat.S_IMODE(home.stat().st_mode) == 0o700
        given = sorted(path.name for path in (home / "work").glob("*.ipynb"))
        assert given == sorted(path.name for path in release.glob("*.ipynb"))
        handout = nbformat.read(home / "work" / "01_flow_logs_setup.ipynb", as_version=4)
        assert "raise NotImplementedError()" in nbformat.writes(handout)  # the student version, not the solutions


def test_a_learners_tools_cannot_reach_another_learners_cloud(workshop):
    hub, learners, _release = workshop
    probe = reach_another_learners_cloud(hub, learners[0], learners[-1])
    assert probe["own"] and probe["refused"] == "InvalidAccessKeyId" and probe["readable"] is False


def test_labkit_run_works_in_a_learners_server(workshop):
    hub, learners, _release = workshop
    reply, outputs = LearnerServer(hub, learners[0].name).run_code(
        "import subprocess\n"
        "done = subprocess.run(['labkit', 'run', '--only', '01', '--keep'], capture_output=True, text=True)\n"
        "print(done.returncode)\nprint(done.stdout[-600:])\nprint(done.stderr[-600:])", timeout_s=300)
    text = "".join(output.get("text", "") for output in outputs)
    assert reply["status"] == "ok" and text.startswith("0\n"), text
    assert "01_flow_logs_setup  ok" in text
