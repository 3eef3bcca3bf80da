"""The engine behind `gameday run`: one experiment file, under load, with
the Chaos Toolkit run on the main thread and the timeline written by the
watchers around it. Exit codes: 0 all SLAs met, 1 an SLA missed or the
steady state did not hold (or the run was interrupted/aborted), 2 bad input,
3 target unreachable or a rollback failed."""
from __future__ import annotations

import copy
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import TargetError
from ..reports.journal import write_journal
from ..reports.junit import write_junit
from ..sla import Verdict
from ..target import Target
from .experiment import ExperimentSpec
from .facade import Drill, DrillAborted, SteadyStateNotMet
from .outcome import Outcome
from ..timeline.events import Kinds

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_TARGET = 0, 1, 2, 3


@dataclass
class RunOptions:
    users: int | None = None
    workers: int = 0
    reports_dir: Path = Path("reports")
    steady_within: float = 120.0
    abort_error_rate: float | None = None
    abort_seconds: int = 30


@dataclass
class RunResult:
    exit_code: int
    verdict: Verdict | None
    timeline: Path | None
    junit: Path | None
    journal_path: Path | None
    reason: str = ""


def _handler_class():
    from chaoslib.run import RunEventHandler

    class TimelineEvents(RunEventHandler):
        """Chaos Toolkit run events -> timeline: a method action is a fault
        (the first opens the incident window), unless the extension names it
        a runbook step."""

        def __init__(self, drill: Drill, steps: tuple[str, ...]):
            self.drill, self.steps = drill, set(steps)
            self.in_method = False
            self.in_rollbacks = False
            self.before_met: bool | None = None
            self.started: dict[str, float] = {}

        def start_method(self, experiment) -> None:
            self.in_method = True

        def start_rollbacks(self, experiment) -> None:
            self.in_rollbacks = True

        def rollbacks_completed(self, experiment, journal) -> None:
            self.in_rollbacks = False

        def method_completed(self, experiment, state=None) -> None:
            self.in_method = False

        def hypothesis_before_completed(self, experiment, state, journal) -> None:
            self.before_met = bool(state and state.get("steady_state_met"))
            if not self.before_met:
                failed = [p.get("activity", {}).get("name") for p in (state or {}).get("probes", [])
                          if not p.get("tolerance_met", True)]
                self.drill.timeline.emit(Kinds.steady_state_failed, phase="before",
                                         reason=f"experiment hypothesis not met: {', '.join(map(str, failed)) or 'probe failed'}")

        def start_activity(self, activity) -> None:
            # A fault's clock starts when its action starts: an action that
            # holds its fault (a pod-kill over a duration) returns only when
            # the fault is over, and what the fault set off happened before.
            self.started[activity.get("name", "?")] = time.time()
            if self.in_rollbacks:
                self.drill.timeline.emit(Kinds.rollback_started, fault=f"experiment:{activity.get('name')}")
            if self.in_method and activity.get("name") in self.steps:
                self.drill.timeline.emit(Kinds.step_started, step=activity["name"])

        def activity_completed(self, activity, run) -> None:
            name = activity.get("name", "?")
            ok = (run or {}).get("status") == "succeeded"
            if self.in_rollbacks:
                self.drill.timeline.emit(Kinds.rollback_finished, fault=f"experiment:{name}", ok=ok,
                                         **({} if ok else {"error": str((run or {}).get("exception", ""))[-300:]}))
                return
            if not self.in_method:
                return
            if name in self.steps:
                self.drill.timeline.emit(Kinds.step_finished, step=name, ok=ok,
                                         **({} if ok else {"error": str((run or {}).get("exception", ""))[-300:]}))
            elif activity.get("type") == "action" and ok:
                self.drill.mark_fault(name, t=self.started.get(name))

    return TimelineEvents


def live_printer(emit: Callable[[str], None]) -> Callable:
    """A live line per event (load samples every 5 s, to stay readable)."""
    state = {"t0": None, "n": 0}

    def show(event) -> None:
        if state["t0"] is None:
            state["t0"] = event.t
        rel = event.t - state["t0"]
        d = event.data
        if event.kind == Kinds.load_sample.name:
            state["n"] += 1
            if state["n"] % 5:
                return
            text = f"load {d['rps']:.1f} req/s, {d['failures']} failed, p95 {d['p95_ms']:.0f}ms, {d['users']} users"
        elif event.kind == Kinds.writes_acked.name:
            return
        elif event.kind == Kinds.pod_status.name:
            text = f"pod {d['namespace']}/{d['pod']} {d['phase']}{' ready' if d['ready'] else ''}" \
                   f"{' ' + d['reason'] if d.get('reason') else ''}{' deleted' if d.get('deleted') else ''}"
        else:
            detail = ", ".join(f"{k}={v}" for k, v in d.items() if k not in ("labels", "slas", "hist") and v not in ("", None, {}))
            text = f"{event.kind} {detail}"
        emit(f"[{rel:7.2f}s] {text}")

    return show


