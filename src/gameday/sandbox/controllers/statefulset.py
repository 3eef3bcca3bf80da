"""StatefulSet -> Pods NAME-0..N-1 with stable names, started in order (each
one once the previous is Running and Ready), and a PersistentVolumeClaim
CLAIM-NAME-i per volumeClaimTemplate that outlives its pod."""
from __future__ import annotations

import copy

from ..resources import POD, PVC, STATEFULSET
from ..store import ApiError, record_event
from .base import Controller, is_pod_ready, owner_key_of, owner_uid
from .podtemplate import new_pod, template_hash

REVISION_LABEL = "controller-revision-hash"


def ordinal(sts_name: str, pod_name: str) -> int | None:
    prefix = f"{sts_name}-"
    if pod_name.startswith(prefix) and pod_name[len(prefix):].isdigit():
        return int(pod_name[len(prefix):])
    return None


class StatefulSetController(Controller):
    name = "statefulset"
    watches = (STATEFULSET, POD)

    def keys_for(self, change):
        if change.key == POD.key:
            return [owner_key_of(change, "StatefulSet")]
        return super().keys_for(change)

    def all_keys(self):
        return [(s["metadata"]["namespace"], s["metadata"]["name"]) for s in self.store.list(STATEFULSET)[0]]

    def _pod_for(self, sts: dict, i: int, revision: str) -> dict:
        name = sts["metadata"]["name"]
        template = copy.deepcopy(sts["spec"].get("template") or {})
        pod = new_pod(template, sts, name=f"{name}-{i}", labels={
            REVISION_LABEL: revision, "statefulset.kubernetes.io/pod-name": f"{name}-{i}",
            "apps.kubernetes.io/pod-index": str(i)})
        pod["spec"]["hostname"] = f"{name}-{i}"
        if sts["spec"].get("serviceName"):
            pod["spec"]["subdomain"] = sts["spec"]["serviceName"]
        volumes = pod["spec"].setdefault("volumes", [])
        for tmpl in sts["spec"].get("volumeClaimTemplates") or []:
            claim = tmpl["metadata"]["name"]
            volumes[:] = [v for v in volumes if v.get("name") != claim]
            volumes.append({"name": claim, "persistentVolumeClaim": {"claimName": f"{claim}-{name}-{i}"}})
        return pod

    def _ensure_claims(self, sts: dict, i: int) -> None:
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        for tmpl in sts["spec"].get("volumeClaimTemplates") or []:
            claim = f"{tmpl['metadata']['name']}-{name}-{i}"
            if self.store.try_get(PVC, ns, claim) is None:
                body = copy.deepcopy(tmpl)
                body["metadata"] = {"name": claim, "namespace": ns,
                                    "labels": {**(sts["spec"].get("selector", {}).get("matchLabels") or {}),
                                               **(tmpl["metadata"].get("labels") or {})}}
                try:
                    self.store.create(PVC, body)
                    record_event(self.store, sts, "SuccessfulCreate",
                                 f"create Claim {claim} Pod {name}-{i} in StatefulSet {name} success",
                                 component="statefulset-controller")
                except ApiError as exc:
                    if exc.code != 409:
                        raise

    def reconcile(self, key):
        ns, name = key
        sts = self.store.try_get(STATEFULSET, ns, name)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return None
        uid = sts["metadata"]["uid"]
        want = int(sts["spec"].get("replicas", 1))
        revision = f"{name}-{template_hash(sts['spec'].get('template') or {})}"
        parallel = sts["spec"].get("podManagementPolicy") == "Parallel"
        pods = {ordinal(name, p["metadata"]["name"]): p for p in self.store.list(POD, ns)[0]
                if owner_uid(p) == uid and ordinal(name, p["metadata"]["name"]) is not None}
        # Create missing pods below replicas, in order.
        for i in range(want):
            pod = pods.get(i)
            if pod is None:
                self._ensure_claims(sts, i)
                try:
                    self.store.create(POD, self._pod_for(sts, i, revision))
                    record_event(self.store, sts, "SuccessfulCreate",
                                 f"create Pod {name}-{i} in StatefulSet {name} successful",
                                 component="statefulset-controller")
                except ApiError as exc:
                    if exc.code != 409:
                        raise
                if not parallel:
                    break
                continue
            if pod.get("status", {}).get("phase") in ("Succeeded", "Failed") and \
                    not pod["metadata"].get("deletionTimestamp"):
                self._delete(sts, pod)  # recreated with the same name next time round
                if not parallel:
                    break
                continue
            if not parallel and (pod["metadata"].get("deletionTimestamp") or not is_pod_ready(pod)):
                break
        else:
            # All present and ready: scale down from the top, then roll out from the top.
            extra = sorted((i for i in pods if i >= want), reverse=True)
            if extra:
                pod = pods[extra[0]]
                if not pod["metadata"].get("deletionTimestamp"):
                    self._delete(sts, pod)
            elif (sts["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
                for i in sorted(pods, reverse=True):
                    pod = pods[i]
                    if pod["metadata"].get("labels", {}).get(REVISION_LABEL) != revision:
                        if not pod["metadata"].get("deletionTimestamp"):
                            self._delete(sts, pod)
                        break
        if parallel:
            for i in sorted((i for i in pods if i >= want), reverse=True):
                if not pods[i]["metadata"].get("deletionTimestamp"):
                    self._delete(sts, pods[i])
        self._sync_status(sts, revision)
        return None

    def _delete(self, sts: dict, pod: dict) -> None:
        try:
            self.store.delete(POD, pod["metadata"]["namespace"], pod["metadata"]["name"])
            record_event(self.store, sts, "SuccessfulDelete",
                         f"delete Pod {pod['metadata']['name']} in StatefulSet {sts['metadata']['name']} successful",
                         component="statefulset-controller")
        except ApiError:
            pass

    def _sync_status(self, sts: dict, revision: str) -> None:
        ns, name, uid = sts["metadata"]["namespace"], sts["metadata"]["name"], sts["metadata"]["uid"]
        pods = [p for p in self.store.list(POD, ns)[0] if owner_uid(p) == uid
                and not p["metadata"].get("deletionTimestamp")]
        ready = sum(1 for p in pods if is_pod_ready(p))
        updated = sum(1 for p in pods if p["metadata"].get("labels", {}).get(REVISION_LABEL) == revision)
        status = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(pods),
                  "readyReplicas": ready, "currentReplicas": updated, "updatedReplicas": updated,
                  "availableReplicas": ready, "currentRevision": revision, "updateRevision": revision,
                  "collisionCount": 0}
        if (sts.get("status") or {}) != status:
            def apply(obj):
                obj["status"] = status
            self.store.modify(STATEFULSET, ns, name, apply, subresource="status")
