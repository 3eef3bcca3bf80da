"""node-drain: cordon nodes and evict their pods (`kubectl drain`); the
rollback uncordons exactly the nodes this fault cordoned."""
from __future__ import annotations

from ..chaos.kube import core, ignore_not_found
from ..errors import UserError
from . import marks
from .base import FaultKind, Param


def _nodes(configuration, node, node_selector):
    api = core(configuration)
    if node:
        return [api.read_node(node, _request_timeout=10)]
    return api.list_node(label_selector=node_selector, _request_timeout=10).items


def _drain(configuration, ledger, fault_id, node=None, node_selector=None, pod_selector=None, namespace=None, **_):
    from kubernetes import client
    api = core(configuration)
    nodes = _nodes(configuration, node, node_selector)
    if not nodes:
        raise UserError(f"node-drain: no node matches {node or node_selector!r}")
    from kubernetes.client.rest import ApiException
    drained, evicted, blocked = [], [], []
    for n in nodes:
        was = bool(n.spec.unschedulable)
        ann = marks.with_entry(n.metadata, ledger, "node-drain", fault_id, {"unschedulable": was})
        api.patch_node(n.metadata.name, {"metadata": {"annotations": {marks.RESTORE: ann}},
                                         "spec": {"unschedulable": True}})
        drained.append(n.metadata.name)
        field = f"spec.nodeName={n.metadata.name}"
        pods = (api.list_namespaced_pod(namespace, label_selector=pod_selector, field_selector=field,
                                        _request_timeout=10) if namespace else
                api.list_pod_for_all_namespaces(label_selector=pod_selector, field_selector=field,
                                                _request_timeout=10)).items
        for p in pods:
            if p.metadata.deletion_timestamp or any(o.kind == "DaemonSet" for o in p.metadata.owner_references or []):
                continue
            body = client.V1Eviction(metadata=client.V1ObjectMeta(name=p.metadata.name, namespace=p.metadata.namespace))
            try:
                ignore_not_found(api.create_namespaced_pod_eviction, p.metadata.name, p.metadata.namespace, body)
            except ApiException as exc:
                if exc.status != 429:
                    raise
                # "Cannot evict pod as it would violate the pod's disruption budget":
                # the pod keeps running on its cordoned node, as under `kubectl drain`.
                blocked.append(f"{p.metadata.namespace}/{p.metadata.name}")
                continue
            evicted.append(f"{p.metadata.namespace}/{p.metadata.name}")
    return {"nodes": drained, "evicted": evicted, "blocked_by_disruption_budget": blocked}


def restore_node(configuration, node, entries: list[tuple[str, dict]]) -> None:
    if not entries:
        return
    was = bool((entries[0][1].get("undo") or {}).get("unschedulable"))
    value = marks.without(marks.restore_entries(node.metadata), [k for k, _ in entries])
    ignore_not_found(core(configuration).patch_node, node.metadata.name,
                     {"metadata": {"annotations": {marks.RESTORE: value}}, "spec": {"unschedulable": was}})


def _uncordon(configuration, state, node=None, node_selector=None, **_):
    for n in _nodes(configuration, node, node_selector):
        restore_node(configuration, n, marks.pick(marks.restore_entries(n.metadata), "node-drain", state))


def _check(p: dict, where: str) -> None:
    if bool(p.get("node")) == bool(p.get("node_selector")):
        raise UserError(f"{where}: give one of node, node_selector")


NODE_DRAIN = FaultKind(
    "node-drain", "Cordon nodes and evict their pods (all, or those `pod_selector` picks), as `kubectl drain`; "
    "a pod its disruption budget protects (429) keeps running and is reported.",
    (Param("node", "name", "the node", None),
     Param("node_selector", "selector", "or a label selector of nodes", None),
     Param("pod_selector", "selector", "evict only these pods", None),
     Param("namespace", "name", "evict only in this namespace", None)),
    "uncordon the nodes it cordoned (recorded in annotation gameday.io/restore on each node)",
    _drain, _uncordon, _check)
