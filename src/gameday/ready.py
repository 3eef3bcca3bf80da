"""What "ready" means, once: a pod is Ready (its condition) and not
terminating; a Deployment or StatefulSet is ready when its rollout is
complete and as many of its pods as it wants are ready. Pure functions over
the objects as JSON dicts (the watchers' store, `kubectl -o json`, or a
client object serialised)."""
from __future__ import annotations


def pod_ready(pod: dict) -> bool:
    return ready_condition(pod)[0] and not (pod.get("metadata") or {}).get("deletionTimestamp")


def ready_condition(pod: dict) -> tuple[bool, str]:
    """(Ready condition is True, its lastTransitionTime)."""
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True", c.get("lastTransitionTime") or ""
    return False, ""


def selects(selector: dict, labels: dict) -> bool:
    return all((labels or {}).get(k) == v for k, v in (selector or {}).items())


def workload_ready(kind: str, obj: dict | None, pods: list[dict], ns: str = "", name: str = "") -> tuple[bool, str]:
    """(ready, why) of a deployment or statefulset, given the pods of its namespace."""
    if obj is None:
        return False, f"{kind} {ns}/{name} not found"
    meta = obj.get("metadata") or {}
    ns, name = ns or meta.get("namespace", ""), name or meta.get("name", "")
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    want = spec.get("replicas", 1)
    if want is None:
        want = 1
    if want == 0:
        return False, f"{kind} {ns}/{name} scaled to 0"
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    ready = [p for p in pods if selects(selector, (p.get("metadata") or {}).get("labels") or {}) and pod_ready(p)]
    if len(ready) < want:
        return False, f"{kind} {ns}/{name}: {len(ready)}/{want} pods ready"
    if kind == "deployment":
        if (status.get("observedGeneration") or 0) < (meta.get("generation") or 0):
            return False, f"deployment {ns}/{name}: rollout not observed yet"
        if (status.get("updatedReplicas") or 0) < want:
            return False, f"deployment {ns}/{name}: rollout in progress ({status.get('updatedReplicas') or 0}/{want} updated)"
    return True, f"{kind} {ns}/{name}: {len(ready)}/{want} ready"
