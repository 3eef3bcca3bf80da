"""`gameday runbook show|check|coverage`."""
from __future__ import annotations

import argparse
from pathlib import Path

PROJECT_FILE = Path("gameday.yaml")


def default_runbook() -> str | None:
    """The project's first runbook (gameday.yaml `runbooks`), None without a project."""
    from ..errors import UserError
    from ..project import current
    try:
        project = current()
    except UserError:
        return None
    return str(project.resolve(project.runbooks[0])) if project.runbooks else None


def _runbook_of(args) -> Path:
    from ..errors import UserError
    path = args.runbook or default_runbook()
    if not path:
        raise UserError("no runbook given and no gameday.yaml names one; pass RUNBOOK.md")
    return Path(path)


def register(subparsers) -> None:
    p = subparsers.add_parser("runbook", help="parse, check and cover the runbook as written")
    sub = p.add_subparsers(dest="runbook_command", metavar="ACTION")
    show = sub.add_parser("show", help="procedures, their blocks and lines, as gameday parses them")
    show.add_argument("runbook", nargs="?", default=None, help="the runbook (default: the project's first)")
    show.set_defaults(func=cmd_show)
    check = sub.add_parser("check", help="run every block verbatim against the target; exit 1 when a line fails")
    check.add_argument("runbook", nargs="?", default=None, help="the runbook (default: the project's first)")
    check.add_argument("--procedure", help="only this procedure (slug or heading)")
    check.add_argument("--read-only", action="store_true", help="run only read-only lines (always so on a real cluster)")
    check.add_argument("--kubeconfig")
    check.add_argument("--context")
    check.add_argument("--allow-context", action="append", default=[])
    check.add_argument("--reports", default="reports")
    check.set_defaults(func=cmd_check)
    cov = sub.add_parser("coverage", help="per runbook line: run by a scenario, by the check, or never; exit 1 when a runnable line never ran")
    cov.add_argument("runbook", nargs="?", default=None, help="the runbook (default: the project's first)")
    cov.add_argument("--reports", default="reports")
    cov.set_defaults(func=cmd_coverage)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def cmd_show(args) -> int:
    from .check import load_runbook
    rb = load_runbook(_runbook_of(args))
    print(f"{rb.title}  ({rb.path}: {len(rb.procedures)} procedures, "
          f"{sum(1 for _, u in rb.units if u.kind == 'command')} commands, "
          f"{sum(1 for _, u in rb.units if u.kind == 'manual')} manual steps)")
    for p in rb.procedures:
        print(f"\n{' > '.join(p.path)}  [{p.slug}]  line {p.line}")
        for b in p.blocks:
            print(f"  block at line {b.first_line} ({b.lang})")
            for u in b.units:
                span = f"{u.first_line}" if u.first_line == u.last_line else f"{u.first_line}-{u.last_line}"
                notes = []
                if u.kind == "command":
                    notes.append(" ".join(" | ".join(c.name or "(assignment)" for c in pl.commands)
                                          + (f" {pl.op}" if pl.op else "") for pl in u.pipelines))
                    if u.fallback is not None:
                        notes.append(f"fallback {u.fallback!r}")
                    if u.interactive:
                        notes.append(f"interactive: {u.interactive}")
                    if u.heredoc:
                        notes.append("heredoc")
                    if u.compound:
                        notes.append("compound")
                lines = u.text.splitlines() or [""]
                print(f"    {span:>7}  {u.kind:<7}  {lines[0]}")
                for extra in lines[1:]:
                    print(f"    {'':>7}  {'':<7}  {extra}")
                if notes:
                    print(f"    {'':>7}  {'':<7}  -> {'; '.join(n for n in notes if n)}")
    return 0


def cmd_check(args) -> int:
    from ..bdd.targets import resolve
    from . import report, settings as settings_mod
    from .check import Checker
    runbook = _runbook_of(args)
    cfg = settings_mod.load(runbook, PROJECT_FILE)
    from ..bdd.targets import start_default_sandbox
    from ..project import current
    project = current(required=False)   # None: a runbook of its own, on a named cluster or a running sandbox
    # No running sandbox: start the project's (target.sandbox), as `gameday
    # drill` does. The check acts as the sandbox's admin, an operator's rights.
    target, stop = resolve(args.kubeconfig, args.context, args.allow_context,
                           start_sandbox=lambda: start_default_sandbox(project))
    reports = Path(args.reports) / "runbook"
    checker = Checker(runbook, cfg, target, reports, read_only=args.read_only)
    import signal

    def _terminate(signum, frame):
        raise KeyboardInterrupt   # the procedure's restore runs in its finally
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        result = checker.run(only=args.procedure)
    finally:
        signal.signal(signal.SIGTERM, previous)
        checker.close()
        if stop:
            stop()
    paths = report.write(result, reports)
    print(report.table(result))
    print(f"\nfindings: {paths['findings']}  junit: {paths['junit']}  json: {paths['json']}  html: {paths['html']}")
    return 1 if result.failed else 0


def cmd_coverage(args) -> int:
    from . import coverage
    cov = coverage.compute_from_reports(_runbook_of(args), Path(args.reports))
    print(coverage.format_table(cov))
    return 1 if cov.never_run else 0
