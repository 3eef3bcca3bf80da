"""`gameday init`: a commented gameday.yaml for the cluster the target sees.

Reads namespaces, Deployments, StatefulSets and Services through the
Kubernetes API (nothing is changed) and writes a project file that loads:
the workloads become the steady state, the Services named services, a
`prometheus`/`alertmanager` Service the monitoring. What it cannot know (the
load's read-back, fault presets, placeholders) is left as comments."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "default")


@dataclass(frozen=True)
class Seen:
    """What the cluster holds, as init needs it."""
    context: str
    namespaces: tuple[str, ...]
    deployments: tuple[tuple[str, str], ...]      # (namespace, name)
    statefulsets: tuple[tuple[str, str], ...]
    services: tuple[tuple[str, str, bool], ...]   # (namespace, name, has an external address)
    runbooks: tuple[str, ...] = field(default_factory=tuple)


def observe(target, folder: Path) -> Seen:
    def items(*args: str) -> list[dict]:
        proc = target.kubectl([*args, "-o", "json"], timeout=60)
        if proc.returncode != 0:
            from ..errors import TargetError
            raise TargetError(f"kubectl {' '.join(args)} failed on {target.context!r}: {proc.stderr.strip()[:200]}")
        return json.loads(proc.stdout).get("items", [])
    namespaces = tuple(sorted(n["metadata"]["name"] for n in items("get", "namespaces")
                              if n["metadata"]["name"] not in SYSTEM_NAMESPACES))

    def named(kind: str) -> tuple[tuple[str, str], ...]:
        # A workload its owners keep at 0 replicas (a canary between releases) is not part of
        # the steady state: "ready" means its replicas serve, and it has none on purpose.
        return tuple(sorted((o["metadata"]["namespace"], o["metadata"]["name"]) for o in items("get", kind, "-A")
                            if o["metadata"]["namespace"] in namespaces
                            and (o.get("spec") or {}).get("replicas", 1) != 0))
    services = tuple(sorted((s["metadata"]["namespace"], s["metadata"]["name"],
                             bool(((s.get("status") or {}).get("loadBalancer") or {}).get("ingress")))
                            for s in items("get", "services", "-A") if s["metadata"]["namespace"] in namespaces))
    runbooks = tuple(sorted(str(p.relative_to(folder)) for p in (folder / "runbook").glob("*.md"))) \
        if (folder / "runbook").is_dir() else ()
    return Seen(target.context, namespaces, named("deployments"), named("statefulsets"), services, runbooks)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "service"


def _q(value: str) -> str:
    return json.dumps(value)  # a JSON string is a YAML string


def render(seen: Seen, name: str) -> str:
    mon = {n: (ns, n) for ns, n, _ in seen.services if n in ("prometheus", "alertmanager")}
    apps = [(ns, n) for ns, n, _ in seen.services if n not in ("prometheus", "alertmanager")]
    keys: dict[tuple[str, str], str] = {}
    for ns, n in apps:
        k = _key(n)
        keys[(ns, n)] = k if k not in keys.values() else _key(f"{n}-{ns}")
    out = [f"# gameday project file, written by `gameday init` from context {seen.context!r}.",
           "# Every platform-specific name the harness uses lives here. Edit freely:",
           "# `gameday drill` checks it on load (file:line and the fix when a key is wrong).",
           f"name: {_q(name)}", "",
           "# The runbook(s) the features rehearse (`gameday coverage` reads the first).",
           f"runbooks: [{', '.join(_q(r) for r in seen.runbooks) or _q('runbook/runbook.md')}]", "",
           "target:",
           "  # kubeconfig contexts a drill may run against, besides the sandbox.",
           f"  contexts: [{'' if 'sandbox' in seen.context else _q(seen.context)}]",
           "  # The blast radius: a fault or an operator command outside these namespaces is refused.",
           f"  namespaces: [{', '.join(_q(n) for n in seen.namespaces)}]", ""]
    if mon:
        out.append("monitoring:")
        for kind in ("prometheus", "alertmanager"):
            if kind in mon:
                out.append(f"  {kind}: {{service: {_q(kind)}, namespace: {_q(mon[kind][0])}}}")
        out.append("")
    else:
        out += ["# monitoring: no prometheus/alertmanager Service found; name them (or a URL):",
                "#   prometheus: {url: http://prometheus.example:9090}", ""]
    out.append("# Named services: features, experiments and load refer to them by name.")
    out.append("services:" if apps else "services: {}")
    for (ns, n), k in keys.items():
        out.append(f"  {k}: {{service: {_q(n)}, namespace: {_q(ns)}}}")
    out += ["", "# The steady state: every workload ready (add http checks, e.g.",
            "#   - {http: {service: NAME, path: /health, expect: 200}})",
            "steady_state:", "  checks:"]
    checks = [f"    - {{deployment: {_q(n)}, ns: {_q(ns)}}}" for ns, n in seen.deployments] + \
             [f"    - {{statefulset: {_q(n)}, ns: {_q(ns)}}}" for ns, n in seen.statefulsets]
    out += checks or ["    # no workload found: add one", "    - {deployment: my-app, ns: default}"]
    out += ["  # alerts that must be quiet before a drill starts", "  quiet_alerts: []", ""]
    external = [keys[(ns, n)] for ns, n, ext in seen.services if (ns, n) in keys and ext]
    if external:
        out += ["# Load: Locust against one service; how an acknowledged write reads back (lost_writes).",
                "load:", "  locustfile: loadtests/locustfile.py", f"  service: {external[0]}", "  users: 10",
                "  # readback: {request: \"GET /items/{id}\", expect: 200}", ""]
    out += ["# progress: {service: NAME, path: /metrics, metric: work_done_total}   work that must keep moving", "",
            "# Fault presets: names for parameterised faults (`gameday faults` lists the kinds).",
            "faults: {}",
            "#   kill-one-pod: {fault: pod-kill, selector: app=NAME, namespace: NS, count: 1}", "",
            "# The runbook's placeholders and what each names.",
            "placeholders: {}",
            '#   "<pod-name>": {names: pod, selector: app=NAME, namespace: NS}', "",
            "# Hostnames of the runbook and the service that answers for them.",
            "hosts: {}",
            '#   "https://api.example.com": {service: NAME}', ""]
    return "\n".join(out)
