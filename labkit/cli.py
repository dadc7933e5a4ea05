"""The `labkit` command: the local cloud, headless lab runs, teardown, and a readiness check."""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path
from typing import Any

from .config import ConfigError, LabConfig


def main(argv: list[str] | None = None) -> int:
    from .localcloud.lifecycle import LocalCloudError

    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as error:
        print(f"labkit: {error}", file=sys.stderr)
        return 2
    except LocalCloudError as error:
        print(f"labkit: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit", description="VPC Flow Logs lab kit")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    local = commands.add_parser("local", help="the embedded local cloud").add_subparsers(required=True, metavar="ACTION")
    start = local.add_parser("start", help="start the local cloud on 127.0.0.1")
    start.add_argument("--port", type=int, default=None, help="port to listen on (default 4580, or any free port if that is taken)")
    start.add_argument("--detach", action="store_true", help="run in the background and return")
    start.set_defaults(func=_local_start)
    local.add_parser("status", help="is a local cloud running, and where").set_defaults(func=_local_status)
    local.add_parser("stop", help="stop the detached local cloud").set_defaults(func=_local_stop)
    env = local.add_parser("env", help="print the export lines for your shell, the AWS CLI and Terraform "
                                       "(eval \"$(labkit local env)\")")
    env.add_argument("--region", default=None, help="default: LABKIT_REGION, AWS_REGION, else us-east-1")
    env.set_defaults(func=_local_env)
    mail = local.add_parser("mail", help="list the emails the local cloud sent (its outbox)")
    mail.add_argument("--json", action="store_true", help="print them as JSON, with their bodies")
    mail.set_defaults(func=_local_mail)

    doctor = commands.add_parser("doctor", help="check that this machine is ready for the lab")
    doctor.add_argument("--target", default=None, help="local (default) or aws")
    doctor.set_defaults(func=_doctor)

    run = commands.add_parser("run", help="run the notebooks headless with papermill")
    run.add_argument("--target", default="local", help="local (default) or aws")
    run.add_argument("--only", default=None, help="comma-separated notebook numbers, e.g. 01,02")
    run.add_argument("--keep", action="store_true", help="do not run teardown at the end")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                     help="a notebook parameter, as with papermill -p")
    run.add_argument("--cell-timeout", type=int, default=None, help="seconds each cell may take (default 1200)")
    run.set_defaults(func=_run)

    work = commands.add_parser("work", help="make your own copy of the lab in work/ (the notebooks' student "
                                            "version; your edits are never overwritten)")
    work.set_defaults(func=_work)
    reset = commands.add_parser("reset", help="start one notebook of work/ again from scratch (yours is kept "
                                              "in work/.replaced/)")
    reset.add_argument("notebook", help="its number (02) or name")
    reset.set_defaults(func=_reset)

    progress = commands.add_parser("progress", help="which milestones of each part you have reached (read from "
                                                    "your cloud)")
    progress.add_argument("--json", action="store_true", help="print them as JSON")
    progress.add_argument("--target", default=None, help="local (default) or aws")
    progress.set_defaults(func=_progress)

    workshop = commands.add_parser("workshop", help="for instructors: release, grade, the learners' progress"
                                   ).add_subparsers(required=True, metavar="ACTION")
    release = workshop.add_parser("release", help="write the student notebooks (nbgrader generate_assignment)")
    release.add_argument("dir", nargs="?", type=Path, default=None,
                         help="copy them here too (they are in workshop/course/release/vpc-flow-logs/)")
    release.set_defaults(func=_workshop_release)
    collect = workshop.add_parser("collect", help="copy each learner's work/ into the course's submitted/")
    collect.add_argument("homes", type=Path, help="the folder of the learners' home folders (one per learner)")
    collect.set_defaults(func=_workshop_collect)
    grade = workshop.add_parser("grade", help="autograde the submissions (nbgrader autograde), write grades.csv "
                                              "and grades.html")
    grade.add_argument("submissions", type=Path, help="nbgrader's layout: <learner>/vpc-flow-logs/*.ipynb "
                                                      "(workshop/course/submitted after collect)")
    grade.add_argument("--cloud", choices=["fresh", "own"], default="fresh",
                       help="run each learner's notebooks on a fresh local cloud (default) or on their own")
    grade.add_argument("--homes", type=Path, default=None, help="with --cloud own: the folder of the learners' homes")
    grade.add_argument("--out", type=Path, default=None, help="where the reports go (default: workshop/course/reports)")
    grade.set_defaults(func=_workshop_grade)
    overview = workshop.add_parser("progress", help="every learner's milestones, from their own clouds")
    overview.add_argument("homes", type=Path, help="the folder of the learners' home folders (one per learner)")
    overview.add_argument("--json", action="store_true", help="print them as JSON")
    overview.set_defaults(func=_workshop_progress)

    aws = commands.add_parser("aws", help="for running the lab on AWS").add_subparsers(required=True, metavar="ACTION")
    policy = aws.add_parser("policy", help="print the IAM policy a learner's user or role needs for the whole lab")
    policy.add_argument("--region", default="*", help="the lab's region (default *: any)")
    policy.add_argument("--name-prefix", default="", help="the learner's name_prefix (* for every learner's: an "
                                                          "instructor's sweep)")
    policy.add_argument("--account-id", default="*", help="the AWS account (default *: any)")
    policy.set_defaults(func=_aws_policy)

    teardown = commands.add_parser("teardown", help="remove everything the lab created")
    for option in ("--target", "--region", "--run-id", "--name-prefix"):
        teardown.add_argument(option, default=None)
    teardown.add_argument("--sweep", action="store_true", help="on aws: list the lab's leftovers in every region "
                                                               "(every run's, or --run-id's); remove them with --yes")
    teardown.add_argument("--yes", action="store_true", help="with --sweep: remove what it lists")
    teardown.set_defaults(func=_teardown)
    return parser


