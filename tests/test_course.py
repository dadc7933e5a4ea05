"""The notebooks are a course: the walkthrough's names and SQL as it wrote them, at least three
exercises a part in nbgrader's markup, checks that say what is wrong without giving the answer, and a
learner's own copy that never touches the committed notebooks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from labkit import exercises, workspace
from labkit.checks import CheckFailed
from labkit.config import LabConfig

ROOT = Path(__file__).parent.parent
NOTEBOOKS = ROOT / "notebooks"
WALKTHROUGH = json.loads((Path(__file__).parent / "data" / "walkthrough.json").read_text())
PARTS = sorted(p for p in NOTEBOOKS.glob("0[1-4]_*.ipynb"))


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _sources(path: Path) -> list[str]:
    return [cell.source for cell in nbformat.read(path, as_version=4).cells]


@pytest.mark.parametrize("statement", ["create_table", "add_partition", "query"])
def test_part_4_runs_the_walkthroughs_sql_as_written(statement):
    flat = _flat("\n".join(_sources(NOTEBOOKS / "04_data_analysis.ipynb")))
    assert _flat(WALKTHROUGH["sql"][statement]) in flat


def test_the_lab_uses_the_walkthroughs_names_and_says_where_it_departs():
    config, names = LabConfig(), WALKTHROUGH["names"]
    assert (config.log_group, config.cw_flow_log_name, config.metric_filter_name, config.metric_namespace,
            config.metric_name, config.alarm_name) == (names["log_group"], names["cw_flow_log"], names["metric_filter"],
                                                       names["metric_namespace"], names["metric_name"], names["alarm_name"])
    text = {path.stem: "\n".join(_sources(path)) for path in PARTS}
    assert names["s3_flow_log"] in text["01_flow_logs_setup"] and names["s3_destination_note"] in text["01_flow_logs_setup"]
    assert names["alarm_first_name"] in text["03_monitoring_alerting"]
    assert "AWSLogs/account-id/AeroSecureVPCLog" in text["04_data_analysis"]  # its wrong path, pointed out
    assert WALKTHROUGH["settings"]["filter_pattern"].replace(" ", "") in text["03_monitoring_alerting"].replace(" ", "").replace("\n", "")


@pytest.mark.parametrize("path", PARTS, ids=lambda p: p.stem)
def test_each_part_has_three_exercises_with_a_solution_and_a_check(path):
    cells = nbformat.read(path, as_version=4).cells
    marked = [cell.metadata["nbgrader"] for cell in cells if "nbgrader" in cell.metadata]
    solutions = [cell for cell in cells if cell.metadata.get("nbgrader", {}).get("solution")]
    checks = [m for m in marked if m.get("grade")]
    assert len(solutions) >= 3 and len(checks) >= 3
    assert all("### BEGIN SOLUTION" in c.source and "### END SOLUTION" in c.source for c in solutions)
    assert all(m.get("points", 0) > 0 and m.get("locked") for m in checks)
    assert len({m["grade_id"] for m in marked}) == len(marked)  # nbgrader needs them unique


@pytest.mark.parametrize("path", PARTS, ids=lambda p: p.stem)
def test_the_student_version_holds_no_solution_and_no_output(path):
    notebook = nbformat.read(path, as_version=4)
    solved = [cell.source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
              for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("solution")]
    given = "\n".join(cell.source for cell in notebook.cells)
    for region in solved:
        given = given.replace(region, "")
    # An answer's lines, less those the notebook also shows elsewhere (a closing brace, a JSON key)
    answers = [line.strip() for region in solved for line in region.splitlines()
               if line.strip() and line.strip() not in given]
    student = workspace.student_version(notebook)
    text = "\n".join(cell.source for cell in student.cells)
    assert answers and not [line for line in answers if line in text]
    assert text.count("raise NotImplementedError()") >= 3
    assert all(not cell.get("outputs") for cell in student.cells if cell.cell_type == "code")


def test_the_work_folder_is_seeded_once_and_reset_keeps_the_learners_copy(tmp_path):
    work = tmp_path / "work"
    assert workspace.seed(work, NOTEBOOKS) == sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    edited = work / "02_generate_traffic.ipynb"
    notebook = nbformat.read(edited, as_version=4)
    notebook.cells[0].source = "my notes"
    nbformat.write(notebook, edited)
    assert workspace.seed(work, NOTEBOOKS) == []  # never overwritten
    assert nbformat.read(edited, as_version=4).cells[0].source == "my notes"
    kept = workspace.reset("02", work, NOTEBOOKS)
    assert nbformat.read(kept, as_version=4).cells[0].source == "my notes"
    assert nbformat.read(edited, as_version=4).cells[0].source != "my notes"
    assert "labkit reset 02" in (work / workspace.START_HERE).read_text()
    with pytest.raises(ValueError, match="No notebook '07'"):
        workspace.reset("07", work, NOTEBOOKS)


def _hint(call) -> str:
    with pytest.raises(CheckFailed) as failed:
        call()
    assert failed.value.fix.startswith("Hint: ")
    return str(failed.value)


def test_a_wrong_trust_policy_gets_a_hint_not_the_answer():
    wrong = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"Service": "ec2.amazonaws.com"}}]}
    said = _hint(lambda: exercises.trust_policy(wrong))
    assert "ec2.amazonaws.com" in said and "vpc-flow-logs.amazonaws.com" not in said
    assert "STS" in _hint(lambda: exercises.trust_policy({**wrong, "Statement": [{**wrong["Statement"][0], "Action": "s3:*"}]}))
    exercises.trust_policy({**wrong, "Statement": [{**wrong["Statement"][0],
                                                    "Principal": {"Service": ["vpc-flow-logs.amazonaws.com"]}}]})


def test_each_wrong_reason_and_missing_data_choice_gets_its_own_hint():
    hints = {letter: _hint(lambda letter=letter: exercises.why_rejected(letter)) for letter in "ACD"}
    assert len(set(hints.values())) == 3 and "Hint" in hints["D"]
    exercises.why_rejected("B")
    assert "ALARM all the time" in _hint(lambda: exercises.treat_missing_data("breaching"))
    assert "not a TreatMissingData value" in _hint(lambda: exercises.treat_missing_data("NotBreaching"))


def _records(rows):
    return pd.DataFrame(rows, columns=["interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "bytes", "start", "action"])


def test_the_network_acl_prediction_is_judged_by_the_records():
    inbound = _records([("eni-1", "203.0.113.10", "10.0.1.4", 40000, 22, 60, 0, "ACCEPT")])
    outbound = _records([("eni-1", "10.0.1.4", "203.0.113.10", 22, 40000, 44, 0, "REJECT")])
    exercises.nacl_prediction({"inbound": "ACCEPT", "outbound": "REJECT"}, inbound, outbound)
    assert "stateless" in _hint(lambda: exercises.nacl_prediction({"inbound": "ACCEPT", "outbound": "ACCEPT"},
                                                                 inbound, outbound))


def test_the_top_ports_and_bytes_per_hour_answers_are_judged_by_the_records():
    records = _records([("eni-1", "198.51.100.1", "10.0.1.4", 1, 22, 40, 3600, "REJECT")] * 3
                       + [("eni-1", "198.51.100.2", "10.0.1.4", 1, 23, 40, 3600, "REJECT")] * 2
                       + [("eni-1", "198.51.100.2", "10.0.1.4", 1, 80, 40, 3600, "ACCEPT")] * 5
                       + [("eni-1", "10.0.1.4", "198.51.100.2", 80, 1, 500, 3700, "ACCEPT"),
                          ("eni-1", "10.0.1.4", "198.51.100.2", 80, 1, 700, 7300, "ACCEPT")])
    exercises.top_rejected_ports(pd.DataFrame({"dstPort": [22, 23], "rejections": [3, 2]}), records)
    assert "REJECT" in _hint(lambda: exercises.top_rejected_ports(
        pd.DataFrame({"dstPort": [80, 22], "rejections": [5, 3]}), records))
    hours = pd.to_datetime([3600, 7200], unit="s")
    exercises.bytes_per_interface_hour(pd.DataFrame({"interface_id": ["eni-1", "eni-1"], "hour": hours,
                                                     "bytes": [500, 700]}), records, {"eni-1": "10.0.1.4"})
    assert "srcaddr" in _hint(lambda: exercises.bytes_per_interface_hour(
        pd.DataFrame({"interface_id": ["eni-1", "eni-1"], "hour": hours, "bytes": [500, 900]}), records,
        {"eni-1": "10.0.1.4"}))


def test_an_rdp_pattern_is_tested_with_test_metric_filter(local_env):
    import labkit

    lab = labkit.connect(LabConfig.resolve())
    exercises.rdp_pattern(lab, '[v, a, e, s, d, sp, dp="3389", p="6", pk, b, st, en, action="REJECT", status]')
    assert "Sample 2 (an accepted RDP connection) matched" in _hint(
        lambda: exercises.rdp_pattern(lab, '[v, a, e, s, d, sp, dp="3389", p="6", pk, b, st, en, action, status]'))
    assert "refuses the pattern" in str(pytest.raises(CheckFailed, exercises.rdp_pattern, lab, "[v, a").value)


def test_the_brute_force_detector_is_judged_by_the_records():
    rows = [("eni-1", "198.51.100.9", "10.0.1.4", 30000 + n, 22, 40, 3600 * hour + 60 * n, "REJECT")
            for hour in (1, 2) for n in range(35)]  # a brute-forcer: 35 attempts in each of two hours
    rows += [("eni-1", "198.51.100.7", "10.0.1.4", 40000 + n, 22, 40, 3600 + 600 * n, "REJECT") for n in range(3)]
    rows += [("eni-1", "203.0.113.10", "10.0.1.4", 50000 + n, 22, 40, 3600 + 5 * n, "REJECT") for n in range(4)]
    records = _records(rows)
    flagged = lambda *sources: pd.DataFrame({"srcaddr": list(sources)})  # noqa: E731
    exercises.brute_force_tuning(flagged("198.51.100.9"), "203.0.113.10", records)
    assert "flags you" in _hint(lambda: exercises.brute_force_tuning(flagged("198.51.100.9", "203.0.113.10"),
                                                                     "203.0.113.10", records))
    assert "198.51.100.7" in _hint(lambda: exercises.brute_force_tuning(flagged("198.51.100.9", "198.51.100.7"),
                                                                       "203.0.113.10", records))
    assert "misses 1" in _hint(lambda: exercises.brute_force_tuning(flagged(), "203.0.113.10", records))
