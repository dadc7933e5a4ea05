"""A workshop's release and grading, with nbgrader: the release holds no solution, and autograde gives
solved notebooks full marks, the release as it is zero (without a crash), a half-solved one partial
marks; each learner's notebooks run in order on a fresh local cloud of their own. Small fixture
notebooks in nbgrader's markup, then the lab's own notebooks."""

from __future__ import annotations

import csv
import shutil
import socket
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from labkit import grading
from labkit.localcloud import lifecycle

ROOT = Path(__file__).resolve().parent.parent
COURSE_CONFIG = ROOT / "workshop" / "course" / "nbgrader_config.py"


def _nbgrader(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
              points: int | None = None) -> dict:
    metadata = {"schema_version": 3, "grade": grade, "locked": locked, "solution": solution, "grade_id": grade_id}
    return {"nbgrader": {**metadata, **({"points": points} if points is not None else {})}}


def _exercise(number: str, solution: str, check: str, points: int = 1) -> list:
    """A task, its solution region and its graded check, as the lab's notebooks mark them."""
    return [
        new_markdown_cell(f"### Exercise {number}", metadata=_nbgrader(f"ex{number}-task", locked=True)),
        new_code_cell(f"### BEGIN SOLUTION\n{solution}\n### END SOLUTION",
                      metadata=_nbgrader(f"ex{number}-answer", solution=True)),
        new_code_cell(check, metadata=_nbgrader(f"ex{number}-check", grade=True, locked=True, points=points)),
    ]


CONNECT = "import labkit\nfrom labkit.checks import check\nlab = labkit.connect(labkit.LabConfig.resolve())"
BUCKET_CHECK = ("names = [b['Name'] for b in lab.client('s3').list_buckets()['Buckets']]\n"
                "check('fixture-bucket' in names, 'The bucket is there.', 'No bucket fixture-bucket.', "
                "'Hint: S3 CreateBucket.')")
