"""The patch formats of PATCH requests, as pure functions on JSON values:
JSON merge patch (RFC 7386), Kubernetes strategic merge patch (for the lists
kubectl and the runbook touch) and JSON patch (RFC 6902)."""
from __future__ import annotations

import copy
from typing import Any

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
TYPES = (MERGE, STRATEGIC, JSON_PATCH, APPLY)


class PatchError(ValueError):
    """A patch that cannot be applied (answered with 422, or 400 when malformed)."""


# -- JSON merge patch ---------------------------------------------------------
def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


# -- strategic merge patch ----------------------------------------------------
# Merge keys of the lists the Kubernetes types declare with patchStrategy=merge
# (by field name; "ports" depends on where it sits, see _merge_key).
_MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "conditions": "type", "imagePullSecrets": "name", "hostAliases": "ip",
    "ownerReferences": "uid", "topologySpreadConstraints": "topologyKey",
    "addresses": "type", "resourceClaims": "name", "containerStatuses": "name",
    "initContainerStatuses": "name",
}
_PRIMITIVE_SETS = {"finalizers"}  # lists of scalars merged as sets


def _merge_key(field: str, path: tuple[str, ...]) -> str | None:
    if field == "ports":
        # Service ports merge on port, container ports on containerPort.
        if path[-1:] == ("spec",) and "template" not in path and "containers" not in path:
            return "port"
        return "containerPort"
    return _MERGE_KEYS.get(field)


def strategic_merge_patch(target: Any, patch: Any, path: tuple[str, ...] = ()) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    deferred_deletes: dict[str, list] = {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            deferred_deletes[key.split("/", 1)[1]] = value or []
            continue
        if value is None:
            out.pop(key, None)
        elif isinstance(value, list):
            out[key] = _merge_list(out.get(key), value, key, path)
        elif isinstance(value, dict):
            merged = strategic_merge_patch(out.get(key), value, path + (key,))
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
        else:
            out[key] = value
    for key, values in deferred_deletes.items():
        if isinstance(out.get(key), list):
            out[key] = [v for v in out[key] if v not in values]
    return out


def _merge_list(current: Any, patch: list, field: str, path: tuple[str, ...]) -> list:
    if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
        return [copy.deepcopy(p) for p in patch if not (isinstance(p, dict) and "$patch" in p)]
    current = current if isinstance(current, list) else []
    if field in _PRIMITIVE_SETS:
        out = list(current)
        for v in patch:
            if v not in out:
                out.append(v)
        return out
    key = _merge_key(field, path)
    if key is None or not all(isinstance(p, dict) for p in patch):
        return [copy.deepcopy(p) for p in patch]
    out = [copy.deepcopy(c) for c in current]
    for item in patch:
        if key not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {key}")
        idx = next((i for i, c in enumerate(out) if isinstance(c, dict) and c.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
            continue
        if idx is None:
            out.append(strategic_merge_patch({}, item, path + (field,)))
        else:
            out[idx] = strategic_merge_patch(out[idx], item, path + (field,))
    return out


# -- JSON patch ---------------------------------------------------------------
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}: it must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str], op: str) -> Any:
    cur = doc
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise PatchError(f"{op} operation does not apply: doc is missing path: /{'/'.join(parts)}")
    return cur


def _index(container: list, token: str, op: str, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or int(token) > len(container) - (0 if allow_end else 1):
        raise PatchError(f"{op} operation does not apply: index {token} out of range")
    return int(token)


def _add(doc: Any, parts: list[str], value: Any, op: str) -> Any:
    if not parts:
        return copy.deepcopy(value)
    parent = _walk(doc, parts[:-1], op)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, op, True), copy.deepcopy(value))
    else:
        raise PatchError(f"{op} operation does not apply: doc is missing path: /{'/'.join(parts)}")
    return doc


def _remove(doc: Any, parts: list[str], op: str) -> Any:
    if not parts:
        raise PatchError(f"{op} operation cannot remove the whole document")
    parent = _walk(doc, parts[:-1], op)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, op, False))
    raise PatchError(f"{op} operation does not apply: doc is missing path: /{'/'.join(parts)}")


def json_patch(doc: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid JSON patch operation {op!r}: it needs 'op' and 'path'")
        kind, parts = op["op"], _pointer(op["path"])
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"{kind} operation on {op['path']} needs a 'value'")
        if kind == "add":
            doc = _add(doc, parts, op["value"], kind)
        elif kind == "remove":
            _remove(doc, parts, kind)
        elif kind == "replace":
            _walk(doc, parts, kind)
            if parts:
                _remove(doc, parts, kind)
            doc = _add(doc, parts, op["value"], kind)
        elif kind in ("move", "copy"):
            if "from" not in op:
                raise PatchError(f"{kind} operation on {op['path']} needs a 'from'")
            src = _pointer(op["from"])
            value = _remove(doc, src, kind) if kind == "move" else copy.deepcopy(_walk(doc, src, kind))
            doc = _add(doc, parts, value, kind)
        elif kind == "test":
            if _walk(doc, parts, kind) != op["value"]:
                raise PatchError(f"testing value {op['path']} failed")
        else:
            raise PatchError(f"unknown JSON patch operation {kind!r}")
    return doc


def apply(target: dict, patch: Any, content_type: str) -> Any:
    """The patched object; server-side apply is a strategic merge of the
    applied configuration (best effort: no field ownership)."""
    if content_type == MERGE:
        return merge_patch(target, patch)
    if content_type in (STRATEGIC, APPLY):
        if not isinstance(patch, dict):
            raise PatchError("a strategic merge patch must be a JSON object")
        return strategic_merge_patch(target, patch)
    if content_type == JSON_PATCH:
        return json_patch(target, patch)
    raise PatchError(f"unsupported patch type {content_type!r}")
