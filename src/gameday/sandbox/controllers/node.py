"""Nodes: each node's status reporter (the kubelet's half that registers the
Node, renews its Lease in `kube-node-lease` and posts its conditions) and the
node lifecycle controller (the control plane's half that notices a node
whose heartbeats stopped, marks it NotReady/Unknown, taints it and evicts
its pods once their tolerations run out).

Cordon is the user's `spec.unschedulable`; as in Kubernetes it is mirrored as
the `node.kubernetes.io/unschedulable:NoSchedule` taint."""
from __future__ import annotations

import logging
import os
import platform
import time
import uuid

from ..resources import LEASE, NAMESPACE, NODE, POD
from ..store import ApiError, now_iso, now_iso_micro, record_event
from .base import Controller
from .podtemplate import parse_time, set_condition

log = logging.getLogger("gameday.sandbox.controllers.node")

LEASE_NAMESPACE = "kube-node-lease"
STATUS_REPORT_SECONDS = 60.0  # a status unchanged is re-posted this often (Kubernetes: 5 min)
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
_LIFECYCLE_TAINTS = (UNREACHABLE, NOT_READY, UNSCHEDULABLE)


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


def _arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def _seconds_since(ts: str | None) -> float:
    t = parse_time(ts)
    return float("inf") if t is None else time.time() - t


class NodeStatusReporter(Controller):
    """One node's kubelet-side heartbeat: registers the Node (labels, capacity,
    taints from the config), renews its Lease every `heartbeat_seconds` and
    posts Ready conditions. Stopping it is what a stopped kubelet looks like."""

    name = "node-status"
    watches = (NODE,)

    def __init__(self, store, node_config, heartbeat_seconds: float = 2.0, address: str = "127.0.0.1") -> None:
        super().__init__(store)
        self.config = node_config
        self.address = address
        self.boot_id = str(uuid.uuid4())
        self.resync_seconds = heartbeat_seconds
        self.name = f"node-status-{node_config.name}"
        self._registered = False

    def keys_for(self, change):
        return [change.obj["metadata"]["name"]] if change.obj["metadata"]["name"] == self.config.name else []

    def all_keys(self):
        return [self.config.name]

    def start(self) -> None:
        self.reconcile(self.config.name)  # the node exists before anything is scheduled
        super().start()

    def labels(self) -> dict:
        name = self.config.name
        return {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": _arch(),
                "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": _arch(), **self.config.labels}

    def reconcile(self, key):
        if self._stop.is_set():
            return None
        name = self.config.name
        labels = self.labels()
        node = self.store.try_get(NODE, None, name)
        if node is None:
            if self._registered:
                # Deleted (`kubectl delete node`): a kubelet registers once, when it starts.
                return None
            self.store.create(NODE, {"metadata": {"name": name, "labels": labels},
                                     "spec": {"taints": [dict(t) for t in self.config.taints]}})
            node = self.store.get(NODE, None, name)
        self._registered = True
        self._renew_lease(node)
        capacity = {**machine_capacity(), **self.config.capacity}
        now = now_iso()
        old = node.get("status") or {}
        conds = {c["type"]: c for c in old.get("conditions") or []}
        ready = conds.get("Ready")
        due = ready is None or _seconds_since(ready.get("lastHeartbeatTime")) >= STATUS_REPORT_SECONDS - 1
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
                "architecture": _arch(), "bootID": self.boot_id,
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
            if ready is not None and ready.get("status") != "True":
                record_event(self.store, node, "NodeReady", f"Node {name} status is now: NodeReady",
                             component="kubelet")
        # Config labels are (re)applied; labels a user adds or changes stay.
        cur = node["metadata"].get("labels") or {}
        if any(k not in cur for k in labels):
            def relabel(obj):
                have = obj["metadata"].setdefault("labels", {})
                have.update({k: v for k, v in labels.items() if k not in have})
            self.store.modify(NODE, None, name, relabel)
        return None

    def _renew_lease(self, node: dict) -> None:
        name = self.config.name
        if self.store.try_get(NAMESPACE, None, LEASE_NAMESPACE) is None:
            try:
                self.store.create(NAMESPACE, {"metadata": {"name": LEASE_NAMESPACE}, "spec": {}})
            except ApiError as exc:
                if exc.code != 409:
                    raise
        spec = {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now_iso_micro()}
        if self.store.try_get(LEASE, LEASE_NAMESPACE, name) is None:
            owner = {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"]["uid"]}
            try:
                self.store.create(LEASE, {"metadata": {"name": name, "namespace": LEASE_NAMESPACE,
                                                       "ownerReferences": [owner]}, "spec": spec})
                return
            except ApiError as exc:
                if exc.code != 409:
                    raise

        def renew(obj):
            obj["spec"] = {**(obj.get("spec") or {}), **spec}
        self.store.modify(LEASE, LEASE_NAMESPACE, name, renew)


def _cond(type_, status, reason, message, old, now, heartbeat):
    prev = old.get(type_)
    changed = prev is None or prev.get("status") != status
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": now if (changed or heartbeat) else prev.get("lastHeartbeatTime"),
            "lastTransitionTime": now if changed else prev.get("lastTransitionTime")}


