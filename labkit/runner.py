"""Run the lab's notebooks headless with papermill, in order, and tear down at the end.

Executed notebooks go to `runs/<UTC timestamp>/`; a failed one stays there for inspection, with the
failing cell named in the summary. Later notebooks depend on earlier ones, so a failure stops the run
(teardown still runs).
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError

TEARDOWN = "99_teardown"
# Longer than the notebooks' own waits (Part 2 waits up to 15 minutes for S3 delivery on AWS, or with
# LABKIT_DELIVERY=realistic), so that those report what they waited for.
CELL_TIMEOUT_S = 1200
KERNEL = "python3"


@dataclass
class NotebookResult:
    notebook: str
    status: str  # "ok", "failed" or "skipped"
    seconds: float = 0.0
    detail: str = ""


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def lab_notebooks(notebooks_dir: Path, only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks before teardown, optionally only those whose number is in `only`."""
    notebooks = sorted(p for p in notebooks_dir.glob("[0-9][0-9]_*.ipynb") if not p.stem.startswith(TEARDOWN))
    if only:
        unknown = set(only) - {p.name[:2] for p in notebooks}
        if unknown:
            raise ValueError(f"No notebook numbered {', '.join(sorted(unknown))} in {notebooks_dir}")
        notebooks = [p for p in notebooks if p.name[:2] in only]
    return notebooks


def execute(notebook: Path, out_dir: Path, parameters: dict[str, Any], cell_timeout: int,
            report: Callable[[str], None] = lambda line: None) -> NotebookResult:
    """Run one notebook with papermill; `report` hears when it starts, each step it reaches, and its end."""
    started = time.monotonic()
    report(f"{notebook.stem} ...")
    try:
        papermill.execute_notebook(
            str(notebook), str(out_dir / notebook.name), parameters=parameters,
            kernel_name=KERNEL, cwd=str(notebook.parent), execution_timeout=cell_timeout,
            progress_bar=False, log_output=False, on_cell_start=_step_announcer(notebook, report),
            # The kernel listens on loopback only; its "TCP without encryption" warning is noise here.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except PapermillExecutionError as error:
        result = NotebookResult(notebook.stem, "failed", time.monotonic() - started, _failure(error))
    except Exception as error:  # kernel died, timeout, bad notebook
        result = NotebookResult(notebook.stem, "failed", time.monotonic() - started, f"{type(error).__name__}: {error}")
    else:
        result = NotebookResult(notebook.stem, "ok", time.monotonic() - started)
    report(f"{notebook.stem}: {result.status} ({result.seconds:.0f} s)" + (f": {result.detail}" if result.detail else ""))
    return result


def _failure(error: PapermillExecutionError) -> str:
    """What failed, for the summary: a check by what it says, any other error by its cell."""
    if error.ename == "CheckFailed":
        return f"check failed in cell In [{error.exec_count}]: {error.evalue}"
    first_line = next((line for line in error.source.splitlines() if line.strip()), "")
    return f"cell In [{error.exec_count}] `{first_line.strip()[:60]}` raised {error.ename}: {error.evalue}"


_STEP_HEADING = re.compile(r"^## (.+)$", re.MULTILINE)


def _step_announcer(notebook: Path, report: Callable[[str], None]) -> Callable[..., None]:
    """nbclient's on_cell_start hook: report a step's title (the `## ` heading above its code) as its first
    cell starts, so that a long cell (Part 3 waits for a minute to end) says what it is doing."""
    titles, title = {}, None
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "markdown" and (headings := _STEP_HEADING.findall(cell.source)):
            title = headings[-1].strip()
        elif cell.cell_type == "code" and title:
            titles.setdefault(cell.source, title)
    announced: set[str] = set()

    def on_cell_start(cell: Any, cell_index: int) -> None:
        step = titles.get(cell.source)
        if step and step not in announced:
            announced.add(step)
            report(f"  {step}")
    return on_cell_start


def _only(parameters: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """The parameters a notebook declares (papermill warns about any other)."""
    return {name: value for name, value in parameters.items() if name in names}


def run_lab(
    target: str = "local",
    only: list[str] | None = None,
    keep: bool = False,
    parameters: dict[str, Any] | None = None,
    notebooks_dir: Path | None = None,
    runs_dir: Path | None = None,
    cell_timeout: int = CELL_TIMEOUT_S,
    report: Callable[[str], None] = lambda line: None,
) -> tuple[list[NotebookResult], Path]:
    """Run the numbered notebooks in order, then teardown (unless `keep`); `report` hears the progress."""
    notebooks_dir = notebooks_dir or project_root() / "notebooks"
    notebooks = lab_notebooks(notebooks_dir, only)
    teardown = notebooks_dir / f"{TEARDOWN}.ipynb"
    declared = {path: set(papermill.inspect_notebook(str(path))) for path in [*notebooks, teardown]}
    unknown = set(parameters or {}) - set().union(*declared.values())
    if unknown:
        raise ValueError(f"No notebook takes the parameter(s) {', '.join(sorted(unknown))}; they take "
                         f"{', '.join(sorted(set().union(*declared.values())))}")
    out_dir = _new_run_directory(runs_dir or project_root() / "runs")
    parameters = {"target": target, **(parameters or {})}
    os.environ["LABKIT_TARGET"] = target

    started_cloud = _ensure_local_cloud() if target == "local" else False
    results: list[NotebookResult] = []
    try:
        for notebook in notebooks:
            if results and results[-1].status != "ok":
                results.append(NotebookResult(notebook.stem, "skipped", detail="an earlier notebook failed"))
                continue
            results.append(execute(notebook, out_dir, _only(parameters, declared[notebook]), cell_timeout, report))
        if not keep:
            results.append(execute(teardown, out_dir, _only(parameters, declared[teardown]), cell_timeout, report))
    finally:
        if started_cloud and not keep:
            from .localcloud import lifecycle

            lifecycle.stop()
    return results, out_dir


def _new_run_directory(runs: Path) -> Path:
    """runs/<UTC timestamp>, or runs/<UTC timestamp>-2, -3, ...: runs started in the same second (a
    workshop's learners, parallel CI jobs) never share one."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    runs.mkdir(parents=True, exist_ok=True)
    for number in itertools.count(1):
        candidate = runs / (stamp if number == 1 else f"{stamp}-{number}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise AssertionError("itertools.count never ends")


def _ensure_local_cloud() -> bool:
    """Use the local cloud that is running (AWS_ENDPOINT_URL or the state file), else start one.
    Returns True if this run started it."""
    from .localcloud import lifecycle

    endpoint, started, lost = lifecycle.ensure_running_reporting_loss()
    if lost is not None:
        print(f"labkit: the local cloud that was running at {lost.endpoint} (pid {lost.pid}) is gone, and what the lab "
              f"had made in it with it; this run uses a new one at {endpoint}.", file=sys.stderr)
    os.environ["AWS_ENDPOINT_URL"] = endpoint  # the kernels inherit it
    return started


def summary_table(results: list[NotebookResult]) -> str:
    width = max([len("notebook")] + [len(r.notebook) for r in results])
    lines = [f"{'notebook':<{width}}  {'status':<7}  {'seconds':>7}", f"{'-' * width}  {'-' * 7}  {'-' * 7}"]
    for r in results:
        seconds = f"{r.seconds:7.1f}" if r.status != "skipped" else f"{'-':>7}"
        lines.append(f"{r.notebook:<{width}}  {r.status:<7}  {seconds}" + (f"  {r.detail}" if r.detail else ""))
    return "\n".join(lines)