def _local_start(args: argparse.Namespace) -> int:
    from .localcloud import lifecycle

    port = args.port
    if not args.detach:
        current = lifecycle.running()
        if current:
            print(f"A local cloud is already running (pid {current.pid}).\nAWS_ENDPOINT_URL={current.endpoint}")
            return 0
        from .localcloud.server import serve_forever

        serve_forever(port)
        return 0
    info, started = lifecycle.start_detached(port)
    if not started:
        print(f"A local cloud is already running (pid {info.pid}).")
    print(f"AWS_ENDPOINT_URL={info.endpoint}")
    return 0


def _local_env(args: argparse.Namespace) -> int:
    """The running local cloud's endpoint and its owner's credentials, as shell lines (started if need be)."""
    import shlex

    from .localcloud import lifecycle
    from .localcloud.home import credentials

    endpoint, _started = lifecycle.ensure_running()
    region = LabConfig.resolve(target="local", region=args.region).region
    variables = {"AWS_ENDPOINT_URL": endpoint, **credentials().environment(), "AWS_DEFAULT_REGION": region,
                 "AWS_REGION": region}
    for name, value in variables.items():
        print(f"export {name}={shlex.quote(value)}")
    print("unset AWS_SESSION_TOKEN AWS_PROFILE")  # either would take the place of the local cloud's keys
    return 0


def _local_status(_args: argparse.Namespace) -> int:
    from .localcloud import lifecycle

    info = lifecycle.running()
    if info is None:
        print("No local cloud is running. Start one with: labkit local start --detach")
        return 1
    print(f"running (pid {info.pid})\nAWS_ENDPOINT_URL={info.endpoint}")
    return 0


def _local_stop(_args: argparse.Namespace) -> int:
    from .localcloud import lifecycle

    info = lifecycle.stop()
    print(f"Stopped the local cloud (pid {info.pid})." if info else "No local cloud was running.")
    return 0


