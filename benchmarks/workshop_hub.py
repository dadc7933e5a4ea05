"""A workshop on this host: the JupyterHub of workshop/ with N learners, each running the whole lab in
their own server at the same moment. Prints each learner green or red, the wall times (hub start, all
servers ready, each notebook's range over the learners, the whole lab), and the peak memory of the
workshop's processes by kind (hub, proxy, servers, kernels, local clouds), per learner too.

Not part of `make benchmarks`: it needs root (Unix accounts) and .venv-workshop. Run:
  make workshop-venv && .venv-workshop/bin/python benchmarks/workshop_hub.py --users 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "workshop"))
from hub_driver import (  # noqa: E402
    Hub, MemorySampler, leftover_processes, reach_another_learners_cloud, remove_learners, run_learners)

from labkit import grading  # noqa: E402

CLOUD_TARGET_MIB = 250  # issue 12: each local cloud's resident memory at the end of a full lab
LAB = ["01_flow_logs_setup", "02_generate_traffic", "03_monitoring_alerting", "04_data_analysis", "99_teardown"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=2)
    parser.add_argument("--port", type=int, default=18700)
    parser.add_argument("--only", default=None, help="comma-separated notebook numbers (default: the whole lab)")
    args = parser.parse_args()
    notebooks = [ROOT / "notebooks" / f"{name}.ipynb" for name in LAB
                 if not args.only or name[:2] in args.only.split(",")]
    names = [f"labkit-bench{number}" for number in range(1, args.users + 1)]

    scratch = Path(tempfile.mkdtemp(prefix="labkit-hub-bench-"))
    os.chmod(scratch, 0o755)
    (scratch / "homes").mkdir(mode=0o755)
    os.environ["LABKIT_HUB_RELEASE"] = str(scratch / "release")
    grading.release(ROOT / "workshop" / "course", into=scratch / "release")
    hub = Hub(ROOT / ".venv-workshop", scratch / "homes", scratch / "state", args.port)
    sampler = MemorySampler(hub)
    load = os.getloadavg()
    started = time.monotonic()
    try:
        hub_start = hub.start()
        sampler.start()
        learners = run_learners(hub, names, notebooks)
        lab_wall = time.monotonic() - started - hub_start
        probe = reach_another_learners_cloud(hub, learners[0], learners[-1]) if len(learners) > 1 else None
    finally:
        sampler.done.set()
        remove_learners(hub, names)
        hub.stop()
    left = leftover_processes(hub.venv)
    if all(learner.green for learner in learners):
        shutil.rmtree(scratch)  # else kept: the hub's log and the executed notebooks show what failed

    print(f"{args.users} learners on {os.cpu_count()} cores (load average at start {load[0]:.1f})")
    print(f"hub start {hub_start:.1f} s; servers ready in {min(l.spawn_s for l in learners):.1f}-"
          f"{max(l.spawn_s for l in learners):.1f} s; spawn + whole lab, all learners: {lab_wall:.1f} s")
    for learner in learners:
        detail = next((f"{row['notebook']}: {row['error']}" for row in learner.notebooks if row["status"] == "failed"), "")
        rss = f"{learner.cloud_rss_mib:.0f} MiB" if learner.cloud_rss_mib is not None else "gone"
        print(f"  {learner.name:<16} {'green' if learner.green else 'RED':<5}  local cloud port {learner.cloud_port}, "
              f"RSS at the end of the lab {rss} (target <= {CLOUD_TARGET_MIB})  {detail}")
    if probe is not None:
        print(f"{learners[0].name}'s keys at {learners[-1].name}'s cloud: {probe['refused'] or 'ANSWERED'}; "
              f"{learners[-1].name}'s keys file readable: {probe['readable']}")
    print(f"{'notebook':<24} {'fastest s':>9} {'slowest s':>9}")
    for index, path in enumerate(notebooks):
        times = [learner.notebooks[index]["seconds"] for learner in learners if len(learner.notebooks) > index]
        print(f"{path.stem:<24} {min(times):9.1f} {max(times):9.1f}")
    peak = sampler.peak
    print(f"peak memory of the workshop's processes: {peak['total']:.0f} MiB "
          f"({(peak['total'] - peak['hub'] - peak['proxy']) / args.users:.0f} MiB per learner beyond hub and proxy)")
    print("  by kind (each its own peak): " + ", ".join(f"{kind} {peak[kind]:.0f}" for kind in MemorySampler.KINDS))
    print(f"processes left from the workshop's venv: {left or 'none'}")
    refused = probe is None or (probe["refused"] == "InvalidAccessKeyId" and not probe["readable"])
    return 0 if all(learner.green for learner in learners) and not left and refused else 1


if __name__ == "__main__":
    sys.exit(main())
