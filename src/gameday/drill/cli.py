"""`gameday run EXPERIMENT...`: run chaos experiments under load against a
target and judge them against their SLA."""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from ..errors import UserError
from ..target import Target, default_sandbox_dir
from . import experiment as experiment_mod

SEVERITY = {0: 0, 1: 1, 3: 2, 2: 3}  # which exit code wins when several experiments ran


def register(subparsers) -> None:
    p = subparsers.add_parser("run", help="run chaos experiments under load and judge them against their SLA",
                              description=__doc__.splitlines()[0])
    p.add_argument("experiments", nargs="+", metavar="EXPERIMENT", help="Chaos Toolkit experiment file(s) with a gameday extension")
    p.add_argument("--users", type=int, default=None, help="Locust users (default: the experiment's load.users)")
    p.add_argument("--workers", type=int, default=0, help="run Locust distributed: a master plus N workers")
    p.add_argument("--target", choices=("sandbox",), default=None, help="the embedded sandbox (default without --kubeconfig)")
    p.add_argument("--kubeconfig", default=None, help="kubeconfig of a real cluster")
    p.add_argument("--context", default=None, help="context in the kubeconfig (default: its current context)")
    p.add_argument("--allow-context", action="append", default=[], metavar="CONTEXT",
                   help="allow drills against this context (the sandbox is always allowed)")
    p.add_argument("--service-url", action="append", default=[], metavar="NAME.NS=URL",
                   help="reach a Service at this URL instead of its load-balancer address")
    p.add_argument("--reports", default="reports", help="folder for the timeline, journal and JUnit XML (default: reports)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and touch nothing")
    p.add_argument("--abort-error-rate", type=float, default=None, metavar="RATE",
                   help="abort when the error rate stays above RATE (0..1) for --abort-after seconds")
    p.add_argument("--abort-after", type=int, default=30, metavar="SECONDS")
    p.add_argument("--steady-within", type=float, default=120.0, metavar="SECONDS",
                   help="how long to wait for the steady state before the fault (default 120)")
    p.add_argument("--project", default=None, metavar="FILE", help="the project file (default: ./gameday.yaml or above)")
    p.set_defaults(func=main)


