"""The project file's values: what a `gameday.yaml` declares about the
platform under test. Frozen dataclasses; `gameday.project.loader` builds
them, everything else reads them (the harness itself names no platform)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    """Where something answers: a Service (reached through the target, like
    any other) or a fixed URL."""
    service: str = ""
    namespace: str = ""
    url: str = ""

    @property
    def label(self) -> str:
        return self.url or f"{self.service}.{self.namespace}"


@dataclass(frozen=True)
class Service:
    """A named service features, experiments and load refer to."""
    name: str
    service: str
    namespace: str
    port: int | None = None


@dataclass(frozen=True)
class Readback:
    """How an acknowledged write is read back: `GET /jobs/{id}` must answer `expect`."""
    method: str = "GET"
    path: str = ""           # with `{id}` where the acknowledged id goes
    expect: int = 200

    def path_for(self, ident: str) -> str:
        return self.path.replace("{id}", ident)


@dataclass(frozen=True)
class Load:
    locustfile: str = ""
    service: str = ""        # a name of `services`
    users: int = 10
    readback: Readback | None = None


@dataclass(frozen=True)
class Progress:
    """Work that must keep moving (training steps here): a service whose
    /metrics the drill scrapes, and the metric that counts it. Optional:
    the metric naming the unit of work the count belongs to (a job id: a new
    one starts its count afresh), and the two a resumable worker exports when
    it resumes from a checkpoint (how often, and from which count), so a drop
    and its catch-up between two scrapes are still on record."""
    service: str = ""        # a name of `services`
    path: str = "/metrics"
    metric: str = ""
    job_metric: str = ""
    resumes_metric: str = ""
    resumed_from_metric: str = ""
    query: str = ""          # or: a Prometheus query whose value must keep rising (through monitoring.prometheus)


@dataclass(frozen=True)
class Preset:
    """A named fault: a fault kind with its parameters (`kill-api-pod`)."""
    name: str
    fault: str
    params: dict[str, Any] = field(default_factory=dict)
    doc: str = ""
    line: int = 0


@dataclass(frozen=True)
class Placeholder:
    """A runbook placeholder (`<pod-name>`, `$NAMESPACE`) and what it names:
    a pod, job, node or deployment with these labels, or a fixed value."""
    text: str
    names: str               # pod | job | node | deployment | namespace | value
    selector: str = ""
    namespace: str = ""
    value: str = ""
    doc: str = ""


@dataclass(frozen=True)
class HostMapping:
    """A hostname the runbook uses (`https://api.example.com`) and the
    Service (a name of `services`) or Ingress that answers for it."""
    host: str
    service: str = ""
    ingress: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class Notifications:
    """The platform's notification receiver: where the runbook's notify
    scripts post; GET `path` lists what arrived (`items`, each with `time`)."""
    service: str
    namespace: str
    path: str = "/notifications?since={since}"
    items: str = "notifications"
    time: str = "received_at"


@dataclass(frozen=True)
class Project:
    path: Path
    name: str
    runbooks: tuple[str, ...]
    contexts: tuple[str, ...]            # contexts a drill may run against (the sandbox always may)
    namespaces: tuple[str, ...]          # the blast radius: what faults and steps may touch
    prometheus: Endpoint | None
    alertmanager: Endpoint | None
    services: dict[str, Service]
    steady_state: tuple[dict, ...]       # checks in gameday.drill.steady's form
    quiet_alerts: tuple[str, ...]
    load: Load
    progress: Progress | None
    presets: dict[str, Preset]
    placeholders: dict[str, Placeholder]
    hosts: tuple[HostMapping, ...]
    sandbox_config: str = ""             # the sandbox's config (manifests, images) for this platform
    notifications: Notifications | None = None   # where notifications arrive (time_to_notify)
    sandbox_serviceaccount: tuple[str, str] | None = None   # (namespace, name) drills run as on the sandbox

    @property
    def root(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """A path the file names, relative to the file's folder."""
        p = Path(relative)
        return p if p.is_absolute() else self.root / p

    def service(self, name: str) -> Service:
        from ..errors import UserError
        if name not in self.services:
            raise UserError(f"{self.path}: no service named {name!r}; declare it under services: "
                            f"(have: {', '.join(sorted(self.services)) or 'none'})")
        return self.services[name]

    def lookup_service(self, name: str, namespace: str = "") -> tuple[str, str]:
        """(Service, namespace) for a name of `services`, or the pair as
        given when it names a Kubernetes Service directly."""
        if not namespace and name in self.services:
            s = self.services[name]
            return s.service, s.namespace
        return name, namespace

    def allows_namespace(self, namespace: str) -> bool:
        return not self.namespaces or namespace in self.namespaces
