"""`python -m labkit.refresh`: re-execute the committed notebooks in place, in order, on a fresh
local cloud, so their outputs are the reference nbval compares against.

Run-specific metadata (papermill's and nbclient's timings) is stripped, so a refresh that changes no
output changes no byte.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat

from .localcloud.server import InProcessServer
from .runner import CELL_TIMEOUT_S, TEARDOWN, execute, lab_notebooks, project_root


def clean_metadata(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.pop("papermill", None)
    for cell in notebook.cells:
        for key in ("papermill", "execution"):
            cell.metadata.pop(key, None)
    nbformat.write(notebook, path)


def refresh(notebooks_dir: Path) -> int:
    notebooks = [*lab_notebooks(notebooks_dir), notebooks_dir / f"{TEARDOWN}.ipynb"]
    with tempfile.TemporaryDirectory() as home, InProcessServer() as cloud:
        os.environ.update(LABKIT_HOME=home, AWS_ENDPOINT_URL=cloud.endpoint, LABKIT_TARGET="local")
        for notebook in notebooks:
            result = execute(notebook, notebook.parent, parameters={}, cell_timeout=CELL_TIMEOUT_S)
            clean_metadata(notebook)
            print(f"{result.notebook}: {result.status} ({result.seconds:.1f} s) {result.detail}")
            if result.status != "ok":
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(refresh(project_root() / "notebooks"))
