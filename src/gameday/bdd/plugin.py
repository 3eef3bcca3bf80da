"""The pytest plugin behind the runbook features (`-p gameday.bdd.plugin`,
loaded by features/conftest.py and by `gameday drill`).

- registers the feature tags as markers (`@p0`, `@db`, ... and
  `@runbook:<section>` / `@procedure:<slug>` as `runbook(section=...)` /
  `procedure(name=...)`), so `--strict-markers` and `-m` work;
- gives steps the `gameday_run` fixture (one ScenarioRun, and so one drill
  and one timeline, per scenario) on a session-wide `gameday_target`;
- prints progress per scenario and step, and writes results.json,
  verdicts.json and the HTML report under the reports folder."""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pytest

from ..errors import TargetError, UserError
from . import results as results_mod
from .features import scenario_key
from .library import ScenarioRun, StepFailed, slugify

DEFAULT_REPORTS = "reports/drill"
TOPIC_MARKERS = {
    "p0": "P0 (critical) incident procedures",
    "p1": "P1 (high) incident procedures",
    "p2": "P2 (medium) procedures",
    "p3": "P3 (low) procedures",
    "db": "procedures on the database",
    "hpu": "procedures on the accelerators (HPUs) and training",
    "network": "procedures on networking",
    "smoke": "quick checks with no fault injected",
    "slow": "takes more than a few seconds",
    "sandbox": "needs a running sandbox cluster (every runbook scenario does)",
    "isolation": "needs pod isolation in the sandbox (PID 1 the entrypoint, volumes at their mountPath)",
}
SCENARIO_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("gameday", "gameday runbook drills")
    group.addoption("--gameday-kubeconfig", default=None, help="kubeconfig of the target (default: the sandbox)")
    group.addoption("--gameday-context", default=None, help="context in the kubeconfig")
    group.addoption("--gameday-allow-context", action="append", default=[],
                    help="allow drills against this context (repeatable)")
    group.addoption("--gameday-reports", default=None, help=f"reports folder (default {DEFAULT_REPORTS})")
    group.addoption("--gameday-progress", action="store_true", help="print each scenario and step as it runs")
    group.addoption("--gameday-operator", default="auto", choices=("auto", "human"),
                    help="human: a person carries out the operator steps in `gameday shell`, gameday pages and times them")
    group.addoption("--gameday-ack-within", type=float, default=900.0,
                    help="seconds a person has to acknowledge the page (human operator)")
    group.addoption("--gameday-project", default=None,
                    help="the project file (default: $GAMEDAY_PROJECT, else the nearest gameday.yaml)")
    group.addoption("--gameday-settle", type=float, default=3.0,
                    help="seconds the steady state must hold to count as recovered")


def pytest_configure(config):
    for name, doc in TOPIC_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")
    config.addinivalue_line("markers", "runbook(section): the runbook section a scenario verifies (@runbook:<section>)")
    config.addinivalue_line("markers", "procedure(name): the runbook procedure a scenario verifies (@procedure:<slug>)")
    config.addinivalue_line("markers", "deviates(reason): the scenario deliberately differs from the runbook (@deviates:<reason>)")
    if not config.pluginmanager.has_plugin("gameday-bdd-session"):
        config.pluginmanager.register(DrillSession(config), "gameday-bdd-session")


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_apply_tag(tag, function):
    for prefix, mark, kw in (("runbook:", pytest.mark.runbook, "section"), ("procedure:", pytest.mark.procedure, "name"),
                              ("deviates:", pytest.mark.deviates, "reason")):
        if tag.startswith(prefix):
            mark(**{kw: tag[len(prefix):]})(function)
            return True
    return None


def pytest_collection_modifyitems(config, items):
    """Every runbook scenario needs a cluster: mark it `sandbox`, so
    `-m "not sandbox"` leaves the drills out of a quick unit run."""
    from pytest_bdd.scenario import scenario_wrapper_template_registry
    for item in items:
        fn = getattr(item, "function", None)
        if fn is not None and scenario_wrapper_template_registry.get(fn) is not None:
            item.add_marker(pytest.mark.sandbox)


