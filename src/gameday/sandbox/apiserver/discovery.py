"""Discovery documents: what kubectl and the clients read to map kinds and
short names to REST paths (the legacy, non-aggregated format: kubectl falls
back to it when the answer is plain application/json)."""
from __future__ import annotations

import hashlib
from typing import Sequence

from ..resources import Resource
from .routing import METRICS_GROUP, METRICS_VERSION, SERVED, groups

KUBE_VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-gameday", "gitCommit": "0" * 40,
                "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23.4",
                "compiler": "gc", "platform": "linux/amd64"}

_READ = ["get", "patch", "update"]

# Subresources: (verbs, kind, group, version) as the real API server lists them.
_SUBRESOURCES = {
    "status": (_READ, None, None, None),
    "scale": (_READ, "Scale", "autoscaling", "v1"),
    "log": (["get"], "Pod", None, None),
    "eviction": (["create"], "Eviction", "policy", "v1"),
    "exec": (["create", "get"], "PodExecOptions", None, None),
    "attach": (["create", "get"], "PodAttachOptions", None, None),
    "token": (["create"], "TokenRequest", "authentication.k8s.io", "v1"),
}


def version() -> dict:
    return dict(KUBE_VERSION)


def api_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_doc(name: str, versions: list[str]) -> dict:
    vs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": vs, "preferredVersion": vs[0]}


def _all_groups(with_metrics: bool, extra: Sequence[Resource] = ()) -> dict[str, list[str]]:
    out = dict(groups(extra))
    if with_metrics:
        out[METRICS_GROUP] = [METRICS_VERSION]
    return out


def api_group_list(with_metrics: bool, extra: Sequence[Resource] = ()) -> dict:
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group_doc(g, vs) for g, vs in _all_groups(with_metrics, extra).items()]}


def api_group(name: str, with_metrics: bool, extra: Sequence[Resource] = ()) -> dict | None:
    versions = _all_groups(with_metrics, extra).get(name)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(name, versions)}


def _hash(res: Resource) -> str:
    return hashlib.sha256(res.key.encode()).hexdigest()[:11]


def _entry(res: Resource) -> list[dict]:
    main = {"name": res.plural, "singularName": res.singular, "namespaced": res.namespaced,
            "kind": res.kind, "verbs": list(res.verbs), "storageVersionHash": _hash(res)}
    if res.short_names:
        main["shortNames"] = list(res.short_names)
    if res.categories:
        main["categories"] = list(res.categories)
    out = [main]
    for sub in res.subresources:
        verbs, kind, group, ver = _SUBRESOURCES[sub]
        doc = {"name": f"{res.plural}/{sub}", "singularName": "", "namespaced": res.namespaced,
               "kind": kind or res.kind, "verbs": list(verbs)}
        if group is not None:
            doc["group"], doc["version"] = group, ver
        out.append(doc)
    return out


def resource_list(group: str, version: str, with_metrics: bool, extra: Sequence[Resource] = ()) -> dict | None:
    gv = f"{group}/{version}" if group else version
    if with_metrics and group == METRICS_GROUP and version == METRICS_VERSION:
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": [
            {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics",
             "verbs": ["get", "list"]},
            {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics",
             "verbs": ["get", "list"]},
        ]}
    entries = [e for res in (*SERVED, *extra) if res.group == group and res.version == version for e in _entry(res)]
    if not entries:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}
