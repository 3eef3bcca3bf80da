"""Request bodies in the Kubernetes protobuf encoding, which kubectl's typed
clients send for `kubectl create namespace|configmap|secret|serviceaccount`.
A plain protobuf wire decoder plus the field numbers of those few types (from
k8s.io/api generated.proto); anything else is answered with 415 and a hint."""
from __future__ import annotations

import base64
import datetime as dt
from typing import Any

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"


class ProtobufError(ValueError):
    pass


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(data):
            raise ProtobufError("truncated varint")
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise ProtobufError("varint too long")


def fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs: ints for varints, bytes for length-delimited."""
    out, i = [], 0
    while i < len(data):
        key, i = _varint(data, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            n, i = _varint(data, i)
            if i + n > len(data):
                raise ProtobufError("truncated field")
            value, i = data[i:i + n], i + n
        elif wire == 1:
            value, i = int.from_bytes(data[i:i + 8], "little"), i + 8
        elif wire == 5:
            value, i = int.from_bytes(data[i:i + 4], "little"), i + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.append((num, value))
    return out


# A schema: field number -> (json name, kind), kind one of "str", "bytes"
# (base64 in JSON), "int", "bool", "strlist", "strmap", "bytesmap", "time",
# or a nested schema dict; "list:" + nested for repeated messages.
_TIME = "time"
_OWNER_REF = {1: ("kind", "str"), 3: ("name", "str"), 4: ("uid", "str"), 5: ("apiVersion", "str"),
              6: ("controller", "bool"), 7: ("blockOwnerDeletion", "bool")}
_OBJECT_META = {1: ("name", "str"), 2: ("generateName", "str"), 3: ("namespace", "str"), 5: ("uid", "str"),
                6: ("resourceVersion", "str"), 7: ("generation", "int"), 8: ("creationTimestamp", _TIME),
                11: ("labels", "strmap"), 12: ("annotations", "strmap"),
                13: ("ownerReferences", ("list", _OWNER_REF)), 14: ("finalizers", "strlist")}
_OBJECT_REF = {1: ("kind", "str"), 2: ("namespace", "str"), 3: ("name", "str"), 4: ("uid", "str"),
               5: ("apiVersion", "str"), 6: ("resourceVersion", "str"), 7: ("fieldPath", "str")}
_LOCAL_REF = {1: ("name", "str")}
_QUANTITY_MAP = "quantitymap"  # map<string, Quantity{string = 1}>
_INT_OR_STRING = "intorstring"  # IntOrString{type = 1, intVal = 2, strVal = 3}
_KEY_SELECTOR = {1: ("localObjectReference", _LOCAL_REF), 2: ("key", "str"), 3: ("optional", "bool")}
_ENV_VAR = {1: ("name", "str"), 2: ("value", "str"),
            3: ("valueFrom", {1: ("fieldRef", {1: ("apiVersion", "str"), 2: ("fieldPath", "str")}),
                              3: ("configMapKeyRef", _KEY_SELECTOR), 4: ("secretKeyRef", _KEY_SELECTOR)})}
_CONTAINER = {1: ("name", "str"), 2: ("image", "str"), 3: ("command", "strlist"), 4: ("args", "strlist"),
              5: ("workingDir", "str"),
              6: ("ports", ("list", {1: ("name", "str"), 2: ("hostPort", "int0"), 3: ("containerPort", "int"),
                                     4: ("protocol", "str")})),
              7: ("env", ("list", _ENV_VAR)),
              8: ("resources", {1: ("limits", _QUANTITY_MAP), 2: ("requests", _QUANTITY_MAP)}),
              9: ("volumeMounts", ("list", {1: ("name", "str"), 2: ("readOnly", "bool"), 3: ("mountPath", "str"),
                                            4: ("subPath", "str")})),
              13: ("terminationMessagePath", "str"), 14: ("imagePullPolicy", "str"), 16: ("stdin", "bool"),
              17: ("stdinOnce", "bool"), 18: ("tty", "bool"), 20: ("terminationMessagePolicy", "str")}
_POD_SPEC = {2: ("containers", ("list", _CONTAINER)), 3: ("restartPolicy", "str"),
             4: ("terminationGracePeriodSeconds", "int"), 5: ("activeDeadlineSeconds", "int"),
             6: ("dnsPolicy", "str"), 7: ("nodeSelector", "strmap"), 8: ("serviceAccountName", "str"),
             10: ("nodeName", "str"), 20: ("initContainers", ("list", _CONTAINER)), 19: ("schedulerName", "str")}
_TEMPLATE = {1: ("metadata", _OBJECT_META), 2: ("spec", _POD_SPEC)}
_LABEL_SELECTOR = {1: ("matchLabels", "strmap"),
                   2: ("matchExpressions", ("list", {1: ("key", "str"), 2: ("operator", "str"),
                                                     3: ("values", "strlist")}))}
_JOB_SPEC = {1: ("parallelism", "int"), 2: ("completions", "int"), 3: ("activeDeadlineSeconds", "int"),
             4: ("selector", _LABEL_SELECTOR), 5: ("manualSelector", "bool"), 6: ("template", _TEMPLATE),
             7: ("backoffLimit", "int"), 8: ("ttlSecondsAfterFinished", "int"), 9: ("completionMode", "str"),
             10: ("suspend", "bool")}
_DEPLOYMENT_SPEC = {1: ("replicas", "int"), 2: ("selector", _LABEL_SELECTOR), 3: ("template", _TEMPLATE),
                    4: ("strategy", {1: ("type", "str"), 2: ("rollingUpdate", {1: ("maxUnavailable", _INT_OR_STRING),
                                                                             2: ("maxSurge", _INT_OR_STRING)})}),
                    5: ("minReadySeconds", "int0"), 6: ("revisionHistoryLimit", "int"), 7: ("paused", "bool"),
                    9: ("progressDeadlineSeconds", "int")}
_SERVICE_SPEC = {1: ("ports", ("list", {1: ("name", "str"), 2: ("protocol", "str"), 3: ("port", "int"),
                                        4: ("targetPort", _INT_OR_STRING), 5: ("nodePort", "int0"),
                                        6: ("appProtocol", "str")})),
                 2: ("selector", "strmap"), 3: ("clusterIP", "str"), 4: ("type", "str"),
                 5: ("externalIPs", "strlist"), 7: ("sessionAffinity", "str"), 8: ("loadBalancerIP", "str"),
                 10: ("externalName", "str"), 11: ("externalTrafficPolicy", "str"),
                 12: ("healthCheckNodePort", "int0"), 13: ("publishNotReadyAddresses", "bool")}
_POLICY_RULE = {1: ("verbs", "strlist"), 2: ("apiGroups", "strlist"), 3: ("resources", "strlist"),
                4: ("resourceNames", "strlist"), 5: ("nonResourceURLs", "strlist")}
_BINDING = {1: ("metadata", _OBJECT_META),
            2: ("subjects", ("list", {1: ("kind", "str"), 2: ("apiGroup", "str"), 3: ("name", "str"),
                                      4: ("namespace", "str")})),
            3: ("roleRef", {1: ("apiGroup", "str"), 2: ("kind", "str"), 3: ("name", "str")})}
_INGRESS_BACKEND = {4: ("service", {1: ("name", "str"), 2: ("port", {1: ("name", "str"), 2: ("number", "int0")})})}
_INGRESS_SPEC = {1: ("defaultBackend", _INGRESS_BACKEND),
                 2: ("tls", ("list", {1: ("hosts", "strlist"), 2: ("secretName", "str")})),
                 3: ("rules", ("list", {1: ("host", "str"), 2: ("", ("inline", {1: ("http", {1: ("paths", ("list", {
                     1: ("path", "str"), 2: ("backend", _INGRESS_BACKEND), 3: ("pathType", "str")}))})}))})),
                 4: ("ingressClassName", "str")}
_RESOURCE_ATTRIBUTES = {1: ("namespace", "str"), 2: ("verb", "str"), 3: ("group", "str"), 4: ("version", "str"),
                        5: ("resource", "str"), 6: ("subresource", "str"), 7: ("name", "str")}
_NON_RESOURCE_ATTRIBUTES = {1: ("path", "str"), 2: ("verb", "str")}
_DELETE_OPTIONS = {1: ("gracePeriodSeconds", "int"), 2: ("preconditions", {1: ("uid", "str"), 2: ("resourceVersion", "str")}),
                   3: ("orphanDependents", "bool"), 4: ("propagationPolicy", "str"), 5: ("dryRun", "strlist")}
SCHEMAS: dict[tuple[str, str], dict] = {
    ("apps/v1", "Deployment"): {1: ("metadata", _OBJECT_META), 2: ("spec", _DEPLOYMENT_SPEC)},
    ("v1", "Service"): {1: ("metadata", _OBJECT_META), 2: ("spec", _SERVICE_SPEC)},
    ("rbac.authorization.k8s.io/v1", "Role"): {1: ("metadata", _OBJECT_META), 2: ("rules", ("list", _POLICY_RULE))},
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): {1: ("metadata", _OBJECT_META),
                                                      2: ("rules", ("list", _POLICY_RULE))},
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): _BINDING,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): _BINDING,
    ("networking.k8s.io/v1", "Ingress"): {1: ("metadata", _OBJECT_META), 2: ("spec", _INGRESS_SPEC)},
    ("policy/v1", "PodDisruptionBudget"): {1: ("metadata", _OBJECT_META), 2: ("spec", {
        1: ("minAvailable", _INT_OR_STRING), 2: ("selector", _LABEL_SELECTOR), 3: ("maxUnavailable", _INT_OR_STRING),
        4: ("unhealthyPodEvictionPolicy", "str")})},
    ("batch/v1", "Job"): {1: ("metadata", _OBJECT_META), 2: ("spec", _JOB_SPEC)},
    ("v1", "Pod"): {1: ("metadata", _OBJECT_META), 2: ("spec", _POD_SPEC)},
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): {
        1: ("metadata", _OBJECT_META),
        2: ("spec", {1: ("resourceAttributes", _RESOURCE_ATTRIBUTES),
                     2: ("nonResourceAttributes", _NON_RESOURCE_ATTRIBUTES)})},
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): {
        1: ("metadata", _OBJECT_META), 2: ("spec", {1: ("namespace", "str")})},
    ("authentication.k8s.io/v1", "SelfSubjectReview"): {1: ("metadata", _OBJECT_META)},
    ("authentication.k8s.io/v1", "TokenRequest"): {
        1: ("metadata", _OBJECT_META),
        2: ("spec", {1: ("audiences", "strlist"), 4: ("expirationSeconds", "int"),
                     3: ("boundObjectRef", {1: ("kind", "str"), 2: ("apiVersion", "str"), 3: ("name", "str"),
                                            4: ("uid", "str")})})},
    ("v1", "Namespace"): {1: ("metadata", _OBJECT_META), 2: ("spec", {1: ("finalizers", "strlist")})},
    ("v1", "ConfigMap"): {1: ("metadata", _OBJECT_META), 2: ("data", "strmap"), 3: ("binaryData", "bytesmap"),
                          4: ("immutable", "bool")},
    ("v1", "Secret"): {1: ("metadata", _OBJECT_META), 2: ("data", "bytesmap"), 3: ("type", "str"),
                       4: ("stringData", "strmap"), 5: ("immutable", "bool")},
    # A delete's body: Helm's storage and other typed clients send it as protobuf, tagged with the
    # group version of the object they delete (meta/v1's DeleteOptions is registered in each).
    **{(gv, "DeleteOptions"): _DELETE_OPTIONS for gv in ("v1", "meta.k8s.io/v1", "apps/v1", "batch/v1")},
    ("v1", "ServiceAccount"): {1: ("metadata", _OBJECT_META), 2: ("secrets", ("list", _OBJECT_REF)),
                               3: ("imagePullSecrets", ("list", _LOCAL_REF)),
                               4: ("automountServiceAccountToken", "bool")},
}


def _message(data: bytes, schema: dict) -> dict:
    out: dict[str, Any] = {}
    for num, value in fields(data):
        if num not in schema:
            continue  # a field this decoder does not know: dropped, as an older server would
        name, kind = schema[num]
        if isinstance(kind, dict):
            out[name] = _message(value, kind)
        elif isinstance(kind, tuple) and kind[0] == "inline":  # an embedded struct JSON writes inline
            out.update(_message(value, kind[1]))
        elif isinstance(kind, tuple):
            out.setdefault(name, []).append(_message(value, kind[1]))
        elif kind == "str":
            if value:  # Go writes empty strings too; JSON (omitempty) would not, and defaulting needs them absent
                out[name] = value.decode()
        elif kind == "bytes":
            out[name] = base64.b64encode(value).decode()
        elif kind == "int":
            out[name] = value
        elif kind == "int0":  # a non-pointer int: Go writes 0, JSON (omitempty) would leave it out
            if value:
                out[name] = value
        elif kind == _INT_OR_STRING:
            ios = dict(fields(value))
            out[name] = ios.get(3, b"").decode() if ios.get(1) == 1 else ios.get(2, 0)
        elif kind == "bool":
            out[name] = bool(value)
        elif kind == "strlist":
            out.setdefault(name, []).append(value.decode())
        elif kind in ("strmap", "bytesmap"):
            entry = dict(fields(value))
            key = entry.get(1, b"").decode()
            raw = entry.get(2, b"")
            out.setdefault(name, {})[key] = raw.decode() if kind == "strmap" else base64.b64encode(raw).decode()
        elif kind == _QUANTITY_MAP:
            entry = dict(fields(value))
            quantity = dict(fields(entry.get(2, b"")))
            out.setdefault(name, {})[entry.get(1, b"").decode()] = quantity.get(1, b"").decode()
        elif kind == _TIME:
            secs = dict(fields(value)).get(1, 0)
            if secs:  # the zero time is Go's "unset"
                out[name] = dt.datetime.fromtimestamp(secs, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def decode(body: bytes) -> dict:
    """A JSON-shaped object from a protobuf-encoded request body."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the Kubernetes protobuf magic number")
    unknown = dict(fields(body[len(MAGIC):]))
    type_meta = dict(fields(unknown.get(1, b"")))
    api_version, kind = type_meta.get(1, b"").decode(), type_meta.get(2, b"").decode()
    schema = SCHEMAS.get((api_version, kind))
    if schema is None:
        raise LookupError(f"{api_version} {kind}")
    obj = _message(unknown.get(2, b""), schema)
    obj["apiVersion"], obj["kind"] = api_version, kind
    return obj
