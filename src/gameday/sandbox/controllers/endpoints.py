"""Service -> Endpoints: the ready pods' IPs as addresses, the others as
notReadyAddresses, ports resolved from each Service port's targetPort."""
from __future__ import annotations

from ..resources import ENDPOINTS, POD, SERVICE
from ..selectors import labels_match, selector_from_match
from ..store import ApiError
from .base import Controller, is_pod_ready


def resolve_target_port(svc_port: dict, pod: dict) -> int | None:
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    for c in pod.get("spec", {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target:
                return int(p["containerPort"])
    return None


def endpoint_subsets(service: dict, pods: list[dict]) -> list[dict]:
    """Subsets of an Endpoints object for a Service and its candidate pods. Pure."""
    reqs = selector_from_match({"matchLabels": service.get("spec", {}).get("selector") or {}})
    groups: dict[tuple, dict] = {}
    publish_not_ready = service.get("spec", {}).get("publishNotReadyAddresses", False)
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        meta, status = pod["metadata"], pod.get("status") or {}
        if meta.get("deletionTimestamp") or not status.get("podIP") or \
                status.get("phase") in ("Succeeded", "Failed") or not labels_match(reqs, meta.get("labels")):
            continue
        ports = []
        for sp in service.get("spec", {}).get("ports") or []:
            port = resolve_target_port(sp, pod)
            if port is None:
                continue
            entry = {"port": port, "protocol": sp.get("protocol", "TCP")}
            if sp.get("name"):
                entry["name"] = sp["name"]
            if sp.get("appProtocol"):
                entry["appProtocol"] = sp["appProtocol"]
            ports.append(entry)
        if not ports:
            continue
        key = tuple(sorted((p.get("name", ""), p["port"]) for p in ports))
        subset = groups.setdefault(key, {"ports": ports})
        address = {"ip": status["podIP"], "nodeName": pod.get("spec", {}).get("nodeName"),
                   "targetRef": {"kind": "Pod", "name": meta["name"], "namespace": meta["namespace"],
                                 "uid": meta["uid"]}}
        if pod.get("spec", {}).get("hostname"):
            address["hostname"] = pod["spec"]["hostname"]
        ready = is_pod_ready(pod) or publish_not_ready
        subset.setdefault("addresses" if ready else "notReadyAddresses", []).append(address)
    return [groups[k] for k in sorted(groups)]


class EndpointsController(Controller):
    name = "endpoints"
    watches = (SERVICE, POD)

    def keys_for(self, change):
        ns = change.obj["metadata"].get("namespace", "")
        if change.key == POD.key:
            return [("ns", ns)]
        return [(ns, change.obj["metadata"]["name"])]

    def all_keys(self):
        items, _ = self.store.list(SERVICE)
        return [(s["metadata"]["namespace"], s["metadata"]["name"]) for s in items]

    def reconcile(self, key):
        if key[0] == "ns":
            for svc in self.store.list(SERVICE, key[1])[0]:
                self.queue.add((key[1], svc["metadata"]["name"]))
            return None
        ns, name = key
        svc = self.store.try_get(SERVICE, ns, name)
        current = self.store.try_get(ENDPOINTS, ns, name)
        if svc is None:
            if current is not None and current["metadata"].get("labels", {}).get(
                    "endpoints.kubernetes.io/managed-by") == "endpoint-controller":
                try:
                    self.store.delete(ENDPOINTS, ns, name)
                except ApiError:
                    pass
            return None
        if not svc.get("spec", {}).get("selector"):
            return None  # a Service without selector has endpoints its user manages
        pods, _ = self.store.list(POD, ns)
        subsets = endpoint_subsets(svc, pods)
        labels = {**(svc["metadata"].get("labels") or {}),
                  "endpoints.kubernetes.io/managed-by": "endpoint-controller"}
        if current is None:
            try:
                self.store.create(ENDPOINTS, {"metadata": {"name": name, "namespace": ns, "labels": labels},
                                              "subsets": subsets})
            except ApiError as exc:
                if exc.code != 409:
                    raise
                return 0.1
        elif current.get("subsets") != subsets or current["metadata"].get("labels") != labels:
            def apply(obj):
                obj["subsets"] = subsets
                obj["metadata"]["labels"] = labels
            self.store.modify(ENDPOINTS, ns, name, apply)
        return None
