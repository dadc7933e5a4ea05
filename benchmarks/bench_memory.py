"""The local cloud's memory at the end of a full lab, for a workshop host (issue 12: thirty learners with
kernels on a 24 GiB host; target: at most 250 MiB resident per local cloud at the end of a full lab).

Each learner has a LABKIT_HOME of their own, a local cloud started as a detached process (`labkit local
start --detach`), and runs the whole lab against it (`labkit run`: every notebook, then the teardown),
as `make lab` does. The learners run at the same time. Once all have finished, each local cloud's
memory is read from /proc:
  * RSS: resident memory at the end (what the target counts), and its peak (VmHWM);
  * PSS: RSS with the pages it shares with the other learners' local clouds (the shared libraries'
    code) divided among them: the memory each learner costs the host; and, from its anonymous memory
    and its file pages (the libraries every learner's local cloud maps), what each would cost with 30.
With `--before REV` the same lab runs first on that commit (checked out beside this one with `git
worktree`), and the figures are printed side by side.

    .venv/bin/python benchmarks/bench_memory.py [--learners N] [--before REV]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TARGET_MIB = 250
HOST_GIB, WORKSHOP_LEARNERS = 24, 30


@dataclass(frozen=True)
class Learner:
    rss_mib: float
    peak_mib: float
    pss_mib: float
    anonymous_mib: float  # memory of its own (heap, arenas); the rest of the RSS is files: libraries shared by all
    seconds: float
    failed: str | None
    mappings: list[tuple[str, float]]  # the largest parts of the RSS: anonymous memory, the heap, each library


def resident_mappings(pid: int, top: int = 8) -> list[tuple[str, float]]:
    """The RSS of a process by what is mapped: [anon], [heap], or the file (a shared library)."""
    sizes: dict[str, float] = {}
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if not fields[0].endswith(":"):  # a mapping's header: address range, perms, offset, dev, inode[, path]
            name = fields[5].split("site-packages/")[-1] if len(fields) > 5 else "[anon]"
        elif fields[0] == "Rss:":
            sizes[name] = sizes.get(name, 0) + int(fields[1]) / 1024
    return sorted(sizes.items(), key=lambda item: -item[1])[:top]


def proc_mib(pid: int, file: str, field: str) -> float:
    for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"{field} not in /proc/{pid}/{file}")


def run_labs(tree: Path, learners: int, scratch: Path) -> list[Learner]:
    """Every learner's full lab at the same time against a local cloud of their own, on the code of `tree`."""
    homes = [scratch / f"learner-{number}" for number in range(learners)]
    environments = []
    for home in homes:
        home.mkdir()
        environments.append({**os.environ, "PYTHONPATH": str(tree), "LABKIT_HOME": str(home),
                             "LABKIT_TARGET": "local"})
    for environment in environments:
        environment.pop("AWS_ENDPOINT_URL", None)
    labkit = [sys.executable, "-m", "labkit.cli"]
    pids = []
    for environment in environments:
        subprocess.run([*labkit, "local", "start", "--detach"], cwd=tree, env=environment, check=True,
                       capture_output=True)
        pids.append(json.loads((Path(environment["LABKIT_HOME"]) / "localcloud.json").read_text())["pid"])
    outcomes: dict[int, tuple[float, str | None]] = {}

    def lab(number: int) -> None:
        started = time.perf_counter()
        done = subprocess.run([*labkit, "run"], cwd=tree, env=environments[number], capture_output=True, text=True)
        said = (done.stdout + done.stderr).splitlines()
        failed = None if done.returncode == 0 else next((line for line in said if ": failed" in line), said[-1])[:300]
        outcomes[number] = (time.perf_counter() - started, failed)

    threads = [threading.Thread(target=lab, args=(number,)) for number in range(learners)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [Learner(proc_mib(pid, "status", "VmRSS"), proc_mib(pid, "status", "VmHWM"),
                        proc_mib(pid, "smaps_rollup", "Pss"),
                        proc_mib(pid, "smaps_rollup", "Anonymous"),
                        *outcomes[number], resident_mappings(pid))
                for number, pid in enumerate(pids)]
    finally:
        for environment in environments:
            subprocess.run([*labkit, "local", "stop"], cwd=tree, env=environment, capture_output=True)


def summary(name: str, learners: list[Learner]) -> list[str]:
    rss = max(learner.rss_mib for learner in learners)
    per_learner = sum(learner.pss_mib for learner in learners) / len(learners)
    # With 30 learners each local cloud keeps its anonymous memory and a 30th of the library pages they share.
    at_workshop = max(learner.anonymous_mib + (learner.rss_mib - learner.anonymous_mib) / WORKSHOP_LEARNERS
                      for learner in learners)
    lines = [f"{name}: RSS at the end {rss:.0f} MiB (target <= {TARGET_MIB}: "
             f"{'met' if rss <= TARGET_MIB else 'NOT met'}, {rss / TARGET_MIB:.2f}x), "
             f"peak {max(learner.peak_mib for learner in learners):.0f} MiB, "
             f"{per_learner:.0f} MiB per learner (PSS) with {len(learners)} at once; with {WORKSHOP_LEARNERS}: "
             f"about {at_workshop:.0f} MiB per learner, {WORKSHOP_LEARNERS * at_workshop / 1024:.1f} of "
             f"{HOST_GIB} GiB for their local clouds"]
    for number, learner in enumerate(learners):
        lines.append(f"  learner {number}: RSS {learner.rss_mib:.0f} MiB, peak {learner.peak_mib:.0f} MiB, "
                     f"PSS {learner.pss_mib:.0f} MiB, lab {learner.seconds:.0f} s"
                     + (f", FAILED: {learner.failed}" if learner.failed else ""))
    lines.append("  learner 0's RSS by mapping: " + ", ".join(f"{name} {mib:.0f}" for name, mib in learners[0].mappings))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=1, help="labs running at the same time (default 1)")
    parser.add_argument("--before", help="a commit to measure the same way, side by side")
    arguments = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    lines = []
    with tempfile.TemporaryDirectory(prefix="labkit-bench-memory-") as scratch:
        if arguments.before:
            old_tree = Path(scratch) / "before"
            subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(old_tree), arguments.before],
                           check=True, capture_output=True)
            try:
                (Path(scratch) / "before-homes").mkdir()
                before = run_labs(old_tree, arguments.learners, Path(scratch) / "before-homes")
            finally:
                subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(old_tree)], check=True)
            lines += summary(f"before ({arguments.before})", before)
        (Path(scratch) / "homes").mkdir()
        now = run_labs(root, arguments.learners, Path(scratch) / "homes")
        lines += summary("now", now)
        if arguments.before:
            ratio = max(learner.rss_mib for learner in now) / max(learner.rss_mib for learner in before)
            lines.append(f"now / before (RSS at the end): {ratio:.2f}x")
    print(f"{arguments.learners} learner(s), each a full lab (labkit run) on a local cloud of their own")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
