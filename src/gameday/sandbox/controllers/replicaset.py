"""ReplicaSet -> Pods: keep spec.replicas active pods; report how many are
ready and available."""
from __future__ import annotations

import time

from ..resources import POD, REPLICASET
from ..store import ApiError, Change, record_event
from .base import Controller, is_pod_active, is_pod_ready, owner_key_of, owner_uid
from .podtemplate import is_available, new_pod, parse_time


def deletion_rank(pod: dict, colocated: int = 1) -> tuple:
    """Pods to delete first sort first: unscheduled, pending, not ready, then
    those doubled up with more of their siblings on one node (`colocated`:
    the owner's active pods on its node), then the most restarted and the
    most recently created (as the ReplicaSet controller ranks them: a scale-in
    keeps the replicas spread)."""
    status = pod.get("status", {})
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase"), 0)
    restarts = sum(c.get("restartCount", 0) for c in status.get("containerStatuses") or [])
    created = parse_time(pod["metadata"].get("creationTimestamp")) or 0
    return (1 if pod.get("spec", {}).get("nodeName") else 0, phase_rank, 1 if is_pod_ready(pod) else 0,
            -colocated, -restarts, -created, pod["metadata"]["name"])


def ranked_for_deletion(active: list[dict]) -> list[dict]:
    """The owner's active pods, those to delete first first."""
    on_node: dict[str, int] = {}
    for p in active:
        node = p.get("spec", {}).get("nodeName")
        if node:
            on_node[node] = on_node.get(node, 0) + 1
    return sorted(active, key=lambda p: deletion_rank(p, on_node.get(p.get("spec", {}).get("nodeName") or "", 1)))


class ReplicaSetController(Controller):
    name = "replicaset"
    watches = (REPLICASET, POD)

    def keys_for(self, change: Change):
        if change.key == POD.key:
            return [owner_key_of(change, "ReplicaSet")]
        return super().keys_for(change)

    def all_keys(self):
        items, _ = self.store.list(REPLICASET)
        return [(rs["metadata"]["namespace"], rs["metadata"]["name"]) for rs in items]

    def reconcile(self, key):
        ns, name = key
        rs = self.store.try_get(REPLICASET, ns, name)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return None
        uid = rs["metadata"]["uid"]
        pods, _ = self.store.list(POD, ns)
        owned = [p for p in pods if owner_uid(p) == uid]
        active = [p for p in owned if is_pod_active(p)]
        want = int(rs["spec"].get("replicas", 1))
        diff = want - len(active)
        template = rs["spec"].get("template") or {}
        if diff > 0:
            for _ in range(diff):
                pod = new_pod(template, rs, generate_name=f"{name}-")
                try:
                    created = self.store.create(POD, pod)
                except ApiError as exc:
                    record_event(self.store, rs, "FailedCreate", f"Error creating: {exc.message}", "Warning",
                                 "replicaset-controller")
                    return 5.0
                record_event(self.store, rs, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}",
                             component="replicaset-controller")
        elif diff < 0:
            for pod in ranked_for_deletion(active)[:-diff]:
                try:
                    self.store.delete(POD, ns, pod["metadata"]["name"])
                except ApiError:
                    continue
                record_event(self.store, rs, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}",
                             component="replicaset-controller")
        # Status from what the store holds now (level-triggered: read again).
        pods, _ = self.store.list(POD, ns)
        active = [p for p in pods if owner_uid(p) == uid and is_pod_active(p)]
        min_ready = int(rs["spec"].get("minReadySeconds", 0) or 0)
        now = time.time()
        ready = sum(1 for p in active if is_pod_ready(p))
        available = sum(1 for p in active if is_available(p, min_ready, now))
        status = {
            "replicas": len(active),
            "fullyLabeledReplicas": len(active),
            "readyReplicas": ready,
            "availableReplicas": available,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }

        def apply(obj):
            keep = {k: v for k, v in (obj.get("status") or {}).items() if k == "conditions"}
            obj["status"] = {**keep, **status}

        if {k: (rs.get("status") or {}).get(k) for k in status} != status:
            self.store.modify(REPLICASET, ns, name, apply, subresource="status")
        # Pods becoming available after minReadySeconds need a later look.
        if min_ready and ready > available:
            return float(min_ready)
        return None