def last_heartbeat(node: dict, lease: dict | None) -> float:
    """Seconds since the node last showed life: its Lease or its Ready heartbeat."""
    ready = next((c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {})
    ages = [_seconds_since(ready.get("lastHeartbeatTime"))]
    if lease is not None:
        ages.append(_seconds_since((lease.get("spec") or {}).get("renewTime")))
    return min(ages)


def wanted_taints(node: dict) -> list[dict]:
    """The lifecycle taints a node's conditions and cordon call for (Pure)."""
    ready = next((c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)
    out = []
    if ready is not None and ready.get("status") == "Unknown":
        out += [{"key": UNREACHABLE, "effect": "NoSchedule"}, {"key": UNREACHABLE, "effect": "NoExecute"}]
    elif ready is not None and ready.get("status") == "False":
        out += [{"key": NOT_READY, "effect": "NoSchedule"}, {"key": NOT_READY, "effect": "NoExecute"}]
    if (node.get("spec") or {}).get("unschedulable"):
        out.append({"key": UNSCHEDULABLE, "effect": "NoSchedule"})
    return out


def toleration_seconds(pod: dict, taint: dict, default: float) -> float | None:
    """How long the pod may stay on a node with this NoExecute taint: None is
    forever, 0 is not at all. Pods that tolerate neither not-ready nor
    unreachable get `default`, as Kubernetes' DefaultTolerationSeconds
    admission gives them 300 s. Pure."""
    best: float | None = -1.0
    for tol in (pod.get("spec") or {}).get("tolerations") or []:
        key_ok = (not tol.get("key") and tol.get("operator") == "Exists") or tol.get("key") == taint.get("key")
        value_ok = tol.get("operator") == "Exists" or tol.get("value", "") == taint.get("value", "")
        effect_ok = not tol.get("effect") or tol.get("effect") == taint.get("effect")
        if key_ok and value_ok and effect_ok:
            secs = tol.get("tolerationSeconds")
            if secs is None:
                return None
            best = max(best, float(secs))
    if best >= 0:
        return best
    if taint.get("key") in (UNREACHABLE, NOT_READY):
        return default
    return 0.0


_ORPHANS = ("orphaned-pods",)


class NodeLifecycleController(Controller):
    """Level-triggered over every Node: heartbeats older than the grace
    period make its conditions Unknown ("Kubelet stopped posting node
    status."), its pods not Ready, and add the unreachable taints; NoExecute
    taints evict the pods that do not tolerate them, after their
    tolerationSeconds (the pods stay Terminating until their kubelet is back
    or someone force-deletes them, as on a cluster)."""

    name = "node-lifecycle"
    watches = (NODE, LEASE)

    def __init__(self, store, grace_seconds: float = 8.0, default_toleration_seconds: float = 10.0,
                 monitor_seconds: float = 1.0) -> None:
        super().__init__(store)
        self.grace = grace_seconds
        self.default_toleration = default_toleration_seconds
        self.resync_seconds = monitor_seconds

    def keys_for(self, change):
        if change.key == NODE.key and change.type == "DELETED":
            return [_ORPHANS]
        if change.key == LEASE.key:
            return [change.obj["metadata"]["name"]] if change.obj["metadata"].get("namespace") == LEASE_NAMESPACE \
                else []
        return [change.obj["metadata"]["name"]]

    def all_keys(self):
        return [n["metadata"]["name"] for n in self.store.list(NODE)[0]] + [_ORPHANS]

    def reconcile(self, name):
        if name == _ORPHANS:
            self._collect_orphans()
            return None
        node = self.store.try_get(NODE, None, name)
        if node is None:
            return None
        age = last_heartbeat(node, self.store.try_get(LEASE, LEASE_NAMESPACE, name))
        conds = (node.get("status") or {}).get("conditions") or []
        ready = next((c for c in conds if c.get("type") == "Ready"), None)
        if age > self.grace and ready is not None and ready.get("status") != "Unknown":
            now = now_iso()

            def unknown(obj):
                st = obj.setdefault("status", {})
                for c in st.get("conditions") or []:
                    if c.get("status") != "Unknown":
                        c.update(status="Unknown", reason="NodeStatusUnknown",
                                 message="Kubelet stopped posting node status.", lastTransitionTime=now)
            node = self.store.modify(NODE, None, name, unknown, subresource="status")
            record_event(self.store, node, "NodeNotReady", f"Node {name} status is now: NodeNotReady",
                         component="node-controller")
            self._mark_pods_not_ready(name)
        node = self._sync_taints(node)
        again = self._evict(node)
        if age <= self.grace:
            left = self.grace - age + 0.2
            again = left if again is None else min(again, left)
        return again

    def _sync_taints(self, node: dict) -> dict:
        want = wanted_taints(node)
        have = (node.get("spec") or {}).get("taints") or []
        lifecycle = [t for t in have if t.get("key") in _LIFECYCLE_TAINTS]
        same = {(t["key"], t["effect"]) for t in lifecycle} == {(t["key"], t["effect"]) for t in want}
        if same:
            return node
        now = now_iso()

        def retaint(obj):
            cur = (obj.get("spec") or {}).get("taints") or []
            keep = [t for t in cur if t.get("key") not in _LIFECYCLE_TAINTS]
            prior = {(t["key"], t.get("effect")): t for t in cur if t.get("key") in _LIFECYCLE_TAINTS}
            new = []
            for t in want:
                old = prior.get((t["key"], t["effect"]))
                new.append(old if old else {**t, **({"timeAdded": now} if t["effect"] == "NoExecute" else {})})
            obj.setdefault("spec", {})["taints"] = keep + new
        return self.store.modify(NODE, None, node["metadata"]["name"], retaint)

    def _mark_pods_not_ready(self, node_name: str) -> None:
        now = now_iso()
        for pod in self.store.list(POD, field_selector=f"spec.nodeName={node_name}")[0]:
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue

            def not_ready(obj):
                st = obj.setdefault("status", {})
                conds = st.get("conditions") or []
                if any(c.get("type") == "Ready" for c in conds):
                    st["conditions"] = set_condition(conds, "Ready", "False", "NodeNotReady", "", now)
            try:
                self.store.modify(POD, pod["metadata"]["namespace"], pod["metadata"]["name"], not_ready,
                                  subresource="status")
            except ApiError:
                pass

    def _evict(self, node: dict) -> float | None:
        """Evict pods whose tolerations of the node's NoExecute taints ran out;
        the seconds until the next one is due."""
        taints = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]
        if not taints:
            return None
        name = node["metadata"]["name"]
        next_due = None
        now = time.time()
        for pod in self.store.list(POD, field_selector=f"spec.nodeName={name}")[0]:
            if pod["metadata"].get("deletionTimestamp") or (pod.get("status") or {}).get("phase") in \
                    ("Succeeded", "Failed"):
                continue
            due = None  # unix time the pod must go; None: tolerated forever
            forever = True
            for t in taints:
                secs = toleration_seconds(pod, t, self.default_toleration)
                if secs is None:
                    continue
                added = parse_time(t.get("timeAdded")) or now
                at = added + secs
                due = at if forever else min(due, at)
                forever = False
            if forever:
                continue
            if due <= now:
                ns, pname = pod["metadata"]["namespace"], pod["metadata"]["name"]
                try:
                    self.store.delete(POD, ns, pname)
                except ApiError:
                    continue
                record_event(self.store, pod, "TaintManagerEviction", f"Marking for deletion Pod {ns}/{pname}",
                             component="taint-eviction-controller")
                log.info("node %s: evicted %s/%s (NoExecute taint)", name, ns, pname)
            else:
                next_due = due - now if next_due is None else min(next_due, due - now)
        return None if next_due is None else next_due + 0.1

    def _collect_orphans(self) -> None:
        """Pods bound to a node that no longer exists are force-deleted (the pod GC's job)."""
        names = {n["metadata"]["name"] for n in self.store.list(NODE)[0]}
        for pod in self.store.list(POD)[0]:
            where = (pod.get("spec") or {}).get("nodeName")
            if where and where not in names:
                ns, pname = pod["metadata"]["namespace"], pod["metadata"]["name"]
                try:
                    self.store.delete(POD, ns, pname, grace_seconds=0)
                except ApiError:
                    continue
                log.info("pod gc: deleted %s/%s of the deleted node %s", ns, pname, where)