def _local_mail(args: argparse.Namespace) -> int:
    """Reads the outbox (a Maildir) directly, so it works whether or not the local cloud is running."""
    import json

    from .localcloud.sns.outbox import Outbox

    outbox = Outbox()
    emails = outbox.emails()
    if args.json:
        print(json.dumps([email.as_dict() for email in emails], indent=2, ensure_ascii=False))
        return 0
    if not emails:
        print(f"No email in {outbox.path}.")
    for email in emails:
        print(f"{email.date:%Y-%m-%d %H:%M:%S}  {email.recipient}  {email.subject}  (from {email.sender})")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import findings

    problems = 0
    for finding in findings(args.target):
        print(finding, flush=True)
        problems += not finding.ok
    print("Ready for the lab." if not problems else f"{problems} problem(s) to fix before the lab.")
    return 1 if problems else 0


def _run(args: argparse.Namespace) -> int:
    from .runner import run_lab, summary_table

    only = [n.strip() for n in args.only.split(",")] if args.only else None
    parameters = {name: _literal(value) for name, value in args.parameter}
    # A wrong target, no region, or (on aws) no credentials fail here, before any notebook runs.
    config = LabConfig.resolve(target=args.target, **{name: parameters[name] for name in _CONFIG_PARAMETERS
                                                      if parameters.get(name) is not None})
    if config.target == "aws":
        from .session import CONFIRM, connect

        print(connect(config).preflight(), flush=True)
        if not config.confirm_billable:
            raise ConfigError(f"Nothing was created. {CONFIRM}")
    try:
        results, out_dir = run_lab(target=args.target, only=only, keep=args.keep, parameters=parameters,
                                   report=lambda line: print(line, flush=True),
                                   **({"cell_timeout": args.cell_timeout} if args.cell_timeout else {}))
    except ValueError as error:
        print(f"labkit: {error}", file=sys.stderr)
        return 2
    print(summary_table(results))
    print(f"Executed notebooks: {out_dir}")
    return 0 if all(r.status == "ok" for r in results) else 1


# The notebook parameters that are also LabConfig's.
_CONFIG_PARAMETERS = ("region", "name_prefix", "run_id", "confirm_billable")