def _overrides(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, url = item.partition("=")
        if not sep or key.count(".") != 1 or not url.startswith(("http://", "https://")):
            raise UserError(f"--service-url {item!r}: write NAME.NAMESPACE=http://HOST:PORT")
        out[key] = url
    return out


def _validate_args(args) -> None:
    if args.users is not None and args.users < 0:
        raise UserError(f"--users {args.users}: must be 0 or more")
    if args.workers < 0:
        raise UserError(f"--workers {args.workers}: must be 0 or more")
    if args.abort_error_rate is not None and not 0 <= args.abort_error_rate <= 1:
        raise UserError(f"--abort-error-rate {args.abort_error_rate}: must be between 0 and 1")
    if args.kubeconfig and args.target == "sandbox":
        raise UserError("--target sandbox and --kubeconfig exclude each other; pass one")


def print_plan(spec, args, target_text: str) -> None:
    users = spec.users if args.users is None else args.users
    print(f"plan: {spec.path} — {spec.title}")
    print(f"  target:        {target_text}")
    print(f"  load:          {users} Locust users" + (f" ({args.workers} workers)" if args.workers else "")
          + (f", {spec.warmup:g}s warm-up before the fault" if spec.warmup and users else ""))
    print(f"  steady state:  {', '.join(c.label for c in spec.checks)}")
    if spec.detection_alert:
        print(f"  detection:     alert {spec.detection_alert}")
    print("  method:")
    for line in spec.method_plan():
        print(f"    {line}")
    print("  rollbacks (always run):")
    for line in spec.rollback_plan() or ["(none)"]:
        print(f"    {line}")
    print(f"  recovery:      within {spec.recover_within:g}s, settle {spec.settle:g}s")
    print(f"  SLA:           {'; '.join(s.text for s in spec.slas)}")
    abort = spec.abort
    if args.abort_error_rate is not None:
        print(f"  abort:         error rate above {args.abort_error_rate:.0%} for {args.abort_after}s")
    elif abort:
        print(f"  abort:         {abort.describe()}")
    print(f"  reports:       {args.reports}/")


@contextlib.contextmanager
def resolve_target(args, project):
    """The target of this run (gameday.bdd.targets.resolve: a kubeconfig's
    context, a running sandbox, else one started for this run and stopped after)."""
    from ..bdd.targets import resolve
    target, stop = resolve(args.kubeconfig, args.context, [*args.allow_context, *(project.contexts if project else ())],
                           project=project, overrides=_overrides(args.service_url))
    try:
        yield target
    finally:
        if stop is not None:
            stop()


def check_permissions(spec, target) -> str:
    """Every verb the experiment needs, asked of the API server as the
    kubeconfig's user; PermissionDenied (exit 3, one line) on the first
    refusal, before anything is injected."""
    from . import ledger, permissions
    needs = permissions.for_experiment(spec.doc, spec.checks, ledger.namespace_of(target.chaos_configuration()))
    return permissions.check_target(target, needs, str(spec.path))


def _sandbox_permissions(project) -> str:
    """What a dry run on the sandbox says of permissions: the drills run as
    the project's `target.sandbox_user` (gameday.bdd.targets.as_sandbox_user),
    whose token is only asked for when the run starts."""
    if project is None or project.sandbox_serviceaccount is None:
        return "not checked (the sandbox's admin may do everything)"
    ns, name = project.sandbox_serviceaccount
    return (f"checked when the run starts, as serviceaccount {ns}/{name} ({project.path.name}'s "
            f"target.sandbox_user, which the drills on the sandbox run as)")


def main(args) -> int:
    _validate_args(args)
    from ..project import current
    project = current(args.project) if args.project else None  # else each experiment's own
    specs = [experiment_mod.load(p, project) for p in args.experiments]  # all valid before anything runs
    # The project the run's target comes from (its sandbox, its sandbox_user): the first one an experiment names.
    target_project = project or next((s.project for s in specs if s.project is not None), None)
    if args.dry_run:
        if args.kubeconfig:
            # reads the file and checks the allowlist; no request is sent
            t = Target.connect(args.kubeconfig, args.context, args.allow_context, _overrides(args.service_url))
            target_text = f"{t.kubeconfig} context {t.context}" + (" (sandbox)" if t.sandbox else "")
        else:
            target_text = f"sandbox ({default_sandbox_dir()}; started for the run if not running)"
        try:
            for spec in specs:
                print_plan(spec, args, target_text)
                if args.kubeconfig:  # asks the API server (SelfSubjectAccessReview), changes nothing
                    print(f"  permissions:   {check_permissions(spec, t)}")
                else:
                    print(f"  permissions:   {_sandbox_permissions(target_project)}")
            sys.stdout.flush()
        except BrokenPipeError:  # `gameday run ... --dry-run | head`: the reader has all it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    from .engine import RunOptions, run
    worst = 0
    with resolve_target(args, target_project) as target:
        for spec in specs:
            opts = RunOptions(users=args.users, workers=args.workers, reports_dir=Path(args.reports),
                              steady_within=args.steady_within, abort_error_rate=args.abort_error_rate,
                              abort_seconds=args.abort_after)
            print(f"== {spec.path.name}: {spec.title} (target {target.context})", flush=True)
            print(f"permissions: {check_permissions(spec, target)}", flush=True)  # exit 3 before any fault
            result = run(spec, target, opts, out=lambda line: print(line, flush=True))
            if SEVERITY[result.exit_code] > SEVERITY[worst]:
                worst = result.exit_code
            if result.reason.startswith("interrupted") or result.exit_code == 3:
                break
    return worst
