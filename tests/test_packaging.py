"""The install paths agree: pyproject.toml (pip, `make venv`) and environment.yml (conda)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONDA_TO_PYPI = {"python-duckdb": "duckdb"}
MOTO_SERVER_EXTRAS = {"flask", "flask-cors"}  # what `moto[server]` adds on PyPI
_REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)$")


def _split(requirement: str) -> tuple[str, str]:
    name, _extras, spec = _REQUIREMENT.match(requirement.strip()).groups()
    return name.lower(), spec.replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    pyproject = dict(_split(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert environment["channels"] == ["conda-forge"]
    conda = {}
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            assert entry == {"pip": ["-e .[test]"]}  # the test extra comes from PyPI, as make venv installs it
            continue
        name, spec = _split(entry)
        conda[CONDA_TO_PYPI.get(name, name)] = spec
    assert conda.pop("python") == ">=3.11"
    assert conda.pop("pip") == ""
    for extra in MOTO_SERVER_EXTRAS:
        conda.pop(extra)
    assert conda == pyproject


def test_python_requirement_matches():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    assert project["scripts"] == {"labkit": "labkit.cli:main"}
