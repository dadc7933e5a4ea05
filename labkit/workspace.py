"""The learner's own copy of the lab: `work/` (git-ignored), seeded with the student version of each
notebook, so that JupyterLab never opens (or autosaves into) the committed notebooks and `git pull`
never conflicts with a learner's work.

The student version is what nbgrader hands out (its own preprocessors, not a re-implementation): the
solution regions replaced by `raise NotImplementedError()`, hidden tests removed, outputs cleared; the
exercise checks stay, so that the learner sees ✅ or ❌ with a hint.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from .runner import project_root

WORK_DIR = "work"
START_HERE = "START_HERE.md"


def student_version(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as a learner gets it: nbgrader's ClearSolutions, ClearHiddenTests and ClearOutput."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions

    student = nbformat.reads(nbformat.writes(notebook), as_version=4)  # a copy: the preprocessors edit in place
    for preprocessor in (ClearSolutions(), ClearHiddenTests(), ClearOutput()):
        student, _ = preprocessor.preprocess(student, {})
    return student


def seed(work: Path | None = None, notebooks: Path | None = None) -> list[str]:
    """Copy the student version of every notebook that is not yet in `work` (a learner's edits are never
    overwritten), and the start-here page. Returns what was copied."""
    work, notebooks = work or project_root() / WORK_DIR, notebooks or project_root() / "notebooks"
    work.mkdir(exist_ok=True)
    copied = []
    for source in sorted(notebooks.glob("*.ipynb")):
        target = work / source.name
        if not target.exists():
            nbformat.write(student_version(nbformat.read(source, as_version=4)), target)
            copied.append(source.name)
    (work / START_HERE).write_text(start_here(sorted(p.name for p in notebooks.glob("*.ipynb"))))
    return copied


def reset(name: str, work: Path | None = None, notebooks: Path | None = None) -> Path:
    """Put a fresh student copy of one notebook (by number, `02`, or name) in `work`; the learner's copy is
    kept in `work/.replaced/` first. Returns where the old one went (or the new one, if there was none)."""
    work, notebooks = work or project_root() / WORK_DIR, notebooks or project_root() / "notebooks"
    matches = [p for p in sorted(notebooks.glob("*.ipynb")) if p.name == name or p.stem == name or p.name[:2] == name]
    if len(matches) != 1:
        known = ", ".join(p.stem for p in sorted(notebooks.glob("*.ipynb")))
        raise ValueError(f"No notebook {name!r}: give its number or name, one of {known}")
    source, target = matches[0], work / matches[0].name
    kept = target
    if target.exists():
        kept = work / ".replaced" / f"{target.stem}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.ipynb"
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(target, kept)
    work.mkdir(exist_ok=True)
    nbformat.write(student_version(nbformat.read(source, as_version=4)), target)
    return kept


def start_here(notebooks: list[str]) -> str:
    rows = "\n".join(f"| `{name}` | {_MINUTES.get(name[:2], '')} |" for name in notebooks)
    return f"""# Start here: the VPC Flow Logs lab

This folder is **your copy** of the lab: edit and run the notebooks here as you like. The repository's
own notebooks (`notebooks/`) stay as they are, with the solutions; `git pull` never touches this folder.

Open the notebooks in order; each part builds on the ones before it. Every exercise (⭐) has a cell to
complete (replace `raise NotImplementedError()`) and a check below it: ✅, or ❌ with a hint.

| notebook | about |
|---|---|
{rows}

- **Nothing needs an AWS account**: the notebooks run on the local cloud, an offline AWS on this machine.
- **Start a notebook again from scratch**: `labkit reset 02` (your copy goes to `work/.replaced/`).
- **See how far you are**: `labkit progress`.
- **Is the machine ready?** `make check` (or `labkit doctor`) says what to fix.
- **Stuck?** The README's *Known issues*; the solutions are in `notebooks/` of the repository.
- **Done?** Run `99_teardown.ipynb`: it removes everything the lab made.
"""


_MINUTES = {"01": "Part 1, flow logs to S3 and CloudWatch Logs: 15 minutes",
            "02": "Part 2, ACCEPT and REJECT traffic, and a network ACL: 20 minutes",
            "03": "Part 3, a metric filter, an alarm and its email: 20 minutes",
            "04": "Part 4, Logs Insights and Athena: 25 minutes",
            "99": "removes everything the lab created: 1 minute"}
