"""EndpointSlices (discovery.k8s.io/v1) mirrored from Endpoints: what the
real endpointslice controller keeps for each Service. kubectl 1.32 reads
them (`kubectl describe ingress` shows each backend's endpoints from
them); the sandbox's own proxies keep reading Endpoints.

One slice per Endpoints subset, named SERVICE-N, labelled
kubernetes.io/service-name and managed-by, owned by the Service (so the
garbage collector removes them with it)."""
from __future__ import annotations

import logging

from .controllers.base import Controller
from .resources import ENDPOINTS, ENDPOINTSLICE, SERVICE
from .store import ApiError, Store

log = logging.getLogger("gameday.sandbox.endpointslices")
MANAGED_BY = "endpointslice-controller.k8s.io"


def slices_for(svc: dict, ep: dict | None) -> list[dict]:
    """The slices a Service's Endpoints make (pure)."""
    meta = svc["metadata"]
    name, ns = meta["name"], meta["namespace"]
    out = []
    for i, subset in enumerate((ep or {}).get("subsets") or []):
        endpoints = []
        for ready, key in ((True, "addresses"), (False, "notReadyAddresses")):
            for addr in subset.get(key) or []:
                e: dict = {"addresses": [addr["ip"]],
                           "conditions": {"ready": ready, "serving": ready, "terminating": False}}
                for src, dst in (("targetRef", "targetRef"), ("nodeName", "nodeName"), ("hostname", "hostname")):
                    if addr.get(src):
                        e[dst] = addr[src]
                endpoints.append(e)
        ports = [{k: p[k] for k in ("name", "port", "protocol", "appProtocol") if k in p}
                 for p in subset.get("ports") or []]
        out.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"name": f"{name}-{i}", "namespace": ns,
                                 "labels": {"kubernetes.io/service-name": name,
                                            "endpointslice.kubernetes.io/managed-by": MANAGED_BY},
                                 "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": name,
                                                      "uid": meta["uid"], "controller": True,
                                                      "blockOwnerDeletion": True}]},
                    "addressType": "IPv4", "endpoints": endpoints, "ports": ports})
    return out


class EndpointSliceMirror(Controller):
    name = "endpointslice"
    watches = (SERVICE, ENDPOINTS)
    resync_seconds = 30.0

    def __init__(self, store: Store) -> None:
        super().__init__(store)

    def all_keys(self):
        return [(s["metadata"]["namespace"], s["metadata"]["name"]) for s in self.store.list(SERVICE)[0]]

    def reconcile(self, key):
        ns, name = key
        svc = self.store.try_get(SERVICE, ns, name)
        want = slices_for(svc, self.store.try_get(ENDPOINTS, ns, name)) if svc else []
        have = {s["metadata"]["name"]: s for s in self.store.list(
            ENDPOINTSLICE, ns, f"kubernetes.io/service-name={name}")[0]
            if (s["metadata"].get("labels") or {}).get("endpointslice.kubernetes.io/managed-by") == MANAGED_BY}
        for s in want:
            old = have.pop(s["metadata"]["name"], None)
            try:
                if old is None:
                    self.store.create(ENDPOINTSLICE, s)
                elif (old.get("endpoints"), old.get("ports")) != (s["endpoints"], s["ports"]):
                    s["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
                    self.store.update(ENDPOINTSLICE, s)
            except ApiError as exc:
                if exc.code in (404, 409):
                    return 0.5  # raced with another writer: look again
                raise
        for gone in have:
            try:
                self.store.delete(ENDPOINTSLICE, ns, gone, 0)
            except ApiError as exc:
                if exc.code != 404:
                    raise
        return None
