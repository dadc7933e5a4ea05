"""The lab as an nbgrader course: the student release (nbgrader's generate_assignment) and the grades
(nbgrader's autograde), read back as a table of learner x exercise: points, passed or failed, and what the
exercise's check said.

The course is `workshop/course/` in nbgrader's layout; its `nbgrader_config.py` holds the settings, so that
nbgrader's own command line and JupyterLab extension grade the same way as `labkit workshop grade`. Its
source assignment is the repository's `notebooks/`. The parts build on each other: autograde runs a
learner's notebooks in order in fresh kernels, all against one local cloud of that learner (the hooks
below), a fresh one by default, or the learner's own.
"""

from __future__ import annotations

import csv
import html
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import nbformat

from .runner import project_root

ASSIGNMENT = "vpc-flow-logs"
# Environment of the grading process that the autograde hooks read: which cloud a learner's notebooks use.
CLOUD_VARIABLE, HOMES_VARIABLE = "LABKIT_GRADE_CLOUD", "LABKIT_GRADE_HOMES"
CLOUDS = ("fresh", "own")


class GradingError(RuntimeError):
    """nbgrader could not do what was asked; the message says what and what to do."""


def course_root() -> Path:
    return project_root() / "workshop" / "course"


# --- nbgrader ----------------------------------------------------------------------------------------

def nbgrader_api(course: Path, **coursedir: str) -> Any:
    """nbgrader's API on the course, configured by its nbgrader_config.py (and `coursedir` settings)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    with_interpreter_on_path()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    for name, value in coursedir.items():
        setattr(config.CourseDirectory, name, value)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _succeeded(result: dict[str, Any], what: str) -> None:
    if not result["success"]:
        raise GradingError(f"nbgrader could not {what}: {result.get('error') or result.get('log')}")


def release(course: Path | None = None, into: Path | None = None) -> list[Path]:
    """Generate the student version of the lab (nbgrader's generate_assignment: solutions stubbed, hidden
    tests removed, outputs cleared, checks and the papermill `parameters` cell kept, locked cells recorded
    in the gradebook) into the course's release/, and copy it to `into` if given. Returns the notebooks."""
    course = course or course_root()
    _succeeded(nbgrader_api(course).generate_assignment(ASSIGNMENT), f"generate the release of {ASSIGNMENT}")
    released = sorted((course / "release" / ASSIGNMENT).glob("*.ipynb"))
    if into is None:
        return released
    into.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copyfile(notebook, into / notebook.name)) for notebook in released]


def student_versions(notebooks: Path) -> dict[str, nbformat.NotebookNode]:
    """The release of the notebooks in `notebooks` (by file name), made in a course of its own that is
    thrown away: what `labkit work` gives a learner is what a workshop's release gives them."""
    with tempfile.TemporaryDirectory(prefix="labkit-release-") as scratch:
        course = Path(scratch)
        (course / "source" / ASSIGNMENT).mkdir(parents=True)
        for notebook in notebooks.glob("*.ipynb"):
            shutil.copyfile(notebook, course / "source" / ASSIGNMENT / notebook.name)
        database = f"sqlite:///{course / 'gradebook.db'}"
        (course / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"c.CourseDirectory.root = {str(course)!r}\n"
            f"c.CourseDirectory.db_url = {database!r}\n"
            f"c.Exchange.root = {str(course / 'exchange')!r}\n")
        return {path.name: nbformat.read(path, as_version=4) for path in release(course)}


def with_interpreter_on_path() -> None:
    """nbgrader runs `alembic` by name to make a gradebook: this interpreter's bin/ must be on PATH, also
    when nbgrader runs as .venv/bin/nbgrader without the venv activated (the course's config calls this)."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])


# --- the learner's cloud while autograde runs their notebooks (nbgrader's convert hooks) --------------

def _learner_of(notebooks: list[str]) -> str:
    """The learner whose notebooks these are: nbgrader's layout is submitted/<learner>/<assignment>/."""
    return Path(notebooks[0]).parent.parent.name


def cloud_for_learner(grading_homes: Path, assignment: str, student: str, notebooks: list[str]) -> None:
    """Before autograde runs a learner's notebooks: point the kernels (they inherit this process's
    environment) at the learner's cloud: a fresh one in `grading_homes`/<learner> (the notebooks start
    it), or, with LABKIT_GRADE_CLOUD=own, the learner's own in $LABKIT_GRADE_HOMES/<learner>/.labkit."""
    learner = _learner_of(notebooks)
    if os.environ.get(CLOUD_VARIABLE, "fresh") == "own":
        home = Path(os.environ[HOMES_VARIABLE]) / learner / ".labkit"
    else:
        home = grading_homes / learner
        shutil.rmtree(home, ignore_errors=True)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.pop(name, None)
    os.environ.update(LABKIT_HOME=str(home), LABKIT_TARGET="local")


