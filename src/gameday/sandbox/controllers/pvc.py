"""PersistentVolumeClaims: bound at once to a directory of their own on the
node's disk (the sandbox's state directory), which outlives the pods using it."""
from __future__ import annotations

import os
from pathlib import Path

from ..resources import PVC
from .base import Controller


def claim_dir(state_dir: Path, pvc: dict) -> Path:
    """The host directory of a bound claim."""
    return Path(state_dir) / "volumes" / pvc["spec"].get("volumeName", f"pvc-{pvc['metadata']['uid']}")


class PvcController(Controller):
    name = "pvc"
    watches = (PVC,)

    def __init__(self, store, state_dir) -> None:
        super().__init__(store)
        self.state_dir = Path(state_dir)

    def all_keys(self):
        return [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in self.store.list(PVC)[0]]

    def reconcile(self, key):
        ns, name = key
        pvc = self.store.try_get(PVC, ns, name)
        if pvc is None or pvc["metadata"].get("deletionTimestamp"):
            return None
        volume = pvc["spec"].get("volumeName") or f"pvc-{pvc['metadata']['uid']}"
        if not pvc["spec"].get("volumeName"):
            def bind(obj):
                obj["spec"]["volumeName"] = volume
                obj["spec"].setdefault("storageClassName", "sandbox-local")
                obj["spec"].setdefault("volumeMode", "Filesystem")
            pvc = self.store.modify(PVC, ns, name, bind)
        os.makedirs(claim_dir(self.state_dir, pvc), exist_ok=True)
        want = {
            "phase": "Bound",
            "accessModes": pvc["spec"].get("accessModes") or ["ReadWriteOnce"],
            "capacity": {"storage": ((pvc["spec"].get("resources") or {}).get("requests") or {})
                         .get("storage", "1Gi")},
        }
        if pvc.get("status") != want:
            def status(obj):
                obj["status"] = want
            self.store.modify(PVC, ns, name, status, subresource="status")
        pvc = self.store.get(PVC, ns, name)
        ann = pvc["metadata"].get("annotations") or {}
        if ann.get("pv.kubernetes.io/bind-completed") != "yes":
            def annotate(obj):
                obj["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bind-completed"] = "yes"
            self.store.modify(PVC, ns, name, annotate)
        return None
