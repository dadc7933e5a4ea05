"""How long the notebooks' kernel takes to import labkit (issue target: at least 1 s faster than before
the local cloud was split so that the learner side loads none of it).

Each figure is the best of several fresh interpreters importing what the notebooks import (labkit's
notebook modules, and what they reach of the local cloud: its health check and the outbox reader):
  * now: this checkout;
  * before: commit a4b82b3 (the last before the split), checked out beside it with `git worktree`, whose
    kernel reached the local cloud's server and SNS modules, and with them 108 of moto's modules.
It also times the local cloud's own start: a fresh interpreter importing it and building its app
(`registry.build_app()`), now and at commit 3d6e152 (before issue 12's memory work, which must keep
that start at least as fast).
Run: .venv/bin/python benchmarks/bench_imports.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BEFORE_COMMIT = "a4b82b3"
CLOUD_BEFORE_COMMIT = "3d6e152"
LOCAL_CLOUD_START = "from labkit.localcloud import registry\nregistry.build_app()\n"
NOTEBOOK_MODULES = """
import labkit, labkit.flow_logs, labkit.traffic, labkit.records, labkit.monitoring, labkit.analysis
import labkit.plots, labkit.checks, labkit.teardown
"""
LOCAL_CLOUD_NOW = "from labkit.localcloud import lifecycle\nfrom labkit.localcloud.sns.outbox import Outbox\n"
LOCAL_CLOUD_BEFORE = "from labkit.localcloud import server\nfrom labkit.localcloud.sns_email import Outbox\n"
TIMED = """
import sys, time
started = time.perf_counter()
exec(compile({code!r}, "<imports>", "exec"))
print(time.perf_counter() - started, sum(1 for m in sys.modules if m == "moto" or m.startswith("moto.")))
"""


def best_of(code: str, runs: int, tree: Path, extra_environment: dict[str, str]) -> tuple[float, int]:
    environment = {**os.environ, **extra_environment, "PYTHONPATH": str(tree)}
    timings = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", TIMED.format(code=code)], capture_output=True, text=True,
                             check=True, cwd=tree, env=environment).stdout.split()
        timings.append((float(out[0]), int(out[1])))
    return min(timings)


def best_of_at(commit: str, code: str, runs: int, root: Path, environment: dict[str, str]) -> tuple[float, int]:
    """`best_of` in a checkout of `commit` beside this one."""
    with tempfile.TemporaryDirectory() as scratch:
        old_tree = Path(scratch) / "before"
        subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(old_tree), commit],
                       check=True, capture_output=True)
        try:
            return best_of(code, runs, old_tree, environment)
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(old_tree)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    root = Path(__file__).resolve().parent.parent
    before, before_moto = best_of_at(BEFORE_COMMIT, NOTEBOOK_MODULES + LOCAL_CLOUD_BEFORE, runs, root, {})
    now, now_moto = best_of(NOTEBOOK_MODULES + LOCAL_CLOUD_NOW, runs, root, {})
    print(f"kernel imports, now:                  {now:.2f} s ({now_moto} moto modules)")
    print(f"kernel imports, before ({BEFORE_COMMIT}):     {before:.2f} s ({before_moto} moto modules)")
    print(f"faster by {before - now:.2f} s (target >= 1 s: {'met' if before - now >= 1 else 'NOT met'})")
    with tempfile.TemporaryDirectory() as home:  # the local cloud makes its credentials there
        cloud_before, _ = best_of_at(CLOUD_BEFORE_COMMIT, LOCAL_CLOUD_START, runs, root, {"LABKIT_HOME": home})
        cloud_now, _ = best_of(LOCAL_CLOUD_START, runs, root, {"LABKIT_HOME": home})
    print(f"local cloud start, now:               {cloud_now:.2f} s")
    print(f"local cloud start, before ({CLOUD_BEFORE_COMMIT}):  {cloud_before:.2f} s "
          f"(now / before {cloud_now / cloud_before:.2f}x, target <= 1: {'met' if cloud_now <= cloud_before else 'NOT met'})")


if __name__ == "__main__":
    main()
