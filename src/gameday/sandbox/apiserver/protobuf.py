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
SCHEMAS: dict[tuple[str, str], dict] = {
    ("v1", "Namespace"): {1: ("metadata", _OBJECT_META), 2: ("spec", {1: ("finalizers", "strlist")})},
    ("v1", "ConfigMap"): {1: ("metadata", _OBJECT_META), 2: ("data", "strmap"), 3: ("binaryData", "bytesmap"),
                          4: ("immutable", "bool")},
    ("v1", "Secret"): {1: ("metadata", _OBJECT_META), 2: ("data", "bytesmap"), 3: ("type", "str"),
                       4: ("stringData", "strmap"), 5: ("immutable", "bool")},
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
        elif isinstance(kind, tuple):
            out.setdefault(name, []).append(_message(value, kind[1]))
        elif kind == "str":
            out[name] = value.decode()
        elif kind == "bytes":
            out[name] = base64.b64encode(value).decode()
        elif kind == "int":
            out[name] = value
        elif kind == "bool":
            out[name] = bool(value)
        elif kind == "strlist":
            out.setdefault(name, []).append(value.decode())
        elif kind in ("strmap", "bytesmap"):
            entry = dict(fields(value))
            key = entry.get(1, b"").decode()
            raw = entry.get(2, b"")
            out.setdefault(name, {})[key] = raw.decode() if kind == "strmap" else base64.b64encode(raw).decode()
        elif kind == _TIME:
            secs = dict(fields(value)).get(1, 0)
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
