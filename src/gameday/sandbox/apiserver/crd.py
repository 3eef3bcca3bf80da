"""CustomResourceDefinitions (apiextensions.k8s.io/v1): the resources they
define, served like the built-in ones (list, get, create, update, patch,
delete, watch, discovery), namespaced or cluster scoped.

The definitions live in the store; the custom resources of the moment are
derived from them on each request (a handful of objects, so no cache to keep
in step). Each served version of a definition is one `Resource`; all its
versions share one storage (the store keys by group and plural), as a real
API server stores one version and converts with the `None` strategy.
Not done: OpenAPI schema validation and pruning, conversion webhooks,
the scale subresource, printer columns other than NAME and AGE."""
from __future__ import annotations

import re

from .. import resources as R
from ..resources import Resource
from ..store import ApiError, Store, now_iso
from . import validation

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def resources_of(crd: dict) -> list[Resource]:
    """One Resource per served version of a definition."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    for v in spec.get("versions") or []:
        if not isinstance(v, dict) or not v.get("served", True):
            continue
        subs = ("status",) if isinstance((v.get("subresources") or {}).get("status"), dict) else ()
        out.append(Resource(spec.get("group", ""), str(v.get("name", "")), names.get("plural", ""),
                            names.get("kind", ""), namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                            short_names=tuple(names.get("shortNames") or ()),
                            categories=tuple(names.get("categories") or ()), subresources=subs))
    return out


def custom_resources(store: Store) -> list[Resource]:
    """The custom resources every established definition serves now."""
    crds, _ = store.list(R.CRD)
    return [res for crd in crds if not crd["metadata"].get("deletionTimestamp") for res in resources_of(crd)]


def by_kind(store: Store, api_version: str, kind: str) -> Resource | None:
    return next((r for r in custom_resources(store) if r.api_version == api_version and r.kind == kind), None)


def _errors(crd: dict) -> list[validation.FieldError]:
    F = validation.FieldError
    errs: list[validation.FieldError] = []
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return [F("spec", "Required value")]
    group, names = spec.get("group"), spec.get("names")
    if not isinstance(group, str) or "." not in group:
        errs.append(F("spec.group", "Invalid value", f'"{group}": should be a domain with at least one dot'))
    if not isinstance(names, dict):
        errs.append(F("spec.names", "Required value"))
        names = {}
    plural, kind = names.get("plural"), names.get("kind")
    if not isinstance(plural, str) or not _DNS_LABEL.match(plural):
        errs.append(F("spec.names.plural", "Invalid value", f'"{plural}": a lowercase RFC 1123 label'))
    if not isinstance(kind, str) or not kind:
        errs.append(F("spec.names.kind", "Required value"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        errs.append(F("spec.scope", "Unsupported value", f'"{spec.get("scope")}": supported values: "Cluster", '
                      '"Namespaced"'))
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        errs.append(F("spec.versions", "Invalid value", "must have exactly one version marked as storage version"))
    else:
        if sum(1 for v in versions if isinstance(v, dict) and v.get("storage")) != 1:
            errs.append(F("spec.versions", "Invalid value", "must have exactly one version marked as storage "
                          "version"))
        for i, v in enumerate(versions):
            if not isinstance(v, dict) or not isinstance(v.get("name"), str) or not _DNS_LABEL.match(v["name"]):
                errs.append(F(f"spec.versions[{i}].name", "Invalid value", "a DNS-1035 label"))
    name = (crd.get("metadata") or {}).get("name")
    if isinstance(plural, str) and isinstance(group, str) and name != f"{plural}.{group}":
        errs.append(F("metadata.name", "Invalid value", f'"{name}": must be spec.names.plural+"."+spec.group'))
    if any(r.group == group and r.plural == plural for r in R.RESOURCES):
        errs.append(F("spec.group", "Invalid value", f'"{group}": served by the API server itself'))
    return errs


def admit(store: Store):
    """An admission plugin: validates definitions and sets their status the
    way the apiextensions controllers do (names accepted, established)."""
    def plugin(op: str, res: Resource, obj: dict, old: dict | None) -> None:
        if res.kind != "CustomResourceDefinition":
            return
        name = (obj.get("metadata") or {}).get("name") or ""
        validation.raise_invalid(res, name, _errors(obj))
        spec = obj["spec"]
        for other in store.list(R.CRD)[0]:
            o = other.get("spec") or {}
            if other["metadata"]["name"] != name and o.get("group") == spec["group"] and \
                    (o.get("names") or {}).get("kind") == spec["names"]["kind"]:
                validation.raise_invalid(res, name, [validation.FieldError(
                    "spec.names.kind", "Invalid value", f'"{spec["names"]["kind"]}" is already in use')])
        names = dict(spec["names"])
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
        spec["names"] = names
        now = now_iso()
        obj["status"] = {
            "acceptedNames": names,
            "storedVersions": [v["name"] for v in spec["versions"] if v.get("storage")],
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": now},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": now},
            ]}
    return plugin


def delete_instances(store: Store, crd: dict) -> int:
    """Remove every object of a deleted definition (as the real finalizer
    `customresourcecleanup` does before the definition goes)."""
    gone = 0
    for res in resources_of(crd)[:1]:  # one storage for all versions
        for obj in store.list(res)[0]:
            try:
                store.delete(res, obj["metadata"].get("namespace"), obj["metadata"]["name"], 0)
                gone += 1
            except ApiError as err:
                if err.code != 404:
                    raise
    return gone
