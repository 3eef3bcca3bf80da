"""The steady-state checks of a drill, as values. The default checks are the
project's (`steady_state.checks` of gameday.yaml). A check is one of:

    {"deployment": NAME, "ns": NS}           rollout complete, all replicas ready
    {"statefulset": NAME, "ns": NS}          all replicas ready
    {"http": {"service": S, "ns": NS, "path": "/health/ready", "expect": 200,
              "json": {...subset...}, "max_latency_ms": N}}
    {"alert_not_firing": NAME}
    {"alerts_quiet": SEVERITY}               no alert of that severity firing (e.g. critical)
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UserError

@dataclass(frozen=True)
class Check:
    kind: str               # deployment | statefulset | http | alert_not_firing
    name: str
    ns: str = ""
    path: str = "/health"
    expect: int = 200
    json: dict = field(default_factory=dict)
    max_latency_ms: float | None = None

    @property
    def label(self) -> str:
        if self.kind == "http":
            return f"http:{self.name}.{self.ns}{self.path}"
        if self.kind == "alert_not_firing":
            return f"alert:{self.name}"
        if self.kind == "alerts_quiet":
            return f"alerts:{self.name}"
        return f"{self.kind}:{self.ns}/{self.name}"


def parse_checks(raw: list | None, source: str = "steady_state") -> list[Check]:
    """Checks from their JSON form; a malformed one is a UserError naming `source`."""
    if raw is None:
        raise UserError(f"{source}: no steady state: declare steady_state.checks in gameday.yaml "
                        f"or give the drill its checks")
    if not isinstance(raw, list) or not raw:
        raise UserError(f"{source}: steady_state must be a non-empty list of checks like "
                        f'{{"deployment": "my-api", "ns": "my-namespace"}}')
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise UserError(f"{source}: steady_state check {item!r} must be an object")
        if "deployment" in item or "statefulset" in item:
            kind = "deployment" if "deployment" in item else "statefulset"
            if not isinstance(item.get(kind), str) or not isinstance(item.get("ns"), str):
                raise UserError(f"{source}: steady_state check {item!r} needs string {kind!r} and 'ns'")
            out.append(Check(kind, item[kind], item["ns"]))
        elif "http" in item:
            h = item["http"]
            if not isinstance(h, dict) or not isinstance(h.get("service"), str) or not isinstance(h.get("ns"), str):
                raise UserError(f"{source}: steady_state http check {item!r} needs 'service' and 'ns'")
            out.append(Check("http", h["service"], h["ns"], str(h.get("path", "/health")), int(h.get("expect", 200)),
                             dict(h.get("json") or {}), h.get("max_latency_ms")))
        elif "alert_not_firing" in item:
            out.append(Check("alert_not_firing", str(item["alert_not_firing"])))
        elif "alerts_quiet" in item:
            if not isinstance(item["alerts_quiet"], str) or not item["alerts_quiet"]:
                raise UserError(f"{source}: steady_state check {item!r}: alerts_quiet names a severity, e.g. critical")
            out.append(Check("alerts_quiet", item["alerts_quiet"]))
        else:
            raise UserError(f"{source}: unknown steady_state check {item!r}; use deployment, statefulset, http, "
                            f"alert_not_firing or alerts_quiet")
    return out


def default_checks(project) -> list[dict] | None:
    """The project's steady state (None without a project file)."""
    return [dict(c) for c in project.steady_state] if project is not None else None
