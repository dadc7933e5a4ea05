"""How long the notebooks' kernel takes to import labkit (issue target: at least 1 s faster than when the
learner side loaded the local cloud's SNS and server modules, and with them moto).

Each figure is the best of several fresh interpreters importing what the notebooks import:
  * now: labkit's notebook modules, the local cloud's health (lifecycle) and outbox reader;
  * before: the same, plus the moto modules the kernel used to load with them (through the local
    cloud's old outbox reader and server modules: moto's SNS, SQS, EC2 models and server).
Run: .venv/bin/python benchmarks/bench_imports.py [--runs N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

NOTEBOOK_MODULES = """
import labkit, labkit.flow_logs, labkit.traffic, labkit.records, labkit.monitoring, labkit.analysis
import labkit.plots, labkit.checks, labkit.teardown
from labkit.localcloud import lifecycle
from labkit.localcloud.sns.outbox import Outbox
"""
# What the kernel imported as well before the local cloud's learner-side modules were made light: the
# moto modules that the old outbox reader (sns_email) and server modules loaded.
AS_BEFORE = NOTEBOOK_MODULES + """
import moto.sns.responses, moto.sqs.models, moto.ec2.models.flow_logs, moto.ec2.models.instances
import moto.moto_server.werkzeug_app, werkzeug.serving
"""
TIMED = """
import sys, time
started = time.perf_counter()
exec(compile({code!r}, "<imports>", "exec"))
print(time.perf_counter() - started, sum(1 for m in sys.modules if m == "moto" or m.startswith("moto.")))
"""


def best_of(code: str, runs: int) -> tuple[float, int]:
    timings = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", TIMED.format(code=code)], capture_output=True, text=True,
                             check=True).stdout.split()
        timings.append((float(out[0]), int(out[1])))
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    now, now_moto = best_of(NOTEBOOK_MODULES, runs)
    before, before_moto = best_of(AS_BEFORE, runs)
    print(f"kernel imports, now:    {now:.2f} s ({now_moto} moto modules)")
    print(f"kernel imports, before: {before:.2f} s ({before_moto} moto modules)")
    print(f"saved: {before - now:.2f} s (target >= 1 s: {'met' if before - now >= 1 else 'NOT met'})")


if __name__ == "__main__":
    main()