FIXTURES = {
    # Part 1 makes a bucket in the learner's cloud; Part 2 finds it there (the parts share one cloud).
    "01_make.ipynb": [
        new_code_cell("target = None", metadata={"tags": ["parameters"]}),
        new_code_cell(CONNECT),
        *_exercise("1-1", "lab.client('s3').create_bucket(Bucket='fixture-bucket')", BUCKET_CHECK, points=2),
        *_exercise("1-2", "answer = 42",
                   "check(answer == 42, 'The answer is right.', f'{answer} is not the answer.', 'Hint: six times seven.')\n"
                   "### BEGIN HIDDEN TESTS\nassert isinstance(answer, int), 'SECRET-HIDDEN-TEST'\n### END HIDDEN TESTS"),
    ],
    "02_use.ipynb": [
        new_code_cell("target = None", metadata={"tags": ["parameters"]}),
        new_code_cell(CONNECT),
        *_exercise("2-1", "found = 'fixture-bucket' in [b['Name'] for b in lab.client('s3').list_buckets()['Buckets']]",
                   "check(found is True, 'Part 1 made the bucket in this cloud.', 'The bucket of Part 1 is not here.')"),
    ],
}
SOLUTION_TEXT = ("create_bucket(Bucket='fixture-bucket')", "answer = 42", "found = 'fixture-bucket'")


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course like workshop/course (its own nbgrader_config.py), with the fixture notebooks as source."""
    course = tmp_path_factory.mktemp("course")
    shutil.copyfile(COURSE_CONFIG, course / "nbgrader_config.py")
    source = course / "source" / grading.ASSIGNMENT
    source.mkdir(parents=True)
    for name, cells in FIXTURES.items():
        notebook = new_notebook(cells=cells)
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(notebook, source / name)
    return course


@pytest.fixture(scope="module")
def released(course, tmp_path_factory) -> dict[str, nbformat.NotebookNode]:
    handout = tmp_path_factory.mktemp("handout")
    paths = grading.release(course, into=handout)
    assert sorted(p.name for p in paths) == sorted(FIXTURES) and all(p.parent == handout for p in paths)
    return {path.name: nbformat.read(path, as_version=4) for path in paths}


def test_the_release_holds_no_solution_no_hidden_test_and_no_output_and_keeps_the_parameters_cell(released):
    for name, notebook in released.items():
        text = nbformat.writes(notebook)
        assert not [solution for solution in SOLUTION_TEXT if solution in text]
        assert "SECRET-HIDDEN-TEST" not in text and "BEGIN SOLUTION" not in text
        assert "raise NotImplementedError()" in text
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
        assert notebook.cells[0].metadata["tags"] == ["parameters"] and notebook.cells[0].source == "target = None"
        checks = [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade")]
        assert checks and all(cell.metadata["editable"] is False for cell in checks)  # locked for the learner


def _submit(submissions: Path, learner: str, notebooks: dict[str, nbformat.NotebookNode]) -> None:
    folder = submissions / learner / grading.ASSIGNMENT
    folder.mkdir(parents=True)
    for name, notebook in notebooks.items():
        nbformat.write(notebook, folder / name)


def _answered(notebook: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The released notebook with the learner's answers in some of its solution cells."""
    notebook = nbformat.reads(nbformat.writes(notebook), as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return notebook


def _solved(source: Path) -> dict[str, nbformat.NotebookNode]:
    return {path.name: nbformat.read(path, as_version=4) for path in sorted(source.glob("*.ipynb"))}


def test_grading_gives_full_zero_and_partial_marks_each_on_a_fresh_cloud(course, released, tmp_path, monkeypatch):
    submissions = tmp_path / "submitted"
    _submit(submissions, "ada", _solved(course / "source" / grading.ASSIGNMENT))
    _submit(submissions, "bob", released)  # the release as it is
    half = {"01_make.ipynb": _answered(released["01_make.ipynb"], {"ex1-2-answer": "answer = 42"}),
            "02_use.ipynb": released["02_use.ipynb"]}
    # ...and a check cell edited to pass: autograde puts the locked original (with its hidden test) back
    for cell in half["01_make.ipynb"].cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex1-1-check":
            cell.source = "pass"
    _submit(submissions, "cy", half)

    heard: list[str] = []
    rows = grading.grade(course, submissions, report=heard.append)

    table = {(row.learner, row.exercise): row for row in rows}
    assert {learner: sum(r.points for r in rows if r.learner == learner) for learner in ("ada", "bob", "cy")} == {
        "ada": 4, "bob": 0, "cy": 1}
    assert all(row.status == "passed" for row in rows if row.learner == "ada")
    assert table[("ada", "ex2-1-check")].message == "✅ Part 1 made the bucket in this cloud."
    assert table[("bob", "ex1-2-check")].message == "NameError: name 'answer' is not defined"
    assert table[("cy", "ex1-1-check")].message == "❌ No bucket fixture-bucket. Hint: S3 CreateBucket."
    assert (table[("cy", "ex1-2-check")].points, table[("cy", "ex1-2-check")].status) == (1, "passed")
    assert heard == ["ada ...", "ada: graded", "bob ...", "bob: graded", "cy ...", "cy: graded"]
    # each learner had a cloud of their own, stopped after their notebooks (ada's bucket was not cy's)
    for learner in ("ada", "bob", "cy"):
        assert (course / "grading" / learner / "credentials.json").exists()
    for learner in ("ada", "bob", "cy"):
        monkeypatch.setenv("LABKIT_HOME", str(course / "grading" / learner))
        assert lifecycle.recorded() is None

    csv_path, page = grading.write_reports(rows, tmp_path / "reports")
    with csv_path.open(newline="", encoding="utf-8") as file:
        written = list(csv.DictReader(file))
    assert written[0].keys() == {"learner", "notebook", "exercise", "points", "max_points", "status", "message"}
    assert len(written) == 9 and {row["status"] for row in written} == {"passed", "failed"}
    html = page.read_text(encoding="utf-8")
    assert "<th>cy</th>" in html and "1 / 4" in html and "No bucket fixture-bucket." in html


def test_grading_on_the_learners_own_clouds_judges_what_is_in_them(course, released, tmp_path, monkeypatch):
    """--cloud own: ada's release, unsolved, still scores exercise 1.1, because her own cloud has the bucket;
    bob, whose cloud does not run, is not graded (and gets no cloud started in his home)."""
    homes, submissions = tmp_path / "homes", tmp_path / "submitted"
    for learner in ("ada", "bob"):
        _submit(submissions, learner, released)
    monkeypatch.setenv("LABKIT_HOME", str(homes / "ada" / ".labkit"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lifecycle.start_detached(port)
    try:
        import labkit

        labkit.connect(labkit.LabConfig.resolve()).client("s3").create_bucket(Bucket="fixture-bucket")
        rows = grading.grade(course, submissions, cloud="own", homes=homes)
        assert lifecycle.running() is not None  # a learner's own cloud runs on
    finally:
        monkeypatch.setenv("LABKIT_HOME", str(homes / "ada" / ".labkit"))
        lifecycle.stop()
    table = {(row.learner, row.exercise): row for row in rows}
    assert (table[("ada", "ex1-1-check")].points, table[("ada", "ex1-1-check")].message) == (
        2, "✅ The bucket is there.")
    assert all(row.points == 0 and row.message.startswith("not graded: no local cloud runs in ")
               for row in rows if row.learner == "bob")
    monkeypatch.setenv("LABKIT_HOME", str(homes / "bob" / ".labkit"))
    assert lifecycle.recorded() is None


def test_grading_before_any_release_says_to_release_first(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copyfile(COURSE_CONFIG, course / "nbgrader_config.py")
    (tmp_path / "submitted" / "ada" / grading.ASSIGNMENT).mkdir(parents=True)
    with pytest.raises(grading.GradingError, match="never released from this course: run `labkit workshop release`"):
        grading.grade(course, tmp_path / "submitted")


@pytest.mark.slow  # two learners' whole labs: about 8 minutes (make test-slow)
def test_grading_the_labs_own_notebooks_gives_the_solutions_full_marks_and_parts_1_and_2_alone_theirs(tmp_path):
    """The release of notebooks/, graded: the solutions (as committed) and a learner who solved Parts 1 and 2
    only (Parts 3 and 4 unsolved fail at their first exercise, or at once where no flow log delivers)."""
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    shutil.copyfile(COURSE_CONFIG, course / "nbgrader_config.py")
    shutil.copytree(ROOT / "notebooks", course / "source" / grading.ASSIGNMENT)
    released = {path.name: nbformat.read(path, as_version=4) for path in grading.release(course)}
    solved = _solved(ROOT / "notebooks")
    submissions = tmp_path / "submitted"
    _submit(submissions, "sol", solved)
    _submit(submissions, "half", {name: solved[name] if name[:2] in ("01", "02", "99") else notebook
                                  for name, notebook in released.items()})

    rows = grading.grade(course, submissions)

    by_part: dict[tuple[str, str], list[grading.ExerciseResult]] = {}
    for row in rows:
        by_part.setdefault((row.learner, row.notebook[:2]), []).append(row)
    assert {key: sum(r.points for r in found) for key, found in by_part.items()} == {
        ("half", "01"): 3, ("half", "02"): 3, ("half", "03"): 0, ("half", "04"): 0,
        ("sol", "01"): 3, ("sol", "02"): 3, ("sol", "03"): 3, ("sol", "04"): 3}
    assert all(row.message.startswith("✅") for row in rows if row.learner == "sol"), [
        row for row in rows if row.learner == "sol" and not row.message.startswith("✅")]
    unsolved = by_part[("half", "03")] + by_part[("half", "04")]
    assert all(row.status == "failed" and row.message.startswith(("NameError: ", "❌ ")) for row in unsolved), unsolved