# --- fixtures -----------------------------------------------------------------
@pytest.fixture(scope="session")
def gameday_target(request, tmp_path_factory):
    """The target every scenario of the session runs against (see
    gameday.bdd.targets: --gameday-kubeconfig, a sandbox KUBECONFIG, a
    running sandbox, or a sandbox started for the session)."""
    from .targets import resolve

    def start_sandbox():
        from ..sandbox import testing
        from .targets import sandbox_config
        return testing.start(tmp_path_factory.mktemp("drill-sandbox"), config=sandbox_config(project))
    opt = request.config.getoption
    try:
        project = gameday_project_of(request.config)
        target, stop = resolve(opt("--gameday-kubeconfig"), opt("--gameday-context"),
                               [*opt("--gameday-allow-context"), *project.contexts], start_sandbox, project)
    except (UserError, TargetError) as exc:
        pytest.fail(exc.message, pytrace=False)
    yield target
    if stop is not None:
        stop()


@pytest.fixture
def gameday_run(request, gameday_target):
    """One scenario's ScenarioRun: its drill, timeline and bindings."""
    info = request.node.stash.get(SCENARIO_KEY, None) or {}
    session: DrillSession = request.config.pluginmanager.get_plugin("gameday-bdd-session")
    name = info.get("name", request.node.name)
    folder = session.reports / "scenarios" / f"{Path(info.get('file', 'feature')).stem}--{slugify(name)}"
    run = ScenarioRun(gameday_target, name, folder, file=info.get("file", "feature"),
                      project=gameday_project_of(request.config),
                      slas=info.get("slas", []), settle_s=request.config.getoption("--gameday-settle"),
                      operator=request.config.getoption("--gameday-operator"),
                      ack_within_s=request.config.getoption("--gameday-ack-within"))
    info["run"] = run
    yield run
    try:
        run.close()
    except Exception as exc:  # a rollback that failed must be loud, and must not hide the verdict
        info["close_error"] = f"{exc.__class__.__name__}: {getattr(exc, 'message', exc)}"
    if info.get("result") is not None:
        # Recorded here, not in a report hook: after Ctrl-C or SIGTERM pytest
        # tears fixtures down without reporting, and the scenario still counts.
        session.record(info)


def gameday_project_of(config):
    """The session's project file (`--gameday-project`, else found); a bad one fails the session."""
    from ..project import current
    try:
        return current(config.getoption("--gameday-project"))
    except UserError as exc:
        pytest.fail(exc.message, pytrace=False)


def _scenario_slas(scenario, file: str) -> list:
    """The scenario's SLA table, parsed up front so a missed wait can name
    the SLA it breaks."""
    from .sla_table import parse_table
    for step in scenario.steps:
        if step.datatable is not None and step.name.strip().startswith("the SLA is met"):
            rows = [[c.value for c in r.cells] for r in step.datatable.rows]
            try:
                return parse_table(rows, file, step.line_number, [r.location.line for r in step.datatable.rows])
            except UserError:
                return []  # the SLA step itself reports it, with its line
    return []


