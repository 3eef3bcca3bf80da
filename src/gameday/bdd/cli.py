"""`gameday drill`, `gameday coverage` and `gameday steps`."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ..errors import TargetError, UserError
from . import coverage as coverage_mod
from . import features as features_mod
from . import preflight, results, runbook, vocabulary

DEFAULT_FEATURES = "features"
DEFAULT_REPORTS = "reports/drill"


def register(subparsers) -> None:
    p = subparsers.add_parser("drill", help="run the runbook's features against a target (default: the sandbox)",
                              description="Run Gherkin runbook scenarios against a target, under load, and judge "
                                          "each against its SLA table.")
    p.add_argument("features", nargs="*", help=f"feature files or folders (default: {DEFAULT_FEATURES}/)")
    p.add_argument("-m", dest="markexpr", default=None, help='only scenarios whose tags match, e.g. "p0 and not slow"')
    p.add_argument("-k", dest="keyword", default=None, help="only scenarios whose name matches this pytest -k expression")
    p.add_argument("--kubeconfig", default=None, help="kubeconfig of the target (default: the sandbox, started if needed)")
    p.add_argument("--context", default=None, help="context in the kubeconfig")
    p.add_argument("--allow-context", action="append", default=[], help="allow drills against this context")
    p.add_argument("--reports", default=DEFAULT_REPORTS, help=f"reports folder (default: {DEFAULT_REPORTS})")
    p.add_argument("--settle", type=float, default=3.0, help="seconds the steady state must hold to count as recovered")
    p.add_argument("--steps", default=vocabulary.DEFAULT_STEPS_MODULE, help="step module (default: steps)")
    p.add_argument("--project", default=None, metavar="FILE", help="the project file (default: ./gameday.yaml or above)")
    p.add_argument("--operator", choices=("auto", "human"), default="auto",
                   help="human: gameday breaks the platform and pages a person, who works the runbook in "
                        "`gameday shell`; gameday times the acknowledgement and each step")
    p.add_argument("--ack-within", type=float, default=900.0, help="seconds a person has to acknowledge (human operator)")
    p.set_defaults(func=cmd_drill)

    c = subparsers.add_parser("coverage", help="which runbook procedures have a scenario, and its last verdict",
                              description="Report, for each procedure of the runbook, the scenarios that verify it "
                                          "and their last verdict; exit 1 when a procedure has none.")
    c.add_argument("runbook", nargs="?", default=None, help="the runbook (default: the first of the project's runbooks)")
    c.add_argument("--features", action="append", default=None, help=f"feature files or folders (default: {DEFAULT_FEATURES}/)")
    c.add_argument("--reports", default=DEFAULT_REPORTS, help="where the last drill's verdicts are")
    c.add_argument("--project", default=None, metavar="FILE", help="the project file (default: ./gameday.yaml or above)")
    c.add_argument("--procedures", action="store_true",
                   help="only which procedures have a scenario (no per-line table; exit 1 only for an uncovered "
                        "procedure)")
    c.set_defaults(func=cmd_coverage)

    s = subparsers.add_parser("steps", help="list every step phrase with its parameters and docstring")
    s.add_argument("--steps", default=vocabulary.DEFAULT_STEPS_MODULE, help="step module (default: steps)")
    s.set_defaults(func=cmd_steps)


# --- steps / coverage -------------------------------------------------------------
def cmd_steps(args) -> int:
    sys.stdout.write(vocabulary.format_phrases(vocabulary.phrases(args.steps)))
    return 0


def cmd_coverage(args) -> int:
    path = args.runbook
    if path is None:
        from ..project import current
        project = current(args.project)
        path = str(project.resolve(project.runbooks[0]))
    book = runbook.load(path)
    feature_paths = args.features or [DEFAULT_FEATURES]
    scenarios = features_mod.load_all(feature_paths)
    cov = coverage_mod.compute(book, scenarios, results.read_verdicts(Path(args.reports)))
    print(coverage_mod.format_table(cov))
    if args.procedures:
        return 1 if cov.uncovered else 0
    # Per line: which scenario (the runbook steps' runbook-lines.jsonl under
    # --reports) or `gameday runbook check` (its JSON beside the drill's
    # folder) ran each command line of the runbook, and which never ran.
    from ..runbook import coverage as line_coverage
    lines = line_coverage.compute_from_reports(Path(path), Path(args.reports), [Path(f) for f in feature_paths])
    print("\n" + line_coverage.format_table(lines))
    return 1 if cov.uncovered or lines.never_run else 0


# --- drill ------------------------------------------------------------------------
def _check_permissions(project, target) -> None:
    """The project's drills (its fault presets, steady state, services) and
    the runbook's kubectl lines, asked of the cluster as the kubeconfig's
    user before any scenario runs: PermissionDenied (exit 3, one line)."""
    from ..drill import ledger, permissions
    from ..runbook.check import load_runbook
    path = project.resolve(project.runbooks[0]) if project.runbooks else None
    book = load_runbook(path) if path is not None and path.exists() else None  # a runbook not written yet: its lines need nothing
    needs = permissions.for_project(project, ledger.namespace_of(target.chaos_configuration()), book)
    print(f"gameday: permissions: {permissions.check_target(target, needs, str(project.path))}", flush=True)


def cmd_drill(args) -> int:
    paths = args.features or [DEFAULT_FEATURES]
    scenarios = features_mod.load_all(paths)
    if not scenarios:
        raise UserError(f"{', '.join(paths)}: no scenarios found; write a .feature file (see docs/writing-scenarios.md)")
    preflight.raise_first(preflight.check(scenarios, vocabulary.phrases(args.steps)))
    from ..project import current
    project = current(args.project)  # a bad project file stops here, before any cluster is touched

    reports = Path(args.reports)
    reports.mkdir(parents=True, exist_ok=True)
    for stale in (results.RESULTS_FILE, "junit.xml", "cucumber.json", "report.html"):
        (reports / stale).unlink(missing_ok=True)

    stop = None
    if args.kubeconfig:
        from ..target import Target
        target = Target.connect(args.kubeconfig, args.context, [*args.allow_context, *project.contexts])
        target.check_reachable()
        _check_permissions(project, target)
    else:
        from .targets import resolve
        print("gameday: using the sandbox cluster (starting it if it is not running)", flush=True)
        target, stop = resolve(None, args.context, [*args.allow_context, *project.contexts], project=project)
        if project.sandbox_serviceaccount is not None:  # the sandbox's drills run as that account: ask for it too
            try:
                _check_permissions(project, target)
            except BaseException:
                if stop is not None:
                    stop()
                raise
    try:
        code = _run_pytest(args, [f for f in features_mod.feature_files(paths)], reports, target, project)
    finally:
        if stop is not None:
            stop()
    return code


def _runner_module(reports: Path, files: list[str]) -> Path:
    """A generated test module binding the chosen feature files (pytest
    collects Python, not .feature files)."""
    folder = reports / ".runner"
    folder.mkdir(parents=True, exist_ok=True)
    module = folder / "test_gameday_drill.py"
    module.write_text(
        '"""Generated by `gameday drill`: binds the feature files it was given."""\n'
        "from pytest_bdd import scenarios\n\n"
        f"scenarios(*{[os.path.abspath(f) for f in files]!r})\n")
    return module


def _run_pytest(args, files: list[str], reports: Path, target, project) -> int:
    module = _runner_module(reports, files)
    argv = [sys.executable, "-m", "pytest", str(module), "-p", "gameday.bdd.plugin", "-p", args.steps,
            "--gameday-progress", "--gameday-reports", str(reports),
            "--gameday-kubeconfig", str(target.kubeconfig), "--gameday-context", target.context,
            "--gameday-settle", str(args.settle), "--gameday-project", str(project.path.resolve()),
            "--junitxml", str(reports / "junit.xml"), "--cucumberjson", str(reports / "cucumber.json"),
            "-q", "--no-header", "--tb=no", "-p", "no:cacheprovider", "-p", "no:locust", "--rootdir", os.getcwd(),
            "-o", "junit_family=xunit2", "-o", "console_output_style=classic"]
    if Path("pyproject.toml").exists():
        argv += ["-c", "pyproject.toml"]  # the project's pytest settings, wherever --reports points
    for ctx in args.allow_context:
        argv += ["--gameday-allow-context", ctx]
    if target.context not in args.allow_context:
        argv += ["--gameday-allow-context", target.context]  # already checked here; the child needs it too
    if getattr(args, "operator", "auto") == "human":
        # the drill's terminal shows the page and each step; Enter there acknowledges too
        argv += ["--gameday-operator", "human", "--gameday-ack-within", str(args.ack_within), "-s"]
    if args.markexpr:
        argv += ["-m", args.markexpr]
    if args.keyword:
        argv += ["-k", args.keyword]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), str(project.root.resolve()), *filter(None, [env.get("PYTHONPATH")])])
    proc = subprocess.Popen(argv, env=env)
    # The child rolls back on Ctrl-C (it gets the SIGINT too); pass SIGTERM on
    # and wait for its rollbacks rather than dying first.
    old_term = signal.signal(signal.SIGTERM, lambda *_: proc.send_signal(signal.SIGTERM))
    old_int = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        rc = proc.wait()
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)
    found = results.read_results(reports)
    if rc == 5 or (rc == 0 and not found):
        raise UserError(f"{', '.join(args.features or [DEFAULT_FEATURES])}: no scenario matches "
                        f"{'-m ' + repr(args.markexpr) if args.markexpr else ''}{' -k ' + repr(args.keyword) if args.keyword else ''}".rstrip()
                        + "; check the tags (gameday coverage lists them)")
    print()
    print(summary_table(found))
    print(f"\nreports: {reports}/report.html, junit.xml, cucumber.json, scenarios/*/ (timelines)")
    input_errors = [r for r in found if r.input_error]
    if input_errors:
        raise UserError(input_errors[0].message)
    if rc in (2, 3, 4) and not found:
        raise UserError("pytest could not run the features (see the lines above)")
    if any(r.outcome == "error" and "rollback" in r.message for r in found):
        raise TargetError("a rollback failed: the target may not be as it was; see the table above")
    return 0 if found and all(r.outcome in ("passed", "skipped") for r in found) and rc == 0 else 1


def summary_table(found: list[results.ScenarioResult]) -> str:
    def s(v):
        return "-" if v is None else f"{v:.1f}s"

    def pct(v):
        return "-" if v is None else f"{v * 100:.2f}%"
    rows = [("scenario", "runbook section", "verdict", "detect", "recover", "errors")]
    for r in found:
        rows.append((r.name, ", ".join(r.sections) or "-", r.outcome, s(r.time_to_detect), s(r.time_to_recover), pct(r.error_rate)))
    widths = [min(60, max(len(row[i]) for row in rows)) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c)[:w].ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    failed = [r for r in found if r.outcome not in ("passed", "skipped")]
    for r in failed:
        lines.append(f"\n{r.outcome.upper()}: {r.name} ({r.file}:{r.line})\n  {r.message}")
    passed = sum(r.outcome == "passed" for r in found)
    lines.append(f"\n{passed}/{len(found)} scenarios passed")
    return "\n".join(lines)
