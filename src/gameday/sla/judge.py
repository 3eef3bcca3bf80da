"""The verdict: each SLA against the measurements. Pure."""
from __future__ import annotations

from dataclasses import dataclass, field

from .expr import Sla
from .measure import Measurements

_MISSING_WHY = {
    "time_to_detect": "no alert fired after the fault",
    "time_to_recover": "the steady state was never restored",
    "error_rate": "no load samples in the incident window",
    "p50_latency": "no load samples in the incident window",
    "p95_latency": "no load samples in the incident window",
    "p99_latency": "no load samples in the incident window",
    "lost_writes": "acknowledged writes were never verified",
    "training_steps_lost": "training progress was never observed",
}


@dataclass(frozen=True)
class SlaResult:
    sla: Sla
    measured: float | None
    passed: bool
    reason: str = ""

    @property
    def measured_text(self) -> str:
        return self.sla.format_value(self.measured)


@dataclass(frozen=True)
class Verdict:
    """The outcome of a drill: one result per SLA, plus why the drill did not
    count when it did not (steady state not held, aborted)."""

    results: list[SlaResult] = field(default_factory=list)
    measurements: Measurements = field(default_factory=Measurements)
    not_run: str | None = None
    aborted: str | None = None

    @property
    def passed(self) -> bool:
        return self.not_run is None and self.aborted is None and all(r.passed for r in self.results)

    @property
    def failed(self) -> list[SlaResult]:
        return [r for r in self.results if not r.passed]

    def table(self) -> str:
        rows = [("SLA", "limit", "measured", "result")]
        for r in self.results:
            rows.append((r.sla.metric, r.sla.limit_text, r.measured_text, "pass" if r.passed else f"FAIL{(' (' + r.reason + ')') if r.reason else ''}"))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3] for row in rows]
        if self.not_run:
            lines.append(f"NOT RUN: {self.not_run}")
        if self.aborted:
            lines.append(f"ABORTED: {self.aborted}")
        return "\n".join(lines)


def judge(slas: list[Sla], measurements: Measurements) -> list[SlaResult]:
    out = []
    for sla in slas:
        value = measurements.get(sla.metric)
        if value is None:
            why = _MISSING_WHY.get(sla.metric, f"step {sla.metric[5:]!r} did not complete" if sla.metric.startswith("step:") else "not measured")
            out.append(SlaResult(sla, None, False, why))
        else:
            ok = sla.holds(float(value))
            out.append(SlaResult(sla, float(value), ok, "" if ok else f"measured {sla.format_value(float(value))}, limit {sla.limit_text}"))
    return out


def verdict(slas: list[Sla], measurements: Measurements, not_run: str | None = None, aborted: str | None = None) -> Verdict:
    return Verdict(judge(slas, measurements), measurements, not_run, aborted)