class DrillSession:
    """Per-session state: the reports folder, progress, every scenario's result."""

    def __init__(self, config):
        self.config = config
        self.reports = Path(config.getoption("--gameday-reports") or DEFAULT_REPORTS)
        self.progress = bool(config.getoption("--gameday-progress"))
        self.results: list[results_mod.ScenarioResult] = []
        self.nodeids: set[str] = set()
        self.interrupted = False
        _sigterm_interrupts()

    # -- output ------------------------------------------------------------
    def _say(self, line: str) -> None:
        if not self.progress:
            return
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        # Steps run with output captured; progress is for the operator now.
        with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
            if tr is not None:
                tr.ensure_newline()
                tr.write_line(line)
            else:
                print(line, flush=True)

    # -- pytest-bdd hooks --------------------------------------------------------
    def pytest_bdd_before_scenario(self, request, feature, scenario):
        file = os.path.relpath(feature.filename) if not os.path.relpath(feature.filename).startswith("..") else feature.filename
        tags = sorted(scenario.tags | feature.tags)
        result = results_mod.ScenarioResult(
            key=scenario_key(feature.filename, scenario.name), file=file, line=scenario.line_number,
            name=scenario.name, feature=feature.name,
            sections=sorted(t.split(":", 1)[1] for t in tags if t.startswith("runbook:")),
            procedures=sorted(t.split(":", 1)[1] for t in tags if t.startswith("procedure:")),
            tags=tags, outcome="running", started_at=time.time(),
            steps=[results_mod.StepResult(s.keyword, s.name, s.line_number) for s in scenario.steps])
        request.node.stash[SCENARIO_KEY] = {"name": scenario.name, "file": file, "result": result,
                                            "slas": _scenario_slas(scenario, file), "t0": time.monotonic()}
        self.nodeids.add(request.node.nodeid)
        self._say(f"> {scenario.name}  ({file}:{scenario.line_number})")

    def _step(self, request, step) -> results_mod.StepResult | None:
        info = request.node.stash.get(SCENARIO_KEY, None)
        if not info:
            return None
        for s in info["result"].steps:
            if s.line == step.line_number and s.status == "skipped":
                return s
        return None

    def pytest_bdd_before_step(self, request, feature, scenario, step, step_func):
        info = request.node.stash.get(SCENARIO_KEY, None)
        if info is not None:
            info["step_t0"] = time.monotonic()

    def pytest_bdd_before_step_call(self, request, feature, scenario, step, step_func, step_func_args):
        run = step_func_args.get("gameday_run")
        if isinstance(run, ScenarioRun):
            info = request.node.stash.get(SCENARIO_KEY, {})
            run.where = f"{info.get('file', feature.filename)}:{step.line_number}"
            run.table_lines = tuple(r.location.line for r in step.datatable.rows) if step.datatable else ()

    def _finish_step(self, request, step, status: str, message: str = "") -> None:
        info = request.node.stash.get(SCENARIO_KEY, None)
        s = self._step(request, step)
        if s is None or info is None:
            return
        s.status, s.message = status, message
        s.duration_s = round(time.monotonic() - info.get("step_t0", time.monotonic()), 2)
        mark = "ok  " if status == "passed" else "FAIL"
        self._say(f"    {mark} {step.keyword} {step.name}  ({s.duration_s:.1f}s)")
        if message:
            self._say(f"         {message}")

    def pytest_bdd_after_step(self, request, feature, scenario, step, step_func, step_func_args):
        self._finish_step(request, step, "passed")

    def pytest_bdd_step_error(self, request, feature, scenario, step, step_func, step_func_args, exception):
        self._finish_step(request, step, "failed", _message(exception))

    def pytest_bdd_step_func_lookup_error(self, request, feature, scenario, step, exception):
        info = request.node.stash.get(SCENARIO_KEY, None)
        msg = f"{info['file'] if info else feature.filename}:{step.line_number}: unknown step '{step.keyword} {step.name}' (run 'gameday steps' for the vocabulary)"
        if info is not None:
            info["input_error"] = msg
        self._finish_step(request, step, "failed", msg)

    # -- pytest hooks --------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        info = item.stash.get(SCENARIO_KEY, None)
        if info is None:
            return
        result: results_mod.ScenarioResult = info["result"]
        if report.when == "call":
            if report.passed:
                result.outcome = "passed"
            elif report.skipped:
                result.outcome = "skipped"
            else:
                exc = call.excinfo.value if call.excinfo else None
                result.outcome = "failed"
                result.message = info.get("input_error") or _message(exc)
                result.input_error = bool(info.get("input_error")) or isinstance(exc, UserError)
                if isinstance(exc, UserError):
                    # The feature is wrong, not the platform: say it in one line.
                    report.longrepr = exc.message
        elif report.when == "teardown":
            self.record(info)

    def record(self, info: dict) -> None:
        """The scenario's result, once, after its drill closed."""
        if info.get("recorded"):
            return
        info["recorded"] = True
        result: results_mod.ScenarioResult = info["result"]
        result.duration_s = round(time.monotonic() - info["t0"], 2)
        run: ScenarioRun | None = info.get("run")
        if info.get("close_error"):
            result.outcome = "error"
            result.message = (result.message + "; " if result.message else "") + "rollback: " + info["close_error"]
        if run is not None:
            result.restored = list(run.restored)
            _measure_into(result, run, info.get("slas", []), self.reports)
        if result.outcome == "running":
            result.outcome = "interrupted" if self.interrupted else "error"
            result.message = result.message or ("interrupted; faults rolled back" if self.interrupted else "")
        self.results.append(result)
        verdict = result.outcome.upper()
        figures = f"detect {_fmt_s(result.time_to_detect)}, recover {_fmt_s(result.time_to_recover)}, errors {_fmt_pct(result.error_rate)}"
        self._say(f"  {verdict}  {result.name}  ({figures}, {result.duration_s:.0f}s)")
        for r in result.restored:
            self._say(f"    restored: {r}")

    def pytest_report_teststatus(self, report, config):
        # The progress lines say it all: no dots in between.
        if self.progress and report.when == "call" and report.nodeid in self.nodeids:
            return report.outcome, "", ""
        return None

    def pytest_keyboard_interrupt(self, excinfo):
        self.interrupted = True

    @pytest.hookimpl(trylast=True)  # after pytest tore the fixtures down (and rolled back)
    def pytest_sessionfinish(self, session, exitstatus):
        if not self.results:
            return
        results_mod.write_results(self.reports, self.results)
        try:
            from ..reports import html
            html.write_report(self.reports / "report.html", self.results, self.reports)
        except Exception as exc:  # the report is a view; a broken view must not hide the verdicts
            self._say(f"warning: HTML report not written: {exc.__class__.__name__}: {exc}")


