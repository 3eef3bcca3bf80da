"""The JSON types of the fields the API server reads (what decoding into the
Go structs checks in the real server): a request whose spec.containers is a
string is answered 400 before defaulting or validation look at it."""
from __future__ import annotations

import json
from typing import Any

from ..resources import Resource
from ..store import ApiError

# A shape: a Python type, [shape] for a list, {"*": shape} for a map with
# values of one shape, or {field: shape} for an object (other fields free).
STR, INT, BOOL, NUM = str, int, bool, float
STRMAP = {"*": STR}
ANY = object
_SELECTOR = {"matchLabels": STRMAP, "matchExpressions": [{"key": STR, "operator": STR, "values": [STR]}]}
_PROBE = {"httpGet": {"path": STR}, "tcpSocket": {}, "exec": {"command": [STR]}, "periodSeconds": INT,
          "timeoutSeconds": INT, "initialDelaySeconds": INT, "failureThreshold": INT, "successThreshold": INT}
_CONTAINER = {
    "name": STR, "image": STR, "command": [STR], "args": [STR], "workingDir": STR,
    "ports": [{"containerPort": INT, "name": STR, "protocol": STR}],
    "env": [{"name": STR, "value": STR, "valueFrom": {"fieldRef": {"fieldPath": STR},
                                                      "configMapKeyRef": {"name": STR, "key": STR},
                                                      "secretKeyRef": {"name": STR, "key": STR}}}],
    "envFrom": [{"configMapRef": {"name": STR}, "secretRef": {"name": STR}}],
    "resources": {"limits": {"*": ANY}, "requests": {"*": ANY}},
    "volumeMounts": [{"name": STR, "mountPath": STR, "subPath": STR, "readOnly": BOOL}],
    "livenessProbe": _PROBE, "readinessProbe": _PROBE, "startupProbe": _PROBE,
    "securityContext": {}, "lifecycle": {},
}
_POD_SPEC = {
    "containers": [_CONTAINER], "initContainers": [_CONTAINER],
    "volumes": [{"name": STR, "configMap": {"name": STR}, "secret": {"secretName": STR}, "emptyDir": {},
                 "hostPath": {"path": STR}, "persistentVolumeClaim": {"claimName": STR}}],
    "nodeSelector": STRMAP, "restartPolicy": STR, "terminationGracePeriodSeconds": INT, "nodeName": STR,
    "serviceAccountName": STR, "securityContext": {}, "tolerations": [{}], "affinity": {},
    "imagePullSecrets": [{"name": STR}], "readinessGates": [{"conditionType": STR}],
}
_TEMPLATE = {"metadata": {"labels": STRMAP, "annotations": STRMAP}, "spec": _POD_SPEC}
_WORKLOAD = {"replicas": INT, "selector": _SELECTOR, "template": _TEMPLATE, "minReadySeconds": INT,
             "strategy": {}, "updateStrategy": {}, "revisionHistoryLimit": INT, "serviceName": STR,
             "volumeClaimTemplates": [{"metadata": {}, "spec": {}}]}
METADATA = {"name": STR, "generateName": STR, "namespace": STR, "labels": STRMAP, "annotations": STRMAP,
            "resourceVersion": STR, "uid": STR, "finalizers": [STR], "ownerReferences": [
                {"apiVersion": STR, "kind": STR, "name": STR, "uid": STR}]}

SPECS: dict[str, dict] = {
    "Pod": {"spec": _POD_SPEC},
    "Deployment": {"spec": _WORKLOAD}, "ReplicaSet": {"spec": _WORKLOAD},
    "StatefulSet": {"spec": _WORKLOAD}, "DaemonSet": {"spec": _WORKLOAD},
    "Job": {"spec": {"template": _TEMPLATE, "selector": _SELECTOR, "completions": INT, "parallelism": INT,
                     "backoffLimit": INT, "activeDeadlineSeconds": INT, "manualSelector": BOOL, "suspend": BOOL}},
    "Service": {"spec": {"type": STR, "selector": STRMAP, "clusterIP": STR, "ports": [
        {"port": INT, "name": STR, "protocol": STR, "nodePort": INT}]}},
    "Namespace": {"spec": {"finalizers": [STR]}},
    "ConfigMap": {}, "Secret": {},
    "Endpoints": {"subsets": [{"addresses": [{"ip": STR}], "ports": [{"port": INT}]}]},
    "PersistentVolumeClaim": {"spec": {"accessModes": [STR], "resources": {"requests": {"*": ANY}},
                                       "volumeName": STR, "storageClassName": STR}},
    "HorizontalPodAutoscaler": {"spec": {"scaleTargetRef": {"kind": STR, "name": STR}, "minReplicas": INT,
                                         "maxReplicas": INT, "metrics": [{}]}},
    "PodDisruptionBudget": {"spec": {"selector": _SELECTOR}},
    "Node": {"spec": {"unschedulable": BOOL, "taints": [{}]}},
}

_NAMES = {str: "a string", int: "an integer", bool: "a boolean", float: "a number"}


def _type_name(value: Any) -> str:
    return {str: "string", int: "number", float: "number", bool: "bool", list: "array", dict: "object"}.get(
        type(value), "null")


def _check(value: Any, shape: Any, path: str, errs: list[str]) -> None:
    if value is None or shape is ANY:
        return  # null is "unset", as in the Go decoder
    if isinstance(shape, list):
        if not isinstance(value, list):
            errs.append(f"{path}: expected an array, got {_type_name(value)} {json.dumps(value)[:60]}")
            return
        for i, item in enumerate(value):
            _check(item, shape[0], f"{path}[{i}]", errs)
    elif isinstance(shape, dict):
        if not isinstance(value, dict):
            errs.append(f"{path}: expected an object, got {_type_name(value)} {json.dumps(value)[:60]}")
            return
        if "*" in shape:
            for k, v in value.items():
                _check(v, shape["*"], f"{path}[{k}]", errs)
        else:
            for k, sub in shape.items():
                if k in value:
                    _check(value[k], sub, f"{path}.{k}" if path else k, errs)
    elif shape is int:
        if not isinstance(value, int) or isinstance(value, bool):
            errs.append(f"{path}: expected an integer, got {_type_name(value)} {json.dumps(value)[:60]}")
    elif shape is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            errs.append(f"{path}: expected a number, got {_type_name(value)} {json.dumps(value)[:60]}")
    elif not isinstance(value, shape):
        errs.append(f"{path}: expected {_NAMES.get(shape, shape.__name__)}, got {_type_name(value)} "
                    f"{json.dumps(value)[:60]}")


def check(res: Resource, obj: dict) -> None:
    """Raise 400 naming every field of the wrong JSON type."""
    errs: list[str] = []
    _check(obj, {"metadata": METADATA, **SPECS.get(res.kind, {})}, "", errs)
    if res.kind in ("ConfigMap", "Secret"):
        for field in ("data", "stringData", "binaryData"):
            _check(obj.get(field), STRMAP, field, errs)
    if errs:
        raise ApiError(400, "BadRequest", f'{res.kind} in version "{res.version}" cannot be handled as a '
                                          f"{res.kind}: " + "; ".join(errs[:5]))
