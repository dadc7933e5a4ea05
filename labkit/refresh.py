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
    with tempfile.TemporaryDirectory() as home:
        # The home first: the local cloud answers the credentials of the home it starts in, and the
        # notebooks' kernels sign with those of theirs (else they start a cloud of their own).
        os.environ.update(LABKIT_HOME=home, LABKIT_TARGET="local")
        with InProcessServer(port=None) as cloud:  # 4580 if free: the outputs show the port the README names
            os.environ["AWS_ENDPOINT_URL"] = cloud.endpoint
            for notebook in notebooks:
                result = execute(notebook, notebook.parent, parameters={}, cell_timeout=CELL_TIMEOUT_S,
                                 report=lambda line: print(line, flush=True))
                clean_metadata(notebook)
                if result.status != "ok":
                    return 1
    return 0


if __name__ == "__main__":
    sys.exit(refresh(project_root() / "notebooks"))
