"""A learner's progress, read from their own cloud: which milestones each part reaches, after nothing and
after each of the lab's notebooks; `labkit progress` never starts a cloud to find out."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

import labkit
from labkit import progress
from labkit.cli import main
from labkit.localcloud import lifecycle
from labkit.session import Lab

from .full_lab import full_lab_run

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
AFTER = {
    "01_flow_logs_setup": {"flow_logs_active"},
    "02_generate_traffic": {"records_in_s3", "records_in_cloudwatch_logs"},
    "03_monitoring_alerting": {"metric_filter_publishing", "alarm_was_in_alarm", "subscription_confirmed",
                               "alarm_email_received"},
    "04_data_analysis": {"insights_query_run", "walkthrough_athena_query_run"},
}


def _reached(lab) -> dict[str, progress.Milestone]:
    return {m.name: m for m in progress.milestones(lab)}


def test_the_milestones_are_those_of_the_four_parts_in_order(local_env):
    found = progress.milestones(labkit.connect(labkit.LabConfig.resolve()))
    assert [m.name for m in found] == [name for names in (
        ["flow_logs_active"], ["records_in_s3", "records_in_cloudwatch_logs"],
        ["metric_filter_publishing", "alarm_was_in_alarm", "subscription_confirmed", "alarm_email_received"],
        ["insights_query_run", "walkthrough_athena_query_run"]) for name in names]
    assert [m.part for m in found] == [1, 2, 2, 3, 3, 3, 3, 4, 4]


def test_on_a_fresh_account_nothing_is_reached_and_each_says_what_is_missing(local_env):
    reached = _reached(labkit.connect(labkit.LabConfig.resolve()))
    assert not [m for m in reached.values() if m.reached]
    assert reached["flow_logs_active"].message == "No flow log named S3-logs, CW-logs (Part 1)"
    assert reached["records_in_s3"].message.startswith("The cloud answered NoSuchBucket: ")
    assert reached["alarm_was_in_alarm"].message == "No alarm named 'SSH rejects' (Part 3, Exercise 3.3)."


@pytest.mark.slow  # a whole lab or a sweep of every region: minutes (make test-slow)
def test_each_notebook_reaches_its_parts_milestones(local_cloud, tmp_path_factory):
    run = full_lab_run(local_cloud, tmp_path_factory)  # the session's one whole lab, read after each notebook
    expected: set[str] = set()
    for notebook, milestones in AFTER.items():
        expected |= milestones
        reached = run.reached_after[notebook]
        assert {name for name, m in reached.items() if m.reached} == expected, (notebook, [
            m.message for m in reached.values() if m.reached != (m.name in expected)])
    said = run.reached_after["04_data_analysis"]
    assert said["records_in_s3"].message.startswith("ACCEPT and REJECT records in s3://")
    assert said["alarm_email_received"].message.startswith("The ALARM email reached ")
    assert run.progress_json["running"] is True and [part["part"] for part in run.progress_json["parts"]] == [1, 2, 3, 4]
    assert all(m["reached"] for part in run.progress_json["parts"] for m in part["milestones"])
    assert run.progress_text.endswith("9 of 9 milestones reached.\n")
    assert not [m for m in run.reached_after["99_teardown"].values() if m.reached]  # teardown leaves nothing


def test_progress_without_a_running_cloud_says_so_and_starts_none(capsys):
    assert main(["progress"]) == 1
    assert "No local cloud is running" in capsys.readouterr().out
    assert lifecycle.recorded() is None
    assert main(["progress", "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == {"running": False, "parts": []}


@pytest.mark.parametrize("function", [function for _part, function in progress._MILESTONES], ids=lambda f: f.__name__)
def test_a_milestone_the_cloud_refuses_to_show_is_not_reached_and_says_why(function, local_env):
    lab = labkit.connect(labkit.LabConfig.resolve())
    stranger = boto3.Session(aws_access_key_id=lab.session.get_credentials().access_key,
                             aws_secret_access_key="not-the-owners-secret", region_name=lab.region)
    reached, message = function(Lab(lab.config, stranger, lab.account_id, lab.caller_arn, lab.endpoint))
    assert reached is False
    assert message.startswith("The cloud answered ")
