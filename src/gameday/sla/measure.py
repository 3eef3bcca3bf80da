"""Measurements from a timeline: pure functions of the events, no I/O.

The incident window opens at the first `fault_injected` (a drill with no
fault, only runbook steps, opens it at the first `step_started`) and closes
when the steady state was restored (the time it began to hold), or at the end
of the record when it never was."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from ..timeline.events import Event
from ..timeline.events import Kinds


@dataclass(frozen=True)
class Measurements:
    """Figures measured from one drill's timeline. `None` means not measured
    (e.g. no alert ever fired) and never counts as a pass."""

    fault_at: float | None = None
    detected_at: float | None = None
    recovered_at: float | None = None
    window_end: float | None = None
    time_to_detect: float | None = None
    time_to_recover: float | None = None
    steps: dict[str, float] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)   # step -> seconds from the page to its end
    timeboxes: dict[str, float] = field(default_factory=dict)  # step -> end of its stated time box
    time_to_acknowledge: float | None = None
    time_to_notify: float | None = None      # the first notification after the fault
    requests: int = 0
    failures: int = 0
    error_rate: float | None = None
    p50_latency: float | None = None
    p95_latency: float | None = None
    p99_latency: float | None = None
    lost_writes: int | None = None
    training_steps_lost: int | None = None
    detected_by: str | None = None

    def get(self, metric: str) -> float | None:
        if metric.startswith("step:"):
            return self.steps.get(metric[5:])
        if metric.startswith("phase:"):
            return self.phases.get(metric[6:])
        return getattr(self, metric, None)

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("steps", "phases", "timeboxes")}
        out.update({f"step:{k}": v for k, v in self.steps.items()})
        out.update({f"phase:{k}": v for k, v in self.phases.items()})
        return out


def percentile_from_hist(hist: dict[int, int], q: float) -> float | None:
    """The q-quantile (0..1) of a histogram {value: count}, nearest-rank."""
    total = sum(hist.values())
    if total <= 0:
        return None
    rank = max(1, int(-(-q * total // 1)))  # ceil(q * total)
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return float(value)
    return float(max(hist))


def _merge_hists(samples: Sequence[Event]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for s in samples:
        for k, v in (s.get("hist") or {}).items():
            merged[int(float(k))] = merged.get(int(float(k)), 0) + int(v)
    return merged


def training_steps_lost(steps: Sequence[int]) -> int:
    """Progress lost: each time the observed step counter goes back, the
    distance from the highest step reached to where it resumed."""
    lost, high = 0, None
    for s in steps:
        if high is not None and s < high:
            lost += high - s
            high = s
        high = s if high is None else max(high, s)
    return lost


def measure(events: Iterable[Event], expected_alert: str | None = None) -> Measurements:
    events = sorted(events, key=lambda e: e.t)
    if expected_alert is None:
        started = next((e for e in events if e.kind == Kinds.drill_started.name), None)
        expected_alert = started.get("detection_alert") if started else None
    fault = next((e for e in events if e.kind == Kinds.fault_injected.name), None) or \
        next((e for e in events if e.kind == Kinds.step_started.name), None)
    if fault is None:
        return Measurements()
    t0 = fault.t

    alert = next((e for e in events if e.kind == Kinds.alert_firing.name and e.t >= t0
                  and (not expected_alert or e.get("alert") == expected_alert)), None)
    restored = next((e for e in events if e.kind == Kinds.steady_state_restored.name and e.t >= t0), None)
    recovered_at = float(restored.get("since")) if restored else None
    if recovered_at is not None:
        recovered_at = max(recovered_at, t0)
    end = recovered_at if recovered_at is not None else (events[-1].t if events else t0)

    steps: dict[str, float] = {}
    open_steps: dict[str, float] = {}
    for e in events:
        if e.kind == Kinds.step_started.name:
            open_steps.setdefault(e.get("step"), e.t)
        elif e.kind == Kinds.step_finished.name and e.get("step") in open_steps and e.get("step") not in steps:
            if e.get("ok", True):
                steps[e.get("step")] = e.t - open_steps[e.get("step")]

    # a person's game day: the page, the acknowledgement, each step against its time box
    page = next((e for e in events if e.kind == Kinds.page_received.name and e.t >= t0), None)
    ack = next((e for e in events if e.kind == Kinds.operator_acknowledged.name and page is not None and e.t >= page.t), None)
    notified = min((e.t for e in events if e.kind == Kinds.notification_received.name and e.t >= t0), default=None)
    phases: dict[str, float] = {}
    timeboxes: dict[str, float] = {}
    if page is not None:
        for e in events:
            if e.kind == Kinds.step_started.name and e.get("timebox_end_s") is not None:
                timeboxes.setdefault(e.get("step"), float(e.get("timebox_end_s")))
            elif e.kind == Kinds.step_finished.name and e.get("ok", True) and e.get("step") not in phases:
                phases[e.get("step")] = e.t - page.t

    # a sample stamped t covers the second (t-1, t]
    window = [e for e in events if e.kind == Kinds.load_sample.name and e.t > t0 and e.t - 1.0 < end]
    requests = sum(int(e.get("requests", 0)) for e in window)
    failures = sum(int(e.get("failures", 0)) for e in window)
    hist = _merge_hists(window)
    if hist:
        p50, p95, p99 = (percentile_from_hist(hist, q) for q in (0.50, 0.95, 0.99))
    elif window:
        p50, p95, p99 = (max(float(e.get(k, 0.0)) for e in window) for k in ("p50_ms", "p95_ms", "p99_ms"))
    else:
        p50 = p95 = p99 = None

    verified = [e for e in events if e.kind == Kinds.writes_verified.name]
    progress: dict[str, list[int]] = {}
    for e in events:
        if e.kind == Kinds.training_progress.name:
            progress.setdefault(str(e.get("job") or ""), []).append(int(e.get("step")))

    def secs(ms: float | None) -> float | None:
        return None if ms is None else ms / 1000.0

    return Measurements(
        fault_at=t0,
        detected_at=alert.t if alert else None,
        recovered_at=recovered_at,
        window_end=end,
        time_to_detect=(alert.t - t0) if alert else None,
        time_to_recover=(recovered_at - t0) if recovered_at is not None else None,
        steps=steps,
        phases=phases,
        timeboxes=timeboxes,
        time_to_acknowledge=(ack.t - page.t) if (ack is not None and page is not None) else None,
        time_to_notify=(notified - t0) if notified is not None else None,
        requests=requests,
        failures=failures,
        error_rate=(failures / requests) if requests else None,
        p50_latency=secs(p50), p95_latency=secs(p95), p99_latency=secs(p99),
        lost_writes=len(verified[-1].get("missing") or []) if verified else None,
        training_steps_lost=sum(training_steps_lost(steps) for steps in progress.values()) if progress else None,
        detected_by=alert.get("alert") if alert else None,
    )
