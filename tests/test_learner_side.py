"""The learner side (the notebooks' kernel, `labkit`) stays light: it loads none of moto, and labkit's
modules import each other without a cycle, even through the imports deferred into functions."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

LABKIT = Path(__file__).parent.parent / "labkit"

# What the notebooks import, and what they reach through labkit: the local cloud's health and outbox.
NOTEBOOK_IMPORTS = """
import labkit, labkit.flow_logs, labkit.traffic, labkit.records, labkit.monitoring, labkit.analysis
import labkit.plots, labkit.checks, labkit.teardown, labkit.progress
from labkit.localcloud import lifecycle
from labkit.localcloud.sns.outbox import Outbox
import sys
print(",".join(sorted(m for m in sys.modules if m == "moto" or m.startswith("moto."))))
"""


def test_the_notebooks_imports_load_no_moto():
    result = subprocess.run([sys.executable, "-c", NOTEBOOK_IMPORTS], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def _module_name(path: Path) -> str:
    parts = path.relative_to(LABKIT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports_at_load(path: Path, modules: set[str]) -> set[str]:
    """The labkit modules `path` imports, when loaded or later inside a function; `from package import
    module` counts as importing the module."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names}
    return {name for name in found if name in modules}


def test_labkit_has_no_import_cycle():
    modules = {_module_name(path): path for path in LABKIT.rglob("*.py")}
    graph = {name: _imports_at_load(path, set(modules)) - {name} for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(name):], name]))
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, [*path, name])
        done.add(name)

    for name in sorted(modules):
        visit(name, [])