def stop_learners_cloud(grading_homes: Path, assignment: str, student: str, notebooks: list[str]) -> None:
    """After autograde ran a learner's notebooks: stop the fresh cloud they started (a learner's own runs on)."""
    if os.environ.get(CLOUD_VARIABLE, "fresh") == "own":
        return
    from .localcloud import lifecycle

    lifecycle.stop()


# --- grading ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExerciseResult:
    """One learner's result on one exercise (an autograded check cell)."""

    learner: str
    notebook: str
    exercise: str  # the check cell's grade_id
    points: float
    max_points: float
    status: str  # "passed" or "failed"
    message: str  # what the check printed: ✅ and what is right, or ❌, what is wrong and the hint


def grade(course: Path | None = None, submissions: Path | None = None, cloud: str = "fresh",
          homes: Path | None = None, report: Callable[[str], None] = lambda line: None) -> list[ExerciseResult]:
    """Autograde every learner's submission in `submissions` (nbgrader's layout,
    <learner>/vpc-flow-logs/*.ipynb; default: the course's submitted/) and return their results."""
    if cloud not in CLOUDS:
        raise ValueError(f"cloud must be one of {', '.join(CLOUDS)}, not {cloud!r}")
    if cloud == "own" and homes is None:
        raise ValueError("Grading on the learners' own clouds needs the folder of their homes (--homes).")
    course = course or course_root()
    api = nbgrader_api(course, **({"submitted_directory": str(submissions.resolve())} if submissions else {}))
    _require_release(api)
    learners = sorted(api.get_submitted_students(ASSIGNMENT))
    if not learners:
        raise GradingError(f"No submission in {api.coursedir.format_path(api.coursedir.submitted_directory, '*', ASSIGNMENT)}")
    saved = {name: os.environ.get(name) for name in (CLOUD_VARIABLE, HOMES_VARIABLE, "LABKIT_HOME", "LABKIT_TARGET",
                                                     "AWS_ENDPOINT_URL")}
    os.environ[CLOUD_VARIABLE] = cloud
    if homes is not None:
        os.environ[HOMES_VARIABLE] = str(homes.resolve())
    try:
        failures = {}
        for learner in learners:
            report(f"{learner} ...")
            if cloud == "own" and not _running_in(homes / learner / ".labkit"):
                failures[learner] = (f"no local cloud runs in {homes / learner / '.labkit'}: the learner starts it "
                                     f"by running a notebook, or grade with --cloud fresh")
                report(f"{learner}: not graded: {failures[learner]}")
                continue
            result = api.autograde(ASSIGNMENT, learner)
            if not result["success"]:
                failures[learner] = _last_line(result.get("error") or result.get("log") or "autograde failed")
            report(f"{learner}: " + ("graded" if result["success"] else f"not graded: {failures[learner]}"))
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
    return results(api, learners, failures)


def _running_in(labkit_home: Path) -> bool:
    """Whether the learner's own local cloud runs (grading must not start one in their home)."""
    from .localcloud import lifecycle

    os.environ["LABKIT_HOME"] = str(labkit_home)  # grade() restores it
    return lifecycle.running() is not None


def _require_release(api: Any) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        try:
            gradebook.find_assignment(ASSIGNMENT)
        except MissingEntry:
            raise GradingError(f"{ASSIGNMENT} was never released from this course: run `labkit workshop "
                               f"release` first (grading compares the submissions with the release).") from None


def _last_line(text: str) -> str:
    return next((line.strip() for line in reversed(text.strip().splitlines()) if line.strip()), text)


