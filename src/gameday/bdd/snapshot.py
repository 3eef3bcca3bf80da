"""What a scenario found, so that it leaves the platform as it found it.

Faults are rolled back by the drill engine. Operator steps are not faults:
a scenario that scales the API to 3 or patches a ConfigMap, then fails
half-way, would leave the next scenario a different platform. The snapshot
records the few things runbook commands change (replicas, ConfigMap data,
Service selectors, HPA limits, node cordons, deployments the scenario
created, the deployed revision of each Helm release) and `restore` puts
back what differs: a release that moved is rolled back to its revision
(`helm rollback`, as an operator would), then kubectl merge patches, all
run as argument lists."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..target import Target


@dataclass(frozen=True)
class Snapshot:
    replicas: dict[tuple[str, str, str], int] = field(default_factory=dict)   # (kind, ns, name) -> replicas
    configmaps: dict[tuple[str, str], dict] = field(default_factory=dict)
    selectors: dict[tuple[str, str], dict] = field(default_factory=dict)
    hpas: dict[tuple[str, str], tuple[int | None, int]] = field(default_factory=dict)
    unschedulable: dict[str, bool] = field(default_factory=dict)
    releases: dict[tuple[str, str], int] = field(default_factory=dict)   # (ns, release) -> deployed revision


def _listed(target: Target, args: list[str]) -> list[dict] | None:
    """The items, or None when the target refused (a kind it does not serve, a verb the user lacks)."""
    proc = target.kubectl(["get", *args, "-o", "json"], timeout=60)
    if proc.returncode != 0:
        return None
    try:
        return json.loads(proc.stdout).get("items", [])
    except ValueError:
        return None


def _items(target: Target, args: list[str]) -> list[dict]:
    return _listed(target, args) or []  # what the target refuses is simply not snapshotted


_KINDS = ("deployments", "statefulsets", "configmaps", "services", "horizontalpodautoscalers", "nodes")


def take(target: Target, namespaces: tuple[str, ...]) -> Snapshot:
    # One kubectl call for every kind (a process start is most of the cost);
    # kind by kind only if the target refuses one of them.
    items = _items(target, [",".join(_KINDS), "-A"])
    if not items:
        # A user held to namespaced Roles (the drills' ServiceAccount) may not list across
        # namespaces: each namespace of the blast radius, and the nodes, on their own.
        namespaced = [k for k in _KINDS if k != "nodes"]
        items = [o for ns in namespaces for o in _items(target, [",".join(namespaced), "-n", ns])]
        items += _items(target, ["nodes"])
    # Helm keeps each release revision in a Secret labelled owner=helm (its default storage driver).
    helm = _listed(target, ["secrets", "-l", "owner=helm,status=deployed", "-A"])
    if helm is None:
        helm = [o for ns in namespaces for o in _items(target, ["secrets", "-l", "owner=helm,status=deployed", "-n", ns])]
    return from_items(items + helm, namespaces)


def needs(namespaces: tuple[str, ...]) -> list:
    """What taking and restoring a snapshot needs (gameday.drill.permissions)."""
    from ..drill.permissions import Need
    why = "the scenario's snapshot and restore"
    out = [Need(v, "", "nodes", None, why) for v in ("list", "patch")]
    for ns in namespaces:
        out += [Need("list", g, r, ns, why) for g, r in (("apps", "deployments"), ("apps", "statefulsets"),
                                                         ("", "configmaps"), ("", "services"),
                                                         ("autoscaling", "horizontalpodautoscalers"))]
        out += [Need("patch", g, r, ns, why) for g, r in (("apps", "deployments/scale"), ("apps", "statefulsets/scale"),
                                                          ("", "configmaps"),
                                                          ("", "services"), ("autoscaling", "horizontalpodautoscalers"))]
        out.append(Need("delete", "apps", "deployments", ns, why))
        out.append(Need("list", "", "secrets", ns, why + " (the revision of each Helm release)"))
    return out


def from_items(items: list[dict], namespaces: tuple[str, ...]) -> Snapshot:
    """The snapshot of these objects (as `kubectl get -o json` lists them). Pure."""
    snap = Snapshot()
    for o in items:
        kind, meta, spec = o.get("kind"), o.get("metadata", {}), o.get("spec", {}) or {}
        ns, name = meta.get("namespace", ""), meta.get("name", "")
        if kind == "Node":
            snap.unschedulable[name] = bool(spec.get("unschedulable"))
            continue
        if ns not in namespaces:
            continue
        if kind in ("Deployment", "StatefulSet"):
            snap.replicas[(kind.lower(), ns, name)] = int(spec.get("replicas", 1))
        elif kind == "ConfigMap":
            snap.configmaps[(ns, name)] = dict(o.get("data") or {})
        elif kind == "Service":
            snap.selectors[(ns, name)] = dict(spec.get("selector") or {})
        elif kind == "HorizontalPodAutoscaler":
            snap.hpas[(ns, name)] = (spec.get("minReplicas"), int(spec.get("maxReplicas", 1)))
        elif kind == "Secret" and (meta.get("labels") or {}).get("owner") == "helm":
            labels = meta["labels"]
            if labels.get("status") == "deployed" and str(labels.get("version", "")).isdigit():
                snap.releases[(ns, labels.get("name", ""))] = int(labels["version"])
    return snap


def release_rollbacks(before: Snapshot, after: Snapshot) -> list[tuple[str, list[str]]]:
    """(description, helm args) that take each Helm release back to the
    revision it had deployed. Pure."""
    out = []
    for (ns, name), rev in sorted(before.releases.items()):
        now = after.releases.get((ns, name))
        if now is not None and now != rev:
            out.append((f"helm release {ns}/{name} rolled back to revision {rev} (was {now})",
                        ["rollback", name, str(rev), "-n", ns, "--wait", "--timeout", "300s"]))
    return out


def diff_patches(before: Snapshot, after: Snapshot) -> list[tuple[str, list[str]]]:
    """(description, kubectl args) that take `after` back to `before`. Pure."""
    out: list[tuple[str, list[str]]] = []
    for (kind, ns, name), n in after.replicas.items():
        if (kind, ns, name) not in before.replicas and kind == "deployment":
            out.append((f"delete {kind} {ns}/{name} created by the scenario", ["delete", kind, name, "-n", ns, "--wait=false"]))
    for key, n in before.replicas.items():
        kind, ns, name = key
        if key in after.replicas and after.replicas[key] != n:
            out.append((f"{kind} {ns}/{name} replicas {after.replicas[key]} -> {n}",
                        ["scale", kind, name, f"--replicas={n}", "-n", ns]))
    for (ns, name), data in before.configmaps.items():
        now = after.configmaps.get((ns, name))
        if now is not None and now != data:
            patch = {"data": {**{k: None for k in now if k not in data}, **data}}
            out.append((f"configmap {ns}/{name} data restored",
                        ["patch", "configmap", name, "-n", ns, "--type", "merge", "-p", json.dumps(patch)]))
    for (ns, name), sel in before.selectors.items():
        now = after.selectors.get((ns, name))
        if now is not None and now != sel:
            patch = {"spec": {"selector": {**{k: None for k in now if k not in sel}, **sel}}}
            out.append((f"service {ns}/{name} selector restored",
                        ["patch", "service", name, "-n", ns, "--type", "merge", "-p", json.dumps(patch)]))
    for (ns, name), (lo, hi) in before.hpas.items():
        now = after.hpas.get((ns, name))
        if now is not None and now != (lo, hi):
            spec = {"maxReplicas": hi, **({"minReplicas": lo} if lo is not None else {})}
            out.append((f"hpa {ns}/{name} limits restored",
                        ["patch", "hpa", name, "-n", ns, "--type", "merge", "-p", json.dumps({"spec": spec})]))
    for node, cordoned in before.unschedulable.items():
        if node in after.unschedulable and after.unschedulable[node] != cordoned:
            out.append((f"node {node} {'cordoned' if cordoned else 'uncordoned'} again",
                        ["cordon" if cordoned else "uncordon", node]))
    return out


def restore(target: Target, before: Snapshot, namespaces: tuple[str, ...]) -> list[str]:
    """Put back what differs; returns what was done (for the report)."""
    done = []
    after = take(target, namespaces)
    for what, args in release_rollbacks(before, after):
        proc = target.helm(args, timeout=330)
        done.append(what if proc.returncode == 0 else f"{what}: FAILED ({proc.stderr.strip()[:200]})")
    if done:
        after = take(target, namespaces)   # what the rollbacks put back is not patched again
    for what, args in diff_patches(before, after):
        proc = target.kubectl(args, timeout=60)
        done.append(what if proc.returncode == 0 else f"{what}: FAILED ({proc.stderr.strip()[:200]})")
    return done
