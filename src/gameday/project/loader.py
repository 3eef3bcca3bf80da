"""Load and validate `gameday.yaml`, the project file beside `features/`.

Found as `--project FILE`, else `$GAMEDAY_PROJECT`, else the nearest
`gameday.yaml` from the working folder up. Every mistake is one line naming
the file, the line and the fix (a UserError: exit 2)."""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import UserError
from .model import Endpoint, HostMapping, Load, Notifications, Placeholder, Preset, Progress, Project, Readback, Service
from .schema import Field, Spec, check, compose, line_of, value

FILENAME = "gameday.yaml"
ENV = "GAMEDAY_PROJECT"

_S = Spec("str")
_NAMES = Spec("list", "[a, b]", item=_S)
_ENDPOINT = Spec("obj", "{service: prometheus, namespace: monitoring}", fields={
    "service": Field(_S), "namespace": Field(_S), "url": Field(Spec("str", "http://prometheus:9090"))},
    one_of=(("service", "url"),))
_NOTIFICATIONS = Spec("obj", "{service: notifications, namespace: monitoring, path: /notifications}", fields={
    "service": Field(Spec("str", "notifications"), True, "the Service of the notification receiver"),
    "namespace": Field(Spec("str", "monitoring"), True),
    "path": Field(Spec("str", "/notifications?since={since}"), doc="GET path listing what it received; "
                  "{since} is filled with the fault's time (unix seconds)"),
    "items": Field(Spec("str", "notifications"), doc="the answer's key holding the list (default notifications)"),
    "time": Field(Spec("str", "received_at"), doc="each item's arrival time, unix seconds (default received_at)")})
_SERVICE = Spec("obj", "{service: my-api, namespace: my-namespace}", fields={
    "service": Field(Spec("str", "my-api"), True, "the Kubernetes Service"),
    "namespace": Field(Spec("str", "my-namespace"), True),
    "port": Field(Spec("int", "8080")),
    "doc": Field(_S)})
_PLACEHOLDER = Spec("obj", "{names: pod, selector: app=api, namespace: my-namespace}", fields={
    "names": Field(Spec("str", "pod", choices=("pod", "job", "node", "deployment", "namespace", "value")), True,
                   "what the placeholder names"),
    "selector": Field(_S), "namespace": Field(_S), "value": Field(_S), "doc": Field(_S)})
_HOST = Spec("obj", "{service: api}", fields={"service": Field(_S), "ingress": Field(_S), "namespace": Field(_S)},
             one_of=(("service", "ingress"),))
_PRESET = Spec("map", "{fault: pod-kill, selector: app=api, namespace: my-namespace}", item=Spec("any"))

SCHEMA = Spec("obj", fields={
    "name": Field(Spec("str", "my-platform"), True, "the platform's name"),
    "runbooks": Field(Spec("list", "[runbook/my-runbook.md]", item=_S), True, "the runbook file(s) the drills rehearse"),
    "target": Field(Spec("obj", "{namespaces: [my-namespace]}", fields={
        "contexts": Field(_NAMES, doc="kubeconfig contexts a drill may run against"),
        "namespaces": Field(Spec("list", "[my-namespace]", item=_S), True, "the namespaces a drill may touch"),
        "sandbox": Field(Spec("str", "deploy/sandbox/sandbox.yaml"), doc="the sandbox config for this platform"),
        "sandbox_user": Field(Spec("str", "serviceaccount my-namespace/gameday"),
                              doc="on the sandbox, drills run as this ServiceAccount (its Role, as on a cluster)")}),
        True, "the blast radius"),
    "monitoring": Field(Spec("obj", "{prometheus: {service: prometheus, namespace: monitoring}}", fields={
        "prometheus": Field(_ENDPOINT), "alertmanager": Field(_ENDPOINT),
        "notifications": Field(_NOTIFICATIONS, doc="where the runbook's notifications arrive (time_to_notify)")})),
    "services": Field(Spec("map", "{api: {service: my-api, namespace: my-namespace}}", item=_SERVICE), True,
                      "the services features and load name"),
    "steady_state": Field(Spec("obj", "{checks: [{deployment: my-api, ns: my-namespace}]}", fields={
        "checks": Field(Spec("list", "[{deployment: my-api, ns: my-namespace}]", item=Spec("map", item=Spec("any"))), True),
        "quiet_alerts": Field(_NAMES, doc="alerts that must not be firing before a drill")}), True,
        "the default steady state"),
    "load": Field(Spec("obj", "{locustfile: loadtests/locustfile.py, service: api, users: 10}", fields={
        "locustfile": Field(Spec("str", "loadtests/locustfile.py"), True),
        "service": Field(Spec("str", "api"), True, "a name of services"),
        "users": Field(Spec("int", "10")),
        "readback": Field(Spec("obj", '{request: "GET /jobs/{id}", expect: 200}', fields={
            "request": Field(Spec("str", '"GET /items/{id}"'), True), "expect": Field(Spec("int", "200"))}))})),
    "progress": Field(Spec("obj", "{service: trainer, metric: training_steps_total}", fields={
        "service": Field(Spec("str", "trainer"), doc="a name of services (or give query)"),
        "query": Field(Spec("str", "sum(training_steps_total)"),
                       doc="a Prometheus query whose value must keep rising (instead of service)"),
        "path": Field(Spec("str", "/metrics")), "metric": Field(Spec("str", "training_steps_total")),
        "job_metric": Field(Spec("str", "current_job_id"), doc="the unit of work the count belongs to"),
        "resumes_metric": Field(Spec("str", "resumes_total"), doc="how often the worker resumed from a checkpoint"),
        "resumed_from_metric": Field(Spec("str", "resumed_from_step"), doc="the count it last resumed from")},
        one_of=(("service", "query"),))),
    "faults": Field(Spec("map", "{kill-api-pod: {fault: pod-kill, selector: app=api, namespace: my-namespace}}",
                         item=_PRESET)),
    "placeholders": Field(Spec("map", '{"<pod-name>": {names: pod, selector: app=api, namespace: my-namespace}}',
                               item=_PLACEHOLDER)),
    "hosts": Field(Spec("map", '{"https://api.example.com": {service: api}}', item=_HOST)),
})


