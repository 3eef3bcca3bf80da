"""PodDisruptionBudget (policy/v1): the budget maths (pure, shared with the
eviction subresource, which answers 429 when an eviction would break it) and
the controller that keeps each budget's status: expectedPods, currentHealthy,
desiredHealthy, disruptionsAllowed and the DisruptionAllowed condition."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..resources import PDB, POD, REPLICASET, STATEFULSET, DEPLOYMENT
from ..selectors import labels_match, selector_from_match
from ..store import now_iso
from .base import Controller, is_pod_ready
from .podtemplate import set_condition

_SCALED = {"ReplicaSet": REPLICASET, "StatefulSet": STATEFULSET, "Deployment": DEPLOYMENT}


@dataclass(frozen=True)
class Budget:
    expected: int
    healthy: int
    desired: int

    @property
    def allowed(self) -> int:
        return max(0, self.healthy - self.desired)


def is_healthy(pod: dict) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and is_pod_ready(pod)


def _scaled(value, total: int) -> int:
    """An IntOrString: an int, or a percentage of total rounded up (as Kubernetes does)."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


def selects(pdb: dict, pod: dict) -> bool:
    reqs = selector_from_match((pdb.get("spec") or {}).get("selector"))
    if pdb["metadata"].get("namespace") != pod["metadata"].get("namespace"):
        return False
    return bool(reqs) and labels_match(reqs, pod["metadata"].get("labels"))


def budget(pdb: dict, pods: list[dict], replicas_of=lambda kind, name: None) -> Budget:
    """The budget over the pods it selects. expectedPods is the replicas of
    the pods' controllers where known (`replicas_of(kind, name)`), else the
    pods that are not finished; pods being deleted are never healthy. Pure."""
    spec = pdb.get("spec") or {}
    matching = [p for p in pods if selects(pdb, p)
                and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    healthy = sum(1 for p in matching if is_healthy(p))
    owners, unowned = {}, 0
    for p in matching:
        ref = next((r for r in p["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
        n = replicas_of(ref["kind"], ref["name"]) if ref else None
        if n is None:
            unowned += 0 if p["metadata"].get("deletionTimestamp") else 1
        else:
            owners[(ref["kind"], ref["name"])] = n
    expected = sum(owners.values()) + unowned
    if spec.get("minAvailable") is not None:
        desired = _scaled(spec["minAvailable"], expected)
    elif spec.get("maxUnavailable") is not None:
        desired = max(0, expected - _scaled(spec["maxUnavailable"], expected))
    else:
        desired = expected  # an empty budget: no voluntary disruption
    return Budget(expected, healthy, desired)


def replicas_lookup(store, namespace: str):
    def replicas_of(kind: str, name: str) -> int | None:
        res = _SCALED.get(kind)
        obj = store.try_get(res, namespace, name) if res else None
        if obj is None:
            return None
        return int((obj.get("spec") or {}).get("replicas", 1))
    return replicas_of


def blocking(store, pod: dict) -> tuple[dict, Budget] | None:
    """The budget that evicting this pod would break, if any: a healthy pod
    needs disruptionsAllowed >= 1; an unhealthy one may go while the budget
    holds (the IfHealthyBudget policy)."""
    ns = pod["metadata"]["namespace"]
    pods = store.list(POD, ns)[0]
    for pdb in store.list(PDB, ns)[0]:
        if not selects(pdb, pod):
            continue
        b = budget(pdb, pods, replicas_lookup(store, ns))
        if is_healthy(pod) and b.allowed < 1:
            return pdb, b
        if not is_healthy(pod) and b.healthy < b.desired:
            return pdb, b
    return None


class DisruptionController(Controller):
    name = "disruption"
    watches = (PDB, POD)
    resync_seconds = 10.0

    def keys_for(self, change):
        if change.key == PDB.key:
            return super().keys_for(change)
        ns = change.obj["metadata"].get("namespace", "")
        return [(ns, b["metadata"]["name"]) for b in self.store.list(PDB, ns)[0]
                if selects(b, change.obj) or (change.old and selects(b, change.old))]

    def all_keys(self):
        return [(b["metadata"]["namespace"], b["metadata"]["name"]) for b in self.store.list(PDB)[0]]

    def reconcile(self, key):
        ns, name = key
        pdb = self.store.try_get(PDB, ns, name)
        if pdb is None:
            return None
        b = budget(pdb, self.store.list(POD, ns)[0], replicas_lookup(self.store, ns))
        old = pdb.get("status") or {}
        allowed = b.allowed > 0
        status = {
            "observedGeneration": pdb["metadata"].get("generation", 1), "expectedPods": b.expected,
            "currentHealthy": b.healthy, "desiredHealthy": b.desired, "disruptionsAllowed": b.allowed,
            "disruptedPods": old.get("disruptedPods") or {},
            "conditions": set_condition(old.get("conditions"), "DisruptionAllowed", "True" if allowed else "False",
                                        "SufficientPods" if allowed else "InsufficientPods", "", now_iso()),
        }
        if not status["disruptedPods"]:
            status.pop("disruptedPods")
        if status != old:
            def apply(obj):
                obj["status"] = status
            self.store.modify(PDB, ns, name, apply, subresource="status")
        return None