def _sigterm_interrupts() -> None:
    """SIGTERM stops a drill like Ctrl-C: as an interrupt, so fixtures are
    torn down and every fault rolled back (the default would just die)."""
    import signal
    import threading
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def interrupt(signum, frame):
            raise KeyboardInterrupt("SIGTERM")
        signal.signal(signal.SIGTERM, interrupt)


def _message(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    if isinstance(exc, (UserError, TargetError)):
        return exc.message
    if isinstance(exc, (StepFailed, AssertionError)):
        return str(exc).strip().splitlines()[0] if str(exc).strip() else "assertion failed"
    text = str(exc).strip().splitlines()
    return f"{exc.__class__.__name__}: {text[0] if text else ''}"[:500]


def _fmt_s(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}s"


def _fmt_pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.2f}%"


def _measure_into(result, run: ScenarioRun, slas: list, reports: Path) -> None:
    """Figures for the table and the report, from the timeline alone."""
    from ..timeline.store import read
    path = run.timeline_path
    if path is None:
        return
    try:
        result.timeline = os.path.relpath(path, reports)
    except ValueError:
        result.timeline = str(path)
    from .library import judge_events
    try:
        verdict = judge_events(read(path), slas, run._drill.detection_alert if run._drill is not None else None)
    except Exception:  # a damaged timeline still gets its scenario reported
        return
    m = verdict.measurements
    result.time_to_detect, result.time_to_recover = m.time_to_detect, m.time_to_recover
    result.error_rate, result.p95_latency = m.error_rate, m.p95_latency
    rows = (run.verdict or verdict).results
    result.slas = [{"text": r.sla.text, "measured": r.measured_text if r.measured is not None else f"none ({r.reason})",
                    "passed": r.passed} for r in rows]