def results(api: Any, learners: Iterable[str], failures: dict[str, str] | None = None) -> list[ExerciseResult]:
    """Each learner's points per check cell (nbgrader's gradebook) with what the check said (the
    autograded notebook's output)."""
    from nbgrader.api import Gradebook, MissingEntry

    failures = failures or {}
    rows = []
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        assignment = gradebook.find_assignment(ASSIGNMENT)
        checks = [(notebook.name, cell.name, cell.max_score)
                  for notebook in sorted(assignment.notebooks, key=lambda n: n.name)
                  for cell in sorted(notebook.grade_cells, key=lambda c: c.name)]
        for learner in learners:
            if learner in failures:  # not graded now: the gradebook's points of an earlier grading are not these
                rows += [ExerciseResult(learner, notebook, exercise, 0, max_points, "failed",
                                        f"not graded: {failures[learner]}") for notebook, exercise, max_points in checks]
                continue
            for notebook, exercise, max_points in checks:
                try:
                    points = gradebook.find_grade(exercise, notebook, ASSIGNMENT, learner).score
                except MissingEntry:
                    rows.append(ExerciseResult(learner, notebook, exercise, 0, max_points, "failed",
                                               "not graded: no submission of this notebook"))
                    continue
                autograded = Path(api.coursedir.format_path(api.coursedir.autograded_directory, learner, ASSIGNMENT))
                cell = _check_cell(autograded / f"{notebook}.ipynb", exercise)
                message = check_message(cell) if cell is not None else "the check cell is missing from the notebook"
                rows.append(ExerciseResult(learner, notebook, exercise, points, max_points,
                                           "passed" if points == max_points else "failed", message))
    return rows


def _check_cell(path: Path, grade_id: str) -> nbformat.NotebookNode | None:
    if not path.exists():
        return None
    return next((cell for cell in nbformat.read(path, as_version=4).cells
                 if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id), None)


def check_message(cell: nbformat.NotebookNode) -> str:
    """What an executed check cell said: its error (a failed check shows its ❌ lines as the traceback;
    any other error its type and value), else what it printed."""
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            lines = [line.strip() for line in output.get("traceback", [])]
            if lines and lines[0].startswith("❌"):
                return " ".join(lines)
            return f"{output.ename}: {output.evalue}"
    return " ".join(output.get("text", "").strip() for output in cell.get("outputs", [])
                    if output.output_type == "stream" and output.get("name") == "stdout").strip()


# --- the table, as CSV and as a page -----------------------------------------------------------------

def write_csv(rows: list[ExerciseResult], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=[field.name for field in fields(ExerciseResult)])
        writer.writeheader()
        writer.writerows(asdict(row) for row in rows)
    return path


def render_html(rows: list[ExerciseResult], title: str = "VPC Flow Logs lab: grades") -> str:
    """A page with one row per learner and one column per exercise: points, and the check's message on
    hover and in full below the table."""
    learners = list(dict.fromkeys(row.learner for row in rows))
    exercises = list(dict.fromkeys((row.notebook, row.exercise) for row in rows))
    by_key = {(row.learner, row.notebook, row.exercise): row for row in rows}
    esc = html.escape
    head = "".join(f"<th title='{esc(notebook)}'>{esc(exercise)}</th>" for notebook, exercise in exercises)
    body = []
    for learner in learners:
        cells, total, possible = [], 0.0, 0.0
        for notebook, exercise in exercises:
            row = by_key[(learner, notebook, exercise)]
            total, possible = total + row.points, possible + row.max_points
            cells.append(f"<td class='{row.status}' title='{esc(row.message)}'>{row.points:g} / {row.max_points:g}</td>")
        body.append(f"<tr><th>{esc(learner)}</th>{''.join(cells)}<td class='total'>{total:g} / {possible:g}</td></tr>")
    details = "".join(f"<tr class='{row.status}'><td>{esc(row.learner)}</td><td>{esc(row.notebook)}</td>"
                      f"<td>{esc(row.exercise)}</td><td>{row.points:g} / {row.max_points:g}</td><td>{row.status}</td>"
                      f"<td>{esc(row.message)}</td></tr>" for row in rows)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: sans-serif; }} table {{ border-collapse: collapse; margin-bottom: 2em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
.passed {{ background: #e6f4e6; }} .failed {{ background: #fbe6e6; }} .total {{ font-weight: bold; }}
</style></head><body>
<h1>{esc(title)}</h1>
<table><tr><th>learner</th>{head}<th>total</th></tr>
{''.join(body)}
</table>
<h2>What each check said</h2>
<table><tr><th>learner</th><th>notebook</th><th>exercise</th><th>points</th><th>status</th><th>message</th></tr>
{details}
</table></body></html>
"""


def write_reports(rows: list[ExerciseResult], folder: Path) -> tuple[Path, Path]:
    """grades.csv and grades.html in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "grades.html"
    page.write_text(render_html(rows), encoding="utf-8")
    return write_csv(rows, folder / "grades.csv"), page
