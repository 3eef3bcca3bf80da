"""Manifests applied at `sandbox up`: multi-document YAML files in the
configured directories, in order; a later object with the same apiVersion/
kind/namespace/name replaces an earlier one (how an overlay directory
adjusts the base). Objects are created in dependency order (namespaces,
config, claims and services before workloads) so that pods find what they
reference."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import UserError
from .resources import by_kind
from .store import ApiError, Store

# Kinds first in this order, everything else after (as Helm installs them).
_ORDER = ("Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "ServiceAccount", "Secret", "ConfigMap",
          "PersistentVolume", "PersistentVolumeClaim", "ClusterRole", "ClusterRoleBinding", "Role",
          "RoleBinding", "Service", "DaemonSet", "Pod", "ReplicaSet", "Deployment",
          "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "PodDisruptionBudget")


@dataclass(frozen=True)
class Manifest:
    source: str  # "file.yaml (document 3)"
    obj: dict

    @property
    def key(self) -> tuple[str, str, str, str]:
        meta = self.obj.get("metadata") or {}
        return (self.obj.get("apiVersion", ""), self.obj.get("kind", ""), meta.get("namespace") or "",
                meta.get("name", ""))


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UserError(f"{path}: no such manifest directory; fix `manifests` in the sandbox config "
                        "or the --manifests option")
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml", ".json"))


def load(paths) -> list[Manifest]:
    """Every object of every file, overlaid in order (later replaces earlier)."""
    by_key: dict[tuple, Manifest] = {}
    for base in paths:
        for path in _files(Path(base)):
            try:
                docs = list(yaml.safe_load_all(path.read_text()))
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" at line {mark.line + 1}" if mark else ""
                raise UserError(f"{path}: not valid YAML{where}; fix the manifest") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise UserError(f"{path}: cannot read the manifest ({exc}); fix or remove the file") from None
            for i, doc in enumerate(docs, 1):
                if doc is None:
                    continue
                where = f"{path} (document {i})"
                for obj in _items(doc, where):
                    m = Manifest(where, obj)
                    by_key.pop(m.key, None)  # the replacement takes the later position
                    by_key[m.key] = m
    return list(by_key.values())


def _items(doc, where: str) -> list[dict]:
    if not isinstance(doc, dict):
        raise UserError(f"{where}: a manifest document must be a mapping with apiVersion, kind and metadata; "
                        "fix the manifest")
    if doc.get("kind") == "List" or (doc.get("kind", "").endswith("List") and "items" in doc):
        out = []
        for item in doc.get("items") or []:
            out.extend(_items(item, where))
        return out
    for field in ("apiVersion", "kind"):
        if not isinstance(doc.get(field), str) or not doc.get(field):
            raise UserError(f"{where}: missing {field}; fix the manifest")
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta.get("name"):
        raise UserError(f"{where}: {doc['kind']} without metadata.name; fix the manifest")
    if by_kind(doc["apiVersion"], doc["kind"]) is None:
        raise UserError(f"{where}: the sandbox does not serve {doc['apiVersion']} {doc['kind']}; "
                        "fix the apiVersion/kind or leave the object out of the sandbox's manifests")
    return [doc]


def ordered(manifests: list[Manifest]) -> list[Manifest]:
    rank = {k: i for i, k in enumerate(_ORDER)}
    return sorted(manifests, key=lambda m: rank.get(m.obj["kind"], len(_ORDER)))


def apply(store: Store, manifests: list[Manifest], prepare=None) -> list[str]:
    """Create (or replace) each object in the store; returns what was applied.
    `prepare(res, obj)` gives the API server's defaulting and validation."""
    applied = []
    for m in ordered(manifests):
        res = by_kind(m.obj["apiVersion"], m.obj["kind"])
        obj = copy.deepcopy(m.obj)
        ns = (obj.get("metadata") or {}).get("namespace") or ("default" if res.namespaced else None)
        if res.namespaced:
            obj["metadata"]["namespace"] = ns
        try:
            if prepare is not None:
                obj = prepare(res, obj)
            existing = store.try_get(res, ns, obj["metadata"]["name"])
            if existing is None:
                store.create(res, obj)
            else:
                obj["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
                store.update(res, obj)
        except ApiError as exc:
            raise UserError(f"{m.source}: {exc.message}; fix the manifest") from None
        applied.append(f"{m.obj['kind']}/{obj['metadata']['name']}")
    return applied
