"""One whole run of the lab (01 to 99) for the tests that need it, made once per test session: the
committed notebooks' code cells run in this process on a local cloud, with every boto3 call's IAM action
recorded (a botocore event hook) and the learner's progress read after each notebook. Two suites judge it
(test_aws_policy: the least-privilege policy; test_progress: the milestones), so the lab runs once, not
twice."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import nbformat
import pytest

import labkit
from labkit import aws_policy, progress
from labkit.cli import main

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
LAB_NOTEBOOKS = ["01_flow_logs_setup", "02_generate_traffic", "03_monitoring_alerting", "04_data_analysis",
                 "99_teardown"]


@dataclass(frozen=True)
class FullLabRun:
    actions: set[str]  # the IAM actions of every call the lab made
    reached_after: dict[str, dict[str, progress.Milestone]]  # notebook -> the milestones, by name
    progress_json: dict[str, Any]  # `labkit progress --json` after 04, before the teardown
    progress_text: str  # `labkit progress` then


class RecordingSession(boto3.Session):
    """A boto3 session whose clients (labkit's, pyathena's) note the IAM action of every call they make."""

    calls: set[str] = set()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.events.register("before-call", self._record)

    def _record(self, model, **_kwargs) -> None:
        action = aws_policy.iam_action(model.service_model.service_name, model.name)
        if action:
            RecordingSession.calls.add(action)


def _run_in_process(notebook: str) -> None:
    """The notebook's code cells, in order, in one namespace (as its kernel runs them), with its defaults."""
    namespace: dict = {"__name__": "__main__"}
    for cell in nbformat.read(NOTEBOOKS / f"{notebook}.ipynb", as_version=4).cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, f"{notebook}.ipynb", "exec"), namespace)


def _cli(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(list(args))
    return out.getvalue()


_made: list[FullLabRun] = []


def full_lab_run(local_cloud, tmp_path_factory: pytest.TempPathFactory) -> FullLabRun:
    """The session's one full run (made on the first caller's local cloud)."""
    if _made:
        return _made[0]
    reached_after, progress_json, progress_text = {}, {}, ""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(boto3, "Session", RecordingSession)
        patch.setenv("MPLBACKEND", "Agg")
        patch.setenv("AWS_ENDPOINT_URL", local_cloud.endpoint)
        patch.setenv("LABKIT_HOME", str(local_cloud.home))
        patch.setenv("LABKIT_RUN_ID", "full-lab")
        patch.chdir(tmp_path_factory.mktemp("full-lab-run"))
        for name, value in local_cloud.credentials.environment().items():
            patch.setenv(name, value)
        RecordingSession.calls = set()
        for notebook in LAB_NOTEBOOKS:
            if notebook == "99_teardown":
                progress_json, progress_text = json.loads(_cli("progress", "--json")), _cli("progress")
            _run_in_process(notebook)
            lab = labkit.connect(labkit.LabConfig.resolve())
            reached_after[notebook] = {m.name: m for m in progress.milestones(lab)}
        _made.append(FullLabRun(set(RecordingSession.calls), reached_after, progress_json, progress_text))
    return _made[0]
