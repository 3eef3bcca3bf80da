"""The Drill facade: what `gameday run` and the Gherkin steps use.

One drill against one target: load, detection watchers, faults registered
with their rollbacks, runbook steps, the timeline, and a verdict computed
from the timeline alone. Every wait has a bound; `close()` always rolls back
(also on SLA failure, exception, Ctrl-C and SIGTERM)."""
from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import TargetError, UserError
from ..sla import Sla, Verdict, judge_timeline, parse_all
from ..target import Target
from ..timeline import Event, TimelineWriter, read
from .outcome import Outcome
from .safety import (AbortCondition, AbortMonitor, RollbackRegistry, SignalGuard, close_ledger,
                     interrupt_experiment, open_ledger)
from .steady import Check, default_checks, parse_checks
from .watchers import AlertWatcher, HttpProbeWatcher, QueryProgressWatcher, Signal, TrainingWatcher, WorkloadWatcher
from ..timeline.events import Kinds

log = logging.getLogger(__name__)
POLL = 0.05  # how often a wait re-reads the watchers' state (they observe at 250 ms or finer)


class SteadyStateNotMet(Exception):
    """The platform was not at steady state before the fault: the drill did not run."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class DrillAborted(Exception):
    """An abort condition tripped (e.g. error rate over its bound for N seconds)."""


def slugify(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "drill"


class Drill:
    """One drill against a target. Use as a context manager (close() always runs).

        with Drill(target, "api-pod-kill", "reports", detection_alert="ApiDown") as d:
            d.start_load(users=10)
            d.confirm_steady_state()
            d.inject("kill-api-pod")
            d.wait_for_alert("ApiDown", within=30)
            with d.step("restart-api"):
                ...
            d.wait_recovered(within=90, settle=3)
            verdict = d.judge(["time_to_recover <= 90s"])
    """

    def __init__(self, target: Target, name: str, reports_dir: str | Path = "reports", *,
                 detection_alert: str | None = None, steady_state: list | None = None,
                 live: Callable[[Event], None] | None = None, abort: AbortCondition | None = None,
                 experiment: str | None = None, slas: list[str] | None = None, handle_signals: bool = True,
                 project=None):
        from ..project import current
        self.project = project if project is not None else current(required=False)
        self.target = target
        self.name = name
        self.slug = slugify(name)
        self.reports_dir = Path(reports_dir)
        self.reports_dir.mkdir(parents=True, exist_ok=True)
        self.timeline_path = self.reports_dir / f"{self.slug}.timeline.jsonl"
        self.timeline_path.unlink(missing_ok=True)
        self.timeline = TimelineWriter(self.timeline_path)
        if live:
            self.timeline.add_listener(live)
        self.acked_path = self.reports_dir / f"{self.slug}.acked-ids.txt"
        self.acked_path.unlink(missing_ok=True)
        self.configuration: dict[str, Any] = {**target.chaos_configuration(), "acked_ids_file": str(self.acked_path)}
        self.detection_alert = detection_alert
        self.checks: list[Check] = parse_checks(steady_state if steady_state is not None else default_checks(self.project))
        self.rollbacks = RollbackRegistry(self.timeline)
        self.ledger = None
        self.guard = SignalGuard().install() if handle_signals else None
        self.abort_monitor = AbortMonitor(abort, self._on_abort)
        self.aborted: str | None = None
        self.experiment_running = False
        self.fault_at: float | None = None
        self.first_step_at: float | None = None  # the window's start when no fault is injected
        self.load = None
        self.acked: list[str] = []
        self._closed = False
        self._workloads: WorkloadWatcher | None = None
        self._probes: dict[str, HttpProbeWatcher] = {}
        self._alerts: AlertWatcher | None = None
        self._training: TrainingWatcher | None = None
        self._watch_training = any("training_steps_lost" in str(s) for s in slas or [])
        self._signals: dict[str, Signal] = {}
        self._eval_lock = threading.Lock()
        self._holding_since: float | None = None
        self._failing: list[str] = []
        self.timeline.emit(Kinds.drill_started, drill=name, target=target.context,
                           **({"experiment": experiment} if experiment else {}),
                           **({"detection_alert": detection_alert} if detection_alert else {}),
                           **({"slas": list(slas)} if slas else {}))
        self.ledger = open_ledger(self.configuration, self.timeline)  # recovers dead drills' faults first

    # --- context manager ----------------------------------------------------
    def __enter__(self) -> "Drill":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        outcome = None
        if exc_type is not None:
            outcome = Outcome.INTERRUPTED if issubclass(exc_type, KeyboardInterrupt) else Outcome.ERROR
        self.close(outcome)

    # --- watchers -----------------------------------------------------------
    def start_watchers(self, timeout: float = 60.0) -> None:
        """Start the watches and probes the steady state and detection read (idempotent)."""
        if self._workloads is not None:
            return
        namespaces = sorted({c.ns for c in self.checks if c.kind in ("deployment", "statefulset")}
                            | ({self.project.service(self.project.load.service).namespace}
                               if self.project is not None and self.project.load.service else set()))
        self._workloads = WorkloadWatcher(self.target.api_client(), namespaces, self.timeline, self._evaluate)
        self._workloads.start()
        for c in self.checks:
            if c.kind == "http" and c.label not in self._probes:
                url = self.target.service_url(c.name, c.ns) + c.path
                self._probes[c.label] = HttpProbeWatcher(c.label, url, self.timeline, c.expect, c.json,
                                                         c.max_latency_ms, self._evaluate)
        sources = {}
        for kind in ("prometheus", "alertmanager"):
            where = getattr(self.project, kind, None) if self.project is not None else None
            if where is None:
                continue
            try:
                sources[kind] = where.url.rstrip("/") if where.url else self.target.service_url(where.service, where.namespace)
            except (TargetError, UserError) as exc:
                log.warning("%s (%s) not reachable, alerts are not watched there: %s", kind, where.label, exc)
        self._alerts = AlertWatcher(sources, self.timeline, self._evaluate) if sources else None
        for w in [*self._probes.values(), *([self._alerts] if self._alerts else [])]:
            w.start()
        if self._watch_training:
            self.watch_training()
        if not self._workloads.synced.wait(timeout):
            raise TargetError(f"could not list and watch workloads on {self.target.context!r} within {timeout:.0f}s")
        self._evaluate()

    def watch_training(self) -> None:
        """Record the project's progress (`progress` of gameday.yaml: for
        `training_steps_lost` and "progresses")."""
        if self._training is None:
            progress = self.project.progress if self.project is not None else None
            if progress is None or not (progress.metric or progress.query):
                raise UserError(f"{self._project_file()}: declare progress: {{service: NAME, path: /metrics, "
                                f"metric: COUNTER}} (or {{query: PROMQL}}) to measure progress")
            if progress.query:
                where = self.project.prometheus
                if where is None:
                    raise UserError(f"{self._project_file()}: progress.query needs monitoring.prometheus")
                url = where.url.rstrip("/") if where.url else self.target.service_url(where.service, where.namespace)
                self._training = QueryProgressWatcher(url, progress.query, self.timeline)
                self._training.start()
                return
            svc = self.project.service(progress.service)
            self._training = TrainingWatcher(self.target.service_url(svc.service, svc.namespace) + progress.path,
                                             self.timeline, step_metric=progress.metric,
                                             job_metric=progress.job_metric, resumes_metric=progress.resumes_metric,
                                             resumed_from_metric=progress.resumed_from_metric)
            self._training.start()

    def _project_file(self) -> str:
        return str(self.project.path) if self.project is not None else "gameday.yaml"

    def _load_service(self):
        if self.project is None or not self.project.load.service:
            raise UserError(f"{self._project_file()}: declare load: {{locustfile: ..., service: NAME}} to run load")
        return self.project.service(self.project.load.service)

    def _evaluate(self) -> None:
        """Recompute the steady state from what the watchers hold; called by
        them on every change, so `since` is the observation time."""
        if self._workloads is None:
            return
        now = time.time()
        with self._eval_lock:
            sigs: list[Signal] = []
            for c in self.checks:
                if c.kind == "http":
                    probe = self._probes.get(c.label)
                    if probe is None or not probe.signal.seen:
                        sigs.append(Signal(c.label, False, now, "not probed yet"))
                        continue
                    sigs.append(probe.signal)
                    continue
                sig = self._signals.setdefault(c.label, Signal(c.label))
                if c.kind == "alert_not_firing":
                    ok = not (self._alerts and self._alerts.is_firing(c.name))
                    detail = f"alert {c.name} {'not firing' if ok else 'firing'}"
                elif c.kind == "alerts_quiet":  # a previous incident still open: named
                    loud = self._alerts.firing_of_severity(c.name) if self._alerts else []
                    unread = self._alerts is not None and self._alerts.polls == 0
                    ok = not loud and not unread
                    detail = (f"{c.name} alert(s) firing: {', '.join(loud)}" if loud
                              else "alerts not read yet" if unread else f"no {c.name} alert firing")
                else:
                    ok, detail = self._workloads.workload_ready(c.kind, c.ns, c.name)
                sig.set(ok, now, detail)
                sigs.append(sig)
            failing = [s.detail or s.name for s in sigs if not s.ok]
            self._failing = failing
            self._holding_since = None if failing else max(s.since for s in sigs)

    def last_error(self) -> str | None:
        """The newest failure a watcher swallowed (and logged), if any."""
        watchers = [*self._probes.values(), *(w for w in (self._alerts, self._training, self._workloads) if w)]
        return next((w.last_error for w in watchers if getattr(w, "last_error", None)), None)

    def steady_state(self) -> tuple[bool, float | None, list[str]]:
        """(holds now, since when, what fails)."""
        self._evaluate()
        with self._eval_lock:
            return self._holding_since is not None, self._holding_since, list(self._failing)

    # --- load -------------------------------------------------------------
    def start_load(self, users: int = 10, spawn_rate: float | None = None, workers: int = 0,
                   host: str | None = None, locustfile: str | None = None, warmup: float = 0.0) -> None:
        """Start Locust (own processes) against the API service; one
        `load_sample` a second and `writes_acked` go to the timeline.
        Returns after `warmup` seconds of samples (at least two)."""
        from ..load import LoadRun
        if host is None:
            svc = self._load_service()
            host = self.target.service_url(svc.service, svc.namespace)
        if locustfile is None and self.project is not None and self.project.load.locustfile:
            locustfile = str(self.project.resolve(self.project.load.locustfile))
        self.load = LoadRun(host, users=users, spawn_rate=spawn_rate, workers=workers, locustfile=locustfile,
                            on_sample=self._on_sample, log_path=self.reports_dir / f"{self.slug}.locust.log")
        try:
            self.load.start()
        except RuntimeError as exc:
            raise TargetError(f"load could not start against {host}: {exc}")
        self.load.wait_for_samples(max(2, int(round(warmup))), timeout=60 + warmup)

    def _on_sample(self, sample) -> None:
        self.timeline.emit(Kinds.load_sample, t=sample.t, **sample.timeline_fields())
        if sample.acked:
            self.acked.extend(sample.acked)
            self.timeline.emit(Kinds.writes_acked, t=sample.t, ids=list(sample.acked))
            with open(self.acked_path, "a") as f:
                f.write("".join(f"{i}\n" for i in sample.acked))
        self.abort_monitor.feed(sample.requests, sample.failures)

    def _on_abort(self, reason: str) -> None:
        self.aborted = reason
        self.timeline.emit(Kinds.abort, reason=reason)
        # only with the guard's SIGUSR1 handler underneath, so a late signal is harmless
        if self.experiment_running and self.guard is not None and self.guard.active:
            interrupt_experiment()

    def _check_abort(self) -> None:
        if self.aborted:
            raise DrillAborted(self.aborted)

    # --- the drill ----------------------------------------------------------
    def confirm_steady_state(self, within: float = 120.0, settle: float = 2.0) -> None:
        """Wait (bounded) until the steady state has held for `settle`
        seconds; raises SteadyStateNotMet with what failed otherwise."""
        self.start_watchers()
        quiet = [Check("alert_not_firing", a) for a in (self.project.quiet_alerts if self.project is not None else ())
                 if not any(c.kind == "alert_not_firing" and c.name == a for c in self.checks)]
        self.checks.extend(quiet)  # only before the fault: recovery does not wait for alerts to resolve
        try:
            self._confirm(within, settle)
        finally:
            for c in quiet:
                self.checks.remove(c)

    def _confirm(self, within: float, settle: float) -> None:
        deadline = time.time() + within
        while True:
            holds, since, failing = self.steady_state()
            now = time.time()
            if holds and now - since >= settle:
                self.timeline.emit(Kinds.steady_state_met, phase="before",
                                   detail=", ".join(c.label for c in self.checks))
                return
            if now >= deadline:
                reason = "; ".join(failing) or f"did not hold for {settle:g}s"
                if self.last_error():
                    reason += f" (last error: {self.last_error()})"
                self.timeline.emit(Kinds.steady_state_failed, reason=reason, phase="before")
                raise SteadyStateNotMet(reason)
            self._check_abort()
            time.sleep(POLL)

    def mark_fault(self, fault: str, t: float | None = None, **params: Any) -> None:
        """Record a fault injected by someone else (a Chaos Toolkit action)."""
        t = time.time() if t is None else t
        if self.fault_at is None:
            self.fault_at = t
        self.timeline.emit(Kinds.fault_injected, t=t, fault=fault, params=_jsonable(params))

    def register_rollback(self, fault: str, fn: Callable[[], Any]) -> None:
        self.rollbacks.register(fault, fn)

    def inject(self, fault: str, where: str = "", **params: Any) -> dict:
        """Inject a preset of the project or a fault kind (see
        gameday.chaos.faults) and register its rollback first, so a fault
        that half-applies is still undone. Returns the kind's state."""
        from ..chaos.faults import resolve
        r = resolve(self.project, fault, params, where)
        self.start_watchers()
        state: dict[str, Any] = {}
        self.rollbacks.register(fault, lambda: r.kind.rollback(self.configuration, state, **r.params))
        # The fault's clock starts with its injection: a kind that holds its
        # fault (pod-kill over a duration) returns when the fault is over.
        started = time.time()
        state.update(r.kind.inject(self.configuration, self.ledger, **r.params) or {})
        self.mark_fault(fault, t=started, **r.params)
        return state

    def _alert_after_fault(self, name: str) -> Event | None:
        start = self.fault_at or 0.0
        return next((e for e in list(self.timeline.events)
                     if e.kind == Kinds.alert_firing.name and e.get("alert") == name and e.t >= start), None)

    def wait_for_alert(self, name: str, within: float) -> float | None:
        """Seconds from the fault to `name` firing, or None if it did not fire within the bound."""
        self.start_watchers()
        if self._alerts is None:
            raise TargetError(f"no Prometheus or Alertmanager service reachable on {self.target.context!r}")
        deadline = time.time() + within
        while time.time() < deadline:
            ev = self._alert_after_fault(name)
            if ev is not None:
                return ev.t - (self.fault_at or ev.t)
            self._check_abort()
            time.sleep(POLL)
        ev = self._alert_after_fault(name)
        return None if ev is None else ev.t - (self.fault_at or ev.t)

    @contextlib.contextmanager
    def step(self, name: str, detail: str = "") -> Iterator[None]:
        """Record a runbook step's start and finish around the block."""
        ev = self.timeline.emit(Kinds.step_started, step=name, **({"detail": detail} if detail else {}))
        if self.first_step_at is None:
            self.first_step_at = ev.t
        try:
            yield
        except BaseException as exc:
            self.timeline.emit(Kinds.step_finished, step=name, ok=False, error=f"{exc.__class__.__name__}: {exc}"[:300])
            raise
        self.timeline.emit(Kinds.step_finished, step=name, ok=True)

    def wait_recovered(self, within: float, settle: float = 3.0) -> float | None:
        """Seconds from the fault until the steady state began to hold (and then
        held for `settle` seconds), or None if not within the bound."""
        self.start_watchers()
        start = next((t for t in (self.fault_at, self.first_step_at) if t is not None), None) or time.time()
        deadline = start + within + settle
        while True:
            holds, since, failing = self.steady_state()
            now = time.time()
            if holds:
                since = max(since, start)
                if now - since >= settle and since - start <= within:
                    self.timeline.emit(Kinds.steady_state_restored, since=since, settle_s=float(settle))
                    return since - start
            if now >= deadline:
                self.timeline.emit(Kinds.steady_state_failed, phase="after",
                                   reason="; ".join(failing) or f"did not hold for {settle:g}s within {within:g}s")
                return None
            self._check_abort()
            time.sleep(POLL)

    def verify_writes(self) -> list[str]:
        """Read back every acknowledged id (`load.readback` of gameday.yaml);
        returns (and records) the missing ones."""
        from ..chaos.integrity import missing_writes
        ids = list(dict.fromkeys(self.acked))
        missing: list[str] = []
        if ids:
            readback = self.project.load.readback if self.project is not None else None
            if readback is None:
                raise UserError(f"{self._project_file()}: declare load.readback (e.g. request: \"GET /jobs/{{id}}\") "
                                f"to measure lost_writes")
            svc = self._load_service()
            missing = missing_writes(self.target.service_url(svc.service, svc.namespace), ids, readback.path,
                                     readback.method, readback.expect)
        self.timeline.emit(Kinds.writes_verified, checked=len(ids), missing=missing)
        return missing

    def judge(self, slas: list[str | Sla], source: str = "SLA") -> Verdict:
        """The verdict, from the timeline file alone."""
        parsed = [s if isinstance(s, Sla) else parse_all([s], source)[0] for s in slas]
        return judge_timeline(read(self.timeline_path), parsed, self.detection_alert, self.last_error())

    def close(self, outcome: Outcome | str | None = None) -> list[str]:
        """Roll back every fault (always), stop load and watchers, finish the
        timeline. Returns the rollbacks that failed."""
        if self._closed:
            return self.rollbacks.failures
        self._closed = True
        if self.guard:
            self.guard.shield()
        try:
            failed = self.rollbacks.run_all()
            close_ledger(self.ledger)
            for stop in [*([self.load.stop] if self.load is not None else []),
                         *(w.stop for w in [*self._probes.values(), *([self._alerts] if self._alerts else []),
                                            *([self._training] if self._training else []),
                                            *([self._workloads] if self._workloads else [])])]:
                try:
                    stop()
                except Exception:  # stopping one part must not keep the others running or the record open
                    pass
            if failed:
                outcome = Outcome.ROLLBACK_FAILED
            elif outcome is None:
                outcome = Outcome.ABORTED if self.aborted else Outcome.FINISHED
            if self.guard and self.guard.received and outcome == Outcome.FINISHED:
                outcome = Outcome.INTERRUPTED
            self.timeline.emit(Kinds.drill_finished, outcome=str(Outcome(outcome)))
            self.timeline.close()
        finally:
            if self.guard:
                self.guard.restore()
        return self.rollbacks.failures


def _jsonable(params: dict) -> dict:
    try:
        json.dumps(params)
        return dict(params)
    except (TypeError, ValueError):
        return {k: str(v) for k, v in params.items()}
