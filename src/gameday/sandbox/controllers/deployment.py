"""Deployment -> ReplicaSets: one ReplicaSet per pod template (named by its
pod-template-hash), revisions in `deployment.kubernetes.io/revision`, rolling
update within maxSurge/maxUnavailable or Recreate, and the status fields and
conditions `kubectl rollout status|history|undo` read."""
from __future__ import annotations

import copy
import math
import time

from ..resources import DEPLOYMENT, POD, REPLICASET
from ..store import ApiError, Change, now_iso, record_event
from .base import Controller, owner_key_of, owner_ref, owner_uid
from .podtemplate import condition, parse_time, set_condition, template_hash

REVISION = "deployment.kubernetes.io/revision"
HASH = "pod-template-hash"
# Annotations of a Deployment that are not copied onto its ReplicaSets.
_SKIP_ANNOTATIONS = {REVISION, "kubectl.kubernetes.io/last-applied-configuration",
                     "deployment.kubernetes.io/revision-history"}


def resolve_fraction(value, total: int, round_up: bool) -> int:
    """maxSurge / maxUnavailable: an int or a percentage of the replicas."""
    if value is None:
        value = "25%"
    if isinstance(value, str) and value.endswith("%"):
        frac = float(value[:-1]) * total / 100.0
        return int(math.ceil(frac) if round_up else math.floor(frac))
    return int(value)


def _template_without_hash(template: dict) -> dict:
    t = copy.deepcopy(template or {})
    labels = (t.get("metadata") or {}).get("labels") or {}
    labels.pop(HASH, None)
    return t


def _revision(rs: dict) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


