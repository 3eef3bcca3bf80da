"""The sandbox's configuration: `deploy/sandbox/sandbox.yaml`.

Schema (every key optional; relative paths are relative to the file)::

    node:
      name: sandbox-node                 # the one node's name
      labels: {accelerator.example/present: "true"}
      capacity: {cpu: "16", memory: 64Gi, pods: "110", vendor.example/accel: "8"}
                                         # extended resources are advertised as given;
                                         # cpu/memory/pods default to this machine's
    catalogs: [images.yaml]              # image catalogs added to the built-in one, in order
    manifests: [../base, overlay]        # directories (or files) applied at `up`, in order;
                                         # later objects replace earlier ones of the same
                                         # apiVersion/kind/namespace/name
    crashloop: {base_seconds: 1, cap_seconds: 20}
                                         # CrashLoopBackOff back-off (Kubernetes: 10 / 300)

A missing file means the defaults: a node named `sandbox-node`, the built-in
catalog, no manifests."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import UserError

DEFAULT_CONFIG = Path("deploy/sandbox/sandbox.yaml")


@dataclass(frozen=True)
class NodeConfig:
    name: str = "sandbox-node"
    labels: dict = field(default_factory=dict)
    capacity: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SandboxConfig:
    node: NodeConfig = field(default_factory=NodeConfig)
    catalogs: tuple[Path, ...] = ()
    manifests: tuple[Path, ...] = ()
    crashloop_base: float = 1.0
    crashloop_cap: float = 20.0
    source: Path | None = None


def _fail(path: Path, why: str) -> UserError:
    return UserError(f"{path}: {why}; fix the sandbox config (schema in gameday/sandbox/config.py)")


def load(path: str | os.PathLike | None) -> SandboxConfig:
    """Read a sandbox.yaml; a missing file (or None) gives the defaults."""
    if path is None:
        return SandboxConfig()
    path = Path(path)
    if not path.exists():
        return SandboxConfig()
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise _fail(path, f"not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise _fail(path, "the top level must be a mapping")
    unknown = set(data) - {"node", "catalogs", "manifests", "crashloop"}
    if unknown:
        raise _fail(path, f"unknown key(s) {', '.join(sorted(unknown))}")
    base = path.parent
    node = data.get("node") or {}
    if not isinstance(node, dict):
        raise _fail(path, "node must be a mapping with name, labels and capacity")
    labels, capacity = node.get("labels") or {}, node.get("capacity") or {}
    if not isinstance(labels, dict) or not isinstance(capacity, dict):
        raise _fail(path, "node.labels and node.capacity must be mappings")

    def paths(key: str) -> tuple[Path, ...]:
        value = data.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(path, f"{key} must be a list of paths")
        return tuple((base / v).resolve() for v in value)

    crash = data.get("crashloop") or {}
    try:
        cl_base = float(crash.get("base_seconds", 1.0))
        cl_cap = float(crash.get("cap_seconds", 20.0))
    except (TypeError, ValueError, AttributeError):
        raise _fail(path, "crashloop.base_seconds and crashloop.cap_seconds must be numbers") from None
    return SandboxConfig(
        node=NodeConfig(name=str(node.get("name") or "sandbox-node"),
                        labels={str(k): str(v) for k, v in labels.items()},
                        capacity={str(k): str(v) for k, v in capacity.items()}),
        catalogs=paths("catalogs"), manifests=paths("manifests"),
        crashloop_base=cl_base, crashloop_cap=cl_cap, source=path.resolve())
