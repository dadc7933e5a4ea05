"""The instructor's view over the learners' homes: collecting their work/ for grading, and their progress
read from each learner's own cloud (signed with that learner's keys)."""

from __future__ import annotations

import socket

import nbformat
from nbformat.v4 import new_notebook

from labkit import workshop
from labkit.cli import main
from labkit.localcloud import lifecycle


def test_collect_copies_each_learners_work_into_nbgraders_submitted_layout(tmp_path):
    homes, submitted = tmp_path / "homes", tmp_path / "submitted"
    (homes / "ada" / "work").mkdir(parents=True)
    (homes / "bob").mkdir()
    nbformat.write(new_notebook(), homes / "ada" / "work" / "01_flow_logs_setup.ipynb")
    collected = workshop.collect(homes, submitted)
    assert {name: [path.name for path in paths] for name, paths in collected.items()} == {
        "ada": ["01_flow_logs_setup.ipynb"], "bob": []}
    folder = submitted / "ada" / "vpc-flow-logs"
    assert (folder / "01_flow_logs_setup.ipynb").exists() and (folder / "timestamp.txt").read_text().endswith(" UTC")
    assert not (submitted / "bob").exists()


def test_progress_over_homes_reads_each_learners_own_cloud_and_starts_none(tmp_path, monkeypatch, capsys):
    homes = tmp_path / "homes"
    (homes / "bob" / ".labkit").mkdir(parents=True)
    monkeypatch.setenv("LABKIT_HOME", str(homes / "ada" / ".labkit"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lifecycle.start_detached(port)  # ada's cloud, with ada's keys; bob has none running
    try:
        overview = workshop.progress(homes)
    finally:
        lifecycle.stop()
    assert overview["bob"] == {"running": False, "parts": []}
    assert overview["ada"]["running"] is True
    assert [m["reached"] for part in overview["ada"]["parts"] for m in part["milestones"]] == [False] * 9
    table = workshop.progress_table(overview).splitlines()
    assert table[1].startswith("ada ") and table[1].endswith("0/9") and table[2] == "bob      no local cloud running"
    assert table[3] == " 1: flow_logs_active"
    monkeypatch.setenv("LABKIT_HOME", str(homes / "bob" / ".labkit"))
    assert lifecycle.recorded() is None  # asking started no cloud for bob
    assert main(["workshop", "progress", str(homes), "--json"]) == 0
    assert '"bob": {\n    "running": false' in capsys.readouterr().out
