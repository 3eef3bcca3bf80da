"""network-cut (a NetworkPolicy), network-delay and network-loss (Chaos
Mesh NetworkChaos objects: on a cluster with Chaos Mesh its engine enforces
them, the sandbox enforces the same objects in its service proxy). Each
object the fault creates is labelled with the drill, the fault and an expiry;
rollback deletes it."""
from __future__ import annotations

from ..chaos.kube import api_client, core, ignore_not_found, networking
from ..errors import UserError
from . import marks
from .base import FaultKind, Param, parse_selector

CHAOS_GROUP, CHAOS_VERSION, CHAOS_PLURAL = "chaos-mesh.org", "v1alpha1", "networkchaos"


def _name(kind: str, fault_id: str) -> str:
    return f"gameday-{kind}-{fault_id}"[:63].rstrip("-")


def _pods_labels(configuration, service, selector, namespace) -> dict[str, str]:
    if selector:
        return parse_selector(selector)
    svc = core(configuration).read_namespaced_service(service, namespace, _request_timeout=10)
    labels = dict(svc.spec.selector or {})
    if not labels:
        raise UserError(f"service {namespace}/{service} selects no pods (no spec.selector)")
    return labels


def _check_target(p: dict, where: str) -> None:
    if bool(p.get("service")) == bool(p.get("selector")):
        raise UserError(f"{where}: give one of service, selector")


# -- network-cut ----------------------------------------------------------------
def cut_policy(name: str, namespace: str, pods: dict, direction: str, from_: dict | None, labels: dict) -> dict:
    """Pure: the NetworkPolicy of a cut. Without `from`, all traffic in
    `direction`; with it, only from those pods (every other pod, in any
    namespace, keeps its way in; the host loses it)."""
    types = {"ingress": ["Ingress"], "egress": ["Egress"], "both": ["Ingress", "Egress"]}[direction]
    spec: dict = {"podSelector": {"matchLabels": dict(pods)}, "policyTypes": types}
    if "Ingress" in types:
        spec["ingress"] = [] if not from_ else [{"from": [{"namespaceSelector": {}, "podSelector": {
            "matchExpressions": [{"key": k, "operator": "NotIn", "values": [v]} for k, v in from_.items()]}}]}]
    if "Egress" in types:
        spec["egress"] = []
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}


def _cut(configuration, ledger, fault_id, namespace, service=None, selector=None, direction="ingress", **kw):
    from_ = kw.get("from")
    pods = _pods_labels(configuration, service, selector, namespace)
    name = kw.get("policy") or _name("cut", fault_id)
    body = cut_policy(name, namespace, pods, direction, parse_selector(from_) if from_ else None,
                      marks.created_labels(ledger, "network-cut", fault_id))
    networking(configuration).create_namespaced_network_policy(namespace, body)
    return {"name": name}


def _delete_labelled(list_fn, delete_fn, namespace: str, kind: str, state: dict) -> None:
    sel = f"{marks.FAULT}={kind}" + (f",{marks.FAULT_ID}={state['id']}" if state.get("id") else "")
    for obj in list_fn(namespace, sel):
        ignore_not_found(delete_fn, obj, namespace)


def _uncut(configuration, state, namespace, **_):
    api = networking(configuration)
    _delete_labelled(lambda ns, sel: [p.metadata.name for p in api.list_namespaced_network_policy(
                         ns, label_selector=sel, _request_timeout=10).items],
                     api.delete_namespaced_network_policy, namespace, "network-cut", state)


_TARGET = (
    Param("namespace", "name", "namespace of the pods"),
    Param("service", "name", "a Service: the pods it selects", None),
    Param("selector", "selector", "or a label selector of the pods", None),
)

NETWORK_CUT = FaultKind(
    "network-cut", "Cut pods off the network with a NetworkPolicy (all traffic in `direction`, or only from "
                   "the pods `from` selects).",
    _TARGET + (
        Param("direction", "choice", "ingress, egress or both (the sandbox enforces ingress)", "ingress",
              ("ingress", "egress", "both")),
        Param("from", "selector", "only the traffic from these pods (label selector)", None),
        Param("policy", "name", "the NetworkPolicy's name (default: gameday-cut-<fault id>)", None),
    ),
    "delete the NetworkPolicy (labelled gameday.io/fault-id)",
    _cut, _uncut, _check_target)


# -- network-delay / network-loss: Chaos Mesh NetworkChaos ------------------------
def network_chaos(name: str, namespace: str, pods: dict, action: str, value: float, labels: dict) -> dict:
    """Pure: the NetworkChaos object (chaos-mesh.org/v1alpha1)."""
    spec: dict = {"action": action, "mode": "all", "direction": "to",
                  "selector": {"namespaces": [namespace], "labelSelectors": dict(pods)}}
    if action == "delay":
        spec["delay"] = {"latency": f"{int(round(value))}ms", "jitter": "0ms", "correlation": "0"}
    else:
        spec["loss"] = {"loss": f"{value:g}", "correlation": "0"}
    return {"apiVersion": f"{CHAOS_GROUP}/{CHAOS_VERSION}", "kind": "NetworkChaos",
            "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}


def _custom(configuration):
    from kubernetes import client
    return client.CustomObjectsApi(api_client(configuration))


def _chaos(action: str, kind: str):
    def inject(configuration, ledger, fault_id, namespace, service=None, selector=None, ms=None, percent=None, **_):
        pods = _pods_labels(configuration, service, selector, namespace)
        name = _name(action, fault_id)
        body = network_chaos(name, namespace, pods, action, ms if action == "delay" else percent,
                             marks.created_labels(ledger, kind, fault_id))
        _custom(configuration).create_namespaced_custom_object(CHAOS_GROUP, CHAOS_VERSION, namespace,
                                                               CHAOS_PLURAL, body)
        return {"name": name}

    def rollback(configuration, state, namespace, **_):
        api = _custom(configuration)
        _delete_labelled(
            lambda ns, sel: [o["metadata"]["name"] for o in api.list_namespaced_custom_object(
                CHAOS_GROUP, CHAOS_VERSION, ns, CHAOS_PLURAL, label_selector=sel, _request_timeout=10)["items"]],
            lambda n, ns: api.delete_namespaced_custom_object(CHAOS_GROUP, CHAOS_VERSION, ns, CHAOS_PLURAL, n),
            namespace, kind, state)
    return inject, rollback


NETWORK_DELAY = FaultKind(
    "network-delay", "Delay the traffic of a Service's pods (or pods by selector) by `ms` (a NetworkChaos).",
    _TARGET + (Param("ms", "float", "added latency in milliseconds"),),
    "delete the NetworkChaos object (labelled gameday.io/fault-id)",
    *_chaos("delay", "network-delay"), _check_target)

NETWORK_LOSS = FaultKind(
    "network-loss", "Drop `percent` of the traffic to a Service's pods (or pods by selector) (a NetworkChaos).",
    _TARGET + (Param("percent", "percent", "share of packets lost (the sandbox drops connections)"),),
    "delete the NetworkChaos object (labelled gameday.io/fault-id)",
    *_chaos("loss", "network-loss"), _check_target)
