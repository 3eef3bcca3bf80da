"""The verdict of a recorded drill: the one place that decides whether the
drill ran, when its incident window opened, and judges each SLA. Pure.

The window opens at the first `fault_injected`; planned work (scaling,
maintenance) has no fault and opens it at the first runbook step, so error
rate, latency and step durations are measured over the work."""
from __future__ import annotations

from typing import Sequence

from ..timeline.events import Event
from .expr import Sla
from .judge import Verdict, verdict
from .measure import Measurements, measure
from ..timeline.events import Kinds


def incident_start(events: Sequence[Event]) -> Event | None:
    """The event that opens the incident window (first fault, else first step)."""
    return next((e for e in events if e.kind == Kinds.fault_injected.name), None) or \
        next((e for e in events if e.kind == Kinds.step_started.name), None)


def judge_timeline(events: Sequence[Event], slas: list[Sla], detection_alert: str | None = None,
                   last_error: str | None = None) -> Verdict:
    """Did the drill run, was it aborted, and each SLA. `last_error` (the
    glue's last swallowed error) is said when the drill did not count."""
    events = sorted(events, key=lambda e: e.t)
    start = incident_start(events)
    what = "the fault" if start is None or start.kind == Kinds.fault_injected.name else "the work"
    failed = next((e for e in events if e.kind == Kinds.steady_state_failed.name and e.get("phase", "before") == "before"
                   and (start is None or e.t <= start.t)), None)
    abort = next((e for e in events if e.kind == Kinds.abort.name), None)
    not_run = None
    if failed is not None:
        not_run = f"steady state did not hold before {what}: {failed.get('reason')}"
    elif start is None:
        not_run = "no fault was injected and no runbook step was carried out"
    if not_run and last_error:
        not_run += f" (last error: {last_error})"
    measured = measure(events, detection_alert) if start is not None else Measurements()
    return verdict(slas, measured, not_run=not_run, aborted=abort.get("reason") if abort else None)
