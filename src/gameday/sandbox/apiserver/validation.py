"""Validation of objects before any write, with the real API server's field
paths and wording ("Pod "x" is invalid: spec.containers[0].image: Required
value"). Pure functions: they read the object and raise ApiError."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..resources import Resource
from ..selectors import SelectorError, labels_match, selector_from_match
from ..store import ApiError

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$")
# Names that must be DNS labels (they become host names or DNS records).
_LABEL_NAMED = {"namespaces", "services"}


@dataclass(frozen=True)
class FieldError:
    field: str
    kind: str  # Required value, Invalid value, Forbidden, Unsupported value, Duplicate value
    detail: str = ""

    def text(self) -> str:
        return f"{self.field}: {self.kind}" + (f": {self.detail}" if self.detail else "")


_REASONS = {"Required value": "FieldValueRequired", "Invalid value": "FieldValueInvalid",
            "Forbidden": "FieldValueForbidden", "Unsupported value": "FieldValueNotSupported",
            "Duplicate value": "FieldValueDuplicate"}


def raise_invalid(res: Resource, name: str, errors: list[FieldError]) -> None:
    if not errors:
        return
    text = errors[0].text() if len(errors) == 1 else "[" + ", ".join(e.text() for e in errors) + "]"
    raise ApiError(422, "Invalid", f'{res.kind} "{name}" is invalid: {text}', {
        "name": name, "group": res.group, "kind": res.kind,
        "causes": [{"reason": _REASONS.get(e.kind, "FieldValueInvalid"), "message": e.kind
                    + (f": {e.detail}" if e.detail else ""), "field": e.field} for e in errors]})


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def _is_map(v: Any) -> bool:
    return isinstance(v, dict)


def _metadata(res: Resource, obj: dict, errs: list[FieldError]) -> None:
    meta = obj.get("metadata")
    if not _is_map(meta):
        errs.append(FieldError("metadata", "Required value"))
        return
    name = meta.get("name")
    if name is not None and not isinstance(name, str):
        errs.append(FieldError("metadata.name", "Invalid value", f"{name!r}: must be a string"))
    elif name:
        pattern, what = (_DNS_LABEL, "a lowercase RFC 1123 label") if res.plural in _LABEL_NAMED \
            else (_DNS_SUBDOMAIN, "a lowercase RFC 1123 subdomain")
        limit = 63 if res.plural in _LABEL_NAMED else 253
        if not pattern.match(name) or len(name) > limit:
            errs.append(FieldError("metadata.name", "Invalid value",
                                   f'"{name}": a name must be {what} (lower case alphanumeric characters, '
                                   "'-' or '.', starting and ending with an alphanumeric character)"))
    for field in ("labels", "annotations"):
        val = meta.get(field)
        if val is None:
            continue
        if not _is_map(val):
            errs.append(FieldError(f"metadata.{field}", "Invalid value", "must be a map of strings"))
            continue
        for k, v in val.items():
            if not isinstance(v, str):
                errs.append(FieldError(f"metadata.{field}", "Invalid value",
                                       f"{k}: {v!r}: values must be strings"))
            elif field == "labels" and (len(v) > 63 or not _LABEL_VALUE.match(v)):
                errs.append(FieldError("metadata.labels", "Invalid value",
                                       f'"{v}": a valid label must be an empty string or consist of '
                                       "alphanumeric characters, '-', '_' or '.'"))
            key_name = k.rsplit("/", 1)[-1]
            if not _LABEL_NAME.match(key_name) or len(key_name) > 63:
                errs.append(FieldError(f"metadata.{field}", "Invalid value", f'"{k}": name part must consist '
                                       "of alphanumeric characters, '-', '_' or '.'"))


def _quantities(path: str, resources: Any, errs: list[FieldError]) -> None:
    if resources is None:
        return
    if not _is_map(resources):
        errs.append(FieldError(path, "Invalid value", "must be a map"))
        return
    for part in ("limits", "requests"):
        for k, v in (resources.get(part) or {}).items():
            if isinstance(v, bool) or not _QUANTITY.match(str(v)):
                errs.append(FieldError(f"{path}.{part}[{k}]", "Invalid value",
                                       f'"{v}": quantities must match the regular expression '
                                       "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"))


def _containers(path: str, containers: Any, errs: list[FieldError], required: bool) -> set[str]:
    names: set[str] = set()
    if containers is None or containers == []:
        if required:
            errs.append(FieldError(path, "Required value"))
        return names
    if not isinstance(containers, list):
        errs.append(FieldError(path, "Invalid value", "must be a list of containers"))
        return names
    for i, c in enumerate(containers):
        p = f"{path}[{i}]"
        if not _is_map(c):
            errs.append(FieldError(p, "Invalid value", "must be a container object"))
            continue
        name = c.get("name")
        if not name:
            errs.append(FieldError(f"{p}.name", "Required value"))
        elif not isinstance(name, str) or not _DNS_LABEL.match(name):
            errs.append(FieldError(f"{p}.name", "Invalid value", f"{name!r}: must be a lowercase RFC 1123 label"))
        elif name in names:
            errs.append(FieldError(f"{p}.name", "Duplicate value", f'"{name}"'))
        else:
            names.add(name)
        if not c.get("image") or not isinstance(c.get("image"), str):
            errs.append(FieldError(f"{p}.image", "Required value"))
        for field in ("command", "args"):
            if c.get(field) is not None and (not isinstance(c[field], list)
                                             or not all(isinstance(a, str) for a in c[field])):
                errs.append(FieldError(f"{p}.{field}", "Invalid value", "must be a list of strings"))
        for j, port in enumerate(c.get("ports") or []):
            cp = port.get("containerPort") if _is_map(port) else None
            if not isinstance(cp, int) or isinstance(cp, bool) or not 1 <= cp <= 65535:
                errs.append(FieldError(f"{p}.ports[{j}].containerPort", "Invalid value" if cp else
                                       "Required value", f"{cp}: must be between 1 and 65535, inclusive"
                                       if cp else ""))
        for j, env in enumerate(c.get("env") or []):
            if not _is_map(env) or not env.get("name"):
                errs.append(FieldError(f"{p}.env[{j}].name", "Required value"))
            elif env.get("value") is not None and not isinstance(env["value"], str):
                errs.append(FieldError(f"{p}.env[{j}].value", "Invalid value",
                                       f"{env['value']!r}: must be a string (quote it in YAML)"))
        _quantities(f"{p}.resources", c.get("resources"), errs)
    return names


def pod_spec(path: str, spec: Any, errs: list[FieldError], restart_policies=("Always", "OnFailure", "Never"),
             claim_templates: frozenset = frozenset()) -> None:
    if not _is_map(spec):
        errs.append(FieldError(path, "Required value"))
        return
    names = _containers(f"{path}.containers", spec.get("containers"), errs, required=True)
    init = _containers(f"{path}.initContainers", spec.get("initContainers"), errs, required=False)
    for dup in names & init:
        errs.append(FieldError(f"{path}.initContainers", "Duplicate value", f'"{dup}"'))
    rp = spec.get("restartPolicy")
    if rp is not None and rp not in restart_policies:
        errs.append(FieldError(f"{path}.restartPolicy", "Unsupported value", f'"{rp}": supported values: '
                               + ", ".join(f'"{r}"' for r in restart_policies)))
    vols: set[str] = set(claim_templates)  # a StatefulSet's volumeClaimTemplates are volumes too
    for i, v in enumerate(spec.get("volumes") or []):
        if not _is_map(v) or not v.get("name"):
            errs.append(FieldError(f"{path}.volumes[{i}].name", "Required value"))
        elif v["name"] in vols:
            errs.append(FieldError(f"{path}.volumes[{i}].name", "Duplicate value", f'"{v["name"]}"'))
        else:
            vols.add(v["name"])
    for field in ("containers", "initContainers"):
        for i, c in enumerate(spec.get(field) or []):
            for j, m in enumerate((c.get("volumeMounts") or []) if _is_map(c) else []):
                if not _is_map(m) or m.get("name") not in vols:
                    errs.append(FieldError(f"{path}.{field}[{i}].volumeMounts[{j}].name", "Not found",
                                           f'"{m.get("name") if _is_map(m) else m}"'))
                elif not m.get("mountPath"):
                    errs.append(FieldError(f"{path}.{field}[{i}].volumeMounts[{j}].mountPath", "Required value"))
    grace = spec.get("terminationGracePeriodSeconds")
    if grace is not None and (not isinstance(grace, int) or grace < 0):
        errs.append(FieldError(f"{path}.terminationGracePeriodSeconds", "Invalid value",
                               f"{grace}: must be greater than or equal to 0"))


def _selector_and_template(spec: dict, errs: list[FieldError], restart_policies=("Always",)) -> None:
    sel = spec.get("selector")
    reqs = ()
    if not _is_map(sel) or not (sel.get("matchLabels") or sel.get("matchExpressions")):
        errs.append(FieldError("spec.selector", "Required value" if not sel else "Invalid value",
                               "" if not sel else "empty selector is invalid for deployment"))
    else:
        try:
            reqs = selector_from_match(sel)
        except (KeyError, TypeError, SelectorError) as exc:
            errs.append(FieldError("spec.selector", "Invalid value", f"{sel}: {exc}"))
    tpl = spec.get("template")
    if not _is_map(tpl):
        errs.append(FieldError("spec.template", "Required value"))
        return
    labels = (tpl.get("metadata") or {}).get("labels") if _is_map(tpl.get("metadata")) else None
    if reqs and not labels_match(reqs, labels if _is_map(labels) else {}):
        errs.append(FieldError("spec.template.metadata.labels", "Invalid value",
                               f"{labels}: `selector` does not match template `labels`"))
    claims = frozenset((t.get("metadata") or {}).get("name") for t in spec.get("volumeClaimTemplates") or []
                       if _is_map(t) and _is_map(t.get("metadata")))
    pod_spec("spec.template.spec", tpl.get("spec"), errs, restart_policies, claims)


def _non_negative(spec: dict, field: str, errs: list[FieldError]) -> None:
    v = spec.get(field)
    if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
        errs.append(FieldError(f"spec.{field}", "Invalid value", f"{v}: must be greater than or equal to 0"))


def validate(res: Resource, obj: dict) -> None:
    """Raise 422 Invalid listing every problem of `obj` (a complete object)."""
    errs: list[FieldError] = []
    _metadata(res, obj, errs)
    spec = obj.get("spec")
    kind = res.kind
    if kind == "Pod":
        pod_spec("spec", spec, errs)
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        if not _is_map(spec):
            errs.append(FieldError("spec", "Required value"))
        else:
            _selector_and_template(spec, errs)
            _non_negative(spec, "replicas", errs)
    elif kind == "Job":
        if not _is_map(spec):
            errs.append(FieldError("spec", "Required value"))
        else:
            _selector_and_template(spec, errs, restart_policies=("OnFailure", "Never"))
            for f in ("backoffLimit", "completions", "parallelism", "activeDeadlineSeconds"):
                _non_negative(spec, f, errs)
    elif kind == "Service" and _is_map(spec):
        for i, p in enumerate(spec.get("ports") or []):
            port = p.get("port") if _is_map(p) else None
            if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
                errs.append(FieldError(f"spec.ports[{i}].port", "Required value" if port is None else
                                       "Invalid value", "" if port is None else f"{port}: must be between 1 "
                                       "and 65535, inclusive"))
        t = spec.get("type", "ClusterIP")
        if t not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
            errs.append(FieldError("spec.type", "Unsupported value", f'"{t}": supported values: "ClusterIP", '
                                   '"ExternalName", "LoadBalancer", "NodePort"'))
    elif kind in ("ConfigMap", "Secret"):
        for field in ("data", "stringData", "binaryData"):
            val = obj.get(field)
            if val is None:
                continue
            if not _is_map(val):
                errs.append(FieldError(field, "Invalid value", "must be a map of strings"))
                continue
            for k, v in val.items():
                if not isinstance(v, str):
                    errs.append(FieldError(f"{field}[{k}]", "Invalid value",
                                           f"{v!r}: values must be strings (quote it in YAML)"))
                if not re.match(r"^[-._a-zA-Z0-9]+$", str(k)):
                    errs.append(FieldError(field, "Invalid value", f'"{k}": a valid config key must consist of '
                                           "alphanumeric characters, '-', '_' or '.'"))
    elif kind == "PersistentVolumeClaim":
        if not _is_map(spec) or not spec.get("accessModes"):
            errs.append(FieldError("spec.accessModes", "Required value"))
        if not _is_map(spec) or not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
            errs.append(FieldError("spec.resources[storage]", "Required value"))
        elif _is_map(spec):
            _quantities("spec.resources", spec.get("resources"), errs)
    elif kind == "HorizontalPodAutoscaler":
        if not _is_map(spec) or not _is_map(spec.get("scaleTargetRef")):
            errs.append(FieldError("spec.scaleTargetRef", "Required value"))
        elif not isinstance(spec.get("maxReplicas"), int) or spec["maxReplicas"] < 1:
            errs.append(FieldError("spec.maxReplicas", "Invalid value", f"{spec.get('maxReplicas')}: must be "
                                   "greater than or equal to 1"))
    elif kind == "Ingress":
        _ingress(spec, errs)
    raise_invalid(res, (obj.get("metadata") or {}).get("name") or "", errs)


def _ingress_backend(path: str, backend: Any, errs: list[FieldError]) -> None:
    svc = backend.get("service") if _is_map(backend) else None
    if not _is_map(svc) or not svc.get("name"):
        if not (_is_map(backend) and _is_map(backend.get("resource"))):
            errs.append(FieldError(f"{path}.service.name", "Required value"))
        return
    port = svc.get("port")
    if not _is_map(port) or (port.get("number") is None and not port.get("name")):
        errs.append(FieldError(f"{path}.service.port", "Invalid value", "port name or number is required"))
    elif port.get("number") is not None and (not isinstance(port["number"], int) or not 1 <= port["number"] <= 65535):
        errs.append(FieldError(f"{path}.service.port.number", "Invalid value",
                               f"{port['number']}: must be between 1 and 65535, inclusive"))


def _ingress(spec: Any, errs: list[FieldError]) -> None:
    """networking.k8s.io/v1 Ingress, as its registry validates it."""
    if not _is_map(spec):
        errs.append(FieldError("spec", "Required value"))
        return
    if spec.get("defaultBackend") is not None:
        _ingress_backend("spec.defaultBackend", spec["defaultBackend"], errs)
    elif not spec.get("rules"):
        errs.append(FieldError("spec.rules", "Required value", "either `defaultBackend` or `rules` must be specified"))
    for i, rule in enumerate(spec.get("rules") or []):
        if not _is_map(rule):
            errs.append(FieldError(f"spec.rules[{i}]", "Invalid value", "must be an object"))
            continue
        host = rule.get("host")
        if host and (not isinstance(host, str) or not _DNS_SUBDOMAIN.match(host.removeprefix("*."))):
            errs.append(FieldError(f"spec.rules[{i}].host", "Invalid value", f'"{host}": a lowercase RFC 1123 '
                                   "subdomain, optionally with a leading \"*.\""))
        for j, p in enumerate((rule.get("http") or {}).get("paths") or [] if _is_map(rule.get("http")) else []):
            where = f"spec.rules[{i}].http.paths[{j}]"
            if not _is_map(p):
                errs.append(FieldError(where, "Invalid value", "must be an object"))
                continue
            if p.get("pathType") is None:
                errs.append(FieldError(f"{where}.pathType", "Required value", "pathType must be specified"))
            elif p["pathType"] not in ("Exact", "Prefix", "ImplementationSpecific"):
                errs.append(FieldError(f"{where}.pathType", "Unsupported value", f'"{p["pathType"]}": supported '
                                       'values: "Exact", "ImplementationSpecific", "Prefix"'))
            if p.get("pathType") in ("Exact", "Prefix") and not str(p.get("path") or "").startswith("/"):
                errs.append(FieldError(f"{where}.path", "Invalid value", f'"{p.get("path")}": must be an absolute '
                                       "path"))
            _ingress_backend(f"{where}.backend", p.get("backend"), errs)
    for i, t in enumerate(spec.get("tls") or []):
        if not _is_map(t):
            errs.append(FieldError(f"spec.tls[{i}]", "Invalid value", "must be an object"))


_POD_MUTABLE = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds")


def validate_update(res: Resource, old: dict, new: dict) -> None:
    """Immutable fields, as the real registry strategies enforce them."""
    errs: list[FieldError] = []
    name = old["metadata"]["name"]
    if res.kind == "Pod":
        def strip(spec: dict) -> dict:
            spec = {k: v for k, v in (spec or {}).items() if k not in _POD_MUTABLE}
            # The deprecated alias the defaults fill in (pods a controller made never had it).
            if spec.get("serviceAccount") == spec.get("serviceAccountName"):
                spec.pop("serviceAccount", None)
            for f in ("containers", "initContainers"):
                spec[f] = [{k: v for k, v in c.items() if k != "image"} for c in spec.get(f) or [] if _is_map(c)]
            return spec
        if strip(old.get("spec")) != strip(new.get("spec")):
            errs.append(FieldError("spec", "Forbidden", "pod updates may not change fields other than "
                                   "`spec.containers[*].image`, `spec.initContainers[*].image`, "
                                   "`spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to "
                                   "existing tolerations), `spec.terminationGracePeriodSeconds` (allow it "
                                   "to be set to 1 if it was previously negative)"))
    elif res.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
        if (old.get("spec") or {}).get("selector") != (new.get("spec") or {}).get("selector"):
            errs.append(FieldError("spec.selector", "Invalid value",
                                   f"{(new.get('spec') or {}).get('selector')}: field is immutable"))
        if res.kind == "Job" and (old.get("spec") or {}).get("template") != (new.get("spec") or {}).get("template"):
            errs.append(FieldError("spec.template", "Invalid value", "field is immutable"))
    elif res.kind == "Service":
        old_ip = (old.get("spec") or {}).get("clusterIP")
        new_ip = (new.get("spec") or {}).get("clusterIP")
        if old_ip and new_ip and old_ip != new_ip:
            errs.append(FieldError("spec.clusterIP", "Invalid value", f'"{new_ip}": field is immutable'))
    raise_invalid(res, name, errs)
