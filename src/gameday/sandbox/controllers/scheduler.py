"""Binds pending pods to the node, unless it is cordoned, the pod's
nodeSelector/affinity does not match, or its resource requests do not fit in
what the node has left: then the pod stays Pending with PodScheduled=False
and a FailedScheduling event (the runbook's "Pod Stuck in Pending")."""
from __future__ import annotations

from ..resources import NODE, POD
from ..selectors import Requirement, labels_match
from ..store import ApiError, now_iso, record_event
from .base import Controller
from .podtemplate import set_condition
from .quantity import parse_quantity


def pod_requests(pod: dict) -> dict[str, float]:
    """Effective requests: the sum over containers, at least each init container's."""
    total: dict[str, float] = {}
    spec = pod.get("spec", {})
    for c in spec.get("containers") or []:
        res = c.get("resources") or {}
        for k, v in {**(res.get("limits") or {}), **(res.get("requests") or {})}.items():
            # As in Kubernetes, a limit without a request is the request.
            try:
                total[k] = total.get(k, 0.0) + parse_quantity(v)
            except ValueError:
                pass
    for c in spec.get("initContainers") or []:
        res = c.get("resources") or {}
        for k, v in {**(res.get("limits") or {}), **(res.get("requests") or {})}.items():
            try:
                total[k] = max(total.get(k, 0.0), parse_quantity(v))
            except ValueError:
                pass
    return total


def _affinity_matches(pod: dict, labels: dict) -> bool:
    req = (((pod.get("spec", {}).get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = req.get("nodeSelectorTerms") or []
    if not terms:
        return True
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for term in terms:
        reqs = tuple(Requirement(e["key"], ops.get(e.get("operator"), "in"), tuple(e.get("values") or ()))
                     for e in term.get("matchExpressions") or [] if e.get("operator") in ops)
        if labels_match(reqs, labels):
            return True
    return False


def _tolerated(pod: dict, taint: dict) -> bool:
    for tol in pod.get("spec", {}).get("tolerations") or []:
        if tol.get("operator") == "Exists" and not tol.get("key"):
            return True
        if tol.get("key") == taint.get("key") and (tol.get("operator") == "Exists"
                                                  or tol.get("value") == taint.get("value")) \
                and (not tol.get("effect") or tol.get("effect") == taint.get("effect")):
            return True
    return False


def fit_problems(pod: dict, node: dict, bound: list[dict]) -> list[str]:
    """Why the pod does not fit on the node (empty when it fits). Pure."""
    problems = []
    labels = node["metadata"].get("labels") or {}
    if node.get("spec", {}).get("unschedulable") and not _tolerated(
            pod, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}):
        problems.append("node(s) were unschedulable")
    for taint in node.get("spec", {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerated(pod, taint) \
                and taint.get("key") != "node.kubernetes.io/unschedulable":
            problems.append(f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}")
    selector = pod.get("spec", {}).get("nodeSelector") or {}
    if any(labels.get(k) != str(v) for k, v in selector.items()) or not _affinity_matches(pod, labels):
        problems.append("node(s) didn't match Pod's node affinity/selector")
    alloc = {}
    for k, v in (node.get("status", {}).get("allocatable") or {}).items():
        try:
            alloc[k] = parse_quantity(v)
        except ValueError:
            pass
    used: dict[str, float] = {}
    for other in bound:
        for k, v in pod_requests(other).items():
            used[k] = used.get(k, 0.0) + v
    for k, want in sorted(pod_requests(pod).items()):
        if want <= 0:
            continue
        have = alloc.get(k, 0.0)
        if used.get(k, 0.0) + want > have + 1e-9:
            problems.append(f"Insufficient {k}")
    if len(bound) + 1 > alloc.get("pods", 110):
        problems.append("Too many pods")
    return problems


class Scheduler(Controller):
    name = "scheduler"
    watches = (POD, NODE)
    resync_seconds = 5.0

    def __init__(self, store, node_name: str) -> None:
        super().__init__(store)
        self.node_name = node_name

    def keys_for(self, change):
        if change.key == NODE.key or change.type == "DELETED" or \
                (change.obj.get("spec", {}).get("nodeName") and change.obj.get("status", {}).get("phase")
                 in ("Succeeded", "Failed")):
            return ["*"]  # capacity or cordon changed: every pending pod may fit now
        if not change.obj.get("spec", {}).get("nodeName"):
            return [(change.obj["metadata"]["namespace"], change.obj["metadata"]["name"])]
        return []

    def all_keys(self):
        return ["*"]

    def reconcile(self, key):
        if key == "*":
            pods, _ = self.store.list(POD, field_selector="spec.nodeName=")
            for p in sorted(pods, key=lambda p: p["metadata"].get("creationTimestamp", "")):
                self.queue.add((p["metadata"]["namespace"], p["metadata"]["name"]))
            return None
        ns, name = key
        pod = self.store.try_get(POD, ns, name)
        if pod is None or pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            return None
        if pod["spec"].get("schedulerName", "default-scheduler") != "default-scheduler":
            return None
        node = self.store.try_get(NODE, None, self.node_name)
        if node is None:
            return 1.0
        bound = [p for p in self.store.list(POD, field_selector=f"spec.nodeName={self.node_name}")[0]
                 if p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]
        problems = fit_problems(pod, node, bound)
        now = now_iso()
        if problems:
            message = f"0/1 nodes are available: {', '.join('1 ' + p for p in problems)}."
            prev = next((c for c in pod.get("status", {}).get("conditions") or []
                         if c.get("type") == "PodScheduled"), None)
            if not prev or prev.get("message") != message:
                def unsched(obj):
                    st = obj.setdefault("status", {})
                    st["phase"] = "Pending"
                    st["conditions"] = set_condition(st.get("conditions"), "PodScheduled", "False",
                                                     "Unschedulable", message, now)
                self.store.modify(POD, ns, name, unsched, subresource="status")
                record_event(self.store, pod, "FailedScheduling", message, "Warning", "default-scheduler")
            return None  # retried when a pod or the node changes, and at resync
        try:
            def bind(obj):
                obj["spec"]["nodeName"] = self.node_name
            self.store.modify(POD, ns, name, bind)

            def scheduled(obj):
                st = obj.setdefault("status", {})
                st.setdefault("phase", "Pending")
                st["conditions"] = set_condition(st.get("conditions"), "PodScheduled", "True", "", "", now)
                for c in st["conditions"]:
                    if c["type"] == "PodScheduled":
                        c.pop("reason", None)
                        c.pop("message", None)
            self.store.modify(POD, ns, name, scheduled, subresource="status")
        except ApiError:
            return None
        record_event(self.store, pod, "Scheduled", f"Successfully assigned {ns}/{name} to {self.node_name}",
                     component="default-scheduler")
        return None