class DeploymentController(Controller):
    name = "deployment"
    watches = (DEPLOYMENT, REPLICASET, POD)

    def keys_for(self, change: Change):
        if change.key == REPLICASET.key:
            return [owner_key_of(change, "Deployment")]
        if change.key == POD.key:
            # A pod's readiness moves its deployment's rollout: find it via the ReplicaSet.
            rs_key = owner_key_of(change, "ReplicaSet")
            return [("rs", rs_key)] if rs_key else []
        return super().keys_for(change)

    def all_keys(self):
        items, _ = self.store.list(DEPLOYMENT)
        return [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in items]

    def reconcile(self, key):
        if key[0] == "rs":
            rs = self.store.try_get(REPLICASET, *key[1])
            for ref in (rs or {}).get("metadata", {}).get("ownerReferences") or []:
                if ref.get("kind") == "Deployment":
                    self.queue.add((key[1][0], ref["name"]))
            return None
        ns, name = key
        dep = self.store.try_get(DEPLOYMENT, ns, name)
        if dep is None or dep["metadata"].get("deletionTimestamp"):
            return None
        spec = dep["spec"]
        uid = dep["metadata"]["uid"]
        all_rs = [rs for rs in self.store.list(REPLICASET, ns)[0] if owner_uid(rs) == uid]
        new_rs = self._sync_new_rs(dep, all_rs)
        all_rs = [rs for rs in self.store.list(REPLICASET, ns)[0] if owner_uid(rs) == uid]
        new_rs = next(rs for rs in all_rs if rs["metadata"]["name"] == new_rs["metadata"]["name"])
        old_rs = [rs for rs in all_rs if rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        desired = int(spec.get("replicas", 1))
        if not spec.get("paused"):
            strategy = (spec.get("strategy") or {}).get("type", "RollingUpdate")
            if strategy == "Recreate":
                self._recreate(dep, new_rs, old_rs, desired)
            else:
                self._rolling(dep, new_rs, old_rs, desired)
            self._cleanup(dep, old_rs)
        all_rs = [rs for rs in self.store.list(REPLICASET, ns)[0] if owner_uid(rs) == uid]
        new_rs = next((rs for rs in all_rs if rs["metadata"]["uid"] == new_rs["metadata"]["uid"]), new_rs)
        return self._sync_status(dep, new_rs, all_rs, desired)

    # -- the new ReplicaSet and its revision ----------------------------------
    def _sync_new_rs(self, dep: dict, all_rs: list[dict]) -> dict:
        ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
        template = dep["spec"].get("template") or {}
        max_rev = max((_revision(rs) for rs in all_rs), default=0)
        annotations = {k: v for k, v in (dep["metadata"].get("annotations") or {}).items()
                       if k not in _SKIP_ANNOTATIONS}
        wanted = _template_without_hash(template)
        for rs in all_rs:
            if _template_without_hash(rs["spec"].get("template")) == wanted:
                rev = _revision(rs)
                if rev < max_rev or any((rs["metadata"].get("annotations") or {}).get(k) != v
                                        for k, v in annotations.items()):
                    # An old template came back (rollout undo): it is the newest revision again.
                    new_rev = max_rev + 1 if rev < max_rev else rev

                    def bump(obj, new_rev=new_rev):
                        ann = obj["metadata"].setdefault("annotations", {})
                        ann.update(annotations)
                        ann[REVISION] = str(new_rev)
                    rs = self.store.modify(REPLICASET, ns, rs["metadata"]["name"], bump)
                self._set_dep_revision(dep, _revision(rs))
                return rs
        h = template_hash(wanted)
        t = copy.deepcopy(wanted)
        t.setdefault("metadata", {}).setdefault("labels", {})[HASH] = h
        selector = copy.deepcopy(dep["spec"].get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH] = h
        rev = max_rev + 1
        rs = {
            "metadata": {
                "name": f"{name}-{h}", "namespace": ns,
                "labels": {**(t["metadata"].get("labels") or {})},
                "annotations": {**annotations, REVISION: str(rev),
                                "deployment.kubernetes.io/desired-replicas": str(dep["spec"].get("replicas", 1))},
                "ownerReferences": [owner_ref(dep)],
            },
            "spec": {"replicas": 0, "selector": selector, "template": t,
                     "minReadySeconds": dep["spec"].get("minReadySeconds", 0)},
            "status": {"replicas": 0},
        }
        try:
            rs = self.store.create(REPLICASET, rs)
        except ApiError as exc:
            if exc.code != 409:
                raise
            rs = self.store.get(REPLICASET, ns, f"{name}-{h}")
        else:
            self._set_dep_revision(dep, rev)
        return rs

    def _set_dep_revision(self, dep: dict, rev: int) -> None:
        if (dep["metadata"].get("annotations") or {}).get(REVISION) == str(rev):
            return

        def apply(obj):
            obj["metadata"].setdefault("annotations", {})[REVISION] = str(rev)
        self.store.modify(DEPLOYMENT, dep["metadata"]["namespace"], dep["metadata"]["name"], apply)

    def _scale(self, dep: dict, rs: dict, replicas: int) -> None:
        before = int(rs["spec"].get("replicas", 0))
        if before == replicas:
            return

        def apply(obj):
            obj["spec"]["replicas"] = replicas
            obj["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = \
                str(dep["spec"].get("replicas", 1))
        self.store.modify(REPLICASET, rs["metadata"]["namespace"], rs["metadata"]["name"], apply)
        rs["spec"]["replicas"] = replicas
        verb = "up" if replicas > before else "down"
        record_event(self.store, dep, "ScalingReplicaSet",
                     f"Scaled {verb} replica set {rs['metadata']['name']} from {before} to {replicas}",
                     component="deployment-controller")

    # -- strategies --------------------------------------------------------
    def _rolling(self, dep: dict, new_rs: dict, old_rs: list[dict], desired: int) -> None:
        ru = (dep["spec"].get("strategy") or {}).get("rollingUpdate") or {}
        surge = resolve_fraction(ru.get("maxSurge"), desired, True)
        unavailable = resolve_fraction(ru.get("maxUnavailable"), desired, False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        active_old = [rs for rs in old_rs if int(rs["spec"].get("replicas", 0)) > 0]
        new_spec = int(new_rs["spec"].get("replicas", 0))
        if not active_old:
            self._scale(dep, new_rs, desired)
            return
        # Scale up the new ReplicaSet within the surge.
        total = new_spec + sum(int(rs["spec"].get("replicas", 0)) for rs in active_old)
        if new_spec > desired:
            self._scale(dep, new_rs, desired)
        elif new_spec < desired:
            room = desired + surge - total
            if room > 0:
                self._scale(dep, new_rs, min(desired, new_spec + room))
        # Scale down old ReplicaSets while keeping desired - maxUnavailable available.
        new_spec = int(new_rs["spec"].get("replicas", 0))
        total = new_spec + sum(int(rs["spec"].get("replicas", 0)) for rs in active_old)
        min_available = desired - unavailable
        new_unavailable = new_spec - int((new_rs.get("status") or {}).get("availableReplicas", 0))
        max_down = total - min_available - new_unavailable
        if max_down <= 0:
            return
        ordered = sorted(active_old, key=lambda rs: (rs["metadata"].get("creationTimestamp", ""),
                                                       rs["metadata"]["name"]))
        # First the old pods that are not available anyway.
        cleaned = 0
        for rs in ordered:
            spec_r = int(rs["spec"].get("replicas", 0))
            unhealthy = spec_r - int((rs.get("status") or {}).get("availableReplicas", 0))
            down = min(max_down - cleaned, max(unhealthy, 0))
            if down > 0:
                self._scale(dep, rs, spec_r - down)
                cleaned += down
        allowed = max_down - cleaned
        available = int((new_rs.get("status") or {}).get("availableReplicas", 0)) + sum(
            min(int((rs.get("status") or {}).get("availableReplicas", 0)), int(rs["spec"].get("replicas", 0)))
            for rs in ordered)
        budget = min(allowed, available - min_available)
        for rs in ordered:
            if budget <= 0:
                break
            spec_r = int(rs["spec"].get("replicas", 0))
            down = min(spec_r, budget)
            if down > 0:
                self._scale(dep, rs, spec_r - down)
                budget -= down

    def _recreate(self, dep: dict, new_rs: dict, old_rs: list[dict], desired: int) -> None:
        for rs in old_rs:
            self._scale(dep, rs, 0)
        old_uids = {rs["metadata"]["uid"] for rs in old_rs}
        pods, _ = self.store.list(POD, dep["metadata"]["namespace"])
        if any(owner_uid(p) in old_uids for p in pods):
            return  # Recreate: the new pods start only once every old pod is gone.
        self._scale(dep, new_rs, desired)

    def _cleanup(self, dep: dict, old_rs: list[dict]) -> None:
        limit = int(dep["spec"].get("revisionHistoryLimit", 10))
        idle = sorted((rs for rs in old_rs if int(rs["spec"].get("replicas", 0)) == 0
                       and int((rs.get("status") or {}).get("replicas", 0)) == 0), key=_revision)
        for rs in idle[:max(0, len(idle) - limit)]:
            try:
                self.store.delete(REPLICASET, rs["metadata"]["namespace"], rs["metadata"]["name"])
            except ApiError:
                pass

    # -- status ------------------------------------------------------------
    def _sync_status(self, dep: dict, new_rs: dict, all_rs: list[dict], desired: int) -> float | None:
        st = lambda rs, k: int((rs.get("status") or {}).get(k, 0))  # noqa: E731
        replicas = sum(st(rs, "replicas") for rs in all_rs)
        updated = st(new_rs, "replicas")
        ready = sum(st(rs, "readyReplicas") for rs in all_rs)
        available = sum(st(rs, "availableReplicas") for rs in all_rs)
        ru = (dep["spec"].get("strategy") or {}).get("rollingUpdate") or {}
        max_unavailable = 0 if (dep["spec"].get("strategy") or {}).get("type") == "Recreate" else \
            resolve_fraction(ru.get("maxUnavailable"), desired, False)
        old = dep.get("status") or {}
        now = now_iso()
        conds = copy.deepcopy(old.get("conditions") or [])
        if available >= desired - max_unavailable:
            conds = set_condition(conds, "Available", "True", "MinimumReplicasAvailable",
                                  "Deployment has minimum availability.", now)
        else:
            conds = set_condition(conds, "Available", "False", "MinimumReplicasUnavailable",
                                  "Deployment does not have minimum availability.", now)
        complete = updated == desired and replicas == desired and available >= desired \
            and st(new_rs, "availableReplicas") >= desired
        rs_name = new_rs["metadata"]["name"]
        prev = condition(old.get("conditions"), "Progressing")
        deadline = int(dep["spec"].get("progressDeadlineSeconds", 600))
        requeue = None
        if complete:
            conds = set_condition(conds, "Progressing", "True", "NewReplicaSetAvailable",
                                  f'ReplicaSet "{rs_name}" has successfully progressed.', now,
                                  update_time=prev is None or prev.get("reason") != "NewReplicaSetAvailable")
        else:
            counts = (updated, replicas, ready, available)
            old_counts = tuple(int(old.get(k, 0)) for k in
                               ("updatedReplicas", "replicas", "readyReplicas", "availableReplicas"))
            message = f'ReplicaSet "{rs_name}" is progressing.'
            # Progress is any change of counts or of the new ReplicaSet; the deadline runs from the last one.
            moved = prev is None or prev.get("reason") == "NewReplicaSetAvailable" or counts != old_counts \
                or (prev.get("reason") == "ReplicaSetUpdated" and prev.get("message") != message) \
                or dep["metadata"].get("generation", 1) != old.get("observedGeneration")
            last = now if moved else (prev.get("lastUpdateTime") or now)
            if not moved and prev.get("reason") == "ProgressDeadlineExceeded":
                pass  # stays exceeded until the rollout moves again
            elif not moved and time.time() - (parse_time(last) or time.time()) > deadline:
                conds = set_condition(conds, "Progressing", "False", "ProgressDeadlineExceeded",
                                      f'ReplicaSet "{rs_name}" has timed out progressing.', now, update_time=True)
            else:
                conds = [c for c in conds if c["type"] != "Progressing"] + [{
                    "type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                    "message": message, "lastUpdateTime": last,
                    "lastTransitionTime": prev.get("lastTransitionTime", now)
                    if prev and prev.get("status") == "True" else now}]
                conds.sort(key=lambda c: c["type"])
                requeue = float(min(deadline, 5))
        status = {
            "observedGeneration": dep["metadata"].get("generation", 1),
            "replicas": replicas, "updatedReplicas": updated, "readyReplicas": ready,
            "availableReplicas": available, "unavailableReplicas": max(0, desired - available),
            "conditions": conds,
        }
        for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"):
            if status[k] == 0:
                status.pop(k)  # as Kubernetes omits zero counts
        if status != old:
            def apply(obj):
                obj["status"] = status
            self.store.modify(DEPLOYMENT, dep["metadata"]["namespace"], dep["metadata"]["name"], apply,
                              subresource="status")
        return requeue