def run(spec: ExperimentSpec, target: Target, opts: RunOptions, out: Callable[[str], None] = print) -> RunResult:
    from chaoslib.experiment import run_experiment
    from kubernetes.config import kube_config

    reports = Path(opts.reports_dir)
    abort = spec.abort
    if opts.abort_error_rate is not None:
        from .safety import AbortCondition
        abort = AbortCondition(opts.abort_error_rate, opts.abort_seconds)
    users = spec.users if opts.users is None else opts.users
    drill = Drill(target, spec.name, reports, detection_alert=spec.detection_alert, steady_state=spec.steady_state_raw,
                  live=live_printer(out), abort=abort, experiment=str(spec.path), slas=[s.text for s in spec.slas],
                  project=spec.project)
    journal: dict | None = None
    journal_path = reports / f"{drill.slug}.journal.json"
    reason = ""
    outcome = None
    try:
        target.check_reachable()
        drill.start_watchers()
        if users > 0:
            drill.start_load(users=users, spawn_rate=spec.spawn_rate, workers=opts.workers, warmup=spec.warmup)
        drill.confirm_steady_state(within=opts.steady_within, settle=2.0)

        experiment = copy.deepcopy(spec.doc)
        experiment.setdefault("configuration", {}).update(drill.configuration)
        settings = {"runtime": {"rollbacks": {"strategy": "always"}}}  # also after an interrupt or a failed run
        handler = _handler_class()(drill, spec.steps)
        # stock chaosk8s actions load the kubeconfig named at import of the
        # kubernetes client; point them (and anything reading the env) at the target
        saved = (kube_config.KUBE_CONFIG_DEFAULT_LOCATION, os.environ.get("KUBECONFIG"), os.environ.get("KUBERNETES_CONTEXT"))
        kube_config.KUBE_CONFIG_DEFAULT_LOCATION = str(target.kubeconfig)
        os.environ["KUBECONFIG"], os.environ["KUBERNETES_CONTEXT"] = str(target.kubeconfig), target.context
        logging.getLogger("chaostoolkit").setLevel(logging.ERROR)  # the timeline is the record
        drill.experiment_running = True
        try:
            journal = run_experiment(experiment, settings=settings, event_handlers=[handler])
        finally:
            drill.experiment_running = False
            kube_config.KUBE_CONFIG_DEFAULT_LOCATION = saved[0]
            for key, value in (("KUBECONFIG", saved[1]), ("KUBERNETES_CONTEXT", saved[2])):
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        write_journal(journal_path, journal)
        _register_experiment_rollbacks(drill, experiment, journal)
        if drill.aborted:
            outcome, reason = Outcome.ABORTED, drill.aborted
        elif (drill.guard and drill.guard.received) or journal.get("status") == "interrupted":
            outcome, reason = Outcome.INTERRUPTED, "interrupted by a signal; faults rolled back"
        elif handler.before_met is False:
            outcome, reason = Outcome.NOT_RUN, "the experiment's steady-state hypothesis did not hold before the method"
        elif drill.fault_at is None:
            outcome, reason = Outcome.NOT_RUN, f"no fault was injected (journal status {journal.get('status')})"
        else:
            drill.wait_recovered(within=spec.recover_within, settle=spec.settle)
            drill.verify_writes()
    except SteadyStateNotMet as exc:
        outcome, reason = Outcome.NOT_RUN, f"steady state did not hold before the fault: {exc.reason}"
    except DrillAborted as exc:
        outcome, reason = Outcome.ABORTED, str(exc)
    except KeyboardInterrupt:
        outcome, reason = Outcome.INTERRUPTED, "interrupted by a signal; faults rolled back"
    except TargetError as exc:
        outcome, reason = Outcome.ERROR, exc.message
    finally:
        failed_rollbacks = drill.close(outcome)
        if journal is not None:
            write_journal(journal_path, journal)

    verdict = drill.judge(spec.slas)
    junit = write_junit(reports / f"{drill.slug}.junit.xml", drill.slug, verdict, drill.timeline_path.name)
    out("")
    out(verdict.table())
    if failed_rollbacks:
        out("ROLLBACK FAILED: " + "; ".join(failed_rollbacks))
        code = EXIT_TARGET
        reason = "rollback failed: " + "; ".join(failed_rollbacks)
    elif outcome == Outcome.ERROR:
        code = EXIT_TARGET
    elif outcome in (Outcome.NOT_RUN, Outcome.ABORTED, Outcome.INTERRUPTED):
        code = EXIT_FAILED
    else:
        code = EXIT_OK if verdict.passed else EXIT_FAILED
    if reason:
        out(f"{outcome}: {reason}")
    out(f"timeline: {drill.timeline_path}  junit: {junit}" + (f"  journal: {journal_path}" if journal else ""))
    return RunResult(code, verdict, drill.timeline_path, junit, journal_path if journal else None, reason)


def _register_experiment_rollbacks(drill: Drill, experiment: dict, journal: dict) -> None:
    """Chaos Toolkit played the experiment's rollbacks; if any did not
    succeed (or were cut short), run them again from the drill's registry."""
    runs = journal.get("rollbacks") or []
    succeeded = {r.get("activity", {}).get("name") for r in runs if r.get("status") == "succeeded"}
    from chaoslib.activity import run_activity
    for activity in experiment.get("rollbacks") or []:
        if activity.get("name") in succeeded or activity.get("type") != "action":
            continue
        drill.register_rollback(f"experiment:{activity.get('name')}",
                                lambda a=activity: run_activity(a, experiment.get("configuration") or {}, experiment.get("secrets") or {}))
