"""The instructor's view of a workshop's host: the learners' homes side by side (one folder per learner,
as workshop/jupyterhub_config.py makes them, each with its work/ and its LABKIT_HOME in .labkit/).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .grading import ASSIGNMENT, course_root
from .workspace import WORK_DIR

# Long enough for a learner's cloud that is busy (an Athena query) to answer every milestone's calls.
PROGRESS_TIMEOUT_S = 120


def learners(homes: Path) -> list[Path]:
    return sorted(home for home in homes.iterdir() if home.is_dir() and not home.name.startswith("."))


def collect(homes: Path, submitted: Path | None = None) -> dict[str, list[Path]]:
    """Copy each learner's work/ notebooks into the course's submitted/<learner>/vpc-flow-logs/, with
    nbgrader's timestamp.txt (the time of collection). Returns what was copied, per learner."""
    submitted = submitted or course_root() / "submitted"
    collected = {}
    for home in learners(homes):
        notebooks = sorted((home / WORK_DIR).glob("*.ipynb"))
        collected[home.name] = []
        if not notebooks:
            continue
        folder = submitted / home.name / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        collected[home.name] = [Path(shutil.copyfile(notebook, folder / notebook.name)) for notebook in notebooks]
        (folder / "timestamp.txt").write_text(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S.%f} UTC")
    return collected


def progress(homes: Path) -> dict[str, Any]:
    """Every learner's milestones (`labkit progress --json` with the learner's LABKIT_HOME, so that it reads
    the learner's own cloud, signed with its keys; a learner whose cloud is not running has reached none)."""
    overview = {}
    for home in learners(homes):
        environment = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "LABKIT_"))}
        answer = subprocess.run([sys.executable, "-m", "labkit.cli", "progress", "--json"], capture_output=True,
                                text=True, timeout=PROGRESS_TIMEOUT_S,
                                env={**environment, "LABKIT_HOME": str(home / ".labkit"), "LABKIT_TARGET": "local"})
        try:
            overview[home.name] = json.loads(answer.stdout)
        except json.JSONDecodeError:
            overview[home.name] = {"running": None, "parts": [], "error": answer.stderr.strip().splitlines()[-1:]}
    return overview


def progress_table(overview: dict[str, Any]) -> str:
    """One line per learner: each milestone ✅ or ❌ (in the lab's order), and how many are reached."""
    names = next(([m["name"] for part in answer["parts"] for m in part["milestones"]]
                  for answer in overview.values() if answer.get("parts")), [])
    width = max([len("learner"), *map(len, overview)])
    lines = [f"{'learner':<{width}}  " + " ".join(f"{index + 1:>2}" for index in range(len(names))) + "  reached"]
    for learner, answer in overview.items():
        reached = {m["name"]: m["reached"] for part in answer.get("parts", []) for m in part["milestones"]}
        if answer.get("running") is False:
            lines.append(f"{learner:<{width}}  no local cloud running")
        elif not reached:
            lines.append(f"{learner:<{width}}  could not ask: {' '.join(answer.get('error', []))}")
        else:
            marks = " ".join(f"{'✅' if reached.get(name) else '❌':>2}" for name in names)
            lines.append(f"{learner:<{width}}  {marks}  {sum(reached.values())}/{len(names)}")
    lines += [f"{index + 1:>2}: {name}" for index, name in enumerate(names)]
    return "\n".join(lines)