def find(explicit: str | os.PathLike | None = None, start: Path | None = None) -> Path | None:
    """The project file to use, or None when there is none."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise UserError(f"{path}: project file not found; check the path, or write one with `gameday init`")
        return path
    env = os.environ.get(ENV)
    if env:
        path = Path(env)
        if not path.is_file():
            raise UserError(f"{path}: project file named by ${ENV} not found; fix ${ENV} or unset it")
        return path
    folder = (start or Path.cwd()).resolve()
    for d in (folder, *folder.parents):
        if (d / FILENAME).is_file():
            return d / FILENAME
    return None


_cache: dict[tuple[str, float], Project] = {}


def load(path: str | os.PathLike) -> Project:
    path = Path(path)
    try:
        text = path.read_text()
        key = (str(path.resolve()), path.stat().st_mtime)
    except OSError as exc:
        raise UserError(f"{path}: cannot read the project file ({exc.strerror}); check the path")
    if key not in _cache:
        _cache[key] = parse(text, path)
    return _cache[key]


def current(explicit: str | os.PathLike | None = None, required: bool = True) -> Project | None:
    """The project of this run (see `find`)."""
    path = find(explicit)
    if path is None:
        if required:
            raise UserError(f"{FILENAME}: not found in {Path.cwd()} or above; run `gameday init` to write one, "
                            f"or pass --project FILE")
        return None
    return load(path)


def parse(text: str, path: Path) -> Project:
    source = str(path)
    root = compose(text, source)
    if root is None:
        raise UserError(f"{source}:1: the project file is empty; run `gameday init` to write one")
    check(root, SCHEMA, source, "")
    doc = value(root)
    services = {name: Service(name, s["service"], s["namespace"], s.get("port"))
                for name, s in (doc.get("services") or {}).items()}

    def named(key: str, name: str, *at: str) -> str:
        if name not in services:
            raise UserError(f"{source}:{line_of(root, *at)}: {key} {name!r} is not a name of services; "
                            f"use one of {', '.join(sorted(services)) or '(none declared)'}")
        return name

    target = doc["target"]
    namespaces = tuple(target["namespaces"])
    for name, s in services.items():
        if namespaces and s.namespace not in namespaces:
            raise UserError(f"{source}:{line_of(root, 'services', name, 'namespace')}: services.{name} is in namespace "
                            f"{s.namespace!r}, outside target.namespaces; add it there or fix the namespace")
    mon = doc.get("monitoring") or {}

    def endpoint(raw) -> Endpoint | None:
        return Endpoint(raw.get("service", ""), raw.get("namespace", ""), raw.get("url", "")) if raw else None
    for kind in ("prometheus", "alertmanager"):
        raw = mon.get(kind)
        if raw and raw.get("service") and not raw.get("namespace"):
            raise UserError(f"{source}:{line_of(root, 'monitoring', kind)}: monitoring.{kind} needs 'namespace' "
                            f"beside 'service'; add namespace: monitoring")

    steady = doc["steady_state"]
    checks = []
    for i, raw in enumerate(steady["checks"]):
        checks.append(_resolve_check(raw, services))
    from ..drill.steady import parse_checks  # the one definition of a check's form
    parse_checks(checks, f"{source}:{line_of(root, 'steady_state', 'checks')}")

    load_raw = doc.get("load")
    load_cfg = Load()
    if load_raw:
        rb = load_raw.get("readback")
        readback = None
        if rb:
            method, _, rpath = rb["request"].strip().partition(" ")
            if not rpath.startswith("/") or "{id}" not in rpath:
                raise UserError(f"{source}:{line_of(root, 'load', 'readback', 'request')}: load.readback.request must be "
                                f"'METHOD /path/{{id}}', e.g. \"GET /jobs/{{id}}\"")
            readback = Readback(method.upper(), rpath.strip(), int(rb.get("expect", 200)))
        load_cfg = Load(load_raw["locustfile"], named("load.service", load_raw["service"], "load", "service"),
                        int(load_raw.get("users", 10)), readback)
    progress = None
    if doc.get("progress"):
        p = doc["progress"]
        if p.get("query") and not (mon.get("prometheus")):
            raise UserError(f"{source}:{line_of(root, 'progress', 'query')}: progress.query is asked of Prometheus: "
                            f"add monitoring.prometheus")
        progress = Progress(named("progress.service", p["service"], "progress", "service") if p.get("service") else "",
                            p.get("path", "/metrics"), p.get("metric", ""), p.get("job_metric", ""),
                            p.get("resumes_metric", ""), p.get("resumed_from_metric", ""), p.get("query", ""))

    presets = {}
    for name, raw in (doc.get("faults") or {}).items():
        where = f"{source}:{line_of(root, 'faults', name)}"
        presets[name] = _preset(name, dict(raw), where, namespaces)

    placeholders = {}
    for text_, raw in (doc.get("placeholders") or {}).items():
        where = f"{source}:{line_of(root, 'placeholders', text_)}"
        names = raw["names"]
        if names in ("pod", "job", "deployment") and not (raw.get("selector") and raw.get("namespace")):
            raise UserError(f"{where}: placeholder {text_!r} names a {names}: add selector: and namespace:")
        if names == "value" and "value" not in raw:
            raise UserError(f"{where}: placeholder {text_!r} names a value: add value:")
        placeholders[text_] = Placeholder(text_, names, raw.get("selector", ""), raw.get("namespace", ""),
                                          raw.get("value", ""), raw.get("doc", ""))
    hosts = []
    for host, raw in (doc.get("hosts") or {}).items():
        if raw.get("service"):
            named("hosts service", raw["service"], "hosts", host, "service")
        elif not raw.get("namespace"):
            raise UserError(f"{source}:{line_of(root, 'hosts', host)}: hosts.{host} names an Ingress: add namespace:")
        hosts.append(HostMapping(host, raw.get("service", ""), raw.get("ingress", ""), raw.get("namespace", "")))

    return Project(path=path, name=doc["name"], runbooks=tuple(doc["runbooks"]),
                   contexts=tuple(target.get("contexts") or ()), namespaces=namespaces,
                   prometheus=endpoint(mon.get("prometheus")), alertmanager=endpoint(mon.get("alertmanager")),
                   services=services, steady_state=tuple(checks), quiet_alerts=tuple(steady.get("quiet_alerts") or ()),
                   load=load_cfg, progress=progress, presets=presets, placeholders=placeholders, hosts=tuple(hosts),
                   sandbox_config=target.get("sandbox", ""), notifications=_notifications(mon.get("notifications")),
                   sandbox_serviceaccount=_sandbox_user(target.get("sandbox_user"), source, root))


def _sandbox_user(raw, source: str, root) -> tuple[str, str] | None:
    if not raw:
        return None
    m = re.fullmatch(r"serviceaccount\s+([a-z0-9][-a-z0-9]*)/([a-z0-9][-a-z0-9.]*)", str(raw).strip())
    if not m:
        raise UserError(f"{source}:{line_of(root, 'target', 'sandbox_user')}: target.sandbox_user {raw!r}: "
                        f"write serviceaccount NAMESPACE/NAME, e.g. serviceaccount my-namespace/gameday")
    return m.group(1), m.group(2)


def _notifications(raw) -> Notifications | None:
    if not raw:
        return None
    return Notifications(raw["service"], raw["namespace"], raw.get("path") or "/notifications?since={since}",
                         raw.get("items") or "notifications", raw.get("time") or "received_at")


def _resolve_check(raw: dict, services: dict[str, Service]) -> dict:
    """An http check may name a service of `services` instead of Service + ns."""
    if "http" in raw and isinstance(raw["http"], dict) and "ns" not in raw["http"]:
        h = dict(raw["http"])
        s = services.get(h.get("service", ""))
        if s is not None:
            h["service"], h["ns"] = s.service, s.namespace
        return {**raw, "http": h}
    return dict(raw)


def _preset(name: str, raw: dict, where: str, namespaces: tuple[str, ...]) -> Preset:
    from ..chaos.kinds import kinds
    fault = raw.pop("fault", None)
    doc = raw.pop("doc", "")
    known = kinds()
    if not isinstance(fault, str):
        raise UserError(f"{where}: faults.{name} needs 'fault': the kind it injects ({', '.join(sorted(known))})")
    if fault not in known:
        raise UserError(f"{where}: faults.{name}: unknown fault kind {fault!r}; use one of {', '.join(sorted(known))}")
    params = known[fault].validate(raw, f"{where}: faults.{name}")
    ns = params.get("namespace")
    if ns and namespaces and ns not in namespaces:
        raise UserError(f"{where}: faults.{name} targets namespace {ns!r}, outside target.namespaces "
                        f"({', '.join(namespaces)}); add it there or fix the preset")
    return Preset(name, fault, params, doc)

