"""Defaulting, as the real API server fills in what a manifest leaves out
(so that clients decoding into typed models, kubectl describe and the
controllers all see complete objects). Pure functions that mutate the dict
they are given."""
from __future__ import annotations

from typing import Any

from ..resources import Resource

# Resources whose status is the system's to write: a create starts it afresh.
_STATUS_OWNED = {"pods", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "services",
                 "persistentvolumeclaims", "persistentvolumes", "namespaces", "horizontalpodautoscalers",
                 "poddisruptionbudgets"}


def _obj(parent: dict, key: str) -> dict:
    """parent[key] as an object, made {} when missing or null (shapes are
    checked before defaulting, so anything else is already a dict)."""
    if not isinstance(parent.get(key), dict):
        parent[key] = {}
    return parent[key]


def _container(c: dict) -> None:
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    image = str(c.get("image", ""))
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    c.setdefault("imagePullPolicy", "Always" if tag in ("", "latest") else "IfNotPresent")
    c.setdefault("resources", {})
    res = c["resources"]
    if isinstance(res, dict) and isinstance(res.get("limits"), dict) and res["limits"]:
        # As Kubernetes: a limit without a request is also the request (the scheduler
        # and `kubectl describe node`'s "Allocated resources" count requests).
        requests = _obj(res, "requests")
        for k, v in res["limits"].items():
            requests.setdefault(k, v)
    for p in c.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        pr = c.get(probe)
        if isinstance(pr, dict):
            pr.setdefault("timeoutSeconds", 1)
            pr.setdefault("periodSeconds", 10)
            pr.setdefault("successThreshold", 1)
            pr.setdefault("failureThreshold", 3)
            if isinstance(pr.get("httpGet"), dict):
                pr["httpGet"].setdefault("path", "/")
                pr["httpGet"].setdefault("scheme", "HTTP")
    for e in c.get("env") or []:
        if isinstance(e, dict) and isinstance(e.get("valueFrom"), dict) \
                and isinstance(e["valueFrom"].get("fieldRef"), dict):
            e["valueFrom"]["fieldRef"].setdefault("apiVersion", "v1")


def pod_spec(spec: dict, restart_policy: str = "Always") -> None:
    spec.setdefault("restartPolicy", restart_policy)
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if isinstance(c, dict):
            _container(c)
    for v in spec.get("volumes") or []:
        if isinstance(v, dict):
            for src in ("configMap", "secret"):
                if isinstance(v.get(src), dict):
                    v[src].setdefault("defaultMode", 420)
    if spec.get("serviceAccountName"):
        spec.setdefault("serviceAccount", spec["serviceAccountName"])


def _template(spec: dict, restart_policy: str = "Always") -> None:
    tpl = spec.get("template")
    if isinstance(tpl, dict):
        _obj(tpl, "metadata")
        if isinstance(tpl.get("spec"), dict):
            pod_spec(tpl["spec"], restart_policy)


def _qos(spec: dict) -> str:
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    reqs = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in reqs):
        return "BestEffort"
    guaranteed = all(
        (r.get("limits") or {}).get(k) is not None
        and (r.get("requests") or {}).get(k, (r.get("limits") or {}).get(k)) == (r.get("limits") or {}).get(k)
        for r in reqs for k in ("cpu", "memory"))
    return "Guaranteed" if guaranteed else "Burstable"


def on_create(res: Resource, obj: dict[str, Any]) -> None:
    """Fill defaults and reset system-owned status before a create."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else None
    if res.plural in _STATUS_OWNED:
        obj.pop("status", None)
    kind = res.kind
    if kind == "Pod" and spec is not None:
        pod_spec(spec)
        # Real pods always list volumes (the service-account token volume):
        # clients such as chaosk8s's drain iterate them without a None check.
        spec.setdefault("volumes", [])
        obj["status"] = {"phase": "Pending", "qosClass": _qos(spec)}
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet") and spec is not None:
        if kind != "DaemonSet":
            spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        _template(spec)
        if kind == "Deployment":
            spec.setdefault("strategy", {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
            spec.setdefault("progressDeadlineSeconds", 600)
        elif kind == "StatefulSet":
            spec.setdefault("podManagementPolicy", "OrderedReady")
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
            spec.setdefault("persistentVolumeClaimRetentionPolicy",
                            {"whenDeleted": "Retain", "whenScaled": "Retain"})
        elif kind == "DaemonSet":
            spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                               "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        # The client's models require status.replicas of these kinds.
        obj["status"] = {"replicas": 0} if kind in ("ReplicaSet", "StatefulSet") else {}
        if kind == "DaemonSet":
            obj["status"] = {"currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0,
                             "numberReady": 0}
    elif kind == "Job" and spec is not None:
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        if spec.get("completions") is not None or spec.get("parallelism") is not None:
            spec.setdefault("parallelism", 1)
        else:
            spec.setdefault("parallelism", 1)
            spec.setdefault("completions", 1)
        if not spec.get("manualSelector"):
            # The real API server selects a Job's pods by controller uid; a uid
            # is only known after the store assigns it, so the name is used
            # (unique in the namespace).
            name = obj.get("metadata", {}).get("name") or ""
            labels = {"batch.kubernetes.io/job-name": name, "job-name": name}
            spec["selector"] = {"matchLabels": dict(labels)}
            tpl = _obj(spec, "template")
            if isinstance(tpl, dict):
                _obj(_obj(tpl, "metadata"), "labels").update(labels)
        _template(spec)
        obj["status"] = {}
    elif kind == "Service":
        spec = _obj(obj, "spec")
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        for p in spec.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                if "port" in p:
                    p.setdefault("targetPort", p["port"])
        obj["status"] = {"loadBalancer": {}}
    elif kind == "Namespace":
        _obj(obj, "spec").setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
        _obj(_obj(obj, "metadata"), "labels")["kubernetes.io/metadata.name"] = \
            obj["metadata"].get("name", "")
    elif kind == "PersistentVolumeClaim":
        spec = _obj(obj, "spec")
        spec.setdefault("volumeMode", "Filesystem")
        obj["status"] = {"phase": "Pending"}
    elif kind == "PersistentVolume":
        _obj(obj, "spec").setdefault("persistentVolumeReclaimPolicy", "Retain")
        obj["status"] = {"phase": "Pending"}
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
    elif kind == "HorizontalPodAutoscaler":
        obj["status"] = {"currentReplicas": 0, "desiredReplicas": 0}
    elif kind == "PodDisruptionBudget":
        obj["status"] = {"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0}


def on_update(res: Resource, obj: dict[str, Any]) -> None:
    """Defaults that also apply to an updated spec (a patched template)."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else None
    if spec is None:
        return
    if res.kind == "Pod":
        pod_spec(spec)
    elif res.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        _template(spec)
    elif res.kind == "Job":
        _template(spec)