def _literal(value: str) -> Any:
    """Parameter values typed as papermill types them: True/False/None/numbers, else a string."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def _work(args: argparse.Namespace) -> int:
    from . import workspace

    copied = workspace.seed()
    folder = workspace.project_root() / workspace.WORK_DIR
    print(f"Your copy of the lab: {folder}/ (open {workspace.START_HERE} first)")
    print(f"Copied: {', '.join(copied)}" if copied else "Every notebook was there already: nothing copied.")
    return 0


def _reset(args: argparse.Namespace) -> int:
    from . import workspace

    try:
        kept = workspace.reset(args.notebook)
    except ValueError as error:
        print(f"labkit: {error}", file=sys.stderr)
        return 2
    print(f"A fresh copy is in work/; yours is in {kept}." if ".replaced" in str(kept) else f"A fresh copy: {kept}")
    return 0


def _progress(args: argparse.Namespace) -> int:
    """Exit 0 when every milestone is reached. Never starts a local cloud: one that is not running has
    reached nothing."""
    from . import progress
    from .localcloud import lifecycle
    from .session import connect

    config = LabConfig.resolve(target=args.target)
    if config.target == "local" and lifecycle.reachable_endpoint() is None:
        print(json.dumps({"running": False, "parts": []}) if args.json else
              "No local cloud is running: nothing of the lab exists yet (or it was stopped, and what it held is gone).")
        return 1
    reached = progress.milestones(connect(config))
    print(json.dumps({"running": True, **progress.as_json(reached)}, ensure_ascii=False) if args.json
          else progress.as_text(reached))
    return 0 if all(m.reached for m in reached) else 1


def _workshop_release(args: argparse.Namespace) -> int:
    from . import grading

    released = grading.release(into=args.dir)
    print(f"Released {len(released)} notebooks to {released[0].parent}/: solutions and hidden tests removed, "
          f"outputs cleared, the checks locked.")
    return 0


def _workshop_collect(args: argparse.Namespace) -> int:
    from . import workshop

    for learner, copied in workshop.collect(args.homes).items():
        print(f"{learner}: {len(copied)} notebook(s)" if copied else f"{learner}: no work/ folder, nothing collected")
    return 0


def _workshop_grade(args: argparse.Namespace) -> int:
    from . import grading

    try:
        rows = grading.grade(submissions=args.submissions, cloud=args.cloud, homes=args.homes,
                             report=lambda line: print(line, flush=True))
    except (ValueError, grading.GradingError) as error:
        print(f"labkit: {error}", file=sys.stderr)
        return 2
    table, page = grading.write_reports(rows, args.out or grading.course_root() / "reports")
    for learner in dict.fromkeys(row.learner for row in rows):
        mine = [row for row in rows if row.learner == learner]
        print(f"{learner}: {sum(r.points for r in mine):g} / {sum(r.max_points for r in mine):g}")
    print(f"Grades: {table} and {page}")
    return 0


def _workshop_progress(args: argparse.Namespace) -> int:
    from . import workshop

    overview = workshop.progress(args.homes)
    print(json.dumps(overview, ensure_ascii=False, indent=2) if args.json else workshop.progress_table(overview))
    return 0


def _aws_policy(args: argparse.Namespace) -> int:
    from . import aws_policy

    if args.name_prefix != "*":  # a real prefix is checked as the notebooks check it
        LabConfig.resolve(target="aws", region="us-east-1", name_prefix=args.name_prefix)
    config = LabConfig(target="aws", region=args.region, name_prefix=args.name_prefix.strip().lower())
    print(aws_policy.text(aws_policy.policy(config, account_id=args.account_id)))
    return 0


def _teardown(args: argparse.Namespace) -> int:
    from . import teardown
    from .localcloud import lifecycle
    from .session import connect

    config = LabConfig.resolve(target=args.target, region=args.region, run_id=args.run_id,
                               name_prefix=args.name_prefix)
    if args.sweep:
        if config.target != "aws":
            raise ConfigError("--sweep searches an AWS account's regions: use it with --target aws.")
        return _sweep(connect(config), args.run_id, args.yes)
    if config.target == "local" and lifecycle.reachable_endpoint() is None:
        print("No local cloud is running: nothing to remove.")
        return 0
    removals = teardown.teardown(connect(config))
    for removal in removals:
        print(f"{removal.status:<8} {removal.kind:<18} {removal.resource_id}")
    print(teardown.outcome(removals))
    return 0 if all(r.status == "removed" for r in removals) else 1


def _sweep(lab: Any, run_id: str | None, yes: bool) -> int:
    from . import sweep, teardown

    leftovers = sweep.find(lab, run_id)
    whose = f"run {run_id}" if run_id else "any run"
    if not leftovers:
        print(f"No leftover of the lab ({whose}) in account {lab.account_id}, in any region.")
        return 0
    print(f"{'region':<16} {'kind':<24} {'run id':<12} resource")
    for item in leftovers:
        note = item.note or (f"removed with its {item.removed_with}" if item.removed_with else "")
        print(f"{item.region:<16} {item.kind:<24} {item.run_id:<12} {item.resource_id}" + (f"  ({note})" if note else ""))
    if not yes:
        print(f"{len(leftovers)} leftover(s) of the lab ({whose}) in account {lab.account_id}. Nothing was removed: "
              f"run again with --yes to remove them.")
        return 0
    results = sweep.remove(lab, leftovers)
    for item, removal in results:
        print(f"{removal.status:<8} {item.region:<16} {removal.kind:<24} {removal.resource_id}")
    print(teardown.outcome([removal for _, removal in results]))
    return 0 if all(r.status == "removed" for _, r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
