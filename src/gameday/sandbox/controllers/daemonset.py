"""DaemonSet (apps/v1) -> one pod on each eligible node. A node is eligible
when the template's nodeSelector, required node affinity and tolerations let
it run there (resources are the scheduler's business: a pod that does not
fit stays Pending, as in Kubernetes). Each pod is pinned to its node by a
`matchFields metadata.name` node-affinity term and bound by the scheduler;
it tolerates the node-condition taints as daemon pods do. Updates roll node
by node (RollingUpdate: at most maxUnavailable nodes without an available
pod of the new template; OnDelete: only pods someone deletes are replaced)."""
from __future__ import annotations

import copy
import time

from ..resources import DAEMONSET, NODE, POD
from ..store import ApiError, Change, record_event
from .base import Controller, is_pod_active, is_pod_ready, owner_key_of, owner_uid
from .podtemplate import is_available, new_pod, template_hash
from .scheduler import fit_problems

HASH_LABEL = "controller-revision-hash"
DAEMON_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)


def daemon_pod(template: dict, ds: dict, node_name: str, revision: str) -> dict:
    """The pod of a DaemonSet for one node: pinned by node affinity, with the daemon tolerations."""
    pod = new_pod(template, ds, generate_name=f"{ds['metadata']['name']}-", labels={HASH_LABEL: revision})
    spec = pod["spec"]
    tols = spec.setdefault("tolerations", [])
    for t in DAEMON_TOLERATIONS:
        if t not in tols:
            tols.append(dict(t))
    affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}
    return pod


def target_node(pod: dict) -> str | None:
    """The node a daemon pod is for: where it is bound, else its matchFields term."""
    if pod.get("spec", {}).get("nodeName"):
        return pod["spec"]["nodeName"]
    terms = ((((pod.get("spec", {}).get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
    for term in terms:
        for f in term.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("operator") == "In" and f.get("values"):
                return f["values"][0]
    return None


def should_run(template: dict, node: dict) -> bool:
    """Whether a daemon pod of this template belongs on the node. Pure."""
    probe = {"metadata": {}, "spec": copy.deepcopy(template.get("spec") or {})}
    probe["spec"].setdefault("tolerations", []).extend(dict(t) for t in DAEMON_TOLERATIONS)
    problems = fit_problems(probe, node, [])
    return not [p for p in problems if not p.startswith(("Insufficient", "Too many pods"))]


def _max_unavailable(ds: dict, desired: int) -> int:
    ru = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}
    value = ru.get("maxUnavailable", 1)
    if isinstance(value, str) and value.endswith("%"):
        import math
        return max(1, math.floor(int(value[:-1]) * desired / 100)) if desired else 1
    return max(1, int(value))


class DaemonSetController(Controller):
    name = "daemonset"
    watches = (DAEMONSET, POD, NODE)

    def keys_for(self, change: Change):
        if change.key == POD.key:
            return [owner_key_of(change, "DaemonSet")]
        if change.key == NODE.key:
            return self.all_keys()
        return super().keys_for(change)

    def all_keys(self):
        return [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in self.store.list(DAEMONSET)[0]]

    def reconcile(self, key):
        ns, name = key
        ds = self.store.try_get(DAEMONSET, ns, name)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return None
        template = ds["spec"].get("template") or {}
        revision = template_hash(template)
        nodes = {n["metadata"]["name"]: n for n in self.store.list(NODE)[0]}
        eligible = {n for n, node in nodes.items() if should_run(template, node)}
        uid = ds["metadata"]["uid"]
        owned = [p for p in self.store.list(POD, ns)[0] if owner_uid(p) == uid and is_pod_active(p)]
        by_node: dict[str, list[dict]] = {}
        for p in owned:
            by_node.setdefault(target_node(p) or "", []).append(p)
        min_ready = int(ds["spec"].get("minReadySeconds", 0) or 0)
        now = time.time()
        again = None

        def delete(pod: dict, why: str) -> None:
            try:
                self.store.delete(POD, ns, pod["metadata"]["name"])
            except ApiError:
                return
            record_event(self.store, ds, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']} ({why})",
                         component="daemonset-controller")

        for node_name, pods in by_node.items():
            if node_name not in eligible:
                for p in pods:
                    delete(p, f"node {node_name or '?'} is not eligible")
            elif len(pods) > 1:
                keep = sorted(pods, key=lambda p: (p["metadata"]["labels"].get(HASH_LABEL) != revision,
                                                   not is_pod_ready(p), p["metadata"]["name"]))
                for p in keep[1:]:
                    delete(p, "more than one daemon pod on the node")
        for node_name in sorted(eligible):
            if by_node.get(node_name):
                continue
            try:
                created = self.store.create(POD, daemon_pod(template, ds, node_name, revision))
            except ApiError as exc:
                record_event(self.store, ds, "FailedCreate", f"Error creating: {exc.message}", "Warning",
                             "daemonset-controller")
                again = 5.0
                continue
            record_event(self.store, ds, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}",
                         component="daemonset-controller")
        # Rolling update: replace old pods while few enough nodes lack an available pod.
        strategy = ((ds["spec"].get("updateStrategy") or {}).get("type")) or "RollingUpdate"
        if strategy == "RollingUpdate":
            current = {n: ps[0] for n, ps in by_node.items() if n in eligible and ps}
            old = [p for p in current.values() if (p["metadata"].get("labels") or {}).get(HASH_LABEL) != revision]
            unavailable = sum(1 for n in eligible if n not in current
                              or not is_available(current[n], min_ready, now))
            budget = _max_unavailable(ds, len(eligible)) - unavailable
            # Old pods that are not available anyway go first: they cost no availability.
            for p in sorted(old, key=lambda p: is_available(p, min_ready, now)):
                if not is_available(p, min_ready, now):
                    delete(p, "rolling update")
                elif budget > 0:
                    delete(p, "rolling update")
                    budget -= 1
        self._write_status(ds, eligible, revision, min_ready)
        return again

    def _write_status(self, ds: dict, eligible: set[str], revision: str, min_ready: int) -> None:
        ns, name = ds["metadata"]["namespace"], ds["metadata"]["name"]
        uid = ds["metadata"]["uid"]
        owned = [p for p in self.store.list(POD, ns)[0] if owner_uid(p) == uid and is_pod_active(p)]
        now = time.time()
        scheduled = {p["spec"]["nodeName"]: p for p in owned if p.get("spec", {}).get("nodeName")}
        on_eligible = {n: p for n, p in scheduled.items() if n in eligible}
        available = sum(1 for p in on_eligible.values() if is_available(p, min_ready, now))
        status = {
            "currentNumberScheduled": len(on_eligible),
            "desiredNumberScheduled": len(eligible),
            "numberMisscheduled": len(set(scheduled) - eligible),
            "numberReady": sum(1 for p in on_eligible.values() if is_pod_ready(p)),
            "updatedNumberScheduled": sum(1 for p in on_eligible.values()
                                          if (p["metadata"].get("labels") or {}).get(HASH_LABEL) == revision),
            "numberAvailable": available,
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        if len(eligible) - available > 0:
            status["numberUnavailable"] = len(eligible) - available
        old = ds.get("status") or {}
        if {k: old.get(k) for k in status} != status or ("numberUnavailable" in old) != \
                ("numberUnavailable" in status):
            def apply(obj):
                keep = {k: v for k, v in (obj.get("status") or {}).items() if k == "conditions"}
                obj["status"] = {**keep, **status}
            self.store.modify(DAEMONSET, ns, name, apply, subresource="status")
