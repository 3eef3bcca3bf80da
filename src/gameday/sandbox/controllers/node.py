"""The one node: registered from the config (labels, capacity incl. extended
resources like an accelerator, e.g. vendor.example/accel), Ready, with periodic heartbeats. Cordon is
the user's `spec.unschedulable`; the scheduler honours it."""
from __future__ import annotations

import os
import platform
import uuid

from ..resources import NODE
from ..store import now_iso
from .base import Controller

HEARTBEAT_SECONDS = 20.0


def machine_capacity() -> dict:
    mem_kib = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {"cpu": str(os.cpu_count() or 1), "memory": f"{mem_kib}Ki", "pods": "110",
            "ephemeral-storage": "100Gi"}


class NodeController(Controller):
    name = "node"
    watches = (NODE,)
    resync_seconds = HEARTBEAT_SECONDS

    def __init__(self, store, node_config, address: str = "127.0.0.1") -> None:
        super().__init__(store)
        self.config = node_config
        self.address = address
        self.boot_id = str(uuid.uuid4())

    def keys_for(self, change):
        return [change.obj["metadata"]["name"]] if change.obj["metadata"]["name"] == self.config.name else []

    def all_keys(self):
        return [self.config.name]

    def start(self) -> None:
        self.reconcile(self.config.name)  # the node exists before anything is scheduled
        super().start()

    def reconcile(self, key):
        name = self.config.name
        node = self.store.try_get(NODE, None, name)
        capacity = {**machine_capacity(), **self.config.capacity}
        labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                  "kubernetes.io/arch": {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(),
                                                                                    platform.machine()),
                  "node-role.kubernetes.io/control-plane": "", **self.config.labels}
        if node is None:
            self.store.create(NODE, {"metadata": {"name": name, "labels": labels}, "spec": {}})
            node = self.store.get(NODE, None, name)
        now = now_iso()
        old = node.get("status") or {}
        conds = {c["type"]: c for c in old.get("conditions") or []}
        ready = conds.get("Ready")
        due = ready is None or _age(ready.get("lastHeartbeatTime")) >= HEARTBEAT_SECONDS - 1
        status = {
            "capacity": capacity, "allocatable": dict(capacity),
            "conditions": [
                _cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
                      "kubelet has sufficient memory available", conds, now, due),
                _cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure",
                      conds, now, due),
                _cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available",
                      conds, now, due),
                _cond("Ready", "True", "KubeletReady", "kubelet is posting ready status", conds, now, due),
            ],
            "addresses": [{"type": "InternalIP", "address": self.address}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": labels["kubernetes.io/arch"], "bootID": self.boot_id,
                "containerRuntimeVersion": "gameday-sandbox://processes", "kernelVersion": platform.release(),
                "kubeProxyVersion": "v1.32.0-sandbox", "kubeletVersion": "v1.32.0-sandbox",
                "machineID": self.boot_id.replace("-", ""), "operatingSystem": "linux",
                "osImage": "gameday sandbox", "systemUUID": self.boot_id,
            },
            "phase": "Running",
        }
        if status != old:
            def apply(obj):
                obj["status"] = status
            self.store.modify(NODE, None, name, apply, subresource="status")
        # Config labels are (re)applied; labels a user adds stay.
        missing = {k: v for k, v in labels.items() if (node["metadata"].get("labels") or {}).get(k) != v}
        if missing and node["metadata"].get("resourceVersion"):
            cur = node["metadata"].get("labels") or {}
            if any(k not in cur for k in missing):
                def relabel(obj):
                    obj["metadata"].setdefault("labels", {}).update(
                        {k: v for k, v in missing.items() if k not in obj["metadata"]["labels"]})
                self.store.modify(NODE, None, name, relabel)
        return None


def _age(ts: str | None) -> float:
    from .podtemplate import parse_time
    import time
    t = parse_time(ts)
    return float("inf") if t is None else time.time() - t


def _cond(type_, status, reason, message, old, now, heartbeat):
    prev = old.get(type_)
    changed = prev is None or prev.get("status") != status
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": now if (changed or heartbeat) else prev.get("lastHeartbeatTime"),
            "lastTransitionTime": now if changed else prev.get("lastTransitionTime")}
