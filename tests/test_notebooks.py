"""The notebooks as learners and CI meet them: clean committed outputs, idempotent runs, and the
headless runner's behaviour on success and failure. (nbval re-runs the committed notebooks and
compares their outputs; see pyproject.toml.)"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labkit.cli import main
from labkit import runner
from labkit.runner import execute, run_lab, summary_table

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
COMMITTED = sorted(NOTEBOOKS.glob("*.ipynb"))
ABSOLUTE_PATH = re.compile(r"(?<![\w.])(/(home|root|tmp|work|Users|var|private)/|[A-Za-z]:\\\\)")
ACCESS_KEY = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")


def _texts(cell) -> list[str]:
    texts = [cell.source]
    for output in cell.get("outputs", []):
        texts.append(output.get("text", ""))
        texts.extend(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))
        texts.extend(output.get("traceback", []))
    return texts


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_committed_notebook_is_clean(path):
    notebook = nbformat.read(path, as_version=4)
    assert notebook.metadata.kernelspec.name == "python3"
    assert [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])], "needs a parameters cell"
    for index, cell in enumerate(notebook.cells):
        for text in _texts(cell):
            assert not ABSOLUTE_PATH.search(text), f"cell {index} holds a machine path"
            assert not ACCESS_KEY.search(text), f"cell {index} holds an AWS access key"
        if cell.cell_type == "code":
            assert cell.execution_count is not None, f"cell {index} was not run: refresh with `make notebooks`"
            assert all(o.output_type != "error" for o in cell.outputs), f"cell {index} holds an error"
            assert not any(o.get("name") == "stderr" for o in cell.outputs), f"cell {index} wrote to stderr"


def _stdout(notebook_path: Path) -> str:
    notebook = nbformat.read(notebook_path, as_version=4)
    return "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)


def test_parts_1_and_2_run_twice_without_duplicates_then_teardown_leaves_nothing(local_env, tmp_path):
    for attempt in ("first", "second"):
        out = tmp_path / attempt
        out.mkdir()
        for notebook in ("01_flow_logs_setup", "02_generate_traffic"):
            result = execute(NOTEBOOKS / f"{notebook}.ipynb", out, {}, cell_timeout=120)
            assert result.status == "ok", result.detail
        assert "✅ Two flow logs, both ACTIVE." in _stdout(out / "01_flow_logs_setup.ipynb")
        part2 = _stdout(out / "02_generate_traffic.ipynb")
        assert "❌" not in part2 and "✅ Inbound SSH: ACCEPT, then REJECT after the swap, then ACCEPT again." in part2
    result = execute(NOTEBOOKS / "99_teardown.ipynb", tmp_path, {}, cell_timeout=120)
    assert result.status == "ok", result.detail
    said = _stdout(tmp_path / "99_teardown.ipynb")
    assert "Removed " in said and "each confirmed gone" in said and "✅ Nothing of this lab run remains." in said


def test_teardown_of_a_run_that_made_nothing_says_there_was_nothing_to_remove(local_env, tmp_path):
    result = execute(NOTEBOOKS / "99_teardown.ipynb", tmp_path, {"run_id": "never-made"}, cell_timeout=120)
    assert result.status == "ok", result.detail
    said = _stdout(tmp_path / "99_teardown.ipynb")
    assert "Nothing of this lab run was found: there was nothing to remove." in said and "Removed" not in said


def _notebook(path: Path, *sources: str, parameters: str = "target = None") -> None:
    parameters = new_code_cell(parameters, metadata={"tags": ["parameters"]})
    notebook = new_notebook(cells=[parameters, *(new_code_cell(s) for s in sources)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


def test_a_failing_notebook_stops_the_run_names_the_cell_and_teardown_still_runs(local_env, tmp_path):
    notebooks, marker = tmp_path / "notebooks", tmp_path / "teardown-ran"
    notebooks.mkdir()
    _notebook(notebooks / "01_ok.ipynb", "print('fine')")
    _notebook(notebooks / "02_fails.ipynb", "x = 1", "raise ValueError('boom')")
    _notebook(notebooks / "03_after.ipynb", "print('never')")
    _notebook(notebooks / "99_teardown.ipynb", f"open({str(marker)!r}, 'w').write('yes')")

    results, out_dir = run_lab(notebooks_dir=notebooks, runs_dir=tmp_path / "runs", cell_timeout=60)
    assert [(r.notebook, r.status) for r in results] == [
        ("01_ok", "ok"), ("02_fails", "failed"), ("03_after", "skipped"), ("99_teardown", "ok")]
    assert results[1].detail == "cell In [4] `raise ValueError('boom')` raised ValueError: boom"
    assert marker.read_text() == "yes"
    assert (out_dir / "02_fails.ipynb").exists()  # kept for inspection
    assert re.search(r"^02_fails +failed .*raised ValueError: boom$", summary_table(results), re.M)


def test_only_and_keep_select_notebooks_and_skip_teardown(local_env, tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("01_a", "02_b", "99_teardown"):
        _notebook(notebooks / f"{name}.ipynb", "print(1)")
    results, _ = run_lab(only=["02"], keep=True, notebooks_dir=notebooks, runs_dir=tmp_path / "runs")
    assert [r.notebook for r in results] == ["02_b"]
    with pytest.raises(ValueError, match="No notebook numbered 07"):
        run_lab(only=["07"], notebooks_dir=notebooks, runs_dir=tmp_path / "runs")


def test_each_notebook_gets_the_parameters_it_declares_and_a_typo_is_refused(local_env, tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "01_a.ipynb", "print(alert_email)", parameters="target = None\nalert_email = None")
    _notebook(notebooks / "02_b.ipynb", "print('no alert_email here')")
    _notebook(notebooks / "99_teardown.ipynb", "print('teardown')")
    with pytest.raises(ValueError, match="No notebook takes the parameter.s. alert_mail; they take alert_email, target"):
        run_lab(parameters={"alert_mail": "me@example.org"}, notebooks_dir=notebooks, runs_dir=tmp_path / "runs")
    results, out_dir = run_lab(parameters={"alert_email": "me@example.org"}, notebooks_dir=notebooks,
                               runs_dir=tmp_path / "runs")
    assert [r.status for r in results] == ["ok", "ok", "ok"]
    injected = {path.stem: "".join(cell.source for cell in nbformat.read(path, 4).cells
                                   if "injected-parameters" in cell.metadata.get("tags", []))
                for path in out_dir.glob("*.ipynb")}
    assert "alert_email = " in injected["01_a"] and "alert_email" not in injected["02_b"]


def test_run_with_a_wrong_target_fails_before_running(capsys):
    assert main(["run", "--target", "azure"]) == 2
    assert "Unknown target 'azure'" in capsys.readouterr().err


def test_run_on_aws_takes_the_region_parameter_and_checks_credentials_first(capsys, monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["run", "--target", "aws"]) == 2
    assert "No AWS region is set for target='aws'" in capsys.readouterr().err
    assert main(["run", "--target", "aws", "-p", "region", "eu-west-1"]) == 2  # the region is taken ...
    error = capsys.readouterr().err
    assert "No AWS credentials found for target='aws'" in error  # ... and no notebook runs without credentials


def test_runs_started_in_the_same_second_get_folders_of_their_own(tmp_path, monkeypatch):
    from labkit import runner

    folders = {runner._new_run_directory(tmp_path / "runs") for _ in range(4)}
    assert len(folders) == 4 and all(folder.is_dir() for folder in folders)


def test_refresh_runs_the_notebooks_on_its_own_local_cloud_and_starts_no_other(tmp_path, monkeypatch):
    from labkit.refresh import refresh

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "01_a.ipynb", "import labkit\nfrom labkit.localcloud import lifecycle\n"
              "lab = labkit.connect(labkit.LabConfig.resolve())\nprint('detached:', lifecycle.recorded())")
    _notebook(notebooks / "99_teardown.ipynb", "print('teardown')")
    assert refresh(notebooks) == 0
    assert "detached: None" in _stdout(notebooks / "01_a.ipynb")  # it used the refresh's own cloud


def test_a_failed_check_fails_the_run_names_the_check_and_shows_no_traceback(local_env, tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "01_checked.ipynb", "from labkit.checks import check\n"
              "check(True, 'The VPC exists.', 'no VPC')\n"
              "check(False, 'fine', 'The flow logs are missing.', 'Run 01_flow_logs_setup first.')",
              "print('never')")
    _notebook(notebooks / "99_teardown.ipynb", "print('teardown')")
    heard: list[str] = []
    results, out_dir = run_lab(notebooks_dir=notebooks, runs_dir=tmp_path / "runs", cell_timeout=60,
                               report=heard.append)
    assert [(r.notebook, r.status) for r in results] == [("01_checked", "failed"), ("99_teardown", "ok")]
    assert results[0].detail == ("check failed in cell In [3]: The flow logs are missing. "
                                 "Run 01_flow_logs_setup first.")
    assert heard[0] == "01_checked ..." and heard[1].startswith("01_checked: failed")
    cell = next(c for c in nbformat.read(out_dir / "01_checked.ipynb", as_version=4).cells if "check(False" in c.source)
    error = next(o for o in cell.outputs if o.output_type == "error")
    assert error.traceback == ["❌ The flow logs are missing.", "   Run 01_flow_logs_setup first."]
    assert "✅ The VPC exists." in "".join(o.get("text", "") for o in cell.outputs)


def test_a_run_announces_each_step_as_its_first_cell_starts(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## Step 1 — Make it\n\nText."),
        nbformat.v4.new_code_cell("a = 1"), nbformat.v4.new_code_cell("b = 2"),
        nbformat.v4.new_markdown_cell("What you saw.\n\n## Step 2 — Use it"),  # a heading below other text
        nbformat.v4.new_code_cell("a + b")])
    path = tmp_path / "steps.ipynb"
    nbformat.write(notebook, path)
    said: list[str] = []
    on_cell_start = runner._step_announcer(path, said.append)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            on_cell_start(cell, index)
    assert said == ["  Step 1 — Make it", "  Step 2 — Use it"]
