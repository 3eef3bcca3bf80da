"""Every kind of timeline event, declared once (the model is Locust's
`event.py`): each attribute of `Kinds` is one kind, with the fields it carries
and what it means. Writers and readers validate against these declarations,
so a misspelt kind or a missing field fails where it is written, not in a
verdict computed later."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EventKind:
    """One kind of event: its name, the fields it must carry (name -> type)
    and the optional ones."""

    name: str
    required: dict[str, type | tuple[type, ...]] = field(default_factory=dict)
    optional: dict[str, type | tuple[type, ...]] = field(default_factory=dict)
    doc: str = ""

    def check(self, data: dict[str, Any]) -> None:
        for key, typ in self.required.items():
            if key not in data:
                raise ValueError(f"timeline event {self.name!r} needs field {key!r}")
            if not isinstance(data[key], typ):
                raise ValueError(f"timeline event {self.name!r}: field {key!r} must be {typ}, got {type(data[key]).__name__}")
        for key, typ in self.optional.items():
            if key in data and data[key] is not None and not isinstance(data[key], typ):
                raise ValueError(f"timeline event {self.name!r}: field {key!r} must be {typ}, got {type(data[key]).__name__}")


_num = (int, float)


class Kinds:
    """The kinds of timeline event. `t` (unix seconds, float) and `kind` are
    on every event; the fields below are each kind's own."""

    drill_started = EventKind(
        "drill_started", {"drill": str}, {"target": str, "experiment": str, "detection_alert": str, "slas": list},
        "A drill began: its name, the target context, the experiment file, the alert expected to detect the fault.")
    steady_state_met = EventKind(
        "steady_state_met", {}, {"detail": str, "phase": str},
        "The steady-state hypothesis held (phase 'before' the fault or 'after' it).")
    steady_state_failed = EventKind(
        "steady_state_failed", {"reason": str}, {"phase": str},
        "The steady-state hypothesis did not hold; before the fault this means the drill did not run.")
    fault_injected = EventKind(
        "fault_injected", {"fault": str}, {"params": dict},
        "A fault was injected. The incident window opens here.")
    probe_failed = EventKind(
        "probe_failed", {"probe": str}, {"detail": str},
        "A health probe failed after having passed (a transition, not every failure).")
    probe_ok = EventKind(
        "probe_ok", {"probe": str}, {"detail": str},
        "A health probe passed after having failed.")
    alert_firing = EventKind(
        "alert_firing", {"alert": str}, {"source": str, "labels": dict},
        "An alert started firing in Alertmanager or Prometheus: detection.")
    alert_resolved = EventKind(
        "alert_resolved", {"alert": str}, {"source": str},
        "A firing alert stopped firing.")
    step_started = EventKind(
        "step_started", {"step": str}, {"detail": str, "timebox_end_s": _num},
        "A runbook remediation step started; `timebox_end_s` is the end of the time box its heading states "
        "(seconds after the page), for steps a person carries out.")
    step_finished = EventKind(
        "step_finished", {"step": str}, {"ok": bool, "error": str},
        "A runbook remediation step finished (ok False when it raised).")
    steady_state_restored = EventKind(
        "steady_state_restored", {"since": _num}, {"settle_s": _num},
        "Steady state held again for the settle window; `since` is when it began to hold (recovery time).")
    rollback_started = EventKind(
        "rollback_started", {"fault": str}, {},
        "A fault's rollback began.")
    rollback_finished = EventKind(
        "rollback_finished", {"fault": str, "ok": bool}, {"error": str},
        "A fault's rollback ended; ok False means the target may not be back as it was.")
    load_sample = EventKind(
        "load_sample",
        {"rps": _num, "requests": int, "failures": int, "p50_ms": _num, "p95_ms": _num, "p99_ms": _num, "users": int},
        {"hist": dict, "total_requests": int, "total_failures": int},
        "One second of load: requests and failures in that second, latency percentiles, users; "
        "`hist` maps rounded response times in ms to counts so window percentiles are exact.")
    writes_acked = EventKind(
        "writes_acked", {"ids": list}, {},
        "Job ids the API acknowledged with 201 since the previous such event.")
    writes_verified = EventKind(
        "writes_verified", {"checked": int, "missing": list}, {},
        "Acknowledged job ids were read back; `missing` are the ones the API no longer has.")
    training_progress = EventKind(
        "training_progress", {"step": int}, {"pod": str, "job": str},
        "The step of the job being trained, as observed (a drop for the same job means progress was lost).")
    pod_status = EventKind(
        "pod_status", {"namespace": str, "pod": str, "phase": str, "ready": bool},
        {"restarts": int, "reason": str, "ready_since": str, "started_at": str, "deleted": bool, "deleted_at": str},
        "A pod's state as the Kubernetes watch reported it: ground truth for timing.")
    page_received = EventKind(
        "page_received", {"alert": str}, {"source": str, "user_agent": str},
        "The person on call was paged: Alertmanager's webhook notification for the alert reached gameday's receiver.")
    operator_acknowledged = EventKind(
        "operator_acknowledged", {}, {"source": str},
        "The person acknowledged the page (`ack` in `gameday shell`, or Enter in the drill's terminal).")
    operator_command = EventKind(
        "operator_command", {"line": str, "exit_code": int}, {"started": _num, "output": str},
        "A command the person ran in `gameday shell` (t is when it ended), with the head of its output.")
    notification_received = EventKind(
        "notification_received", {}, {"category": str, "severity": str, "message": str, "source": str},
        "The platform's notification receiver (monitoring.notifications of gameday.yaml) got a notification "
        "(the runbook's notify-incident script, a chat webhook); `t` is when it arrived there, `category` its kind.")
    operator_step_review = EventKind(
        "operator_step_review", {"step": str},
        {"followed": list, "skipped": list, "extra": list, "failed": list},
        "What the person ran during a step beside the runbook's block: lines followed and skipped, "
        "extra commands, commands that failed.")
    abort = EventKind(
        "abort", {"reason": str}, {},
        "An abort condition tripped; the method is stopped and faults rolled back.")
    recovered = EventKind(
        "recovered", {"faults": int}, {"drills": list, "failed": list, "detail": str},
        "Before the drill: what earlier drills no longer alive left in the cluster was undone (gameday recover).")
    drill_finished = EventKind(
        "drill_finished", {"outcome": str}, {"exit_code": int},
        "The drill ended: outcome passed, failed, not-run, aborted, interrupted or error.")

    @classmethod
    def all(cls) -> dict[str, EventKind]:
        return {k.name: k for k in vars(cls).values() if isinstance(k, EventKind)}


KINDS = Kinds.all()


@dataclass(frozen=True)
class Event:
    """One line of the timeline."""

    t: float
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def to_json(self) -> dict[str, Any]:
        return {"t": self.t, "kind": self.kind, **self.data}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "Event":
        data = {k: v for k, v in obj.items() if k not in ("t", "kind")}
        return cls(float(obj["t"]), str(obj["kind"]), data)


def make(kind: str | EventKind, t: float, **data: Any) -> Event:
    """Build a validated event."""
    name = kind.name if isinstance(kind, EventKind) else kind
    declared = KINDS.get(name)
    if declared is None:
        raise ValueError(f"unknown timeline event kind {name!r}")
    declared.check(data)
    return Event(t, name, data)
