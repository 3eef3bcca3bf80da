"""Binds pending pods to nodes. Filter: a node fits unless it is cordoned,
has a NoSchedule/NoExecute taint the pod does not tolerate, does not match
the pod's nodeSelector or required node affinity (labels and matchFields),
or has too little left of a requested resource. Score: fewest pods of the
same owner (spreading replicas over nodes, as the default topology spread
does), then preferred node affinity, no PreferNoSchedule taint, the least
requested CPU fraction, fewest pods. A pod no node fits stays Pending with
PodScheduled=False and a FailedScheduling event ("0/3 nodes are available:
...", the runbook's "Pod Stuck in Pending")."""
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


_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def _term_matches(term: dict, labels: dict, fields: dict) -> bool:
    reqs = tuple(Requirement(e["key"], _OPS[e.get("operator")], tuple(e.get("values") or ()))
                 for e in term.get("matchExpressions") or [] if e.get("operator") in _OPS)
    freqs = tuple(Requirement(e["key"], _OPS[e.get("operator")], tuple(e.get("values") or ()))
                  for e in term.get("matchFields") or [] if e.get("operator") in _OPS)
    if not reqs and not freqs:
        return False  # an empty term matches nothing, as in Kubernetes
    return labels_match(reqs, labels) and labels_match(freqs, fields)


def _node_fields(node: dict) -> dict:
    return {"metadata.name": node["metadata"]["name"]}


def _affinity_matches(pod: dict, labels: dict, fields: dict | None = None) -> bool:
    req = (((pod.get("spec", {}).get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = req.get("nodeSelectorTerms") or []
    if not terms:
        return True
    return any(_term_matches(t, labels, fields or {}) for t in terms)


def _preferred_score(pod: dict, node: dict) -> int:
    prefs = (((pod.get("spec", {}).get("affinity") or {}).get("nodeAffinity") or {})
             .get("preferredDuringSchedulingIgnoredDuringExecution") or [])
    labels = node["metadata"].get("labels") or {}
    return sum(int(p.get("weight", 0)) for p in prefs
               if _term_matches(p.get("preference") or {}, labels, _node_fields(node)))


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
    if any(labels.get(k) != str(v) for k, v in selector.items()) or not _affinity_matches(pod, labels, _node_fields(node)):
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


def _cpu_fraction(node: dict, bound: list[dict], pod: dict) -> float:
    try:
        alloc = parse_quantity((node.get("status", {}).get("allocatable") or {}).get("cpu", "1"))
    except ValueError:
        alloc = 1.0
    used = sum(pod_requests(p).get("cpu", 0.0) for p in bound) + pod_requests(pod).get("cpu", 0.0)
    return used / alloc if alloc > 0 else 1.0


def _owner_of(pod: dict) -> str | None:
    for ref in pod["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def pick_node(pod: dict, nodes: list[dict], bound: dict[str, list[dict]]) -> tuple[dict | None, dict[str, int]]:
    """The best node for the pod, or None and the count of each reason the
    nodes were refused. Pure: `bound` maps node name -> its active pods."""
    owner = _owner_of(pod)
    reasons: dict[str, int] = {}
    best, best_score = None, None
    for node in nodes:
        here = bound.get(node["metadata"]["name"], [])
        problems = fit_problems(pod, node, here)
        if problems:
            for p in problems:
                reasons[p] = reasons.get(p, 0) + 1
            continue
        siblings = sum(1 for p in here if owner and _owner_of(p) == owner)
        prefer_not = sum(1 for t in node.get("spec", {}).get("taints") or []
                         if t.get("effect") == "PreferNoSchedule" and not _tolerated(pod, t))
        score = (siblings, -_preferred_score(pod, node), prefer_not, round(_cpu_fraction(node, here, pod), 3),
                 len(here), node["metadata"]["name"])
        if best_score is None or score < best_score:
            best, best_score = node, score
    return best, reasons


def unschedulable_message(total: int, reasons: dict[str, int]) -> str:
    parts = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
    return f"0/{total} nodes are available: {parts}." if parts else f"0/{total} nodes are available."


class Scheduler(Controller):
    name = "scheduler"
    watches = (POD, NODE)
    resync_seconds = 5.0

    def keys_for(self, change):
        if change.key == NODE.key or change.type == "DELETED" or \
                (change.obj.get("spec", {}).get("nodeName") and change.obj.get("status", {}).get("phase")
                 in ("Succeeded", "Failed")):
            return ["*"]  # capacity, taints or cordon changed: every pending pod may fit now
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
        nodes, _ = self.store.list(NODE)
        if not nodes:
            return 1.0
        bound: dict[str, list[dict]] = {}
        for p in self.store.list(POD)[0]:
            where = p.get("spec", {}).get("nodeName")
            if where and p.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
                bound.setdefault(where, []).append(p)
        node, reasons = pick_node(pod, nodes, bound)
        now = now_iso()
        if node is None:
            message = unschedulable_message(len(nodes), reasons)
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
            return None  # retried when a pod or a node changes, and at resync
        node_name = node["metadata"]["name"]
        try:
            def bind(obj):
                obj["spec"]["nodeName"] = node_name
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
        record_event(self.store, pod, "Scheduled", f"Successfully assigned {ns}/{name} to {node_name}",
                     component="default-scheduler")
        return None
